"""The spark_3d-compatible dialect under ``/v1/3d/generations`` (Bearer key).

A spark_3d client works by changing its base URL and key. ``POST /v1/3d/generations`` takes
``{"model": "spark_3d", "content": [text item, image_url item]}``; the text carries the
model text commands (``--subdivisionlevel``/``--sl``, ``--fileformat``/``--ff``).
``GET /v1/3d/generations/{id}`` polls. Both answer the generation object. Errors use the
9-digit codes of ``../shared/seeds/002_...`` as strings, in the envelope of
:func:`meshsmith.service.api.envelopes.spark3d_error`. Anything this dialect does not have
(an unknown field, item type or command, a second image) is refused with 003020099, never
ignored. The README's "spark_3d" section lists every parameter and what Meshsmith does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Annotated, Any
from urllib.parse import urlsplit

from anyio import to_thread
from fastapi import APIRouter, Body
from fastapi.responses import Response

from meshsmith.errors import (
    DialectRuleError,
    ExportError,
    InputImageError,
    MeshsmithError,
    error_for_code,
)
from meshsmith.service import states
from meshsmith.service.api.deps import KeyDep, ServicesDep
from meshsmith.service.api.native import owned_view
from meshsmith.service.app import Services
from meshsmith.service.fetch import fetch_image_bytes
from meshsmith.service.intake import fetch_policy, store_image
from meshsmith.service.models import Task
from meshsmith.service.render import result_files, signed_file_url
from meshsmith.service.settings import Settings
from meshsmith.service.submission import Submission, request_hash, submit
from meshsmith.spec import GeometryOptions, Resolution, TaskSpec

router = APIRouter(prefix="/v1/3d", tags=["spark_3d"])

MODEL = "spark_3d"
# The seed's error codes (sent as 9-digit strings: ``f"{code:09d}"``).
MISSING_TEXT, MISSING_IMAGE, BAD_LEVEL, BAD_FORMAT, BAD_IMAGE_URL = (
    3020001, 3020002, 3020003, 3020004, 3020005)
GENERATION_ERROR, RESULT_ERROR, STATUS_ERROR, CREATION_ERROR = 3020095, 3020096, 3020098, 3020099

#: ``--subdivisionlevel`` -> the exact face target.
LEVEL_FACES = {"high": 200_000, "medium": 100_000, "low": 30_000}
DEFAULT_LEVEL = "medium"
#: ``--fileformat`` values of the seed; those without an exporter are refused (003020004).
FILE_FORMATS = ("glb", "obj", "usd", "usdz")
DEFAULT_FORMAT = "glb"
#: Command name or abbreviation -> the command.
COMMANDS = {"subdivisionlevel": "subdivisionlevel", "sl": "subdivisionlevel",
            "fileformat": "fileformat", "ff": "fileformat"}
#: The reconstruction grid of every spark_3d task (Meshsmith's standard one).
RESOLUTION: Resolution = "1024"

IMAGE_FORMATS = ("jpg", "jpeg", "png", "webp", "bmp")
MAX_IMAGE_BYTES = 10_000_000  # "less than or equal to 10MB"
MAX_IMAGE_PIXELS = 4096 * 4096  # "total pixels: less than 4096x4096"
_DATA_URI = re.compile(r"data:image/([^;,]*);base64,(.*)", re.DOTALL)

#: Internal status -> spark_3d status.
STATUSES = {states.QUEUED: "queued", states.RUNNING: "processing",
            states.SUCCESS: "completed", states.FAILED: "failed",
            states.CANCELLED: "failed", states.EXPIRED: "completed"}


def rule(code: int, message: str) -> DialectRuleError:
    """A spark_3d request error (HTTP 400) with its seed code (the envelope pads it to 9
    digits)."""
    return DialectRuleError(message, code)


@dataclass(frozen=True)
class SparkRequest:
    """A validated ``POST /v1/3d/generations`` body."""

    level: str  # high | medium | low
    file_format: str  # a format Meshsmith can write
    prompt: str  # the text that is not a command (the engine takes no text prompt)
    image_url: str  # an http(s) URL or a data:image/<fmt>;base64, URI


# --- the request ---------------------------------------------------------------------------

@router.post("/generations", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["model", "content"],
                                    "description": "spark_3d's {model, content} body"}}}}})
async def create_generation(svc: ServicesDep, key: KeyDep,
                            raw: Annotated[dict[str, Any], Body()]) -> Response:
    """Create a generation -> the generation object (``status: queued``). The image is
    fetched or decoded and checked against spark_3d's limits before the task exists."""
    body = parse_request(raw)
    upload_id = await to_thread.run_sync(stored_image, svc, key.id, body.image_url)
    sub = Submission(owner_id=key.id, spec=task_spec(body), refs={"front": upload_id},
                     request_hash=request_hash(json.dumps(raw, sort_keys=True)),
                     client_request={"model": MODEL, "subdivisionlevel": body.level,
                                     "fileformat": body.file_format, "prompt": body.prompt})
    task, _ = await submit(svc, sub)
    return _json(generation(task, svc.settings))


