"""The Tripo-compatible dialect under ``/v2/openapi`` (Tripo's task API, H3 line).

An existing Tripo client works by changing its base URL and key (keys are ``tsk_...``).
Requests are translated into the one internal :class:`~meshsmith.spec.TaskSpec` here;
responses are ``{"code": 0, "data": {...}}`` and errors Tripo's envelope
(:func:`meshsmith.service.api.envelopes.tripo_error`). Every response carries an
``X-Tripo-Trace-ID`` header. The README's "Tripo dialect" table lists every parameter and
what Meshsmith does with it; the rules below follow ``../shared/seeds/003_...`` word for word.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Body, File, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from meshsmith.errors import (
    DialectRuleError,
    InvalidRequestError,
    MeshsmithError,
    NotFoundError,
    error_for_code,
)
from meshsmith.pipeline.retexture import MESH_SUFFIXES
from meshsmith.service import states
from meshsmith.service.api.deps import KeyDep, ServicesDep
from meshsmith.service.api.envelopes import TRIPO_PREFIX, tripo_code
from meshsmith.service.api.native import owned_view
from meshsmith.service.app import Services
from meshsmith.service.intake import store_image
from meshsmith.service.models import Task
from meshsmith.service.pricing import task_cost
from meshsmith.service.readmodel import TaskView
from meshsmith.service.render import cover_url, model_file, signed_file_url
from meshsmith.service.storage import task_key
from meshsmith.service.submission import Submission, request_hash, submit
from meshsmith.spec import (
    DEFAULT_FACES,
    AssetOptions,
    GeometryOptions,
    InputOptions,
    Resolution,
    TaskSpec,
    TextureOptions,
    spec_to_options,
)

if TYPE_CHECKING:
    from meshsmith.service.storage_s3 import S3Storage

router = APIRouter(prefix=TRIPO_PREFIX, tags=["tripo"])
BodyT = TypeVar("BodyT", bound=BaseModel)

MODEL_VERSIONS = ("v3.1-20260211", "v3.0-20250812")
DEFAULT_MODEL_VERSION = MODEL_VERSIONS[0]
#: Triangle face_limit caps: (model_version, geometry_quality) -> most faces.
FACE_CAPS = {("v3.1-20260211", "standard"): 1_500_000, ("v3.1-20260211", "detailed"): 2_000_000,
             ("v3.0-20250812", "standard"): 1_000_000, ("v3.0-20250812", "detailed"): 1_500_000}
MIN_FACE_LIMIT = 500  # the engine's smallest face target
QUAD_DEFAULT_FACES = 10_000
#: multiview_to_model's four slots, in Tripo's order (Hitem3D's differs).
MULTIVIEW_SLOTS = ("front", "left", "back", "right")
WATCH_INTERVAL_S = 0.5
#: STS uploads: where they go (``<prefix>/<key id>/<uuid>.<format>``), their formats, and
#: the marker a ``file.object`` reference carries until it is stored as an upload.
STS_PREFIX = "sts-uploads"
STS_FORMATS = ("jpeg", "jpg", "png", "webp")
OBJECT_REF = "s3object:"


class TripoFile(BaseModel):
    """One image: ``type`` plus exactly one of ``file_token``, ``url`` or ``object``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: str | None = None  # not validated, as 003 says: the bytes are sniffed instead
    file_token: str | None = None
    url: str | None = None
    object: dict[str, str] | None = None


