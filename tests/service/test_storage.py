"""Local storage: atomic writes and no way out of its root."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshsmith.service.storage import LocalStorage


def test_local_storage_round_trips_and_deletes_by_prefix(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put_bytes("tasks/t1/model.glb", b"glTF")
    assert storage.read_bytes("tasks/t1/model.glb") == b"glTF"
    assert storage.local_path("tasks/t1/model.glb") == tmp_path / "tasks/t1/model.glb"
    storage.delete_prefix("tasks/t1")
    assert storage.local_path("tasks/t1/model.glb") is None


@pytest.mark.parametrize("key", ["../etc/passwd", "/etc/passwd", "a/../../b", ""])
def test_keys_that_escape_the_root_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        LocalStorage(tmp_path / "root").put_bytes(key, b"x")
