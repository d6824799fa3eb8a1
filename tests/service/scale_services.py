"""Real services for the scale-out tests: a Redis key prefix (or a private redis-server),
moto's S3 emulator (``moto_server``) on loopback, and ``meshsmith worker`` processes.

Like the PostgreSQL fixture, each one skips with the reason when its service is missing,
unless MESHSMITH_REQUIRE_SERVICES=1 (CI) makes that fatal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.server import free_port

REDIS_URL = os.environ.get("MESHSMITH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def unavailable(reason: str) -> None:
    """Skip the test, or fail it in CI where the services must be there."""
    if os.environ.get("MESHSMITH_REQUIRE_SERVICES") == "1":
        raise RuntimeError(f"required service missing: {reason}")
    pytest.skip(reason)


def _wait(check: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


@pytest.fixture
def queue_prefix() -> Iterator[str]:
    """A queue and key prefix of this test's own on the shared Redis; its keys are deleted
    afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable: {exc}")
    prefix = f"mstest-{uuid.uuid4().hex[:10]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


class RedisServer:
    """A private ``redis-server`` (no persistence) that a test may stop and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        log = (self.workdir / f"redis-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)], stdout=log,
            stderr=subprocess.STDOUT)
        _wait(lambda: redis.Redis.from_url(self.url).ping(), "redis-server")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's standalone S3 emulator on a free loopback port (one per test module)."""
    exe = shutil.which("moto_server")
    if exe is None:
        unavailable("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("ab")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(url, timeout=1).status_code < 500, "moto_server")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


S3_CREDENTIALS = {"MESHSMITH_S3_ACCESS_KEY_ID": "testing",
                  "MESHSMITH_S3_SECRET_ACCESS_KEY": "testing",
                  "MESHSMITH_S3_REGION": "us-east-1"}


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    """A new, empty bucket on the emulator."""
    import boto3

    name = f"meshsmith-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing"
                 ).create_bucket(Bucket=name)
    return name


def scale_env(redis_url: str, prefix: str, endpoint: str, bucket: str) -> dict[str, str]:
    """The MESHSMITH_* settings of a scale-out deployment on these services."""
    return {"MESHSMITH_QUEUE": "celery", "MESHSMITH_BROKER_URL": redis_url,
            "MESHSMITH_QUEUE_PREFIX": prefix, "MESHSMITH_STORAGE": "s3",
            "MESHSMITH_S3_ENDPOINT_URL": endpoint, "MESHSMITH_S3_BUCKET": bucket,
            **S3_CREDENTIALS}


class Worker:
    """One ``meshsmith worker`` process group (its own data directory, as on another
    machine); killing it kills its pool processes too."""

    def __init__(self, env: dict[str, str], data_dir: Path, concurrency: int = 1) -> None:
        self.env = {**env, "MESHSMITH_DATA_DIR": str(data_dir)}
        self.data_dir, self.concurrency = data_dir, concurrency
        self.log = data_dir.parent / f"{data_dir.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meshsmith.cli", "worker", "--concurrency",
             str(self.concurrency)], env=self.env, stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        _wait(lambda: "ready." in self.log.read_text(errors="replace"), "the worker", timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group: the machine died."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def task_ids(self) -> list[str]:
        """IDs of the tasks this worker finished (from its log)."""
        text = self.log.read_text(errors="replace")
        return [line.split("task ", 1)[1].split(":")[0] for line in text.splitlines()
                if "meshsmith.celery" in line and ": success" in line]
