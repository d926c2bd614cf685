"""Run an independent per-item stage over many items in forked worker processes.

Used for the per-profile stages (load, schema, build, classify), which dominate on large estates.
Workers are forked after start-up, so they inherit imported modules and compiled schemas for free.
"""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

PARALLEL_FROM = 200  # items; below this a second process costs more than it saves
MAX_JOBS = 8


def default_jobs(items: int) -> int:
    """Processes worth using for ``items`` items: one per CPU this process may use, at most 8.

    ``COMPOSE_JOBS`` overrides it (1 turns parallelism off).
    """
    import multiprocessing

    if os.environ.get("COMPOSE_JOBS", "").isdigit():
        return max(1, int(os.environ["COMPOSE_JOBS"]))
    if items < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, MAX_JOBS))


def map_chunks(stage: Callable[[Sequence[T]], R], items: Sequence[T], jobs: int = 0) -> list[R]:
    """``[stage(chunk) for chunk in chunks(items)]``, the chunks spread over ``jobs`` processes.

    The results keep the items' order. ``jobs`` 0 picks ``default_jobs``; 1 runs in this process.
    """
    jobs = jobs or default_jobs(len(items))
    if jobs <= 1 or len(items) < 2:
        with gc_paused():
            return [stage(items)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    size = -(-len(items) // (jobs * 4))  # a few chunks per process evens out uneven files
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    gc.freeze()  # objects that exist now are never scanned by a worker's collector (no copy-on-write)
    try:
        # concurrent.futures, not multiprocessing.Pool: when a worker dies (a crash in C code, the OOM
        # killer) the pool breaks and says so, where Pool would wait for the lost chunk forever.
        with ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init
        ) as pool:
            futures = [pool.submit(stage, chunk) for chunk in chunks]
            try:
                return [future.result() for future in futures]
            except BrokenProcessPool:
                pass  # every unfinished chunk fails with it: find the item that kills its process
        lost = [chunk for chunk, future in zip(chunks, futures) if future.exception() is not None]
        raise _culprit(stage, [item for chunk in lost for item in chunk])
    finally:
        gc.unfreeze()


class WorkerDied(Exception):
    """A worker process died while running the stage on ``item`` (``status`` says how)."""

    def __init__(self, item: object, status: str):
        super().__init__(f"{item}: {status}")
        self.item, self.status = item, status


def _culprit(stage: Callable[[Sequence[T]], R], items: Sequence[T]) -> WorkerDied:
    """Run the items one per forked process to find the first that kills its process."""
    for item in items:
        pid = os.fork()
        if pid == 0:  # the child: run the stage on one item, report nothing but its exit status
            try:
                _worker_init()
                stage([item])
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            import signal

            return WorkerDied(item, f"killed by {signal.Signals(os.WTERMSIG(status)).name}")
    return WorkerDied(
        ", ".join(map(str, items[:3])) + (" …" if len(items) > 3 else ""),
        "a worker process died (out of memory?) and rerunning each item alone did not repeat it",
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """The stages build many small acyclic trees: the cycle collector only costs time meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _worker_init() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the pool
    gc.disable()  # short-lived worker; reference counting frees its trees
