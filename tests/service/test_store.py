"""The task store on SQLite and PostgreSQL: status machine, credits, limits, recovery."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, update

from meshsmith.errors import (
    ConcurrencyLimitError,
    IdempotencyConflictError,
    InsufficientCreditsError,
    MeshsmithError,
    NoForegroundError,
    NotFoundError,
    TaskStateError,
    UnknownUploadError,
)
from meshsmith.service import states
from meshsmith.service.models import ApiKey, CreditEntry, Task
from meshsmith.service.store import NewTask, Store

OPTIONS = {"resolution": "512", "faces": 100_000, "texture": True}


def _key(store: Store, name: str, credits: int, **kw: object) -> tuple[ApiKey, str]:
    """A new key with one uploaded image, ``up-<key id>``, for :func:`_new` to use."""
    key, raw = store.create_key(name, credits, **kw)  # type: ignore[arg-type]
    store.add_upload(key.id, "uploads/x.png", 64, 64, "png", 100, f"up-{key.id}")
    return key, raw


def _new(owner: str, cost: int = 30, **kw: object) -> NewTask:
    return NewTask(owner_id=owner, views={"front": f"up-{owner}"}, options=OPTIONS, cost=cost,
                   **kw)  # type: ignore[arg-type]


def _ledger(store: Store, task_id: str) -> list[tuple[str, int]]:
    with store.reading() as s:
        rows = s.scalars(select(CreditEntry).where(CreditEntry.task_id == task_id)
                         .order_by(CreditEntry.id))
        return [(r.kind, r.amount) for r in rows]


def test_creating_a_task_reserves_credits_and_records_the_first_transition(store: Store) -> None:
    key, raw = _key(store, "a", 100)
    task, created = store.create_task(_new(key.id))
    assert created and task.status == states.QUEUED
    assert store.balance(key.id).available == 70 and store.balance(key.id).frozen == 30
    assert [(t.from_status, t.to_status) for t in store.transitions(task.id)] == [
        (None, "queued")]
    assert raw.startswith("tsk_") and store.authenticate(raw).id == key.id


def test_success_charges_once_and_failure_releases_the_reservation(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    ok, _ = store.create_task(_new(key.id))
    bad, _ = store.create_task(_new(key.id))
    assert store.claim(ok.id, "w1") is not None and store.claim(bad.id, "w2") is not None
    assert store.succeed(ok.id, "w1", {"files": []}, {})
    assert store.fail(bad.id, "w2", NoForegroundError("empty"))
    assert store.balance(key.id).available == 70  # 100 - 30 charged; 30 refunded
    assert _ledger(store, ok.id) == [("reserve", -30), ("charge", 0)]
    assert _ledger(store, bad.id) == [("reserve", -30), ("release", 30)]
    assert store.get_task(key.id, bad.id).error_code == NoForegroundError.code


def test_a_finished_task_cannot_be_failed_cancelled_or_refunded_again(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    task, _ = store.create_task(_new(key.id))
    store.claim(task.id, "w1")
    store.fail(task.id, "w1", MeshsmithError("boom"))
    assert not store.fail(task.id, None, MeshsmithError("again"))
    assert not store.succeed(task.id, "w1", {}, {})
    with pytest.raises(TaskStateError):
        store.cancel(key.id, task.id)
    assert store.balance(key.id).available == 100


def test_cancel_releases_credits_and_the_worker_cannot_finish_it(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    task, _ = store.create_task(_new(key.id))
    store.claim(task.id, "w1")
    assert store.cancel(key.id, task.id).status == states.CANCELLED
    assert not store.renew(task.id, "w1", "texture", 70.0)
    assert not store.succeed(task.id, "w1", {}, {})
    assert store.balance(key.id).available == 100


def test_credits_never_go_negative(store: Store) -> None:
    key, _ = _key(store, "a", 50)
    store.create_task(_new(key.id, cost=30))
    with pytest.raises(InsufficientCreditsError) as err:
        store.create_task(_new(key.id, cost=30))
    assert err.value.code == 10040001 and store.balance(key.id).available == 20


def test_concurrent_creates_never_overspend(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    results: list[str] = []

    def create() -> None:
        try:
            store.create_task(_new(key.id, cost=30))
            results.append("ok")
        except InsufficientCreditsError:
            results.append("refused")

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 3 and store.balance(key.id).available == 10


def test_concurrency_limit_refuses_the_task_beyond_it_with_code_10040002(store: Store) -> None:
    key, _ = _key(store, "a", 10_000, max_concurrency=2)
    store.create_task(_new(key.id))
    second, _ = store.create_task(_new(key.id))
    with pytest.raises(ConcurrencyLimitError) as err:
        store.create_task(_new(key.id))
    assert err.value.code == 10040002 and err.value.http_status == 429
    store.cancel(key.id, second.id)
    store.create_task(_new(key.id))  # a slot is free again


def test_idempotency_key_returns_the_same_task_and_refuses_a_different_body(
        store: Store) -> None:
    key, _ = _key(store, "a", 100)
    first, created = store.create_task(_new(key.id, idempotency_key="k1", request_hash="h1"))
    again, created_again = store.create_task(
        _new(key.id, idempotency_key="k1", request_hash="h1"))
    assert created and not created_again and again.id == first.id
    assert store.balance(key.id).available == 70
    with pytest.raises(IdempotencyConflictError):
        store.create_task(_new(key.id, idempotency_key="k1", request_hash="other"))


def test_other_keys_cannot_see_or_cancel_a_task(store: Store) -> None:
    alice, _ = _key(store, "alice", 100)
    bob, _ = _key(store, "bob", 100)
    task, _ = store.create_task(_new(alice.id))
    with pytest.raises(NotFoundError):
        store.get_task(bob.id, task.id)
    with pytest.raises(NotFoundError):
        store.cancel(bob.id, task.id)
    assert store.list_tasks(bob.id, None, 10, 0) == ([], 0)


def test_a_task_on_another_keys_or_a_missing_upload_is_refused_and_reserves_nothing(
        store: Store) -> None:
    alice, _ = _key(store, "alice", 100)
    bob, _ = _key(store, "bob", 100)
    for views in ({"front": f"up-{alice.id}"}, {"front": f"up-{bob.id}", "back": "nope"}):
        new = NewTask(owner_id=bob.id, views=views, options=OPTIONS, cost=30)
        with pytest.raises(UnknownUploadError) as err:
            store.create_task(new)
        assert err.value.code == 10031010
    assert store.balance(bob.id).available == 100
    assert store.list_tasks(bob.id, None, 10, 0) == ([], 0)


def test_lost_worker_is_requeued_then_failed_after_max_attempts(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    task, _ = store.create_task(_new(key.id))
    for attempt in (1, 2):
        assert store.claim(task.id, f"w{attempt}") is not None
        _expire_lease(store, task.id)
        requeued = store.recover()
        assert requeued == ([task.id] if attempt == 1 else [])
    final = store.get_task(key.id, task.id)
    assert final.status == states.FAILED and final.error_code == 10090004
    assert store.balance(key.id).available == 100
    moves = [t.to_status for t in store.transitions(task.id)]
    assert moves == ["queued", "running", "queued", "running", "failed"]


def test_task_running_past_the_time_limit_fails_with_code_10090003(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    task, _ = store.create_task(_new(key.id))
    store.claim(task.id, "w1")
    with store.writing() as s:
        s.execute(update(Task).where(Task.id == task.id).values(
            started_at=time.time() - store.settings.task_timeout_s - 1))
    store.recover()
    assert store.get_task(key.id, task.id).error_code == 10090003
    assert store.balance(key.id).available == 100


def test_claim_is_exclusive(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    task, _ = store.create_task(_new(key.id))
    assert store.claim(task.id, "w1") is not None
    assert store.claim(task.id, "w2") is None


def test_concurrent_claims_of_one_task_have_one_winner_and_one_charge(store: Store) -> None:
    """A duplicate or redelivered queue message reaches several workers at once."""
    key, _ = _key(store, "a", 100)
    tasks = [store.create_task(_new(key.id, cost=10))[0] for _ in range(5)]
    for task in tasks:
        barrier = threading.Barrier(6)
        won: list[str] = []

        def claim(worker: str, task_id: str = task.id, barrier: threading.Barrier = barrier,
                  won: list[str] = won) -> None:
            barrier.wait()
            if store.claim(task_id, worker) is not None:
                won.append(worker)

        threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1
        assert store.succeed(task.id, won[0], {}, {})
        assert _ledger(store, task.id) == [("reserve", -10), ("charge", 0)]
        assert [t.to_status for t in store.transitions(task.id)] == [
            "queued", "running", "success"]


def test_webhook_is_queued_with_the_task_json_at_a_terminal_state(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    task, _ = store.create_task(_new(key.id, callback_url="http://127.0.0.1:9/hook"))
    store.cancel(key.id, task.id)
    [delivery] = store.due_deliveries()
    assert delivery.event == "cancelled" and task.id in delivery.payload


def test_every_status_change_follows_the_status_machine() -> None:
    assert states.can_move("queued", "running") and not states.can_move("success", "failed")
    assert not any(states.can_move(s, "queued") for s in ("success", "failed", "cancelled"))


def _expire_lease(store: Store, task_id: str) -> None:
    with store.writing() as s:
        s.execute(update(Task).where(Task.id == task_id).values(lease_expires_at=0.0))


def test_success_past_its_retention_expires(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    task, _ = store.create_task(_new(key.id))
    store.claim(task.id, "w1")
    store.succeed(task.id, "w1", {"files": []}, {})
    assert store.expire_outputs() == []
    with store.writing() as s:
        s.execute(update(Task).where(Task.id == task.id).values(finished_at=0.0))
    assert store.expire_outputs() == [task.id]
    assert store.get_task(key.id, task.id).status == states.EXPIRED
    assert store.balance(key.id).spent == 30  # still charged: the work was delivered


def test_renew_leases_extends_only_tasks_held_by_the_given_workers(store: Store) -> None:
    key, _ = _key(store, "a", 100)
    mine, _ = store.create_task(_new(key.id))
    theirs, _ = store.create_task(_new(key.id))
    store.claim(mine.id, "w-mine")
    store.claim(theirs.id, "w-theirs")
    _expire_lease(store, mine.id)
    _expire_lease(store, theirs.id)
    assert store.renew_leases(["w-mine", "w-gone"]) == 1
    assert store.recover() == [theirs.id]
    assert store.get_task(key.id, mine.id).status == states.RUNNING
