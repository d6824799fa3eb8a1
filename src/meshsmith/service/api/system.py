"""Unauthenticated endpoints: health, metrics, and the engine and format registries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from meshsmith.service.api.deps import ServicesDep

router = APIRouter()


@router.get("/healthz", tags=["system"], response_model=None)
async def healthz(svc: ServicesDep, deep: bool = Query(False)) -> dict[str, str] | Response:
    """Liveness: the server answers. With ``?deep=true``, readiness too: the database, the
    queue's broker and the storage each answer (HTTP 503 when one does not)."""
    if not deep:
        return {"status": "ok"}
    from anyio import to_thread

    from meshsmith.service.checks import component_health

    report = await to_thread.run_sync(component_health, svc.store, svc.storage, svc.queue)
    ok = all(v == "ok" for v in report.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **report},
                        status_code=200 if ok else 503)


@router.get("/metrics", tags=["system"])
def metrics(svc: ServicesDep) -> Response:
    """Prometheus metrics."""
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/engines", tags=["registry"])
async def engines() -> dict[str, list[dict[str, Any]]]:
    """The engine registry."""
    from meshsmith.engines import ENGINES

    return {"engines": [{"name": e.name, "description": e.description, "device": e.device,
                         "needs_weights": e.needs_weights} for e in ENGINES.values()]}


@router.get("/v1/formats", tags=["registry"])
async def formats() -> dict[str, list[dict[str, Any]]]:
    """The exporter registry."""
    from meshsmith.exporters import EXPORTERS

    return {"formats": [{"name": e.name, "extension": e.extension, "media_type": e.media_type,
                         "textured": e.textured, "description": e.description}
                        for e in EXPORTERS.values()]}
