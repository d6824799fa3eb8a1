"""A real ``meshsmith serve`` in a subprocess on 127.0.0.1, driven over HTTP with httpx."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

#: Fast timings for tests: a quick scheduler, webhook retries half a second apart. Leases stay
#: at their default (30 s) unless a test is about lost workers: a busy CI machine can stall a
#: database commit for seconds, and a lease that short would re-run healthy tasks.
TEST_ENV = {
    "MESHSMITH_SCHEDULER_INTERVAL_S": "0.3",
    "MESHSMITH_WEBHOOK_BACKOFF_S": "[0.5, 0.5, 0.5, 0.5, 0.5]",
    "MESHSMITH_FETCH_ALLOW": '["127.0.0.1"]',
    "MESHSMITH_WORKERS": "1",
    "MESHSMITH_WORKER_NICE": "0",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server process over a data directory; it can be killed and started again."""

    def __init__(self, data_dir: Path, db_url: str | None = None, **env: str) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.env = {**os.environ, **TEST_ENV, **env, "MESHSMITH_DATA_DIR": str(data_dir)}
        if db_url:
            self.env["MESHSMITH_DATABASE_URL"] = db_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Run ``meshsmith ARGS`` against the same data directory; returns stdout."""
        done = subprocess.run([sys.executable, "-m", "meshsmith.cli", *args], env=self.env,
                              capture_output=True, check=True, timeout=60)
        return done.stdout.decode()

    def create_key(self, credits: int = 1000, *extra: str) -> str:
        out = self.cli("keys", "create", "--name", "test", "--credits", str(credits), *extra)
        return out.strip().splitlines()[-1]

    def start(self) -> None:
        log = (self.data_dir.parent / f"server-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meshsmith.cli", "serve", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the server exited during start-up"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise TimeoutError("the server did not answer /healthz within 60 s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the server process only (its worker processes must notice on their own)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def running(data_dir: Path, db_url: str | None = None, **env: str) -> Iterator[Server]:
    """A started server; with ``MESHSMITH_TEST_DATABASE=postgresql`` in the environment, a
    server that would use SQLite gets a throwaway PostgreSQL database instead (the second
    configuration of the API suite)."""
    if db_url is None and os.environ.get("MESHSMITH_TEST_DATABASE") == "postgresql":
        from tests.service.conftest import _postgres_database

        for url in _postgres_database():
            with running(data_dir, url, **env) as server:
                yield server
        return
    server = Server(data_dir, db_url, **env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 120
             ) -> dict[str, Any]:
    """Poll a task until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, Any] = client.get(f"/v1/tasks/{task_id}").json()
        if task["status"] in statuses:
            return task
        time.sleep(0.3)
    raise TimeoutError(f"task {task_id} stayed {task['status']} for {timeout} s")


def sse_events(client: httpx.Client, task_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Read a task's event stream to its end: [(event name, data), ...]."""
    events: list[tuple[str, dict[str, Any]]] = []
    name = "message"
    with client.stream("GET", f"/v1/tasks/{task_id}/events", timeout=180) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    return events
