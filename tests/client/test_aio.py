"""The async client against a real server on 127.0.0.1 (driven with asyncio.run)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import trimesh
from tests.client.conftest import EXAMPLES, FAST
from tests.service.server import Server

from meshsmith.client import AsyncClient, AuthError, NotFoundError, Task, TaskProgress


def test_async_generate_follows_the_event_stream_and_writes_a_glb(
        server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[TaskProgress] = []
    caplog.set_level(logging.INFO, "meshsmith.client")

    async def run() -> tuple[Task, int]:
        async with AsyncClient(server.url, server.create_key(100)) as client:
            task = await client.generate({"front": EXAMPLES / "duck.png"}, tmp_path,
                                         on_progress=seen.append, **FAST)
            return task, (await client.balance()).balance

    task, balance = asyncio.run(run())
    assert task.status == "success" and balance == 70
    assert len(trimesh.load(task.files[0], force="mesh").faces) == 5000
    assert seen[-1].progress == 100 and any(p.status == "running" for p in seen)
    assert not caplog.records  # the event stream was followed: no fallback, no retry


def test_async_errors_are_typed_with_the_api_codes(server: Server, key: str) -> None:
    async def run(api_key: str) -> None:
        async with AsyncClient(server.url, api_key) as client:
            await client.get_task("no-such-task")

    with pytest.raises(AuthError) as auth:
        asyncio.run(run("tsk_wrong"))
    with pytest.raises(NotFoundError) as missing:
        asyncio.run(run(key))
    assert (auth.value.code, missing.value.code) == (10010001, 10070001)
