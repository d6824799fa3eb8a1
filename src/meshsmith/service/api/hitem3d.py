"""The Hitem3D-compatible dialect under ``/open-api/v1`` (Hitem3D's open platform API).

A client gets an access token with HTTP Basic ``client_id:client_secret`` (the secret is the
API key; the ID is the key's public ID, or the key again), then submits multipart tasks and
polls them. Requests are translated into the one internal :class:`~meshsmith.spec.TaskSpec`
here; responses are ``{"code": 200, "data": ..., "msg": "success"}`` and errors use
Hitem3D's codes (:func:`meshsmith.service.api.envelopes.hitem3d_error`). The README's
"Hitem3D dialect" tables list every field and model; ``../shared/seeds/000_...`` and
``001_...`` are the authority.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from anyio import to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData, UploadFile

from meshsmith.errors import AuthenticationError, DialectRuleError, MeshsmithError
from meshsmith.exporters import EXPORTERS
from meshsmith.pipeline.retexture import MESH_SUFFIXES
from meshsmith.service import states
from meshsmith.service.api.deps import KeyDep, ServicesDep
from meshsmith.service.api.native import owned_view
from meshsmith.service.app import Services
from meshsmith.service.auth import issue_token
from meshsmith.service.files import check_download
from meshsmith.service.intake import store_image
from meshsmith.service.models import Task
from meshsmith.service.readmodel import TaskView
from meshsmith.service.render import cover_url, model_file, result_files, signed_file_url
from meshsmith.service.settings import Settings
from meshsmith.service.storage import task_key
from meshsmith.service.submission import Submission, check_callback, request_hash, submit
from meshsmith.spec import (
    DEFAULT_FACES,
    SLOTS,
    GeometryOptions,
    InputOptions,
    Resolution,
    TaskSpec,
    TextureOptions,
)

PREFIX = "/open-api/v1"
router = APIRouter(prefix=PREFIX, tags=["hitem3d"])

MIN_FACES, MAX_FACES = 100_000, 2_000_000
MAX_IMAGE_BYTES = 20_000_000
IMAGE_FORMATS = ("png", "jpeg", "webp")
FORMATS = {1: "obj", 2: "glb", 3: "stl", 4: "fbx"}  # the format codes
WEBHOOK = "hitem3d"  # the name of this dialect's callback body (see WebhookSender)


@dataclass(frozen=True)
class ModelRule:
    """What one model accepts: resolutions (none: a portrait model, which takes none),
    its default resolution, and its request types."""

    resolutions: tuple[Resolution, ...]
    default: Resolution
    request_types: tuple[int, ...]
    portrait: bool = False


#: The seed's Sparc3D model IDs (000: requestType 1 or 3) and the open-platform names.
MODELS: dict[str, ModelRule] = {
    "model_sparc3d": ModelRule(("512", "1024", "1536", "1536pro"), "1024", (1, 3)),
    "model_hitem-sparc-3d-2": ModelRule(("1536", "1536pro"), "1536", (1, 3)),
    "model_hitem-sparc-3d-portrait-2": ModelRule((), "1536", (1, 3), portrait=True),
    "model_sparc3d-portrait": ModelRule((), "1024", (1, 3), portrait=True),
    "hitem3dv1": ModelRule(("512", "1024", "1536"), "1024", (1, 2, 3)),
    "hitem3dv1.5": ModelRule(("512", "1024", "1536", "1536pro"), "1024", (1, 2, 3)),
    "hitem3dv2.0": ModelRule(("1536", "1536pro"), "1536", (1, 2, 3)),
    "scene-portraitv1.5": ModelRule((), "1024", (1, 2, 3), portrait=True),
    "scene-portraitv2.0": ModelRule((), "1536", (1, 2, 3), portrait=True),
}
DEFAULT_MODEL = "hitem3dv1.5"


def ok(data: Any) -> JSONResponse:
    """Hitem3D's success envelope."""
    return JSONResponse({"code": 200, "data": data, "msg": "success"})


def reject(code: int, message: str, status: int = 400) -> DialectRuleError:
    return DialectRuleError(message, code, status)


# --- token and balance ---------------------------------------------------------------------

@router.post("/auth/token")
def token(svc: ServicesDep, authorization: Annotated[str | None, Header()] = None
          ) -> JSONResponse:
    """``Authorization: Basic base64(client_id:client_secret)`` -> a 24 h access token."""
    client_id, secret = basic_credentials(authorization)
    try:
        key = svc.store.authenticate(secret)
    except AuthenticationError:
        raise reject(40010000, "invalid client credentials", 401) from None
    if client_id not in (key.id, secret):
        raise reject(40010000, "client_id does not belong to this client_secret", 401)
    access, _ = issue_token(svc.settings, key.id)
    return ok({"accessToken": access, "tokenType": "Bearer", "nonce": secrets.token_hex(8)})


