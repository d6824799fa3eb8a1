"""Retries and the polling fallback, against a scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from tests.client.fake_api import GLB, Script, fake_api, finished_task, unavailable
from tests.service.server import free_port

from meshsmith.client import (
    AsyncClient,
    Client,
    RateLimitError,
    RetryPolicy,
    ServerError,
    ServerUnreachableError,
    TaskProgress,
)

FAST_RETRY = RetryPolicy(retries=3, backoff=0.01)


def _script() -> Script:
    script = Script()
    script.answers = {
        "POST /v1/tasks": [*unavailable(2), (202, {"task_id": "t1", "status": "queued",
                                                   "cost": 30}, {})],
        "GET /v1/tasks/t1": [(200, {"task_id": "t1", "status": "running", "stage":
                                    "reconstruct", "progress": 40}, {})],
        "GET /v1/files/t1/model.glb": [*unavailable(1), (200, GLB, {})],
    }
    return script


def _finish(script: Script) -> None:
    script.answers["GET /v1/tasks/t1"].append((200, finished_task(script.base), {}))


def test_create_is_retried_after_two_503s_with_the_same_idempotency_key(tmp_path: Path
                                                                       ) -> None:
    with fake_api(_script()) as script, Client(script.base, "k", retry=FAST_RETRY,
                                                poll_interval=0.01) as client:
        script.answers["GET /v1/tasks/t1"] = [(200, finished_task(script.base), {})]
        task = client.create_task({"front": "tok"}, resolution="512")
        assert task.id == "t1"
        creates = [body for method, path, body in script.requests if path == "/v1/tasks"]
        assert len(creates) == 3 and creates[0] == creates[1] == creates[2]
        assert creates[0]["idempotency_key"] and creates[0]["resolution"] == "512"
        assert client.download(task.id, tmp_path)[0].read_bytes() == GLB  # one 503 first


def test_wait_falls_back_to_polling_when_the_server_has_no_events_route() -> None:
    seen: list[TaskProgress] = []
    with fake_api(_script()) as script, Client(script.base, "k", retry=FAST_RETRY,
                                                poll_interval=0.01) as client:
        _finish(script)
        task = client.wait("t1", seen.append)
        assert task.status == "success"
        assert ("GET", "/v1/tasks/t1/events", None) in script.requests
    assert [p.progress for p in seen] == [40, 100] and seen[0].stage == "reconstruct"


def test_async_client_retries_and_polls_like_the_sync_one(tmp_path: Path) -> None:
    async def run(script: Script) -> list[Path]:
        async with AsyncClient(script.base, "k", retry=FAST_RETRY,
                               poll_interval=0.01) as client:
            created = await client.create_task({"front": "tok"})
            task = await client.wait(created)
            return await client.download(task, tmp_path)

    with fake_api(_script()) as script:
        _finish(script)
        paths = asyncio.run(run(script))
        keys = {b["idempotency_key"] for m, p, b in script.requests if p == "/v1/tasks"}
        assert len(keys) == 1 and len(script.requests) >= 3 + 1 + 2
    assert paths[0].read_bytes() == GLB


def test_429_honours_retry_after_then_succeeds() -> None:
    script = Script(answers={"GET /v1/balance": [
        (429, {"error": {"code": 10040003, "message": "slow down"}}, {"Retry-After": "0.3"}),
        (200, {"balance": 5, "frozen": 0, "spent": 0}, {})]})
    with fake_api(script), Client(script.base, "k", retry=FAST_RETRY) as client:
        start = time.monotonic()
        assert client.balance().balance == 5
        assert time.monotonic() - start >= 0.3


def test_429_that_persists_raises_a_typed_rate_limit_error() -> None:
    script = Script(answers={"GET /v1/balance": [
        (429, {"error": {"code": 10040003, "message": "slow down"}}, {"Retry-After": "0"})]})
    with fake_api(script), Client(script.base, "k", retry=FAST_RETRY) as client:
        with pytest.raises(RateLimitError) as info:
            client.balance()
    assert info.value.code == 10040003 and len(script.requests) == 4  # 1 + 3 retries


def test_cancel_is_not_retried_after_a_503() -> None:
    script = Script(answers={"POST /v1/tasks/t1/cancel": unavailable(5)})
    with fake_api(script), Client(script.base, "k", retry=FAST_RETRY) as client:
        with pytest.raises(ServerError) as info:
            client.cancel("t1")
    assert info.value.status == 503 and len(script.requests) == 1


def test_unreachable_server_raises_after_the_retries() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", "k", retry=FAST_RETRY) as client:
        with pytest.raises(ServerUnreachableError) as info:
            client.balance()
    assert info.value.code == 10080001


def test_upload_is_retried_after_a_503_with_the_whole_file_again(tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG fake bytes" * 100)
    script = Script(answers={"POST /v1/uploads": [*unavailable(1), (201, {
        "file_token": "tok", "width": 64, "height": 64, "format": "png"}, {})]})
    with fake_api(script), Client(script.base, "k", retry=FAST_RETRY) as client:
        assert client.upload(image).file_token == "tok"
    assert [(m, p) for m, p, _ in script.requests] == [("POST", "/v1/uploads")] * 2
    assert script.lengths[0] == script.lengths[1] > image.stat().st_size


def test_wait_gives_up_after_its_timeout() -> None:
    with fake_api(_script()) as script, Client(script.base, "k", retry=FAST_RETRY,
                                                poll_interval=0.05) as client:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            client.wait("t1", timeout=0.3)
    assert 0.3 <= time.monotonic() - start < 5
