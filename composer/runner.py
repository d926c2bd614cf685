"""Run one external command through the ``sh`` library: an argument list, never a shell string.

Output is handed line by line to a callback as it arrives (for live display and the log).
The child runs in its own session, so a Ctrl-C at the terminal reaches ``compose`` only; compose
then passes exactly one SIGINT on to the child, waits for it to finish, and re-raises
``KeyboardInterrupt`` so the caller can report what state things are in.
"""

from __future__ import annotations

import signal
from typing import Callable, Protocol, Sequence

OnLine = Callable[[str, str], None]  # (stream "out" | "err", line without newline)


class ToolNotFound(Exception):
    """The executable is not on PATH."""


class Runner(Protocol):
    def __call__(self, argv: Sequence[str], on_line: OnLine) -> int:
        """Run ``argv``; return its exit code (negative: killed by that signal)."""


def sh_runner(argv: Sequence[str], on_line: OnLine) -> int:
    import sh

    try:
        command = sh.Command(argv[0])
    except sh.CommandNotFound:
        raise ToolNotFound(argv[0]) from None
    process = command(
        *argv[1:],
        _out=lambda line: on_line("out", line.rstrip("\n")),
        _err=lambda line: on_line("err", line.rstrip("\n")),
        _bg=True, _bg_exc=False, _new_session=True, _tty_out=False, _in=None,
        _ok_code=list(range(-64, 256)), _decode_errors="replace",
    )
    try:
        process.wait()
    except KeyboardInterrupt:
        if process.is_alive():
            process.signal(signal.SIGINT)
            try:
                process.wait()
            except KeyboardInterrupt:  # a second Ctrl-C: stop it now
                process.kill()
                process.wait()
        raise
    return process.exit_code
