"""What the sync and async clients share: the retry policy, error decoding, the event-stream
decoder, request bodies and download plans. Nothing here does I/O."""

from __future__ import annotations

import email.utils
import logging
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from meshsmith.client.errors import STATUS_ERRORS, ApiError, ServerError
from meshsmith.client.models import Task
from meshsmith.errors import InputNotFoundError, InvalidViewsError, TaskStateError

log = logging.getLogger("meshsmith.client")

SLOTS = ("front", "back", "left", "right")
RETRY_STATUSES = (500, 502, 503, 504)
#: Formats whose model file stands alone; the others need the task's other files beside them
#: (an OBJ its .mtl and textures, a glTF its .bin, a USD crate its textures).
SELF_CONTAINED = frozenset({"glb", "stl", "ply", "3mf", "usdz", "fbx"})


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` after the first try; waits ``backoff * 2**n`` (jittered by up to half,
    at most ``max_backoff``), or the server's ``Retry-After`` when that is longer (up to
    ``max_retry_after``; a longer one is not waited for)."""

    retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retry ``attempt + 1``; ``None`` when none is left."""
        if attempt >= self.retries:
            return None
        wait = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
        after = retry_after(response) if response is not None else None
        if after is not None and after > self.max_retry_after:
            return None
        return max(wait, after or 0.0)


def next_delay(policy: RetryPolicy, base_url: str, attempt: int, idempotent: bool,
               response: httpx.Response | None, exc: httpx.TransportError | None) -> float:
    """Seconds to wait before the next try; raises the final error when no retry is
    allowed (:class:`ServerUnreachableError` for a transport error, else the API's)."""
    from meshsmith.errors import ServerUnreachableError

    delay = policy.delay(attempt, response) if retryable(idempotent, response, exc) else None
    if delay is None:
        if exc is not None:
            raise ServerUnreachableError(f"{base_url}: {exc!r}") from exc
        assert response is not None
        raise api_error(response)
    log.info("retrying in %.2f s after %r", delay, exc or response)
    return delay


def parse_json(response: httpx.Response, url: str) -> Any:
    """The response's JSON body; :class:`UnexpectedResponseError` when it is not JSON."""
    from meshsmith.errors import UnexpectedResponseError

    try:
        return response.json()
    except ValueError as exc:
        raise UnexpectedResponseError(f"{url}: not JSON: {response.text[:200]}") from exc


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        return None if when is None else max(0.0, when.timestamp() - time.time())


def retryable(idempotent: bool, response: httpx.Response | None,
              exc: Exception | None = None) -> bool:
    """Whether an outcome may be retried: a 429 or a connection never made always (the
    server did nothing); a 5xx or a connection lost mid-request only for ``idempotent``
    requests (GETs, a create with its idempotency key, uploads)."""
    if exc is not None:
        return idempotent or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    assert response is not None
    return response.status_code == 429 or (
        idempotent and response.status_code in RETRY_STATUSES)


def api_error(response: httpx.Response) -> ApiError:
    """The typed error for a refused request, from the native envelope
    ``{"error": {"code", "message"}}``; a body without one keeps the HTTP status."""
    status = response.status_code
    cls = STATUS_ERRORS.get(status, ServerError if status >= 500 else ApiError)
    try:
        error = response.json()["error"]
        return cls(int(error["code"]), str(error["message"]), status)
    except (ValueError, KeyError, TypeError):
        fallback = {401: 10010001, 402: 10040001, 404: 10070001, 429: 10040003}
        code = fallback.get(status, 10090001 if status >= 500 else 10020001)
        return cls(code, f"HTTP {status}: {response.text[:200]}", status)


class SseDecoder:
    """Server-sent events, one line at a time: :meth:`feed` returns ``(event, data)`` when a
    blank line ends an event, else ``None``. Comments (keep-alives) are skipped."""

    def __init__(self) -> None:
        self.event = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        """Take one line (without its newline)."""
        if not line:
            if not self.data:
                return None
            done = (self.event, "\n".join(self.data))
            self.event, self.data = "message", []
            return done
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None


def task_id(task: Task | str) -> str:
    """The ID of a task given as a :class:`Task` or its ID."""
    return task.id if isinstance(task, Task) else task


def task_body(views: Mapping[str, str], options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST /v1/tasks`` body, with an ``idempotency_key`` (a fresh UUID unless the
    options name one), so a retried create can never make a second task."""
    body = {"views": dict(views), **options}
    body.setdefault("idempotency_key", uuid.uuid4().hex)
    return body


def image_slots(images: Sequence[str | Path] | Mapping[str, str | Path],
                views: Sequence[str] | None = None) -> dict[str, Path]:
    """Image files by view slot: a mapping as given, or a sequence filling ``views`` (front,
    back, left, right by default). Every file must exist."""
    if isinstance(images, Mapping):
        slots = {str(k): Path(v) for k, v in images.items()}
    else:
        names = list(views) if views else list(SLOTS[: len(images)])
        if len(images) > len(SLOTS) or len(names) != len(images) or len(set(names)) != len(names):
            raise InvalidViewsError(f"{len(images)} image(s) for views {names}: give 1-4 "
                                    "images and one distinct slot each")
        slots = {name: Path(p) for name, p in zip(names, images, strict=True)}
    for path in slots.values():
        if not path.is_file():
            raise InputNotFoundError(f"no such image file: {path}")
    return slots


def download_plan(task: Task, formats: Sequence[str] | None) -> list[tuple[str, str]]:
    """``(file name, signed URL)`` to fetch: the model in each of ``formats`` (every model
    format when ``None``) and, when one of them is not self-contained, the task's other
    files (textures, .mtl, .bin) except other formats' models and the cover."""
    if task.status != "success" or not task.outputs:
        raise TaskStateError(f"task {task.id} is {task.status}: only a successful task "
                             "has files to download")
    models: dict[str, str] = task.outputs.get("model") or {}
    wanted = [f.lower() for f in formats] if formats else list(models)
    missing = [f for f in wanted if f not in models]
    if missing:
        raise TaskStateError(f"task {task.id} has no {', '.join(missing)} model; it has "
                             f"{', '.join(models) or 'none'}")
    urls = [models[f] for f in wanted]
    if not SELF_CONTAINED.issuperset(wanted):
        skip = {file_name(u) for u in [*models.values(), task.outputs.get("cover")] if u}
        urls += [u for u in (task.outputs.get("files") or {}).values()
                 if file_name(u) not in skip]
    return [(file_name(u), u) for u in dict.fromkeys(urls)]


def file_name(url: str) -> str:
    """The file name a signed download link names (its last path segment)."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"no file name in download link {url!r}")
    return name
