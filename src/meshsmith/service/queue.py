"""The task queue, behind one small interface: enqueue a task ID.

Workers report progress and results through the :class:`~meshsmith.service.store.Store`,
never through the queue, so the queue only moves IDs. :class:`LocalQueue` is the embedded
default: a bounded pool of worker processes on this machine. The database stays the source of
truth: a queued task whose ID was lost with a crashed process is enqueued again by the
scheduler.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue as stdqueue
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Protocol

from meshsmith.service.settings import Settings
from meshsmith.service.worker import run_task

log = logging.getLogger("meshsmith.queue")


class TaskQueue(Protocol):
    """Moves task IDs to workers."""

    def start(self) -> None: ...

    def enqueue(self, task_id: str) -> None:
        """Ask for ``task_id`` to be run; enqueuing a task twice runs it once."""

    def stop(self) -> None: ...


def make_queue(settings: Settings) -> TaskQueue:
    """The queue the settings name."""
    return LocalQueue(settings)


def _init_worker(nice: int) -> None:
    """Worker processes run below the API's priority so requests stay fast under load."""
    if nice:
        os.nice(nice)


class LocalQueue:
    """A pool of ``settings.workers`` processes, fed by one dispatcher thread.

    Only the dispatcher thread touches the pool, so worker processes are always started by a
    long-lived thread. A broken pool (a worker was killed) is replaced; the tasks it held
    are recovered by their leases.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._settings_json = settings.model_dump_json()
        self._ids: stdqueue.Queue[str | None] = stdqueue.Queue()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._thread = threading.Thread(target=self._dispatch, name="dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def enqueue(self, task_id: str) -> None:
        with self._lock:
            if task_id in self._inflight:
                return
            self._inflight.add(task_id)
        self._ids.put(task_id)

    def stop(self) -> None:
        self._ids.put(None)
        self._thread.join(timeout=10)

    def _dispatch(self) -> None:
        while (task_id := self._ids.get()) is not None:
            self._submit(task_id)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self._settings.workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(self._settings.worker_nice,))

    def _submit(self, task_id: str) -> None:
        for _ in range(2):
            if self._pool is None:
                self._pool = self._new_pool()
            try:
                future = self._pool.submit(run_task, task_id, self._settings_json)
            except (BrokenProcessPool, RuntimeError):
                log.warning("worker pool broken; starting a new one")
                self._pool = None
                continue
            future.add_done_callback(partial(self._done, task_id))
            return
        self._done(task_id, None)

    def _done(self, task_id: str, future: Future[str] | None) -> None:
        with self._lock:
            self._inflight.discard(task_id)
        if future is None or future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, BrokenProcessPool):
            log.warning("task %s: its worker process died; its lease will expire", task_id)
        elif exc is not None:
            log.error("task %s: worker raised %r", task_id, exc)
