"""Work that holds the GIL (marching cubes, Embree scene building) on the machine's other
cores, in forked children: they inherit the parent's arrays, so nothing large is pickled
on the way in, and only their results come back.

Forking is only safe in some processes; :func:`fork_workers` says how many children a
caller may use, and every caller has a plain in-process path for when it is zero.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: At most this many children per call.
MAX_WORKERS = 2
_INHERITED: Any = None  # the job of the children being forked


def fork_workers(wanted: int = MAX_WORKERS) -> int:
    """How many forked children may help: 0 unless this is Linux, this process runs a lone
    thread (a fork copies no other thread's locks) and is not a daemon (a Celery or pool
    child may not have children), and more than one CPU is usable."""
    if (sys.platform != "linux" or threading.active_count() > 1
            or multiprocessing.current_process().daemon):
        return 0
    cpus = len(os.sched_getaffinity(0))
    return 0 if cpus < 2 else max(0, min(wanted, MAX_WORKERS, cpus))


def forked_map(fn: Callable[[T], R], items: list[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` in ``workers`` forked children, results in order. ``fn`` and
    whatever it closes over are inherited, not pickled; items and results are pickled.
    Raises what ``fn`` raises, and ``BrokenProcessPool`` when a child dies."""
    with _executor(fn, workers) as pool:
        yield from pool.map(_call_inherited, items)


def _call_inherited(item: Any) -> Any:
    return _INHERITED(item)


def _call_inherited_thunk() -> Any:
    return _INHERITED()


def _executor(fn: Callable[..., Any], workers: int) -> ProcessPoolExecutor:
    """A pool whose children are forked now, with ``fn`` as their inherited job."""
    global _INHERITED
    _INHERITED = fn
    try:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        pool.submit(int).result()  # forks every child while ``fn`` is set
    finally:
        _INHERITED = None
    return pool


class Background(Generic[R]):
    """``fn()`` run in one forked child from entry on, when :func:`fork_workers` allows
    one. :meth:`result` waits for its value; it is ``None`` when no child ran it, or the
    child died (the caller then does the work itself). An exception ``fn`` raises is
    raised again. On exit the child is ended either way."""

    def __init__(self, fn: Callable[[], R]) -> None:
        self._fn = fn
        self._pool: ProcessPoolExecutor | None = None
        self._pending: Future[R] | None = None

    def __enter__(self) -> Background[R]:
        if fork_workers(1) >= 1:
            self._pool = _executor(self._fn, 1)
            self._pending = self._pool.submit(_call_inherited_thunk)
        return self

    def result(self) -> R | None:
        if self._pending is None:
            return None
        try:
            return self._pending.result()
        except BrokenProcessPool:
            return None

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
