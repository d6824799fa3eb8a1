"""The native API under ``/v1``: uploads, tasks, progress events, downloads and balance.

Requests are translated into the one internal :class:`~meshsmith.spec.TaskSpec` here, at the
edge; nothing below knows which dialect asked. Handlers that touch the database are plain
``def`` functions, which FastAPI runs in its thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, File, Header, Query, Request, UploadFile
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from pydantic import BaseModel, ConfigDict, Field

from meshsmith.errors import ImageFileTooLargeError, InvalidRequestError, NotFoundError
from meshsmith.service import states
from meshsmith.service.api.deps import KeyDep, ServicesDep
from meshsmith.service.app import Services
from meshsmith.service.auth import issue_token
from meshsmith.service.files import check_download
from meshsmith.service.intake import store_image
from meshsmith.service.pricing import task_cost
from meshsmith.service.readmodel import TaskView
from meshsmith.service.render import iso, task_json, webhook_log
from meshsmith.service.storage import task_key
from meshsmith.service.submission import Submission, request_hash, submit
from meshsmith.spec import (
    GeometryOptions,
    InputOptions,
    TaskSpec,
    TextureOptions,
    spec_to_options,
)

router = APIRouter(prefix="/v1", tags=["native"])


class TaskRequest(BaseModel):
    """``POST /v1/tasks``. Only ``views.front`` is required; a view is a ``file_token``, an
    http(s) URL or a ``data:image/<fmt>;base64,`` URI."""

    model_config = ConfigDict(extra="forbid")

    views: dict[str, str] = Field(description="slot (front, back, left, right) -> image ref")
    resolution: str = Field("1024", description="512, 1024, 1536 or 1536pro")
    faces: int | None = Field(None, description="exact face count, even, 500-2,000,000 "
                              "(quads with quad; 1,000-20,000 with smart_low_poly)")
    quad: bool = Field(False, description="quad remesh (QuadriFlow): faces counts quads, "
                       "default 10,000, at most 150,000")
    smart_low_poly: bool = Field(False, description="feature-preserving low-poly fitted to "
                                 "the dense surface, its detail baked into a normal map")
    parts: bool = Field(False, description="split into named parts by shape diameter "
                        "(geometry only: needs texture=false; not with quad)")
    texture: bool = Field(True, description="false: geometry only")
    pbr: bool = Field(True, description="false: an unlit material (KHR_materials_unlit)")
    model_seed: int | None = Field(None, description="geometry seed (the geometric engine "
                                   "is deterministic: every seed gives the same shape)")
    texture_seed: int | None = Field(None, description="texturing seed (likewise)")
    texture_size: int = Field(2048, description="512, 1024, 2048 or 4096")
    texture_format: str = Field("png", description="png or jpeg")
    format: str | list[str] = Field("glb", description="one format or several")
    autofix: bool = Field(False, description="white balance, contrast and denoise first")
    engine: str = Field("geometric", description="an engine from /v1/engines")
    callback_url: str | None = Field(None, description="webhook for terminal states")
    idempotency_key: str | None = Field(None, max_length=200)


def build_spec(body: TaskRequest) -> TaskSpec:
    """Validate the request as a task spec (views are placeholders until resolved)."""
    formats = [body.format] if isinstance(body.format, str) else list(body.format)
    if not formats:
        raise InvalidRequestError("format: give at least one output format")
    return TaskSpec(
        views={slot: Path(slot) for slot in body.views},  # type: ignore[misc]
        geometry=GeometryOptions(resolution=body.resolution, faces=body.faces,  # type: ignore[arg-type]
                                 seed=body.model_seed, quad=body.quad,
                                 smart_low_poly=body.smart_low_poly, parts=body.parts),
        texture=TextureOptions(enabled=body.texture, size=body.texture_size,
                               image_format=body.texture_format,  # type: ignore[arg-type]
                               pbr=body.pbr, seed=body.texture_seed),
        inputs=InputOptions(autofix=body.autofix),
        output_format=formats[0].lower(),
        extra_formats=tuple(f.lower() for f in formats[1:]),
        texture_maps=body.texture,
        engine=body.engine,
    )


@router.post("/uploads", status_code=201)
def upload(svc: ServicesDep, key: KeyDep, file: Annotated[UploadFile, File()]
           ) -> dict[str, Any]:
    """Upload one image; it is checked at once with the engine's input checks."""
    data = file.file.read(svc.settings.max_upload_bytes + 1)
    if len(data) > svc.settings.max_upload_bytes:
        raise ImageFileTooLargeError(
            f"image file is larger than {svc.settings.max_upload_bytes / 1e6:.1f} MB")
    up = store_image(svc.store, svc.storage, svc.settings, key.id, data)
    return {"file_token": up.id, "width": up.width, "height": up.height, "format": up.format}