def basic_credentials(authorization: str | None) -> tuple[str, str]:
    """``(client_id, client_secret)`` of a Basic header; 40010000 if there is none."""
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, sep, secret = decoded.partition(":")
    if scheme.lower() != "basic" or not sep or not secret:
        raise reject(40010000, "send Authorization: Basic base64(client_id:client_secret)", 401)
    return client_id, secret


@router.get("/balance")
def balance(svc: ServicesDep, key: KeyDep) -> JSONResponse:
    """Credits: ``balance`` available and ``frozen`` in queued or running tasks."""
    b = svc.store.balance(key.id)
    return ok({"balance": b.available, "frozen": b.frozen})


# --- submitting ----------------------------------------------------------------------------

FIELDS = ("request_type", "requestType", "model", "resolution", "face", "format",
          "callback_url", "mesh_url", "multi_images_bit")
FILE_FIELDS = ("images", "multi_images")


@dataclass(frozen=True)
class SubmitForm:
    """The multipart fields of ``POST /submit-task``, parsed with Hitem3D's codes."""

    request_type: int
    model: str
    resolution: str | None
    face: int | None
    format: int
    callback_url: str | None
    mesh_url: str | None
    multi_images_bit: str | None


_FORM_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "description": "see the README's Hitem3D section",
    "properties": {
        "request_type": {"type": "integer", "enum": [1, 2, 3], "default": 3},
        "model": {"type": "string", "default": DEFAULT_MODEL},
        "resolution": {"type": "string"}, "face": {"type": "integer"},
        "format": {"type": "integer", "enum": [1, 2, 3, 4], "default": 1},
        "callback_url": {"type": "string"}, "mesh_url": {"type": "string"},
        "multi_images_bit": {"type": "string"},
        "images": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "multi_images": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}}


@router.post("/submit-task", openapi_extra=_FORM_DOC)
async def submit_task(request: Request, svc: ServicesDep, key: KeyDep) -> JSONResponse:
    """Create a task from ``images`` (1-4 files) or ``multi_images`` (2-4 files) ->
    ``{task_id}``. Every field is checked; an unknown one is refused (10030000)."""
    async with request.form(max_files=8, max_fields=32) as raw:
        form = parse_form(raw)
        rule = check_form(form)
        files = image_files(raw.getlist("images"), raw.getlist("multi_images"),
                            form.multi_images_bit)
        source = None
        if form.request_type == 2:
            source = await to_thread.run_sync(check_mesh_url, svc, key.id, form.mesh_url)
        if form.callback_url is not None:
            await check_callback(svc, form.callback_url)
        spec = task_spec(form, rule, files)
        refs = await to_thread.run_sync(store_files, svc, key.id, files)
    sub = Submission(owner_id=key.id, spec=spec, refs=refs, callback_url=form.callback_url,
                     source_model=source,
                     request_hash=request_hash(json.dumps(form.__dict__), *refs.values()),
                     client_request={"webhook": WEBHOOK, "model": form.model,
                                     "format": FORMATS[form.format]})
    task, _ = await submit(svc, sub)
    return ok({"task_id": task.id})


def parse_form(raw: FormData) -> SubmitForm:
    """The fields as values; unknown or repeated fields and non-numbers get their codes."""
    unknown = sorted(set(raw.keys()) - set(FIELDS) - set(FILE_FIELDS))
    if unknown:
        raise reject(10030000, f"unknown field(s) {', '.join(unknown)}")
    text = {name: _text(raw, name) for name in FIELDS}
    request_type = _request_type(text["request_type"], text["requestType"])
    if text["mesh_url"] is not None and request_type != 2:
        raise reject(10030000, "mesh_url is only for request_type 2")
    return SubmitForm(
        request_type=request_type, model=text["model"] or DEFAULT_MODEL,
        resolution=text["resolution"],
        face=_number(text["face"], 10031002, "face"),
        format=_default(_number(text["format"], 10031004, "format"), 1),
        callback_url=text["callback_url"], mesh_url=text["mesh_url"],
        multi_images_bit=text["multi_images_bit"])


def _text(raw: FormData, name: str) -> str | None:
    values = raw.getlist(name)
    if len(values) > 1 or any(not isinstance(v, str) for v in values):
        raise reject(10030000, f"{name} must be sent once, as text")
    return str(values[0]) if values else None


