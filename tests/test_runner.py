"""The real ``sh`` runner: timeouts for probes, and Ctrl-C that escalates when a tool ignores it."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from composer.cluster.runner import TimedOut, sh_runner

IGNORES_CTRL_C = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_command_past_its_timeout_is_stopped_and_reported():
    started = time.monotonic()
    with pytest.raises(TimedOut, match=r"gave no answer within 0.5 s"):
        sh_runner([sys.executable, "-c", "import time; time.sleep(30)"], lambda s, line: None, timeout=0.5)
    assert time.monotonic() - started < 10


def test_no_timeout_by_default_and_output_arrives_by_line():
    lines = []
    code = sh_runner(
        [sys.executable, "-c", "import sys; print('a'); print('b', file=sys.stderr); sys.exit(3)"],
        lambda stream, line: lines.append((stream, line)),
    )
    assert code == 3 and sorted(lines) == [("err", "b"), ("out", "a")]


def test_a_tool_that_ignores_ctrl_c_gets_sigterm_on_the_second_with_a_message(monkeypatch):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    lines = []

    def on_line(stream, line):
        lines.append(line)
        if line == "ready":  # Ctrl-C twice, as a person at the terminal would
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT)).start()

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sh_runner([sys.executable, "-c", IGNORES_CTRL_C], on_line)
    assert time.monotonic() - started < 20
    assert any("passed SIGINT on to" in line and "Ctrl-C again sends SIGTERM" in line for line in lines)
    assert any("is still running: sending SIGTERM; Ctrl-C once more sends SIGKILL" in line for line in lines)


def test_with_a_timeout_every_line_of_output_arrives_before_the_exit_code():
    """sh's wait(timeout) only polls the process: without joining its output readers, a probe's JSON came
    back cut short (the real eksctl's get fargateprofile, under the process-group timeout)."""
    lines = []
    code = sh_runner(
        [sys.executable, "-c", "import sys; sys.stdout.write(''.join(f'line {i}\\n' for i in range(20000)))"],
        lambda stream, line: lines.append(line),
        timeout=30,
    )
    assert code == 0 and len(lines) == 20000 and lines[-1] == "line 19999"
