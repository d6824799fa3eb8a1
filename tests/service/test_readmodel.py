"""The status read model on SQLite and PostgreSQL: served from memory, refreshed from the
database's ``updated_at``, aged out, bounded. Refreshes are driven by hand (no thread)."""

from __future__ import annotations

import pytest

from meshsmith.errors import NotFoundError
from meshsmith.service.models import Task
from meshsmith.service.readmodel import TaskViews
from meshsmith.service.settings import Settings
from meshsmith.service.store import NewTask, Store


def _task(store: Store, callback_url: str | None = None) -> Task:
    key, _ = store.create_key("a", 1000)
    store.add_upload(key.id, "uploads/x.png", 64, 64, "png", 100, f"up-{key.id}")
    new = NewTask(owner_id=key.id, views={"front": f"up-{key.id}"}, options={}, cost=30,
                  callback_url=callback_url)
    return store.create_task(new)[0]


def test_a_loaded_task_is_served_from_memory_until_it_changes(store: Store) -> None:
    views = TaskViews(store)
    task = _task(store)
    assert views.get(task.id) is None
    views.load(task.id)
    assert views.get(task.id).task.status == "queued"  # type: ignore[union-attr]
    assert views.refresh() == 0  # nothing changed since it was read


def test_refresh_brings_in_a_change_made_by_another_store(store: Store, settings: Settings
                                                           ) -> None:
    views = TaskViews(store)
    task = _task(store)
    views.load(task.id)
    worker = Store(settings)  # another connection pool, as a worker process has
    try:
        worker.claim(task.id, "w1")
        worker.renew(task.id, "w1", "reconstruct", 40.0)
    finally:
        worker.close()
    assert views.refresh() == 1
    view = views.get(task.id)
    assert view is not None
    assert (view.task.status, view.task.stage, view.task.progress) == ("running",
                                                                       "reconstruct", 40.0)


def test_refresh_reloads_only_tasks_that_are_cached(store: Store) -> None:
    views = TaskViews(store)
    polled, other = _task(store), _task(store)
    views.load(polled.id)
    store.claim(polled.id, "w1")
    store.claim(other.id, "w2")
    assert views.refresh() == 1
    assert views.get(other.id) is None


def test_an_entry_older_than_max_age_is_not_served(store: Store) -> None:
    views = TaskViews(store, max_age_s=0.0)
    task = _task(store)
    views.load(task.id)
    assert views.get(task.id) is None


def test_forget_drops_an_entry(store: Store) -> None:
    views = TaskViews(store)
    task = _task(store)
    views.load(task.id)
    views.forget(task.id)
    assert views.get(task.id) is None


def test_loading_a_missing_task_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        TaskViews(store).load("no-such-task")


def test_the_oldest_entries_are_dropped_beyond_max_entries(store: Store) -> None:
    views = TaskViews(store, max_entries=2)
    first, second, third = _task(store), _task(store), _task(store)
    for task in (first, second, third):
        views.load(task.id)
    assert views.get(first.id) is None
    assert views.get(second.id) is not None and views.get(third.id) is not None


def test_a_webhook_attempt_refreshes_the_tasks_webhook_log(store: Store) -> None:
    views = TaskViews(store)
    task = _task(store, callback_url="http://127.0.0.1:9/hook")
    store.cancel(task.owner_id, task.id)
    view = views.load(task.id)
    (delivery, attempts), = view.deliveries
    assert attempts == []
    store.record_attempt(delivery.id, 500, "HTTP 500", 3.0, next_at=None)
    assert views.refresh() == 1
    refreshed = views.get(task.id)
    assert refreshed is not None
    (delivery, attempts), = refreshed.deliveries
    assert delivery.state == "failed" and [a.status_code for a in attempts] == [500]


def test_an_older_read_never_replaces_a_newer_one(store: Store) -> None:
    views = TaskViews(store)
    task = _task(store)
    stale = store.get_task(None, task.id)
    store.claim(task.id, "w1")
    views.load(task.id)
    views._put(views._read([stale]))  # a slow refresh finishing after a newer load
    assert views.get(task.id).task.status == "running"  # type: ignore[union-attr]