def _request_type(snake: str | None, camel: str | None) -> int:
    """``request_type``, or 000's spelling ``requestType``; both must agree."""
    if snake is not None and camel is not None and snake != camel:
        raise reject(10030000, "request_type and requestType differ")
    return _default(_number(snake if snake is not None else camel, 10030000, "request_type"), 3)


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def _number(value: str | None, code: int, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise reject(code, f"{name} must be a whole number; got {value!r}") from None


def check_form(form: SubmitForm) -> ModelRule:
    """Model, request type, resolution, face count and format, with Hitem3D's codes."""
    rule = MODELS.get(form.model)
    if rule is None:
        raise reject(10031006, f"unknown model {form.model!r}; use one of {', '.join(MODELS)}")
    if form.request_type not in (1, 2, 3):
        raise reject(10030000, "request_type must be 1 (geometry), 2 (texture a mesh) or 3")
    if form.request_type not in rule.request_types:
        raise reject(10030000, f"model {form.model} takes request_type "
                               f"{' or '.join(map(str, rule.request_types))}")
    check_resolution(form, rule)
    if form.face is not None and not MIN_FACES <= form.face <= MAX_FACES:
        raise reject(10031002, f"face must be {MIN_FACES:,}-{MAX_FACES:,}; got {form.face:,}")
    if form.format not in FORMATS:
        raise reject(10031004, "format must be 1 (obj), 2 (glb), 3 (stl) or 4 (fbx)")
    if FORMATS[form.format] not in EXPORTERS:
        raise reject(10031004, f"{FORMATS[form.format].upper()} output is not supported by "
                               "this server yet; use 1 (obj), 2 (glb) or 3 (stl)")
    return rule


def check_resolution(form: SubmitForm, rule: ModelRule) -> None:
    if rule.portrait and form.resolution is not None:
        raise reject(10031003, f"portrait model {form.model} takes no resolution")
    if not rule.portrait and form.resolution is not None \
            and form.resolution not in rule.resolutions:
        raise reject(10031003, f"model {form.model} allows resolution "
                               f"{', '.join(rule.resolutions)}; got {form.resolution!r}")


def image_files(images: list[Any], multi: list[Any], bits: str | None
                ) -> dict[str, UploadFile]:
    """Slot -> file. ``images``: 1-4 files, front first then back, left, right (000);
    ``multi_images``: 2-4 files in that order, or the slots ``multi_images_bit`` marks
    (``1010``: front and left)."""
    if any(not isinstance(f, UploadFile) for f in [*images, *multi]):
        raise reject(10030000, "images and multi_images must be files")
    if images and multi:
        raise reject(10031007, "send images or multi_images, not both")
    if not images and not multi:
        raise reject(10031008, "no images: send images (1 file) or multi_images (2-4 files)")
    if len(images or multi) > 4:
        raise reject(10031009, f"at most 4 views; got {len(images or multi)}")
    if images:
        if bits is not None:
            raise reject(10030000, "multi_images_bit goes with multi_images")
        return dict(zip(SLOTS, images, strict=False))
    if len(multi) < 2:
        raise reject(10031008, "multi_images takes 2-4 files; use images for one")
    return dict(zip(view_slots(bits, len(multi)), multi, strict=True))


def view_slots(bits: str | None, count: int) -> list[str]:
    """The slots of ``count`` multi_images, in order (front, back, left, right)."""
    if bits is None:
        return list(SLOTS[:count])
    if len(bits) != 4 or set(bits) - {"0", "1"} or bits[0] != "1":
        raise reject(10030000, "multi_images_bit is 4 digits of 0/1 for front, back, left, "
                               f"right, with the front set (e.g. 1010); got {bits!r}")
    slots: list[str] = [slot for slot, bit in zip(SLOTS, bits, strict=True) if bit == "1"]
    if len(slots) != count:
        raise reject(10030000, f"multi_images_bit {bits} marks {len(slots)} views but "
                               f"{count} files were sent")
    return slots


def check_mesh_url(svc: Services, owner_id: str, mesh_url: str | None) -> str:
    """Type 2 needs ``mesh_url``: a download link of one of this key's results, a model
    Meshsmith can read back (not FBX). Returns the model's storage key."""
    if not mesh_url:
        raise reject(10031011, "request_type 2 needs mesh_url (a model from an earlier task)")
    try:
        parts = urlsplit(mesh_url)
        prefix, task_id, name = parts.path.rsplit("/", 2)
        query = parse_qs(parts.query)
        task = check_download(svc, task_id, name, int(query["expires"][0]), query["sig"][0])
    except (KeyError, ValueError, MeshsmithError):
        raise reject(10031012, "mesh_url is not a valid, unexpired Meshsmith result link") \
            from None
    models = (task.outputs or {}).get("model", {}).values()
    if task.owner_id != owner_id or not prefix.endswith("/v1/files") or name not in models:
        raise reject(10031012, "mesh_url is not a model of one of this key's results")
    if PurePosixPath(name).suffix.lower() not in MESH_SUFFIXES:
        raise reject(10031012, f"mesh_url is a {PurePosixPath(name).suffix} model; texturing "
                               f"reads {', '.join(MESH_SUFFIXES)} (use format 1, 2 or 3)")
    return task_key(task.id, name)


def task_spec(form: SubmitForm, rule: ModelRule, files: dict[str, UploadFile]) -> TaskSpec:
    if form.request_type == 2:
        return texture_spec(form, rule, files)
    resolution: Resolution = rule.default if form.resolution is None \
        else form.resolution  # type: ignore[assignment]
    faces = form.face if form.face is not None else DEFAULT_FACES[resolution]
    return TaskSpec(
        views={slot: Path(slot) for slot in files},  # type: ignore[misc]
        geometry=GeometryOptions(resolution=resolution, faces=faces - faces % 2),
        texture=TextureOptions(enabled=form.request_type == 3),
        inputs=InputOptions(preset="portrait" if rule.portrait else "object"),
        output_format=FORMATS[form.format])


def texture_spec(form: SubmitForm, rule: ModelRule, files: dict[str, UploadFile]
                 ) -> TaskSpec:
    """Type 2 paints the mesh of ``mesh_url`` and keeps its geometry, so ``resolution`` and
    ``face`` (which shape a new mesh) are refused rather than ignored."""
    if form.resolution is not None or form.face is not None:
        raise reject(10030000, "resolution and face shape a new mesh; request_type 2 keeps "
                               "the mesh of mesh_url, so leave them out")
    return TaskSpec(
        views={slot: Path(slot) for slot in files},  # type: ignore[misc]
        source_mesh=Path("source"),
        inputs=InputOptions(preset="portrait" if rule.portrait else "object"),
        output_format=FORMATS[form.format])


def store_files(svc: Services, owner_id: str, files: dict[str, UploadFile]) -> dict[str, str]:
    """Check every file's size first, then check and store each image (its format among
    png, jpeg, webp); slot -> upload ID (a file_token for the submission)."""
    data = {slot: read_checked(f) for slot, f in files.items()}
    return {slot: store_image(svc.store, svc.storage, svc.settings, owner_id, raw,
                              formats=IMAGE_FORMATS).id for slot, raw in data.items()}


def read_checked(f: UploadFile) -> bytes:
    data = f.file.read(MAX_IMAGE_BYTES + 1)
    if not data:
        raise reject(10031010, f"the file {f.filename!r} is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise reject(10031001, f"the file {f.filename!r} is larger than 20 MB")
    return data


# --- polling -----------------------------------------------------------------------------------

#: An expired task was a success (and was charged); its files are gone, so its url is null.
STATES = {states.QUEUED: "queueing", states.RUNNING: "processing", states.SUCCESS: "success",
          states.FAILED: "failed", states.CANCELLED: "failed", states.EXPIRED: "success"}
GENERATION_FAILED = 50010001


@router.get("/query-task")
async def query_task(svc: ServicesDep, key: KeyDep,
                     task_id: Annotated[str, Query()]) -> Response:
    """``data{task_id, state, id, url, cover_url}``; a failed task answers 50010001."""
    view = await owned_view(svc, key.id, task_id)
    return Response(view.body("hitem3d", lambda: _query_body(view, svc.settings)),
                    media_type="application/json")


def _query_body(view: TaskView, settings: Settings) -> bytes:
    return json.dumps(callback_body(view.task, settings)).encode()


def callback_body(task: Task, settings: Settings) -> dict[str, Any]:
    """The query-task body, which the callback POSTs too. ``url`` is the model in the
    requested format; ``files`` adds every file of the result (an OBJ's .mtl and texture)."""
    data: dict[str, Any] = {"task_id": task.id, "state": STATES[task.status],
                            "id": f"{task.id}_0", "url": None, "cover_url": None}
    if task.status == states.SUCCESS and task.outputs:
        model = model_file(task)
        data["url"] = signed_file_url(settings, task, model) if model else None
        data["cover_url"] = cover_url(settings, task)
        data["files"] = {name: signed_file_url(settings, task, name)
                         for name in result_files(task)}
    if task.status == states.EXPIRED:
        return {"code": 200, "data": data | {"files": {}},
                "msg": "the result's files passed their retention period and were deleted"}
    if task.status in (states.FAILED, states.CANCELLED):
        data["error_code"] = task.error_code  # Meshsmith's own code, None if cancelled
        reason = task.error_message or "the task was cancelled"
        return {"code": GENERATION_FAILED, "data": data, "msg": reason}
    return {"code": 200, "data": data, "msg": "success"}