class _TripoBody(BaseModel):
    """A task body: strict types, unknown fields refused, an explicit ``null`` = default."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class TripoTask(_TripoBody):
    """``POST /task``; fields are 003's, defaults are 003's. Types are strict (``"yes"`` is
    not a bool), and an explicit ``null`` means the default, as the official SDK sends
    ``null`` for an argument a caller set to None."""

    type: str
    file: TripoFile | None = None
    files: list[TripoFile] | None = None
    #: The official SDK's multiview_to_model also sends its raw arguments under ``images``
    #: (local paths or URLs, already present in ``files``); accepted and not used.
    images: list[Any] | None = None
    model_version: str = DEFAULT_MODEL_VERSION
    model_seed: int | None = None
    texture_seed: int | None = None
    texture: bool = True
    pbr: bool = True
    texture_quality: Literal["standard", "detailed"] = "standard"
    texture_alignment: Literal["original_image", "geometry"] = "original_image"
    geometry_quality: Literal["standard", "detailed"] = "standard"
    face_limit: int | None = Field(None, ge=1)
    smart_low_poly: bool = False
    quad: bool = False
    auto_size: bool = False
    orientation: Literal["default", "align_image"] = "default"
    compress: Literal["geometry"] | None = None
    generate_parts: bool = False
    export_uv: bool = True
    enable_image_autofix: bool = False


# --- responses -----------------------------------------------------------------------------

def ok(data: dict[str, Any]) -> JSONResponse:
    """Tripo's success envelope."""
    return JSONResponse({"code": 0, "data": data})


# --- uploads and balance -------------------------------------------------------------------

@router.post("/upload")
@router.post("/upload/sts")
def upload(svc: ServicesDep, key: KeyDep, file: Annotated[UploadFile, File()]) -> JSONResponse:
    """Multipart ``file`` -> ``{image_token}`` (checked at once with the engine's checks)."""
    data = file.file.read(svc.settings.max_upload_bytes + 1)
    if not data:
        raise DialectRuleError("the uploaded file is empty", 2003)
    up = store_image(svc.store, svc.storage, svc.settings, key.id, data)
    return ok({"image_token": up.id})


@router.post("/upload/sts/token")
def sts_token(svc: ServicesDep, key: KeyDep,
              body: Annotated[dict[str, Any] | None, Body()] = None) -> JSONResponse:
    """Temporary S3 credentials and a place for one image (``{"format": "jpeg"}``):
    ``{s3_host, resource_bucket, resource_uri, session_token, sts_ak, sts_sk}``. The client
    uploads there and sends ``file.object {bucket, key}``. S3 storage only."""
    storage = _s3_storage(svc, "STS upload", 501)
    fmt = str((body or {}).get("format", "jpeg")).lower()
    if fmt not in STS_FORMATS or set(body or {}) - {"format"}:
        raise InvalidRequestError(f"format must be one of {', '.join(STS_FORMATS)}; no "
                                  "other field is taken")
    uri = storage.object_key(f"{STS_PREFIX}/{key.id}/{uuid.uuid4()}.{fmt}")
    creds = storage.session_credentials(svc.settings.signed_url_ttl_s)
    return ok({"s3_host": storage.host, "resource_bucket": storage.bucket,
               "resource_uri": uri, "session_token": creds["session_token"],
               "sts_ak": creds["access_key_id"], "sts_sk": creds["secret_access_key"]})


@router.get("/user/balance")
def balance(svc: ServicesDep, key: KeyDep) -> JSONResponse:
    """``{balance, frozen}`` in credits."""
    b = svc.store.balance(key.id)
    return ok({"balance": b.available, "frozen": b.frozen})


# --- tasks ---------------------------------------------------------------------------------

@router.post("/task", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["type"],
                                    "description": "image_to_model or multiview_to_model "
                                                   "parameters, as Tripo documents them"}}}}})
async def create_task(svc: ServicesDep, key: KeyDep,
                      raw: Annotated[dict[str, Any], Body()]) -> JSONResponse:
    """Create a task -> ``{task_id}``. The type is checked first, so another type's
    parameters get 2002, not "extra input"."""
    if raw.get("type") == "texture_model":
        sub = await to_thread.run_sync(texture_submission, svc, key.id, raw)
    elif raw.get("type") == "convert_model":
        sub = await to_thread.run_sync(convert_submission, svc, key.id, raw)
    else:
        body = parse_task(raw)
        refs = task_images(body)
        spec = task_spec(body, refs)
        if any(ref.startswith(OBJECT_REF) for ref in refs.values()):
            refs = await to_thread.run_sync(store_objects, svc, key.id, refs)
        sub = Submission(owner_id=key.id, spec=spec, refs=refs,
                         cost=tripo_cost(body, spec, svc),
                         request_hash=request_hash(body.model_dump_json()),
                         client_request={"type": body.type,
                                         "input": body.model_dump(exclude_none=True,
                                                                  exclude={"images"})})
    task, _ = await submit(svc, sub)
    return ok({"task_id": task.id})


