"""The status read model: recent task rows kept in memory for polls and progress events.

Status polls are the API's most frequent request. Answering each from the database costs a
thread-pool hop and an ORM load; answering from memory costs a dictionary lookup on the
event loop. :class:`TaskViews` keeps the rows of recently polled tasks (and, for tasks with
a ``callback_url``, their webhook log) and one thread keeps them current:

* every ``interval_s`` it asks the database which tasks changed since its watermark (the
  newest ``updated_at`` it has seen, less ``overlap_s`` for writes that committed late) and
  reloads the cached ones among them, so a worker's progress shows within about
  ``interval_s``, whichever process or machine wrote it;
* an entry older than ``max_age_s`` is not served; the next poll reloads it, which bounds
  the staleness even if a change escaped the watermark (a writer's clock far behind).

A miss is a blocking database read; callers run :meth:`TaskViews.load` in a worker thread.
Every API process has its own read model; the database stays the only source of truth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from meshsmith.service.models import Task, WebhookAttempt, WebhookDelivery
from meshsmith.service.store import Store

log = logging.getLogger("meshsmith.readmodel")

Deliveries = list[tuple[WebhookDelivery, list[WebhookAttempt]]]


@dataclass(frozen=True)
class TaskView:
    """One task row as last read, with its webhook log (empty without a callback_url), and
    the response bodies rendered from it so far (one per API dialect)."""

    task: Task
    deliveries: Deliveries
    loaded_at: float  # time.monotonic() of the read
    _bodies: dict[str, tuple[float, bytes]] = field(default_factory=dict, repr=False)

    def body(self, dialect: str, render: Callable[[], bytes], max_age_s: float = 30.0) -> bytes:
        """``render()``'s result, kept for ``max_age_s``: a body is a pure function of the
        row, except for the expiry of the signed links in it, which this age bounds."""
        now = time.monotonic()
        hit = self._bodies.get(dialect)
        if hit is None or now - hit[0] > max_age_s:
            hit = self._bodies[dialect] = (now, render())
        return hit[1]


class TaskViews:
    """Recently polled tasks, refreshed from the database's ``updated_at``. Thread-safe."""

    def __init__(self, store: Store, *, interval_s: float = 0.2, overlap_s: float = 2.0,
                 max_age_s: float = 10.0, max_entries: int = 20_000) -> None:
        self._store = store
        self.interval_s, self.overlap_s = interval_s, overlap_s
        self.max_age_s, self.max_entries = max_age_s, max_entries
        self._entries: dict[str, TaskView] = {}
        self._lock = threading.Lock()
        self._watermark = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="read-model", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def get(self, task_id: str) -> TaskView | None:
        """The cached view if it is young enough to serve, else None. Never blocks."""
        view = self._entries.get(task_id)
        if view is None or time.monotonic() - view.loaded_at > self.max_age_s:
            return None
        return view

    def load(self, task_id: str) -> TaskView:
        """Read the task (and its webhook log) from the database and cache it. Blocking;
        raises :class:`~meshsmith.errors.NotFoundError` if there is no such task."""
        view = self._read([self._store.get_task(None, task_id)])[0]
        self._put([view])
        return view

    def forget(self, task_id: str) -> None:
        """Drop a task this process just changed, so the next poll reads it afresh."""
        with self._lock:
            self._entries.pop(task_id, None)

    def refresh(self) -> int:
        """One pass: reload every cached task that changed since the watermark; returns
        how many were reloaded. Blocking."""
        changed = self._store.changed_since(self._watermark - self.overlap_s)
        if not changed:
            return 0
        self._watermark = max(self._watermark, max(updated for _, updated in changed))
        stale = [task_id for task_id, updated in changed
                 if (view := self._entries.get(task_id)) is not None
                 and view.task.updated_at < updated]
        if stale:
            self._put(self._read(self._store.tasks_by_id(stale)))
        return len(stale)

    def _read(self, tasks: Sequence[Task]) -> list[TaskView]:
        now = time.monotonic()
        return [TaskView(task, self._store.deliveries(task.id) if task.callback_url else [],
                         now) for task in tasks]

    def _put(self, views: Sequence[TaskView]) -> None:
        with self._lock:
            for view in views:
                old = self._entries.pop(view.task.id, None)  # re-insert: newest last
                if old is not None and old.task.updated_at > view.task.updated_at:
                    view = old  # a concurrent load read a newer row
                self._entries[view.task.id] = view
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except Exception:
                log.exception("read-model refresh failed; entries age out after %.0f s",
                              self.max_age_s)