@router.post("/tasks", status_code=202)
async def create_task(body: TaskRequest, svc: ServicesDep, key: KeyDep) -> JSONResponse:
    """Create a task: reserve its credits and queue it (202). A retry with the same
    ``idempotency_key`` answers the same task, with ``Idempotent-Replayed: true``."""
    sub = Submission(owner_id=key.id, spec=build_spec(body), refs=body.views,
                     request_hash=request_hash(body.model_dump_json()),
                     callback_url=body.callback_url, idempotency_key=body.idempotency_key)
    task, replayed = await submit(svc, sub)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse({"task_id": task.id, "status": task.status, "cost": task.cost},
                        status_code=202, headers=headers)


@router.post("/quote")
def quote(body: TaskRequest, svc: ServicesDep, key: KeyDep) -> dict[str, int]:
    """The credits ``POST /v1/tasks`` would reserve for this body; nothing is created.
    Views may be placeholders; bad options answer the same error codes as create."""
    return {"cost": task_cost(spec_to_options(build_spec(body)), svc.settings.price)}


@router.get("/tasks/{task_id}")
async def get_task(task_id: str, svc: ServicesDep, key: KeyDep,
                   include: Annotated[str | None, Query(
                       description="'transitions': also list every status change")] = None
                   ) -> Response:
    """A task's status, progress, cost, error or outputs; its webhook log when it has a
    ``callback_url``; its status history with ``?include=transitions``.

    Answered from the in-memory read model (:mod:`meshsmith.service.readmodel`), which is
    at most a fraction of a second behind the database; a miss reads it in a worker thread.
    """
    if include not in (None, "transitions"):
        raise InvalidRequestError("include must be 'transitions'")
    view = await owned_view(svc, key.id, task_id)
    if include is None:
        return Response(view.body("native", lambda: _task_body(view, svc)),
                        media_type="application/json")
    body = _task_dict(view, svc)
    transitions = await to_thread.run_sync(svc.store.transitions, task_id)
    body["transitions"] = [{"from": t.from_status, "to": t.to_status, "at": iso(t.at),
                            "reason": t.reason} for t in transitions]
    return JSONResponse(body)


def _task_dict(view: TaskView, svc: Services) -> dict[str, Any]:
    body = task_json(view.task, svc.settings)
    if view.task.callback_url:
        body["webhooks"] = webhook_log(view.deliveries)
    return body


def _task_body(view: TaskView, svc: Services) -> bytes:
    return json.dumps(_task_dict(view, svc), separators=(",", ":")).encode()


async def owned_view(svc: Services, owner_id: str, task_id: str) -> TaskView:
    """The task's read-model view if ``owner_id`` owns it; 404 (not 403) otherwise."""
    view = svc.task_views.get(task_id)
    if view is None:
        view = await to_thread.run_sync(svc.task_views.load, task_id)
    if view.task.owner_id != owner_id:
        raise NotFoundError(f"no task {task_id!r}")
    return view


@router.get("/tasks")
def list_tasks(svc: ServicesDep, key: KeyDep,
               status: Annotated[str | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=100)] = 20,
               offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """A page of this key's tasks, newest first, optionally of one status."""
    if status is not None and status not in states.STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(states.STATUSES)}")
    tasks, total = svc.store.list_tasks(key.id, status, limit, offset)
    return {"items": [task_json(t, svc.settings) for t in tasks], "total": total,
            "limit": limit, "offset": offset}


@router.post("/tasks/{task_id}/cancel")
def cancel_task(task_id: str, svc: ServicesDep, key: KeyDep) -> dict[str, Any]:
    """Cancel a queued or running task; its reserved credits are released."""
    task = svc.store.cancel(key.id, task_id)
    svc.task_views.forget(task_id)
    svc.webhooks.wake()
    return task_json(task, svc.settings)


