"""Scale-out under faults: a worker machine dies mid-task; the broker goes away for 10 s."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.scale_services import (
    RedisServer,
    Worker,
    bucket,
    moto_endpoint,
    private_redis,
    queue_prefix,
    scale_env,
)
from tests.service.server import Server, wait_for
from tests.service.test_scale_e2e import REDIS_URL, SMALL, charges, db_url, submit

__all__ = ["bucket", "db_url", "moto_endpoint", "private_redis", "queue_prefix"]

pytestmark = pytest.mark.slow

#: A task long enough to be caught running (resolution 1024 and a texture).
SLOW = {"resolution": "1024", "faces": 5000, "texture": True, "texture_size": 512,
        "format": "glb"}


def deploy(tmp_path: Path, env: dict[str, str], db_url: str, workers: int
           ) -> tuple[Server, list[Worker]]:
    # A short lease so a dead worker's task is re-run soon; 8 s and 5 attempts so that a
    # loaded CI machine stalling a renewal does not also lose the healthy re-run.
    server = Server(tmp_path / "api", db_url, MESHSMITH_LEASE_S="8", MESHSMITH_MAX_ATTEMPTS="5",
                    **env)
    server.cli("db", "upgrade")
    pool = [Worker(server.env, tmp_path / f"worker{i}") for i in range(workers)]
    for worker in pool:
        worker.start()
    server.start()
    for worker in pool:
        worker.wait_ready()
    return server, pool


@pytest.fixture
def two_workers(tmp_path: Path, db_url: str, queue_prefix: str, moto_endpoint: str,
                bucket: str) -> Iterator[tuple[Server, list[Worker]]]:
    server, pool = deploy(tmp_path, scale_env(REDIS_URL, queue_prefix, moto_endpoint, bucket),
                          db_url, 2)
    yield server, pool
    server.stop()
    for worker in pool:
        worker.stop()


def _holder(client: httpx.Client, task_id: str, pool: list[Worker]) -> Worker:
    """The worker whose pool process holds the running task's lease."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        steps = client.get(f"/v1/tasks/{task_id}", params={"include": "transitions"})
        if steps.status_code == 200:
            for step in reversed(steps.json()["transitions"]):
                if step["to"] == "running":
                    pid = int(step["reason"].split(" on ")[1].split(":")[1])
                    return next(w for w in pool if w.proc and os.getpgid(pid) == w.proc.pid)
        time.sleep(0.2)
    raise TimeoutError(f"task {task_id} never ran")


def test_sigkilled_worker_task_reruns_on_the_other_worker_charged_once(
        two_workers: tuple[Server, list[Worker]], db_url: str) -> None:
    server, pool = two_workers
    with server.client(server.create_key(1000)) as client:
        [task_id] = submit(client, 1, SLOW)
        victim = _holder(client, task_id, pool)
        time.sleep(1.0)  # well inside the pipeline
        victim.kill()
        task = wait_for(client, task_id, {"success", "failed"}, timeout=300)
        assert task["status"] == "success", task
        reasons = [s["reason"] for s in client.get(
            f"/v1/tasks/{task_id}", params={"include": "transitions"}).json()["transitions"]]
    assert any("worker lost" in r for r in reasons), reasons
    survivor = next(w for w in pool if w is not victim)
    assert task_id in survivor.task_ids() and task_id not in victim.task_ids()
    assert charges(db_url) == [task_id]


def test_sigkilled_pool_process_task_is_redelivered_and_reruns_charged_once(
        two_workers: tuple[Server, list[Worker]], db_url: str) -> None:
    server, pool = two_workers
    with server.client(server.create_key(1000)) as client:
        [task_id] = submit(client, 1, SLOW)
        _holder(client, task_id, pool)
        time.sleep(1.0)
        os.kill(_lease_pid(client, task_id), signal.SIGKILL)  # the pool process only
        task = wait_for(client, task_id, {"success", "failed"}, timeout=300)
        assert task["status"] == "success", task
        steps = client.get(f"/v1/tasks/{task_id}", params={"include": "transitions"}
                           ).json()["transitions"]
    assert [s["to"] for s in steps] == ["queued", "running", "queued", "running", "success"]
    assert charges(db_url) == [task_id]
    assert all(w.proc is not None and w.proc.poll() is None for w in pool)  # workers live on


def _lease_pid(client: httpx.Client, task_id: str) -> int:
    steps = client.get(f"/v1/tasks/{task_id}", params={"include": "transitions"}
                       ).json()["transitions"]
    return int(steps[-1]["reason"].split(" on ")[1].split(":")[1])


def test_broker_outage_refuses_new_tasks_then_recovers_without_losing_any(
        tmp_path: Path, db_url: str, private_redis: RedisServer, moto_endpoint: str,
        bucket: str) -> None:
    env = scale_env(private_redis.url, "meshsmith", moto_endpoint, bucket)
    server, pool = deploy(tmp_path, env, db_url, 1)
    try:
        with server.client(server.create_key(1000)) as client:
            before = submit(client, 3, SMALL)
            private_redis.stop()
            refused = _until(lambda: client.post("/v1/tasks", json={
                "views": {"front": "x"}, **SMALL}), 503)
            error = refused.json()["error"]
            assert error["code"] == 10090005 and "broker" in error["message"]
            health = client.get("/healthz", params={"deep": "true"})
            assert health.status_code == 503 and health.json()["database"] == "ok"
            assert "unreachable" in health.json()["queue"]
            time.sleep(10)
            private_redis.start()
            after = _until_created(client)
            done = [wait_for(client, t, {"success", "failed"}, timeout=300)
                    for t in [*before, *after]]
        assert [t["status"] for t in done] == ["success"] * len(done), done
        assert sorted(charges(db_url)) == sorted([*before, *after])
    finally:
        server.stop()
        pool[0].stop()


def _until(request: object, status: int, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response: httpx.Response = request()  # type: ignore[operator]
        if response.status_code == status:
            return response
        time.sleep(0.2)
    raise TimeoutError(f"no {status} within {timeout} s")


def _until_created(client: httpx.Client, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return submit(client, 2, SMALL)
        except AssertionError:
            time.sleep(0.5)
    raise TimeoutError("the API did not accept tasks again after the broker came back")
