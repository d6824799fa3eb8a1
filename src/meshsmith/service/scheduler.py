"""The scheduler: one thread that keeps the queue honest.

Every ``scheduler_interval_s`` it re-queues tasks whose worker died (their lease ran out),
fails tasks past the time limit or out of attempts, and hands every queued task to the queue,
which is how tasks queued before a restart are picked up again. It also expires successful
tasks after ``output_retention_s`` (7 days by default) and deletes their files.
"""

from __future__ import annotations

import logging
import threading

from meshsmith.service.queue import TaskQueue
from meshsmith.service.settings import Settings
from meshsmith.service.storage import Storage, task_key
from meshsmith.service.store import Store

log = logging.getLogger("meshsmith.scheduler")


class Scheduler:
    def __init__(self, store: Store, queue: TaskQueue, storage: Storage,
                 settings: Settings) -> None:
        self._store, self._queue, self._settings = store, queue, settings
        self._storage = storage
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def tick(self) -> None:
        """One pass: recover lost or overdue tasks, enqueue every queued task, and delete the
        files of tasks past their retention."""
        for task_id in self._store.recover():
            log.warning("task %s lost its worker; re-queued", task_id)
        for task_id in self._store.queued_ids():
            self._queue.enqueue(task_id)
        for task_id in self._store.expire_outputs():
            self._storage.delete_prefix(task_key(task_id))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler pass failed")
            self._stop.wait(self._settings.scheduler_interval_s)
