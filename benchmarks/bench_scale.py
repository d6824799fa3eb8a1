"""Scale-out throughput: tasks per minute with 1 and 2 ``meshsmith worker`` processes
(Celery over Redis, PostgreSQL, S3 on moto's emulator), against the embedded pool with 1 and
2 worker processes (SQLite, local files), and the queueing overhead per task.

    python benchmarks/bench_scale.py [--tasks 12] [--json PATH]

Each configuration runs on loopback with fresh state. Throughput: ``--tasks`` tasks
(resolution 512, 2,000 faces, geometry only, GLB) submitted at once; tasks per minute from
the first creation to the last finish. Overhead: with the workers idle, tasks submitted one
at a time; enqueue-to-start is the task's ``started_at - created_at`` (the database's own
timestamps: API commit to the worker's claim), median of 5. Needs PostgreSQL at
127.0.0.1:5432, Redis at 127.0.0.1:6379 and ``moto_server`` (the test services).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.service.conftest import _postgres_database  # noqa: E402
from tests.service.scale_services import REDIS_URL, Worker, scale_env  # noqa: E402
from tests.service.server import Server, wait_for  # noqa: E402

DUCK = ROOT / "examples" / "duck.png"
SMALL = {"resolution": "512", "faces": 2000, "texture": False, "format": "glb"}
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "scale.json"


@contextmanager
def s3() -> Iterator[tuple[str, str]]:
    """moto's emulator and a bucket: (endpoint, bucket)."""
    import shutil
    import subprocess

    import boto3
    import httpx
    from tests.service.server import free_port

    port = free_port()
    proc = subprocess.Popen([str(shutil.which("moto_server")), "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        with suppress(httpx.TransportError):
            httpx.get(url, timeout=1)
            break
        time.sleep(0.1)
    boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                 aws_secret_access_key="x").create_bucket(Bucket="bench")
    try:
        yield url, "bench"
    finally:
        proc.terminate()


@contextmanager
def deployment(tmp: Path, workers: int, scale: bool) -> Iterator[Server]:
    """A started API (+ ``workers`` Celery workers when ``scale``, else a pool of that size)."""
    if not scale:
        server = Server(tmp / "api", None, MESHSMITH_WORKERS=str(workers))
        server.start()
        try:
            yield server
        finally:
            server.stop()
        return
    with s3() as (endpoint, bucket):
        for db_url in _postgres_database():
            prefix = f"bench-{uuid.uuid4().hex[:8]}"
            server = Server(tmp / "api", db_url, **scale_env(REDIS_URL, prefix, endpoint, bucket))
            server.cli("db", "upgrade")
            pool = [Worker(server.env, tmp / f"worker{i}") for i in range(workers)]
            for worker in pool:
                worker.start()
            server.start()
            for worker in pool:
                worker.wait_ready()
            try:
                yield server
            finally:
                server.stop()
                for worker in pool:
                    worker.stop()
                _drop_keys(prefix)


def _drop_keys(prefix: str) -> None:
    """Delete this run's keys from the shared Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def measure(server: Server, tasks: int) -> dict[str, float]:
    """Throughput of ``tasks`` submitted at once, then enqueue-to-start of 5 lone tasks."""
    key = server.create_key(100_000, "--max-concurrency", "1000")
    with server.client(key) as client:
        token = client.post("/v1/uploads", files={"file": ("duck.png", DUCK.read_bytes(),
                                                           "image/png")}).json()["file_token"]
        start = time.monotonic()
        ids = [client.post("/v1/tasks", json={"views": {"front": token}, **SMALL}
                           ).json()["task_id"] for _ in range(tasks)]
        for task_id in ids:
            assert wait_for(client, task_id, {"success"}, timeout=1800)["status"] == "success"
        minutes = (time.monotonic() - start) / 60
        delays = []
        for _ in range(5):
            task_id = client.post("/v1/tasks", json={"views": {"front": token}, **SMALL}
                                  ).json()["task_id"]
            wait_for(client, task_id, {"success"}, timeout=600)
            delays.append(_start_delay(server, task_id))
    return {"tasks_per_min": round(tasks / minutes, 2),
            "enqueue_to_start_ms_median": round(statistics.median(delays) * 1000, 1),
            "enqueue_to_start_ms_max": round(max(delays) * 1000, 1)}


def _start_delay(server: Server, task_id: str) -> float:
    from meshsmith.service.settings import Settings
    from meshsmith.service.store import Store

    store = Store(Settings(data_dir=server.data_dir,
                           database_url=server.env.get("MESHSMITH_DATABASE_URL")))
    try:
        task = store.get_task(None, task_id)
        assert task.started_at is not None
        return float(task.started_at - task.created_at)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    os.environ.setdefault("MESHSMITH_WORKER_NICE", "0")
    results: dict[str, Any] = {"machine": f"{platform.node()}: {os.cpu_count()} cores, "
                               f"{platform.platform()}", "tasks": args.tasks, "runs": {}}
    for scale in (False, True):
        for workers in (1, 2):
            name = f"{'celery' if scale else 'embedded'}-{workers}"
            load = os.getloadavg()[0]
            with TemporaryDirectory() as tmp, deployment(Path(tmp), workers, scale) as server:
                results["runs"][name] = {**measure(server, args.tasks),
                                         "load_before": round(load, 2)}
            print(name, results["runs"][name], flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
