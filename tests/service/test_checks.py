"""Start-up validation: in scale-out mode the API and the worker refuse a stale schema, a
missing bucket or an unreachable broker with one clear line; ``meshsmith db upgrade``
migrates; ``/healthz?deep=true`` reports each service."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.conftest import _postgres_database
from tests.service.scale_services import (
    REDIS_URL,
    bucket,
    moto_endpoint,
    queue_prefix,
    scale_env,
)
from tests.service.server import TEST_ENV, Server, free_port

from meshsmith.service.checks import component_health
from meshsmith.service.queue import LocalQueue
from meshsmith.service.settings import Settings
from meshsmith.service.storage import LocalStorage
from meshsmith.service.store import Store

__all__ = ["bucket", "moto_endpoint", "queue_prefix"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
def env(tmp_path: Path, pg_url: str, queue_prefix: str, moto_endpoint: str, bucket: str
        ) -> dict[str, str]:
    return {**os.environ, **TEST_ENV, **scale_env(REDIS_URL, queue_prefix, moto_endpoint, bucket),
            "MESHSMITH_DATABASE_URL": pg_url, "MESHSMITH_DATA_DIR": str(tmp_path / "data")}


def meshsmith(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshsmith.cli", *args], env=env, text=True,
                          capture_output=True, timeout=60)


def test_scale_out_api_refuses_a_stale_schema_until_db_upgrade(
        env: dict[str, str], tmp_path: Path) -> None:
    serve = meshsmith(env, "serve", "--port", str(free_port()))
    assert serve.returncode == 1
    assert "run `meshsmith db upgrade`" in serve.stderr and "error 10090006" in serve.stderr
    worker = meshsmith(env, "worker")
    assert worker.returncode == 1 and "meshsmith db upgrade" in worker.stderr
    assert meshsmith(env, "db", "current").returncode == 1
    upgraded = meshsmith(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert meshsmith(env, "db", "current").returncode == 0
    server = Server(tmp_path / "data", env["MESHSMITH_DATABASE_URL"], **{
        k: v for k, v in env.items() if k.startswith("MESHSMITH_")})
    server.start()
    try:
        health = httpx.get(f"{server.url}/healthz", params={"deep": "true"})
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": "ok", "queue": "ok",
                                 "storage": "ok"}
    finally:
        server.stop()


def test_scale_out_api_and_worker_name_a_missing_bucket_and_a_dead_broker(
        env: dict[str, str]) -> None:
    assert meshsmith(env, "db", "upgrade").returncode == 0
    no_bucket = {**env, "MESHSMITH_S3_BUCKET": "no-such-bucket"}
    for command in (["serve", "--port", str(free_port())], ["worker"]):
        done = meshsmith(no_bucket, *command)
        assert done.returncode == 1 and "'no-such-bucket' does not exist" in done.stderr
    dead = {**env, "MESHSMITH_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    for command in (["serve", "--port", str(free_port())], ["worker"]):
        done = meshsmith(dead, *command)
        assert done.returncode == 1 and "broker (Redis) is unreachable" in done.stderr


def test_worker_command_needs_the_celery_queue(tmp_path: Path) -> None:
    env = {**os.environ, "MESHSMITH_DATA_DIR": str(tmp_path)}
    env.pop("MESHSMITH_QUEUE", None)
    done = meshsmith(env, "worker")
    assert done.returncode == 1 and "MESHSMITH_QUEUE=celery" in done.stderr


def test_worker_command_refuses_an_unknown_engine_before_contacting_anything(
        tmp_path: Path) -> None:
    env = {**os.environ, "MESHSMITH_DATA_DIR": str(tmp_path), "MESHSMITH_QUEUE": "celery",
           "MESHSMITH_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    done = meshsmith(env, "worker", "--engines", "geometric,nosuch")
    assert done.returncode == 2 and "unknown engine 'nosuch'" in done.stderr


def test_embedded_health_reports_every_service_ok(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = Store(settings)
    try:
        report = component_health(store, LocalStorage(settings.files_dir),
                                  LocalQueue(settings, store))
    finally:
        store.close()
    assert report == {"database": "ok", "queue": "ok", "storage": "ok"}
