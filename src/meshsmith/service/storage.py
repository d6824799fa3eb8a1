"""Where uploads and results live, behind one small interface.

Keys are ``/``-separated relative names such as ``tasks/<id>/model.glb``. The embedded
default is :class:`LocalStorage` under ``<data dir>/files``; S3-compatible storage plugs in
behind the same :class:`Storage` protocol.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from meshsmith.service.settings import Settings


class Storage(Protocol):
    """Put, get and delete blobs by key."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, source: Path) -> None: ...

    def read_bytes(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> Path | None:
        """A local file holding ``key``, if this storage has one (for zero-copy serving)."""

    def fetch_to(self, key: str, dest: Path) -> Path:
        """Make ``key`` available at ``dest`` (a copy, or the file itself) and return it."""

    def delete_prefix(self, prefix: str) -> None: ...

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        """``key``'s size and its bytes in chunks; raises :class:`FileNotFoundError`."""

    def presigned_url(self, key: str, ttl_s: int, filename: str) -> str | None:
        """A URL that serves ``key`` for ``ttl_s`` without this server, or None."""

    def check(self) -> None:
        """Raise :class:`~meshsmith.errors.ConfigurationError` if the storage is unusable."""


def task_key(task_id: str, name: str | None = None) -> str:
    """The storage key of a task's result file ``name``, or of the prefix holding them all."""
    return f"tasks/{task_id}" if name is None else f"tasks/{task_id}/{name}"


def check_key(key: str) -> PurePosixPath:
    """``key`` as a safe relative path: no absolute paths, no ``..``, no empty parts."""
    path = PurePosixPath(key)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts):
        raise ValueError(f"unsafe storage key {key!r}")
    return path


class LocalStorage:
    """Blobs as files under ``root``; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).parts)

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".put-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)

    def put_file(self, key: str, source: Path) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".put-")
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def fetch_to(self, key: str, dest: Path) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix), ignore_errors=True)

    def stream(self, key: str) -> tuple[int, Iterator[bytes]]:
        path = self._path(key)
        return path.stat().st_size, _chunks(path)

    def presigned_url(self, key: str, ttl_s: int, filename: str) -> str | None:
        return None  # the API's own signed links serve local files

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


def _chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


def make_storage(settings: Settings) -> Storage:
    """The storage the settings name: local disk under the data directory (the default), or
    an S3-compatible bucket (``MESHSMITH_STORAGE=s3``)."""
    if settings.storage == "s3":
        from meshsmith.service.storage_s3 import S3Storage

        return S3Storage(settings)
    return LocalStorage(settings.files_dir)
