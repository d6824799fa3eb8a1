"""Signed download links: bound to owner, task, file and expiry."""

from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from meshsmith.errors import LinkExpiredError, NotFoundError
from meshsmith.service.files import check_download
from meshsmith.service.render import signed_file_url
from meshsmith.service.store import NewTask, Store


def _finished(store: Store) -> str:
    key, _ = store.create_key("a", 100)
    task, _ = store.create_task(NewTask(owner_id=key.id, views={}, options={}, cost=30))
    store.claim(task.id, "w")
    store.succeed(task.id, "w", {"files": ["model.glb"]}, {})
    return task.id


def _link(store: Store, task_id: str, now: float) -> tuple[int, str]:
    url = signed_file_url(store.settings, store.get_task(None, task_id), "model.glb", now)
    query = parse_qs(urlsplit(url).query)
    return int(query["expires"][0]), query["sig"][0]


def test_a_valid_link_grants_its_file_until_it_expires_then_403(store: Store) -> None:
    task_id = _finished(store)
    svc = SimpleNamespace(store=store, settings=store.settings)
    expires, sig = _link(store, task_id, time.time())
    assert check_download(svc, task_id, "model.glb", expires, sig).id == task_id  # type: ignore[arg-type]
    old_expires, old_sig = _link(store, task_id, time.time() - 2 * 3600)
    with pytest.raises(LinkExpiredError) as err:
        check_download(svc, task_id, "model.glb", old_expires, old_sig)  # type: ignore[arg-type]
    assert err.value.http_status == 403 and err.value.code == 10010003


def test_a_link_cannot_be_moved_to_another_file_or_task(store: Store) -> None:
    task_id, other_id = _finished(store), _finished(store)
    svc = SimpleNamespace(store=store, settings=store.settings)
    expires, sig = _link(store, task_id, time.time())
    for target, name in ((other_id, "model.glb"), (task_id, "model.obj")):
        with pytest.raises(NotFoundError):
            check_download(svc, target, name, expires, sig)  # type: ignore[arg-type]


def test_a_signature_with_non_ascii_characters_is_not_found_not_a_crash(store: Store) -> None:
    task_id = _finished(store)
    svc = SimpleNamespace(store=store, settings=store.settings)
    expires, _ = _link(store, task_id, time.time())
    with pytest.raises(NotFoundError):
        check_download(svc, task_id, "model.glb", expires, "é" * 64)  # type: ignore[arg-type]
