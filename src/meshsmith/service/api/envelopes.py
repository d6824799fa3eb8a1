"""The ONE place where errors become HTTP responses, one envelope per API dialect.

Native ``/v1``: ``{"error": {"code": <int>, "message": <str>}}`` with the error's HTTP status.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from meshsmith.errors import (
    InvalidRequestError,
    MeshsmithError,
    NotFoundError,
    RateLimitError,
)


def native_error(exc: MeshsmithError) -> JSONResponse:
    """The native envelope for a Meshsmith error."""
    headers = {"Retry-After": "1"} if isinstance(exc, RateLimitError) else None
    if exc.http_status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)


def validation_error(exc: RequestValidationError) -> MeshsmithError:
    """A request body or query that does not parse, as one readable 10020001 error."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return InvalidRequestError("; ".join(parts) or "invalid request")


def http_error(exc: HTTPException) -> MeshsmithError | None:
    """Starlette's own errors (unknown route, wrong method) in Meshsmith terms."""
    if exc.status_code == 404:
        return NotFoundError("no such endpoint")
    return None


async def handle_meshsmith_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MeshsmithError)
    return native_error(exc)


async def handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return native_error(validation_error(exc))


async def handle_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    mapped = http_error(exc)
    if mapped is not None:
        return native_error(mapped)
    body = {"error": {"code": 10020001 if exc.status_code < 500 else 10090001,
                      "message": str(exc.detail)}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