def parse_request(raw: dict[str, Any]) -> SparkRequest:
    """The seed's rules in its code order: the body's shape (003020099), the text
    (003020001), the image (003020002), the commands (003020003/4), the URL (003020005)."""
    unknown = sorted(set(raw) - {"model", "content"})
    if unknown:
        raise rule(CREATION_ERROR, f"unknown field(s) {unknown}; spark_3d takes model and "
                                   "content")
    if raw.get("model") != MODEL:
        raise rule(CREATION_ERROR, f"model must be {MODEL!r}; got {raw.get('model')!r}")
    texts, images = content_items(raw.get("content", []))
    level, file_format, prompt = parse_commands(" ".join(texts))
    check_image_url(images[0])
    return SparkRequest(level, file_format, prompt, images[0])


def content_items(content: Any) -> tuple[list[str], list[str]]:
    """``(texts, image URLs)``: at least one non-empty text and exactly one image."""
    if not isinstance(content, list):
        raise rule(CREATION_ERROR, "content must be an array of text and image_url items")
    texts: list[str] = []
    images: list[str] = []
    for index, item in enumerate(content):
        kind, value = content_item(index, item)
        (texts if kind == "text" else images).append(value)
    if not any(text.strip() for text in texts):
        raise rule(MISSING_TEXT, "content needs a text item with non-empty text (a prompt, "
                                 "the text commands, or both)")
    if not images:
        raise rule(MISSING_IMAGE, "content needs an image_url item with image_url.url")
    if len(images) > 1:
        raise rule(CREATION_ERROR, f"content has {len(images)} image_url items; spark_3d "
                                   "takes one image (the front view)")
    return texts, images


def content_item(index: int, item: Any) -> tuple[str, str]:
    """One item as ``("text", text)`` or ``("image_url", url)``; anything else is 003020099,
    an item without its text 003020001, one without its URL 003020002."""
    kind = item.get("type") if isinstance(item, dict) else None
    if kind not in ("text", "image_url"):
        raise rule(CREATION_ERROR, f"content[{index}]: type must be 'text' or 'image_url'; "
                                   f"got {kind!r}")
    extra = sorted(set(item) - {"type", kind})
    if extra:
        raise rule(CREATION_ERROR, f"content[{index}]: unknown field(s) {extra}")
    value = item.get(kind)
    if kind == "image_url":
        return kind, image_item_url(index, value)
    if not isinstance(value, str):
        raise rule(MISSING_TEXT, f"content[{index}]: a text item needs 'text' (a string)")
    return kind, value


def image_item_url(index: int, value: Any) -> str:
    """``image_url.url`` of an image item (its only field)."""
    if isinstance(value, dict) and set(value) - {"url"}:
        raise rule(CREATION_ERROR, f"content[{index}].image_url: unknown field(s) "
                                   f"{sorted(set(value) - {'url'})}")
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str) or not url.strip():
        raise rule(MISSING_IMAGE, f"content[{index}]: an image_url item needs image_url.url")
    return url.strip()


