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
        with _gc_paused():
            return [stage(items)]
    import multiprocessing

    size = -(-len(items) // (jobs * 4))  # a few chunks per process evens out uneven files
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    gc.freeze()  # objects that exist now are never scanned by a worker's collector (no copy-on-write)
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_init) as pool:
            return pool.map(stage, chunks, chunksize=1)
    finally:
        gc.unfreeze()


@contextmanager
def _gc_paused() -> Iterator[None]:
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