TASK_TYPES = ("image_to_model", "multiview_to_model", "texture_model", "convert_model")


def parse_task(raw: dict[str, Any]) -> TripoTask:
    """The task type (2002 when not one this server runs), then its parameters."""
    task_type = raw.get("type")
    if task_type not in TASK_TYPES:
        raise DialectRuleError(f"task type {task_type!r} is not supported", 2002,
                               suggestion=f"Use one of: {', '.join(TASK_TYPES)}.")
    return parse_body(TripoTask, raw)


def parse_body(model: type[BodyT], raw: dict[str, Any]) -> BodyT:
    """``raw`` validated as ``model``; errors answer like FastAPI's own (1004)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


def task_images(body: TripoTask) -> dict[str, str]:
    """Slot -> image reference, per task type; the other type's image fields are refused
    (except ``images``, which the official SDK sends with multiview_to_model)."""
    if body.type == "image_to_model":
        if body.files is not None or body.images is not None:
            raise InvalidRequestError("image_to_model takes 'file', not 'files' or 'images'")
        if body.file is None:
            raise InvalidRequestError("image_to_model needs 'file'")
        return {"front": image_ref(body.file)}
    if body.file is not None:
        raise InvalidRequestError("multiview_to_model takes 'files', not 'file'")
    return multiview_refs(body.files)


def image_ref(f: TripoFile) -> str:
    """The one reference of a file object: a file_token or an http(s) URL."""
    given = [name for name in ("file_token", "url", "object") if getattr(f, name) is not None]
    if len(given) != 1:
        raise InvalidRequestError(
            "a file needs exactly one of file_token, url or object; got "
            f"{', '.join(given) or 'none'}")
    if f.object is not None:
        bucket, key = f.object.get("bucket"), f.object.get("key")
        if not bucket or not key or set(f.object) != {"bucket", "key"}:
            raise InvalidRequestError("file.object needs exactly 'bucket' and 'key'")
        return f"{OBJECT_REF}{bucket}/{key}"
    return f.file_token or f.url or ""


def store_objects(svc: Services, owner_id: str, refs: dict[str, str]) -> dict[str, str]:
    """Slot -> file token, after checking and storing each ``file.object`` image (one of
    this key's STS uploads in the storage bucket) as an upload."""
    return {slot: _store_object(svc, owner_id, ref[len(OBJECT_REF):])
            if ref.startswith(OBJECT_REF) else ref for slot, ref in refs.items()}


def _store_object(svc: Services, owner_id: str, location: str) -> str:
    storage = _s3_storage(svc, "file.object")
    bucket, _, object_key = location.partition("/")
    key = storage.storage_key(object_key)
    if bucket != storage.bucket or key is None or not key.startswith(
            f"{STS_PREFIX}/{owner_id}/"):
        raise DialectRuleError("file.object is not one of your STS uploads", 1004,
                               suggestion="Upload with the credentials of /upload/sts/token.")
    try:
        data = storage.read_bytes(key)
    except FileNotFoundError:
        raise DialectRuleError(f"no object {object_key!r} in {bucket!r}: upload it first",
                               1004) from None
    if not data:
        raise DialectRuleError("the uploaded object is empty", 2003)
    return store_image(svc.store, svc.storage, svc.settings, owner_id, data).id


def _s3_storage(svc: Services, what: str, status: int = 400) -> S3Storage:
    """The S3 storage, or the 1004 refusal (HTTP ``status``) for ``what`` on a server that
    stores files on its local disk."""
    from meshsmith.service.storage_s3 import S3Storage

    if not isinstance(svc.storage, S3Storage):
        raise DialectRuleError(
            f"{what} needs S3-compatible storage (MESHSMITH_STORAGE=s3), and this server "
            "stores files on its local disk", 1004, status,
            suggestion="Upload with POST /upload (multipart field 'file') and send file_token.")
    return svc.storage


def multiview_refs(files: list[TripoFile] | None) -> dict[str, str]:
    """Exactly four slots ``[front, left, back, right]``; ``{}`` is an empty slot; front is
    required and at least two images are."""
    if files is None or len(files) != len(MULTIVIEW_SLOTS):
        raise InvalidRequestError("multiview_to_model needs 'files' with exactly 4 entries "
                                  "ordered [front, left, back, right]; use {} for an empty slot")
    refs: dict[str, str] = {}
    for slot, f in zip(MULTIVIEW_SLOTS, files, strict=True):
        if f.model_dump(exclude_none=True, exclude={"type"}):
            refs[slot] = image_ref(f)
    if "front" not in refs:
        raise InvalidRequestError("multiview_to_model needs the front image (files[0])")
    if len(refs) < 2:
        raise InvalidRequestError("multiview_to_model needs at least 2 images; use "
                                  "image_to_model for one")
    return refs


def task_spec(body: TripoTask, refs: dict[str, str]) -> TaskSpec:
    """003's rules, in its order, then the internal spec (views are placeholders until the
    submission resolves ``refs``)."""
    check_version(body)
    pbr, texture = body.pbr, body.texture or body.pbr  # "pbr=true forces texture=true"
    check_texture_quality(body)
    faces = face_target(body)
    check_parts(body)
    # Parts are geometry only (the 4K upscale that 003's detailed rule would add is not made)
    detailed = body.texture_quality == "detailed" and not body.generate_parts
    return TaskSpec(
        views={slot: Path(slot) for slot in refs},  # type: ignore[misc]
        geometry=GeometryOptions(resolution=_resolution(body), faces=faces,
                                 seed=body.model_seed, quad=body.quad,
                                 smart_low_poly=body.smart_low_poly,
                                 parts=body.generate_parts),
        texture=TextureOptions(enabled=texture or detailed, size=4096 if detailed else 2048,
                               pbr=pbr, seed=body.texture_seed,
                               alignment=body.texture_alignment),
        inputs=InputOptions(autofix=body.enable_image_autofix),
        asset=asset_options(body, textured=texture or detailed),
        output_format="fbx" if body.quad else "glb")  # "quad=true forces FBX output"


def asset_options(body: TripoTask, textured: bool) -> AssetOptions:
    """003's output options: GLBs are meshopt-compressed by default and Draco-compressed
    with ``compress=geometry`` (an FBX is not compressed); ``orientation`` "only takes
    effect when texture=true"; ``auto_size`` "can only be used in textured model"."""
    if body.auto_size and not textured:
        raise InvalidRequestError("auto_size can only be used with a textured model; set "
                                  "texture=true or auto_size=false")
    compress = None if body.quad else "draco" if body.compress == "geometry" else "meshopt"
    return AssetOptions(export_uv=body.export_uv, auto_size=body.auto_size,
                        orientation=body.orientation if textured else "default",
                        compress=compress)  # type: ignore[arg-type]


def _resolution(body: TripoTask) -> Resolution:
    return "1536pro" if body.geometry_quality == "detailed" else "1024"


def tripo_cost(body: TripoTask, spec: TaskSpec, svc: Services) -> int:
    """Tripo prices the options as sent: texture=false takes 10 off even where the 4K
    upscale of 003's detailed rule still delivers a texture (pbr=true overrides it). A
    parts model is geometry only and priced as such (base + parts)."""
    cost = task_cost(spec_to_options(spec), svc.settings.price)
    if spec.texture.enabled and not (body.texture or body.pbr):
        return cost - svc.settings.price.texture
    return cost


def check_version(body: TripoTask) -> None:
    if body.model_version not in MODEL_VERSIONS:
        raise DialectRuleError(f"model_version {body.model_version!r} is not supported", 2015,
                               suggestion=f"Use one of: {', '.join(MODEL_VERSIONS)}.")


def check_texture_quality(body: TripoTask) -> None:
    """003's texture_quality combination rules (texture and pbr as sent)."""
    if body.texture or body.pbr:
        return
    if body.texture_quality == "standard":
        raise InvalidRequestError("texture_quality=standard with texture=false and pbr=false "
                                  "is not allowed")
    if body.model_version != "v3.0-20250812":
        raise DialectRuleError(
            "texture_quality=detailed with texture=false and pbr=false (a 4K upscale of the "
            "texture) is only available for v3.0-20250812", 1004,
            suggestion="Set model_version=v3.0-20250812, or texture=true.")


def face_target(body: TripoTask) -> int | None:
    """The face target: face_limit within its caps (even, as closed meshes are), or the
    quad default, or None for the adaptive default."""
    limit = body.face_limit
    if limit is None and body.quad:
        limit = QUAD_DEFAULT_FACES
    if body.smart_low_poly and limit is not None:
        lo, hi = (500, 10_000) if body.quad else (1_000, 20_000)
        if not lo <= limit <= hi:
            raise InvalidRequestError(f"with smart_low_poly{' and quad' if body.quad else ''}, "
                                      f"face_limit must be {lo:,}-{hi:,}")
    if limit is None and body.smart_low_poly:  # the low-poly default (5,000 triangles)
        return None
    cap = FACE_CAPS[(body.model_version, body.geometry_quality)]
    if limit is None:  # "adaptively determined": the grid's default, within the cap
        return min(DEFAULT_FACES[_resolution(body)], cap)
    if not MIN_FACE_LIMIT <= limit <= cap:
        raise InvalidRequestError(
            f"face_limit must be {MIN_FACE_LIMIT:,}-{cap:,} for {body.model_version} with "
            f"geometry_quality={body.geometry_quality}; got {limit:,}")
    return limit - limit % 2


def check_parts(body: TripoTask) -> None:
    if body.generate_parts and (body.texture or body.pbr or body.quad):
        raise InvalidRequestError("generate_parts is not compatible with texture=true, "
                                  "pbr=true or quad=true; set all three to false")


class TripoTextureTask(_TripoBody):
    """``POST /task`` with ``type: texture_model``: paint an earlier task's model again from
    that task's own photos. Tripo's prompt, style, part and bake fields are not offered."""

    type: Literal["texture_model"]
    original_model_task_id: str
    texture: bool = True
    pbr: bool = True
    texture_seed: int | None = None
    texture_quality: Literal["standard", "detailed"] = "standard"
    texture_alignment: Literal["original_image", "geometry"] = "original_image"
    compress: Literal["geometry"] | None = None


def texture_submission(svc: Services, owner_id: str, raw: dict[str, Any]) -> Submission:
    """A texture_model request as a texturing task over its source task's model and
    photos; priced as Tripo's texture step (texture, +detailed)."""
    body = parse_body(TripoTextureTask, raw)
    if not (body.texture or body.pbr):
        raise InvalidRequestError("texture_model with texture=false and pbr=false makes nothing")
    source, model = source_model(svc, owner_id, body.original_model_task_id)
    detailed = body.texture_quality == "detailed"
    spec = TaskSpec(
        views={slot: Path(slot) for slot in source.views},  # type: ignore[misc]
        source_mesh=Path("source"),
        texture=TextureOptions(size=4096 if detailed else 2048, pbr=body.pbr,
                               seed=body.texture_seed, alignment=body.texture_alignment),
        asset=AssetOptions(compress="draco" if body.compress == "geometry" else "meshopt"))
    prices = svc.settings.price
    return Submission(owner_id=owner_id, spec=spec, refs=dict(source.views),
                      source_model=task_key(source.id, model),
                      cost=prices.texture + (prices.detailed_texture if detailed else 0),
                      request_hash=request_hash(body.model_dump_json()),
                      client_request={"type": body.type,
                                      "input": body.model_dump(exclude_none=True)})


#: convert_model's formats (Tripo's names) and the exporters that write them.
CONVERT_FORMATS = {"GLTF": "glb", "USDZ": "usdz", "FBX": "fbx", "OBJ": "obj", "STL": "stl",
                   "3MF": "3mf"}


class TripoConvertTask(_TripoBody):
    """``POST /task`` with ``type: convert_model``: an earlier model in another format, face
    count, topology, texture size or placement. Tripo's animation, symmetry, bottom
    flattening, UV packing, baking and orientation fields are not offered."""

    type: Literal["convert_model"]
    original_model_task_id: str
    format: Literal["GLTF", "USDZ", "FBX", "OBJ", "STL", "3MF"]
    quad: bool = False
    face_limit: int | None = Field(None, ge=1)
    texture_size: Literal[512, 1024, 2048, 4096] = 4096
    texture_format: Literal["JPEG", "PNG"] = "JPEG"
    pivot_to_center_bottom: bool = False
    scale_factor: float = Field(1.0, gt=0)


def convert_submission(svc: Services, owner_id: str, raw: dict[str, Any]) -> Submission:
    """A convert_model request as a task that derives the source's model again from the
    source's photos and options (the geometric engine is deterministic, so the shape is the
    source's) and writes it with the convert options."""
    body = parse_body(TripoConvertTask, raw)
    source = finished_source(svc, owner_id, body.original_model_task_id)
    if "source_model" in source.options:
        raise DialectRuleError("convert_model takes an image_to_model or multiview_to_model "
                               "task; convert the task that made the geometry", 2006)
    spec = converted_spec(source, body)
    prices = svc.settings.price
    return Submission(owner_id=owner_id, spec=spec, refs=dict(source.views),
                      cost=prices.convert + (prices.quad if body.quad else 0),
                      request_hash=request_hash(body.model_dump_json()),
                      client_request={"type": body.type,
                                      "input": body.model_dump(exclude_none=True)})


def converted_spec(source: Task, body: TripoConvertTask) -> TaskSpec:
    """The source's spec with the convert options: format, face count (the source's unless
    ``face_limit``), quads, texture size and format, pivot and scale; uncompressed."""
    from meshsmith.spec import spec_from_options

    base = spec_from_options({slot: Path(slot) for slot in source.views},  # type: ignore[misc]
                             source.options)
    faces = body.face_limit if body.face_limit is not None else (
        None if body.quad else base.geometry.face_target)
    if faces is not None and not body.quad:
        faces -= faces % 2
    geometry = replace(base.geometry, faces=faces, quad=body.quad or base.geometry.quad)
    texture = replace(base.texture, size=body.texture_size,
                      image_format="jpeg" if body.texture_format == "JPEG" else "png")
    asset = replace(base.asset, pivot_to_center_bottom=body.pivot_to_center_bottom,
                    scale_factor=body.scale_factor, compress=None)
    return replace(base, geometry=geometry, texture=texture, asset=asset,
                   output_format=CONVERT_FORMATS[body.format], extra_formats=(),
                   texture_maps=False)


def finished_source(svc: Services, owner_id: str, task_id: str) -> Task:
    """The source task, this key's and successful: 2006 for an unknown, another key's, a
    failed, cancelled or expired task, 2007 for one that has not finished."""
    try:
        source = svc.store.get_task(owner_id, task_id)
    except NotFoundError:
        raise DialectRuleError(f"original_model_task_id {task_id!r} is not one of your "
                               "tasks", 2006) from None
    if source.status in states.ACTIVE:
        raise DialectRuleError(f"the original task is still {source.status}; use it "
                               "once it has succeeded", 2007)
    if source.status != states.SUCCESS or model_file(source) is None:
        raise DialectRuleError(f"the original task cannot be used: it is {source.status}",
                               2006, suggestion="Use a successful image_to_model or "
                                                "multiview_to_model task.")
    return source


def source_model(svc: Services, owner_id: str, task_id: str) -> tuple[Task, str]:
    """The source task (see :func:`finished_source`) and its model's file name, which must
    be a mesh Meshsmith reads back (2006 for an FBX)."""
    source = finished_source(svc, owner_id, task_id)
    model = model_file(source)
    if model is None or PurePosixPath(model).suffix not in MESH_SUFFIXES:
        raise DialectRuleError("the original task cannot be textured: its model is an FBX",
                               2006, suggestion="Texture a task with a GLB model.")
    return source, model


@router.get("/task/{task_id}")
async def get_task(task_id: str, svc: ServicesDep, key: KeyDep) -> Response:
    """The task in Tripo's shape (from the status read model)."""
    view = await owned_view(svc, key.id, task_id)
    return Response(view.body("tripo", lambda: _task_body(view, svc)),
                    media_type="application/json")


def _task_body(view: TaskView, svc: Services) -> bytes:
    return json.dumps({"code": 0, "data": task_data(view.task, svc)}).encode()


def task_data(task: Task, svc: Services) -> dict[str, Any]:
    """Tripo's task object: the SDK needs task_id, type, status, input, output (a dict),
    progress (int) and create_time (int)."""
    request = task.client_request or {}
    data: dict[str, Any] = {
        "task_id": task.id, "type": request.get("type", "image_to_model"),
        "status": task.status, "input": request.get("input", {}),
        "output": task_output(task, svc), "progress": round(task.progress),
        "create_time": int(task.created_at)}
    if task.status in states.ACTIVE:
        data["running_left_time"] = _eta(task)
    if task.error_code is not None:
        error = error_for_code(task.error_code, task.error_message or "")
        data["error_code"] = tripo_code(error)[0]
        data["error_msg"] = f"{task.error_message} (Meshsmith error {task.error_code})"
    return data


def task_output(task: Task, svc: Services) -> dict[str, Any]:
    """``model`` (the GLB), ``pbr_model`` (the same file when its material is PBR),
    ``rendered_image`` (the cover PNG) and ``base_model`` (null: there is no separate
    untextured model)."""
    name = model_file(task)
    if task.status != states.SUCCESS or name is None:
        return {}
    url = signed_file_url(svc.settings, task, name)
    pbr = task.options.get("pbr", True) and task.options.get("texture", True)
    return {"model": url, "base_model": None, "pbr_model": url if pbr else None,
            "rendered_image": cover_url(svc.settings, task)}


@router.websocket("/task/watch/{task_id}")
async def watch_task(websocket: WebSocket, task_id: str) -> None:
    """Stream ``{"event": "update", "data": task}`` on every change, then one
    ``{"event": "finalized", "data": task}`` at a terminal status, and close. A bad key or
    an unknown task gets one Tripo error object, then a policy-violation close (1008)."""
    svc: Services = websocket.app.state.services
    await websocket.accept()
    try:
        authorization = websocket.headers.get("authorization")
        key = svc.auth.cached(authorization)
        if key is None:
            key = await to_thread.run_sync(svc.auth.key_for, authorization)
        await _stream(websocket, svc, key.id, task_id)
    except MeshsmithError as exc:
        code, _ = tripo_code(exc)
        await websocket.send_json({"code": code, "message": exc.message})
        await websocket.close(code=1008)
    except WebSocketDisconnect:
        return


async def _stream(websocket: WebSocket, svc: Services, owner_id: str, task_id: str) -> None:
    last: tuple[str, int] | None = None
    while True:
        task = (await owned_view(svc, owner_id, task_id)).task
        state = (task.status, round(task.progress))
        final = task.status not in states.ACTIVE
        if state != last or final:
            last = state
            event = "finalized" if final else "update"
            await websocket.send_json({"event": event, "data": task_data(task, svc)})
        if final:
            await websocket.close()
            return
        await asyncio.sleep(WATCH_INTERVAL_S)


def _eta(task: Task) -> int:
    """Seconds left, from the progress so far (0 until there is any)."""
    if task.status != states.RUNNING or not task.started_at or task.progress <= 0:
        return 0
    elapsed = time.time() - task.started_at
    return int(elapsed * (100 - task.progress) / task.progress)