def parse_commands(text: str) -> tuple[str, str, str]:
    """``(level, file format, prompt)`` from the text: ``--name value`` or ``--name=value``
    pairs are commands, every other word is the prompt. A command may be given once."""
    given: dict[str, str | None] = {}
    words: list[str] = []
    tokens = text.split()
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("--"):
            words.append(token)
            continue
        name, eq, value = token[2:].partition("=")
        command = command_name(name)
        if command in given:
            raise rule(_code(command), f"--{command} is given more than once")
        takes_next = not eq and tokens and not tokens[0].startswith("--")
        given[command] = tokens.pop(0) if takes_next else (value if eq else None)
    level = command_value("subdivisionlevel", given, tuple(LEVEL_FACES), DEFAULT_LEVEL)
    return level, file_format(given), " ".join(words)


def command_name(name: str) -> str:
    """The command a ``--name`` stands for; an unknown one is refused (003020099)."""
    if name not in COMMANDS:
        raise rule(CREATION_ERROR, f"unknown text command --{name}; spark_3d has "
                                   "--subdivisionlevel (--sl) and --fileformat (--ff)")
    return COMMANDS[name]


def _code(command: str) -> int:
    return BAD_LEVEL if command == "subdivisionlevel" else BAD_FORMAT


def command_value(command: str, given: dict[str, str | None], allowed: tuple[str, ...],
                  default: str) -> str:
    """The command's value if it is one of ``allowed`` (lowercase, as the seed lists them),
    the default if the command is absent; otherwise its error code."""
    if command not in given:
        return default
    value = given[command]
    if value is None or value not in allowed:
        raise rule(_code(command), f"--{command} must be one of {', '.join(allowed)}; "
                                   f"got {value or 'no value'!r}")
    return value


def file_format(given: dict[str, str | None]) -> str:
    """``--fileformat``: one of the seed's formats (each is a registered exporter)."""
    from meshsmith.exporters import EXPORTERS

    value = command_value("fileformat", given, FILE_FORMATS, DEFAULT_FORMAT)
    if value not in EXPORTERS:
        raise rule(BAD_FORMAT, f"--fileformat {value} is not supported by this server yet; "
                               f"use {' or '.join(f for f in FILE_FORMATS if f in EXPORTERS)}")
    return value


def check_image_url(url: str) -> None:
    """An http(s) URL with a host, or ``data:image/<lowercase fmt>;base64,<data>`` with a
    spark_3d format (003020005 otherwise)."""
    if url.startswith("data:"):
        match = _DATA_URI.fullmatch(url)
        if match is None:
            raise rule(BAD_IMAGE_URL, "a data URI must look like "
                                      "data:image/<format>;base64,<base64 data>")
        fmt = match.group(1)
        if fmt not in IMAGE_FORMATS:
            raise rule(BAD_IMAGE_URL, f"data URI image format {fmt!r} is not one of "
                                      f"{', '.join(IMAGE_FORMATS)} (lowercase)")
        return
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise rule(BAD_IMAGE_URL, "image_url.url must be an http(s) URL or a "
                                  "data:image/<format>;base64,... URI")


def task_spec(body: SparkRequest) -> TaskSpec:
    """The internal spec: one front view, the level's face count on the standard grid,
    a 2048 px PBR texture, the requested format (the view is a placeholder until resolved)."""
    return TaskSpec(views={"front": Path("front")},
                    geometry=GeometryOptions(resolution=RESOLUTION,
                                             faces=LEVEL_FACES[body.level]),
                    output_format=body.file_format)


# --- the image -----------------------------------------------------------------------------

def stored_image(svc: Services, owner_id: str, url: str) -> str:
    """Fetch or decode the image under spark_3d's 10 MB cap, check it with the engine's
    decoder, store it, and check spark_3d's pixel limit; returns the upload ID. Blocking.

    The engine's own errors (not an image, GIF, a side over 4096 px, truncated, ...) are
    input-image errors, which the envelope answers with 003020005."""
    policy = fetch_policy(svc.settings)
    policy = replace(policy, max_bytes=min(policy.max_bytes, MAX_IMAGE_BYTES))
    data = fetch_image_bytes(url, policy)
    if len(data) > MAX_IMAGE_BYTES:
        raise rule(BAD_IMAGE_URL, f"the image is {len(data):,} bytes; spark_3d takes at "
                                  f"most {MAX_IMAGE_BYTES:,} (10 MB)")
    upload = store_image(svc.store, svc.storage, svc.settings, owner_id, data)
    if upload.width * upload.height >= MAX_IMAGE_PIXELS:
        raise rule(BAD_IMAGE_URL, f"the image is {upload.width}x{upload.height} pixels; "
                                  "spark_3d takes fewer than 4096x4096 in total")
    return upload.id


