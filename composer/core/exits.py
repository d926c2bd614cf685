"""Every exit code compose uses, in one table (``compose --help`` prints it from here)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # the user's input or environment: each problem printed as path:line:col
    CHANGES = 2  # --detailed-exitcode: something would change
    INTERNAL = 3  # a bug in compose itself
    STEP_FAILED = 4  # apply: a step failed
    DIFFERS = 5  # apply: all steps succeeded, the cluster still differs where apply does not act
    PARTIAL = 6  # scan: some YAML documents could not be parsed; the rest were scanned (and written)
    USAGE = 64  # sysexits' EX_USAGE: argparse's own 2 would read as "changes" under --detailed-exitcode
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


def for_signal(signum: int) -> int:
    """The shell's convention for a run stopped by a signal: 128 + its number (143 SIGTERM, 129 SIGHUP)."""
    return 128 + signum
