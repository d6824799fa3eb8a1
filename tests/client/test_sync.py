"""The sync client against a real server on 127.0.0.1: generate, typed errors, cancel,
balance, idempotent creates, the event stream and the polling fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trimesh
from tests.client.conftest import EXAMPLES, FAST
from tests.service.server import Server

from meshsmith.client import (
    AuthError,
    Client,
    CreditsError,
    NotFoundError,
    TaskProgress,
)
from meshsmith.errors import InputNotFoundError, TaskStateError

DUCK = EXAMPLES / "duck.png"


def test_generate_downloads_a_glb_that_trimesh_reads_and_reports_progress(
        server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = server.create_key(100)
    seen: list[TaskProgress] = []
    caplog.set_level(logging.INFO, "meshsmith.client")
    with Client(server.url, key) as client:
        task = client.generate([DUCK], tmp_path / "out", on_progress=seen.append, **FAST)
        assert task.status == "success" and task.charged == 30
        assert [p.name for p in task.files] == ["model.glb"]
        mesh = trimesh.load(task.files[0], force="mesh")
        assert len(mesh.faces) == 5000
        assert client.balance().balance == 70 and client.balance().spent == 30
    assert not caplog.records  # the event stream was followed: no fallback, no retry
    progress = [p.progress for p in seen]
    assert progress == sorted(progress) and seen[-1].progress == 100
    assert {p.stage for p in seen} & {"reconstruct", "texture", "export"}


def test_bad_key_raises_auth_error_with_code_10010001(server: Server) -> None:
    with Client(server.url, "tsk_not_a_key") as client, pytest.raises(AuthError) as info:
        client.balance()
    assert (info.value.code, info.value.status) == (10010001, 401)


def test_unknown_task_raises_not_found_with_code_10070001(server: Server, key: str) -> None:
    with Client(server.url, key) as client, pytest.raises(NotFoundError) as info:
        client.get_task("no-such-task")
    assert info.value.code == 10070001 and info.value.status == 404


def test_short_balance_raises_credits_error_with_code_10040001(server: Server) -> None:
    with Client(server.url, server.create_key(10)) as client:
        token = client.upload(DUCK).file_token
        with pytest.raises(CreditsError) as info:
            client.create_task({"front": token}, **FAST)
    assert info.value.code == 10040001 and info.value.status == 402


def test_create_with_one_idempotency_key_makes_one_task_and_cancel_releases_it(
        server: Server) -> None:
    with Client(server.url, server.create_key(100)) as client:
        token = client.upload(DUCK).file_token
        first = client.create_task({"front": token}, idempotency_key="same", **FAST)
        again = client.create_task({"front": token}, idempotency_key="same", **FAST)
        assert again.id == first.id and client.balance().frozen == 30
        cancelled = client.cancel(first)
        assert cancelled.status == "cancelled"
        assert client.balance().balance == 100 and client.balance().frozen == 0
        with pytest.raises(TaskStateError):
            client.download(first.id, ".")


def test_wait_polls_when_the_event_stream_is_turned_off(server: Server, key: str,
                                                        tmp_path: Path) -> None:
    seen: list[TaskProgress] = []
    with Client(server.url, key, sse=False, poll_interval=0.2) as client:
        token = client.upload(DUCK).file_token
        created = client.create_task({"front": token}, texture=False, format=["obj", "stl"],
                                     **FAST)
        task = client.wait(created.id, seen.append)
        assert task.status == "success" and seen[-1].status == "success"
        obj = client.download(task, tmp_path, formats=["obj"])
        stl = client.download(task.id, tmp_path / "stl", formats=["stl"])
    assert obj[0].name == "model.obj" and any(p.suffix == ".mtl" for p in obj)
    assert [p.name for p in stl] == ["model.stl"]
    assert len(trimesh.load(stl[0]).faces) == 5000
    with Client(server.url, key) as client:
        page = client.list_tasks(status="success", limit=100)
    assert task.id in [t.id for t in page.items] and page.total == len(page.items)


def test_generate_refuses_a_missing_image_before_any_request(tmp_path: Path) -> None:
    with Client("http://127.0.0.1:9", "tsk_x") as client, pytest.raises(InputNotFoundError):
        client.generate([tmp_path / "nope.png"])
