"""Images coming in: uploads, and task view references resolved to stored uploads.

A reference is a ``file_token`` from ``POST /v1/uploads``, an ``http(s)`` URL (fetched with
the address rules of :mod:`meshsmith.service.fetch`), or a ``data:image/...;base64,`` URI.
Every image passes the engine's own input checks (:func:`meshsmith.inputs.decode.load_image`)
before it is stored, so a task never starts on an image the engine would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshsmith.errors import UnsupportedImageFormatError
from meshsmith.inputs.decode import load_image
from meshsmith.service.fetch import FetchPolicy, fetch_image_bytes
from meshsmith.service.models import Upload
from meshsmith.service.settings import Settings
from meshsmith.service.storage import Storage
from meshsmith.service.store import Store, new_id

_EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "bmp": "bmp"}


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The address, size and timeout rules for fetching image URLs."""
    return FetchPolicy(max_bytes=settings.max_upload_bytes,
                       connect_timeout_s=settings.fetch_connect_timeout_s,
                       read_timeout_s=settings.fetch_read_timeout_s,
                       allow=tuple(settings.fetch_allow))


def store_image(store: Store, storage: Storage, settings: Settings, owner_id: str,
                data: bytes, formats: tuple[str, ...] | None = None) -> Upload:
    """Check ``data`` with the engine's decoder (and, if given, that its format is one of
    ``formats``, as a dialect may allow fewer), store it, and record the upload."""
    image = load_image(data, max_bytes=settings.max_upload_bytes)
    if formats is not None and image.format not in formats:
        raise UnsupportedImageFormatError(
            f"the image is {image.format.upper()}; send {', '.join(formats)}")
    upload_id = new_id()
    key = f"uploads/{owner_id}/{upload_id}.{_EXTENSIONS[image.format]}"
    storage.put_bytes(key, data)
    width, height = image.size
    return store.add_upload(owner_id, key, width, height, image.format, len(data), upload_id)


def resolve_views(store: Store, storage: Storage, settings: Settings, owner_id: str,
                  refs: Mapping[str, str]) -> dict[str, str]:
    """Map each slot's reference to an upload ID (fetching URLs and decoding data URIs
    first). A ``file_token`` passes through as it is: :meth:`Store.create_task` checks, in
    the task's own transaction, that every upload exists and belongs to ``owner_id``."""
    return {slot: _resolve(store, storage, settings, owner_id, ref)
            for slot, ref in refs.items()}


def is_remote(ref: str) -> bool:
    """Whether a view reference must be fetched or decoded (a URL or a data URI) rather
    than being a ``file_token``. The fetcher refuses schemes other than http(s) and data."""
    return ref.startswith("data:") or "://" in ref


def _resolve(store: Store, storage: Storage, settings: Settings, owner_id: str, ref: str
             ) -> str:
    if is_remote(ref):
        data = fetch_image_bytes(ref, fetch_policy(settings))
        return store_image(store, storage, settings, owner_id, data).id
    return ref
