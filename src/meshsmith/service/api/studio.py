"""The web studio: ``GET /`` serves its page, ``/studio/...`` its script, style and the
vendored three.js. The page talks to the native API (``/v1``) only; see README *Web studio*."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

#: The page's files (package data: index.html, studio.js, studio.css, vendor/).
STUDIO_DIR = Path(__file__).resolve().parents[1] / "studio"

router = APIRouter(include_in_schema=False)


@router.get("/")
def page() -> FileResponse:
    """The studio's single page."""
    return FileResponse(STUDIO_DIR / "index.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    """Add the page and its static files (``/studio``) to ``app``."""
    app.include_router(router)
    app.mount("/studio", StaticFiles(directory=STUDIO_DIR), name="studio")
