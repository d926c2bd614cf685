"""One apply per cluster at a time, from any folder: an exclusive ``flock`` held by compose and by every
tool it starts (composer.cluster.runner.inherit), so it outlives a killed compose until its last tool exits."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Callable, Iterator

from composer.core.terminal import printable


class LockHeld(Exception):
    """Another apply of the cluster (or a tool it started) holds the lock."""


def lock_dir() -> Path:
    """Where apply's cluster locks live: one place for every estate folder and working directory of this
    user ($COMPOSE_LOCK_DIR, else $XDG_STATE_HOME/fargate-composer/locks, else ~/.local/state/…)."""
    if os.environ.get("COMPOSE_LOCK_DIR"):
        return Path(os.environ["COMPOSE_LOCK_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "fargate-composer" / "locks"


@contextlib.contextmanager
def cluster_lock(folder: Path, cluster: str, region: str, say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``<folder>/apply-<cluster>-<region>.lock`` (an exclusive ``flock``) for the duration; another
    apply of the same cluster (from any folder: ``folder`` is ``lock_dir()``) is refused with who holds it.

    The lock's file description is handed to every tool apply runs (``runner.inherit``), so the lock is
    held until the last of them is gone: a compose killed with SIGKILL while eksctl works leaves eksctl
    holding it, and no second apply starts beside it. When every holder is dead the kernel frees it; the
    next apply takes it over and says whose run ended without releasing it."""
    import fcntl
    import getpass
    import socket

    from composer.cluster.runner import inherit

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"apply-{cluster}-{region}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
            raise LockHeld(
                f"another `compose apply` of cluster {cluster!r} is running ({printable(holder)}), or a tool it "
                f"started still is; wait for it to finish (lock: {path})"
            ) from None
        stale = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
        if stale and say is not None:
            say(
                f"note: an earlier apply of {cluster} ({printable(stale)}) ended without releasing its lock; "
                "it and the tools it ran are gone, so this run takes the lock over"
            )
        os.ftruncate(fd, 0)
        os.pwrite(
            fd,
            (
                f"pid {os.getpid()}, {getpass.getuser()}@{socket.gethostname()}, since "
                f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n"
            ).encode(),
            0,
        )
        with inherit(fd):
            yield
        os.ftruncate(fd, 0)  # (released cleanly: nothing for the next run to report)
    finally:
        os.close(fd)
