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
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from meshsmith.service.settings import Settings
from meshsmith.service.store import Store
from meshsmith.service.worker import new_worker_id, run_task

log = logging.getLogger("meshsmith.queue")


@dataclass(frozen=True)
class QueueStats:
    """Messages waiting per queue name, and the live workers (and their pool slots)."""

    depth: dict[str, int] = field(default_factory=dict)
    workers: int = 0
    slots: int = 0


class TaskQueue(Protocol):
    """Moves task IDs to workers."""

    def start(self) -> None: ...

    def enqueue(self, task_id: str) -> None:
        """Ask for ``task_id`` to be run; enqueuing a task twice runs it once."""

    def stop(self) -> None: ...

    def ensure_available(self) -> None:
        """Raise :class:`~meshsmith.errors.ServiceUnavailableError` if the queue is known to
        be down (non-blocking; checked before a task is created)."""

    def probe(self) -> None:
        """Check the queue's broker now (blocking); raises if it is unreachable."""

    def stats(self) -> QueueStats:
        """Waiting messages per queue and live workers (blocking)."""


def make_queue(settings: Settings, store: Store) -> TaskQueue:
    """The queue the settings name: the embedded pool, or Celery (``MESHSMITH_QUEUE``)."""
    if settings.queue == "celery":
        from meshsmith.service.celery_queue import CeleryQueue

        return CeleryQueue(settings, store)
    return LocalQueue(settings, store)


def _init_worker(nice: int, server_pid: int) -> None:
    """Worker processes log like the server, run below the API's priority (so requests stay
    fast while they generate), and exit when the server process is gone, idle or not.

    ``server_pid`` comes from the server itself: a worker that starts after its server
    already died (reparented before this runs) must not take its new parent for the server.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s[%(process)d] %(message)s")
    if nice:
        os.nice(nice)
    threading.Thread(target=_exit_with_parent, args=(server_pid,), name="orphan-check",
                     daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """An idle pool worker never sees EOF on its call queue (it holds both ends), so it
    watches its parent instead."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


class LocalQueue:
    """A pool of ``settings.workers`` processes, fed by one dispatcher thread.

    Only the dispatcher thread touches the pool, so worker processes are always started by a
    long-lived thread. This process renews the leases of the tasks its pool holds: a worker
    busy inside a long native call cannot starve its own renewals, and when this process dies
    the renewals stop, so the leases run out and a restarted server re-runs those tasks. A
    broken pool (a worker was killed) is replaced; its tasks are recovered by their leases.
    """

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings, self._store = settings, store
        self._settings_json = settings.model_dump_json()
        self._ids: stdqueue.Queue[str | None] = stdqueue.Queue()
        self._inflight: dict[str, str] = {}  # task ID -> the worker ID it will run as
        self._futures: dict[str, Future[str]] = {}  # task ID -> its pool future
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._thread = threading.Thread(target=self._dispatch, name="dispatcher", daemon=True)
        self._renewer = threading.Thread(target=self._renew, name="leases", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._renewer.start()

    def enqueue(self, task_id: str) -> None:
        with self._lock:
            if task_id in self._inflight:
                return
            self._inflight[task_id] = new_worker_id()
        self._ids.put(task_id)

    def stop(self) -> None:
        self._stop.set()
        self._ids.put(None)
        self._thread.join(timeout=10)
        self._renewer.join(timeout=10)

    def ensure_available(self) -> None:
        """The embedded pool is always available."""

    def probe(self) -> None:
        """Nothing to reach: the pool lives in this process."""

    def stats(self) -> QueueStats:
        """IDs waiting for the pool, and its worker processes."""
        with self._lock:
            waiting = len(self._inflight) - sum(f.running() for f in self._futures.values())
        return QueueStats(depth={"local": waiting}, workers=self._settings.workers,
                          slots=self._settings.workers)

    def _renew(self) -> None:
        """Renew the leases of the tasks a pool worker is running now: with a long backlog,
        the thousands only queued in the pool hold no lease yet."""
        while not self._stop.wait(self._settings.lease_s / 3):
            with self._lock:
                held = [self._inflight[task_id] for task_id, future in self._futures.items()
                        if future.running()]
            try:
                self._store.renew_leases(held)
            except Exception:
                log.warning("lease renewal failed; retrying", exc_info=True)

    def _dispatch(self) -> None:
        while (task_id := self._ids.get()) is not None:
            self._submit(task_id)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self._settings.workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(self._settings.worker_nice, os.getpid()))

    def _submit(self, task_id: str) -> None:
        for _ in range(2):
            if self._pool is None:
                self._pool = self._new_pool()
            try:
                future = self._pool.submit(run_task, task_id, self._settings_json,
                                           self._inflight[task_id])
            except (BrokenProcessPool, RuntimeError):
                log.warning("worker pool broken; starting a new one")
                self._pool = None
                continue
            with self._lock:
                self._futures[task_id] = future
            future.add_done_callback(partial(self._done, task_id))
            return
        self._done(task_id, None)

    def _done(self, task_id: str, future: Future[str] | None) -> None:
        with self._lock:
            self._inflight.pop(task_id, None)
            self._futures.pop(task_id, None)
        if future is None or future.cancelled():
            return
        exc = future.exception()
        if exc is None:
            log.info("task %s: %s", task_id, future.result())
        elif isinstance(exc, BrokenProcessPool):
            log.warning("task %s: its worker process died; its lease will expire", task_id)
        else:
            log.error("task %s: worker raised %r", task_id, exc)
