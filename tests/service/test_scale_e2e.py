"""End to end, scale-out: the API on PostgreSQL + Redis (Celery) + S3 (moto's emulator), and
two ``meshsmith worker`` processes, all on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.service.conftest import _postgres_database
from tests.service.scale_services import (
    REDIS_URL,
    Worker,
    bucket,
    moto_endpoint,
    queue_prefix,
    scale_env,
)
from tests.service.server import Server, wait_for

from meshsmith.service.models import CreditEntry
from meshsmith.service.settings import Settings
from meshsmith.service.store import Store

__all__ = ["bucket", "moto_endpoint", "queue_prefix"]  # fixtures used by name below

pytestmark = pytest.mark.slow

DUCK = Path(__file__).parents[2] / "examples" / "duck.png"
SMALL = {"resolution": "512", "faces": 2000, "texture": False, "format": "glb"}
TASKS = int(os.environ.get("MESHSMITH_SCALE_TASKS", "20"))


@pytest.fixture
def db_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
def deployment(tmp_path: Path, db_url: str, queue_prefix: str, moto_endpoint: str,
               bucket: str) -> Iterator[tuple[Server, list[Worker]]]:
    env = scale_env(REDIS_URL, queue_prefix, moto_endpoint, bucket)
    server = Server(tmp_path / "api", db_url, **env)
    server.cli("db", "upgrade")
    workers = [Worker(server.env, tmp_path / f"worker{i}") for i in range(2)]
    for worker in workers:
        worker.start()
    server.start()
    try:
        for worker in workers:
            worker.wait_ready()
        yield server, workers
    finally:
        server.stop()
        for worker in workers:
            worker.stop()


def charges(db_url: str) -> list[str]:
    """The task IDs of every ``charge`` ledger row."""
    store = Store(Settings(database_url=db_url))
    try:
        with store.reading() as session:
            return list(session.scalars(select(CreditEntry.task_id)
                                        .where(CreditEntry.kind == "charge")))
    finally:
        store.close()


def submit(client: httpx.Client, n: int, options: dict[str, Any] | None = None) -> list[str]:
    """Upload the duck once and create ``n`` tasks from it; returns their IDs."""
    token = client.post("/v1/uploads", files={"file": ("duck.png", DUCK.read_bytes(),
                                                       "image/png")}).json()["file_token"]
    ids = []
    for _ in range(n):
        created = client.post("/v1/tasks", json={"views": {"front": token},
                                                 **(options or SMALL)})
        assert created.status_code == 202, created.text
        ids.append(created.json()["task_id"])
    return ids


def test_two_workers_run_twenty_tasks_each_charged_once_and_downloadable(
        deployment: tuple[Server, list[Worker]], db_url: str) -> None:
    server, workers = deployment
    key = server.create_key(10_000, "--max-concurrency", "100")
    with server.client(key) as client:
        ids = submit(client, TASKS)
        done = [wait_for(client, task_id, {"success", "failed"}, timeout=900) for task_id in ids]
        assert [t["status"] for t in done] == ["success"] * TASKS, done
        for task in done:
            model = client.get(task["outputs"]["model"]["glb"])  # streamed from S3
            assert model.status_code == 200 and model.content[:4] == b"glTF"
        cost = done[0]["cost"]
        assert client.get("/v1/balance").json() == {
            "balance": 10_000 - TASKS * cost, "frozen": 0, "spent": TASKS * cost}
        metrics = client.get("/metrics").text
    assert sorted(charges(db_url)) == sorted(ids)
    assert_redirect_download(server, key, ids[-1], model.content)  # (the last one fetched)
    ran = [set(w.task_ids()) for w in workers]
    assert ran[0] and ran[1], "both workers must have taken tasks"
    assert ran[0] | ran[1] == set(ids) and not ran[0] & ran[1]
    assert "meshsmith_workers 2.0" in metrics and "meshsmith_queue_depth{" in metrics


def assert_redirect_download(first: Server, key: str, task_id: str, content: bytes) -> None:
    """A second API process with ``S3_DOWNLOADS=redirect`` answers a download link with 307
    to a presigned S3 URL that serves the same bytes."""
    env = {k: v for k, v in first.env.items() if k.startswith("MESHSMITH_")}
    second = Server(first.data_dir.parent / "api2", first.env["MESHSMITH_DATABASE_URL"],
                    **{**env, "MESHSMITH_S3_DOWNLOADS": "redirect"})
    second.start()
    try:
        with second.client(key) as client:
            link = client.get(f"/v1/tasks/{task_id}").json()["outputs"]["model"]["glb"]
            answer = client.get(link, follow_redirects=False)
    finally:
        second.stop()
    assert answer.status_code == 307, answer.text
    presigned = answer.headers["location"]
    assert "X-Amz-Signature=" in presigned
    assert httpx.get(presigned).content == content