# --- polling -------------------------------------------------------------------------------

@router.get("/generations/{generation_id}")
async def get_generation(generation_id: str, svc: ServicesDep, key: KeyDep) -> Response:
    """The generation object (from the status read model); 404 with 003020098 for an
    unknown task or another key's."""
    view = await owned_view(svc, key.id, generation_id)
    return Response(view.body("spark3d", lambda: _render(view.task, svc.settings)),
                    media_type="application/json")


def _render(task: Task, settings: Settings) -> bytes:
    return json.dumps(generation(task, settings), separators=(",", ":")).encode()


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


def generation(task: Task, settings: Settings) -> dict[str, Any]:
    """spark_3d's generation object: ``error`` only when failed, ``output`` and ``usage``
    only when completed; times are integer UNIX seconds."""
    status = STATUSES.get(task.status, "failed")
    body: dict[str, Any] = {"id": task.id, "model": MODEL, "status": status,
                            "created_at": int(task.created_at),
                            "updated_at": int(task.updated_at),
                            "metadata": metadata(task)}
    if status == "failed":
        body["error"] = task_error(task)
    if status == "completed":
        body["output"] = [{"content": output_content(task, settings), "jobId": task.id}]
        body["usage"] = usage(task, settings)
    return body


def metadata(task: Task) -> dict[str, Any]:
    """Meshsmith's view of the task: its own status and progress, the credits, the face
    count and format, and what the request asked (for tasks made by this dialect)."""
    request = task.client_request or {}
    return {"meshsmith_status": task.status, "progress": round(task.progress),
            "credits": task.cost, "faces": task.options.get("faces"),
            "fileformat": request.get("fileformat", task.options.get("format")),
            "subdivisionlevel": request.get("subdivisionlevel"),
            "prompt": request.get("prompt")}


def output_content(task: Task, settings: Settings) -> list[dict[str, str]]:
    """Every result file as ``{type: <extension>, url}``, the model first (an OBJ's MTL
    and texture image follow it); the URLs are signed links."""
    if task.status == states.EXPIRED:  # charged, but its files passed their retention
        return []
    return [{"type": PurePosixPath(name).suffix.lstrip("."),
             "url": signed_file_url(settings, task, name)} for name in result_files(task)]


def usage(task: Task, settings: Settings) -> dict[str, Any]:
    """The cost in USD (credits x ``spark_usd_per_credit``, an exact decimal string); there
    are no tokens, so every token count is 0."""
    rate = Decimal(repr(settings.spark_usd_per_credit))
    cost = Decimal(task.cost) * rate
    return {"cost": format(cost, "f"), "discount": 0, "input_tokens": 0,
            "output_tokens": 0, "total_tokens": 0}


def task_error(task: Task) -> dict[str, str]:
    """``{code, error_message}`` of a failed or cancelled task: an image the engine could
    not use 003020005, an export failure 003020096, any other failure (and a cancellation)
    003020095."""
    if task.status == states.CANCELLED:
        return _error(GENERATION_ERROR, "the generation was cancelled; nothing was charged")
    error = error_for_code(task.error_code or MeshsmithError.code, task.error_message or "")
    code = (BAD_IMAGE_URL if isinstance(error, InputImageError)
            else RESULT_ERROR if isinstance(error, ExportError) else GENERATION_ERROR)
    return _error(code, f"{error.message} (Meshsmith error {task.error_code})")


def _error(code: int, message: str) -> dict[str, str]:
    return {"code": f"{code:09d}", "error_message": message}