@router.get("/tasks/{task_id}/events")
async def task_events(task_id: str, svc: ServicesDep, key: KeyDep) -> StreamingResponse:
    """Server-sent events: ``progress`` on every change, then one ``done`` with the task."""
    await owned_view(svc, key.id, task_id)
    return StreamingResponse(_event_stream(svc, key.id, task_id),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _event_stream(svc: Services, owner_id: str, task_id: str) -> AsyncIterator[str]:
    last: tuple[str, str | None, int] | None = None
    idle = 0.0
    while True:
        task = (await owned_view(svc, owner_id, task_id)).task
        state = (task.status, task.stage, round(task.progress))
        if state != last:
            last, idle = state, 0.0
            data = {"status": task.status, "stage": task.stage, "progress": state[2]}
            yield f"event: progress\ndata: {json.dumps(data)}\n\n"
        if task.status not in states.ACTIVE:
            body = task_json(task, svc.settings)
            yield f"event: done\ndata: {json.dumps(body)}\n\n"
            return
        idle += 0.5
        if idle >= 15:
            idle = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(0.5)


@router.get("/files/{task_id}/{name}", include_in_schema=True)
def download(task_id: str, name: str, request: Request, svc: ServicesDep,
             expires: Annotated[int, Query()], sig: Annotated[str, Query()],
             authorization: Annotated[str | None, Header()] = None) -> Response:
    """Download a result file through a signed, expiring link (from the task's outputs).

    Local storage serves the file; S3 storage streams it through this server, or with
    ``MESHSMITH_S3_DOWNLOADS=redirect`` answers 307 to a presigned S3 URL."""
    task = check_download(svc, task_id, name, expires, sig)
    if authorization and svc.auth.key_for(authorization).id != task.owner_id:
        raise NotFoundError(f"no task {task_id!r}")
    key = task_key(task_id, name)
    path = svc.storage.local_path(key)
    if path is not None:
        return FileResponse(path, media_type=_media_type(name), filename=name)
    if svc.settings.storage == "s3" and svc.settings.s3_downloads == "redirect":
        url = svc.storage.presigned_url(key, svc.settings.signed_url_ttl_s, name)
        if url is not None:
            return RedirectResponse(url, status_code=307)
    return _stream(svc, key, name)


def _stream(svc: Services, key: str, name: str) -> Response:
    try:
        size, chunks = svc.storage.stream(key)
    except FileNotFoundError:
        raise NotFoundError(f"file {name!r} of task {key.split('/')[1]!r} is gone") from None
    return StreamingResponse(chunks, media_type=_media_type(name), headers={
        "Content-Length": str(size), "Content-Disposition": f'attachment; filename="{name}"'})


def _media_type(name: str) -> str:
    from meshsmith.exporters import EXPORTERS

    suffix = Path(name).suffix.lower()
    by_ext = {e.extension: e.media_type for e in EXPORTERS.values()}
    images = {".png": "image/png", ".jpg": "image/jpeg", ".mtl": "text/plain"}
    return by_ext.get(suffix) or images.get(suffix, "application/octet-stream")


@router.get("/balance")
def balance(svc: ServicesDep, key: KeyDep) -> dict[str, int]:
    """Credits: ``balance`` available, ``frozen`` in queued or running tasks, ``spent``."""
    b = svc.store.balance(key.id)
    return {"balance": b.available, "frozen": b.frozen, "spent": b.spent}


@router.get("/account")
def account(key: KeyDep) -> dict[str, Any]:
    """The calling key: its public ID, limits and webhook signing secret."""
    return {"id": key.id, "name": key.name, "key_hint": key.key_hint,
            "max_concurrency": key.max_concurrency,
            "rate_limit_per_min": key.rate_limit_per_min,
            "webhook_secret": key.webhook_secret, "created_at": iso(key.created_at)}


@router.post("/auth/token")
def access_token(svc: ServicesDep, key: KeyDep) -> dict[str, Any]:
    """Exchange the API key for a short-lived bearer token."""
    token, ttl = issue_token(svc.settings, key.id)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
