"""The Celery queue against the real Redis: its configuration, sending once per (task,
attempt), refusing tasks while the broker is down, and the worker's lease keeper."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests.service.scale_services import REDIS_URL, queue_prefix
from tests.service.server import free_port

from meshsmith.errors import ServiceUnavailableError
from meshsmith.service.celery_queue import (
    CeleryQueue,
    LeaseKeeper,
    celery_config,
    child_pids,
    queue_name,
)
from meshsmith.service.settings import Settings
from meshsmith.service.store import NewTask, Store

__all__ = ["queue_prefix"]


def test_celery_is_configured_for_long_tasks_that_survive_a_lost_worker() -> None:
    settings = Settings(queue="celery", broker_url="redis://127.0.0.1:1/0", task_timeout_s=3600)
    conf = celery_config(settings)
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert 3600 < conf["task_soft_time_limit"] <= 3630 < conf["task_time_limit"] <= 3700
    assert conf["broker_transport_options"]["visibility_timeout"] > conf["task_time_limit"]
    assert queue_name(settings, "geometric") == "meshsmith.geometric"


@pytest.fixture
def store(tmp_path: Path, queue_prefix: str) -> Iterator[Store]:
    settings = Settings(data_dir=tmp_path, queue="celery", broker_url=REDIS_URL,
                        queue_prefix=queue_prefix, lease_s=30)
    st = Store(settings)
    st.migrate()
    yield st
    st.close()


def _task(store: Store) -> str:
    key, _ = store.create_key("t", 100)
    task, _ = store.create_task(NewTask(owner_id=key.id, views={}, options={
        "engine": "geometric"}, cost=10))
    return task.id


def _waiting(store: Store) -> int:
    prefix = store.settings.queue_prefix
    return int(redis.Redis.from_url(REDIS_URL).llen(f"{prefix}:{prefix}.geometric"))


def _until(check: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_task_is_sent_once_per_attempt(store: Store) -> None:
    queue = CeleryQueue(store.settings, store, resend_s=0)
    queue.start()
    try:
        task_id = _task(store)
        for _ in range(3):  # the API, then the scheduler's passes
            queue.enqueue(task_id)
        _until(lambda: _waiting(store) == 1)
        time.sleep(0.5)
        assert _waiting(store) == 1
        store.settings.lease_s = 0.01
        assert store.claim(task_id, "gone-host:1:x") is not None  # attempt 1; its worker dies
        time.sleep(0.05)  # and its lease runs out
        assert store.recover() == [task_id]
        queue.enqueue(task_id)
        _until(lambda: _waiting(store) == 2)  # attempt 2 is sent again
        assert queue.stats().depth == {f"{store.settings.queue_prefix}.geometric": 2}
    finally:
        queue.stop()


def test_new_tasks_are_refused_while_the_broker_is_unreachable(store: Store) -> None:
    settings = store.settings.model_copy(update={"broker_url":
                                                 f"redis://127.0.0.1:{free_port()}/0"})
    queue = CeleryQueue(settings, store)
    with pytest.raises(ServiceUnavailableError, match="unreachable"):
        queue.probe()
    queue.start()
    try:
        _until(lambda: _refused(queue), timeout=15)
    finally:
        queue.stop()


def _refused(queue: CeleryQueue) -> bool:
    try:
        queue.ensure_available()
    except ServiceUnavailableError as exc:
        return exc.http_status == 503 and exc.code == 10090005
    return False


def test_lease_keeper_renews_leases_of_live_pool_processes_only(store: Store) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = socket.gethostname()
        alive, dead = _task(store), _task(store)
        store.claim(alive, f"{host}:{child.pid}:aaaa")
        store.claim(dead, f"{host}:999999999:bbbb")
        assert child.pid in child_pids(os.getpid())
        keeper = LeaseKeeper(store.settings, store, concurrency=1)
        before = {t: store.get_task(None, t).lease_expires_at for t in (alive, dead)}
        time.sleep(0.05)
        assert keeper.tick() == 1
        assert store.get_task(None, alive).lease_expires_at > before[alive]  # type: ignore[operator]
        assert store.get_task(None, dead).lease_expires_at == before[dead]
        keeper.register()
        assert CeleryQueue(store.settings, store).stats().workers == 1
        child.kill()
        child.wait()
        assert keeper.tick() == 0
    finally:
        child.kill()
