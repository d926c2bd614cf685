"""Run one external command through the ``sh`` library: an argument list, never a shell string.

Output is handed line by line to a callback as it arrives (for live display and the log).
The child runs in its own session, so a Ctrl-C at the terminal reaches ``compose`` only; compose
then passes exactly one SIGINT on to the child, waits for it to finish, and re-raises
``KeyboardInterrupt`` so the caller can report what state things are in. SIGTERM and SIGHUP (a CI
job cancelled, a closed terminal) take the same path while ``stop_signals()`` is active: the child
gets the same signal, compose waits for it and reports. A child that ignores the first signal gets
SIGTERM on the next Ctrl-C and SIGKILL on the one after, each announced.

Each tool leads a process group of its own, and every signal goes to the whole group (as a terminal's
Ctrl-C does), so helm under helmfile stops too. A command past its timeout gets SIGTERM, then SIGKILL
after ``GRACE_SECONDS``; once a stopped tool has exited, whatever of its group is left is killed.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Protocol, Sequence

OnLine = Callable[[str, str], None]  # (stream "out" | "err", line without newline)


class ToolNotFound(Exception):
    """The executable is not on PATH."""


class TimedOut(Exception):
    """The command ran past its timeout and was stopped (SIGTERM)."""


class Stop(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C's KeyboardInterrupt so one path forwards, waits, reports."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def forwarded(signum: int) -> int:
    """The signal the running tool gets for the one compose got: the same, except SIGTERM for SIGHUP
    (the tool has its own session, so its terminal is not closing; eksctl, helmfile and helm stop
    cleanly on SIGINT and SIGTERM but die mid-step on SIGHUP)."""
    return signal.SIGTERM if signum == signal.SIGHUP else signum


def signum_of(interrupt: BaseException) -> int:
    """The signal behind an interrupt: SIGINT for Ctrl-C, else the ``Stop``'s own."""
    return getattr(interrupt, "signum", signal.SIGINT)


@contextmanager
def stop_signals() -> Iterator[None]:
    """While active, SIGTERM and SIGHUP raise ``Stop`` in the main thread (as Ctrl-C raises
    KeyboardInterrupt) instead of killing compose and orphaning the tool it runs."""

    def handler(signum: int, frame: object) -> None:
        raise Stop(signum)

    # (a signal ignored on entry stays ignored: `nohup compose apply` must survive its terminal closing)
    previous = {
        s: signal.signal(s, handler)
        for s in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(s) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL for a command past its timeout
_INHERITED: set[int] = set()  # file descriptors every tool started gets (apply's cluster lock)


@contextmanager
def inherit(fd: int) -> Iterator[None]:
    """While active, every tool started gets ``fd`` (the same open file description): a lock held on it
    stays held until the last of them exits, even if compose itself is killed."""
    os.set_inheritable(fd, True)
    _INHERITED.add(fd)
    try:
        yield
    finally:
        _INHERITED.discard(fd)


class Runner(Protocol):
    def __call__(self, argv: Sequence[str], on_line: OnLine, timeout: float | None = None) -> int:
        """Run ``argv``; return its exit code (negative: killed by that signal). With ``timeout``
        (seconds), a command still running then is stopped and ``TimedOut`` raised."""


def sh_runner(argv: Sequence[str], on_line: OnLine, timeout: float | None = None) -> int:
    import sh

    try:
        command = sh.Command(argv[0])
    except sh.CommandNotFound:
        raise ToolNotFound(argv[0]) from None
    # (stdin from /dev/null as a file: sh then runs no input thread, whose 0.1 s polling cost every
    # command a tenth of a second; a tool reading stdin still gets end-of-file at once)
    with open(os.devnull, "rb") as devnull:  # (the tool has its own copy once started)
        process = _start(command, argv, on_line, devnull)
    group = process.pid  # (its own session: the group's id is its pid)
    # (sh's own wait(timeout) polls and does not join the output readers: a watchdog thread stops the
    # group instead, while this thread blocks in wait(), which returns once every line has been read)
    done, fired = threading.Event(), threading.Event()
    if timeout is not None:
        threading.Thread(target=_watchdog, args=(group, timeout, done, fired), daemon=True).start()
    try:
        process.wait()
    except KeyboardInterrupt as interrupt:
        _stop(process, signum_of(interrupt), argv[0], on_line)
        _kill_group(group)
        raise
    finally:
        done.set()
    if fired.is_set():
        raise TimedOut(f"`{argv[0]}` gave no answer within {timeout:g} s and was stopped")
    return process.exit_code


def _start(command, argv: Sequence[str], on_line: OnLine, stdin):
    return command(
        *argv[1:],
        _out=lambda line: on_line("out", line.rstrip("\n")),
        _err=lambda line: on_line("err", line.rstrip("\n")),
        _bg=True,
        _bg_exc=False,
        _new_session=True,
        _tty_out=False,
        _in=stdin,
        _ok_code=list(range(-64, 256)),
        _decode_errors="replace",
        _pass_fds=set(_INHERITED),
    )


def _watchdog(group: int, timeout: float, done: threading.Event, fired: threading.Event) -> None:
    """After ``timeout`` seconds unless ``done``: SIGTERM to the group, SIGKILL after the grace period."""
    if done.wait(timeout):
        return
    fired.set()
    _signal_group(group, signal.SIGTERM)
    if not done.wait(GRACE_SECONDS):
        _kill_group(group)


def _signal_group(group: int, signum: int) -> bool:
    try:
        os.killpg(group, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _kill_group(group: int) -> None:
    """Whatever is left of a stopped tool's process group (its children that outlived it)."""
    _signal_group(group, signal.SIGKILL)


def _stop(process, signum: int, name: str, on_line: OnLine) -> None:
    """Pass the signal on and wait; each further Ctrl-C escalates: SIGTERM, then SIGKILL."""
    signum = forwarded(signum)
    later = [s for s in (signal.SIGTERM, signal.SIGKILL) if s != signum]
    if _send(process, signum):
        on_line(
            "err",
            f"[compose] passed {signal.Signals(signum).name} on to {name}; waiting for it to stop "
            f"(Ctrl-C again sends {later[0].name})",
        )
    while process.is_alive():
        try:
            process.wait()
        except KeyboardInterrupt:
            if later:
                sent = later.pop(0)
                more = "; Ctrl-C once more sends SIGKILL" if later else ""
                on_line("err", f"[compose] {name} is still running: sending {sent.name}{more}")
                _send(process, sent)


def _send(process, signum: int) -> bool:
    try:
        if process.is_alive():
            return _signal_group(process.pid, signum)
    except ProcessLookupError:
        pass
    return False
