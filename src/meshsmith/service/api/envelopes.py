"""The ONE place where errors become HTTP responses, one envelope per API dialect.

The request path picks the dialect:

* native ``/v1``: ``{"error": {"code": <int>, "message": <str>}}`` with the error's HTTP
  status;
* Tripo ``/v2/openapi``: ``{"code": <int>, "message", "suggestion"}`` with Tripo's codes
  and statuses (:func:`tripo_code`).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from meshsmith.errors import (
    AuthenticationError,
    ConcurrencyLimitError,
    DialectRuleError,
    EmptyImageError,
    ImageFileTooLargeError,
    InputImageError,
    InsufficientCreditsError,
    InvalidRequestError,
    MeshsmithError,
    NotAnImageError,
    NotFoundError,
    RateLimitError,
    TaskStateError,
    UnknownEndpointError,
    UnsupportedImageFormatError,
)

TRIPO_PREFIX = "/v2/openapi"


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


def http_error(exc: HTTPException) -> MeshsmithError:
    """Starlette's own errors (unknown route, wrong method) in Meshsmith terms, keeping
    their HTTP status (405 for a method not allowed here)."""
    if exc.status_code == 404:
        return UnknownEndpointError("no such endpoint")
    error = (InvalidRequestError if exc.status_code < 500 else MeshsmithError)(str(exc.detail))
    error.http_status = exc.status_code
    return error


#: Tripo's (code, HTTP status) per Meshsmith error class, most specific first. Codes the
#: Tripo docs name are used for what they name; 1002 (authentication), 1004 (an invalid
#: or unsupported parameter) and 1000 (internal error) cover the rest.
_TRIPO_CODES: tuple[tuple[type[MeshsmithError], int, int], ...] = (
    (AuthenticationError, 1002, 401),
    (UnknownEndpointError, 1004, 404),
    (RateLimitError, 2000, 429),
    (ConcurrencyLimitError, 2000, 429),
    (NotFoundError, 2001, 404),
    (InsufficientCreditsError, 2010, 403),
    (TaskStateError, 2007, 400),
    (EmptyImageError, 2003, 400),
    (NotAnImageError, 2004, 400),
    (UnsupportedImageFormatError, 2004, 400),
    (ImageFileTooLargeError, 1004, 400),
    (InputImageError, 1004, 400),
    (InvalidRequestError, 1004, 400),
)


def tripo_code(exc: MeshsmithError) -> tuple[int, int]:
    """Tripo's ``(code, HTTP status)`` for a Meshsmith error."""
    if isinstance(exc, DialectRuleError):
        return exc.dialect_code, exc.http_status
    if type(exc) is InvalidRequestError:  # e.g. 405 from routing keeps its status
        return 1004, exc.http_status
    for cls, code, status in _TRIPO_CODES:
        if isinstance(exc, cls):
            return code, status
    return 1000, 500


def tripo_error(exc: MeshsmithError) -> JSONResponse:
    """The Tripo envelope: ``{"code", "message", "suggestion"}``; the Meshsmith code is in
    the suggestion, for support."""
    code, status = tripo_code(exc)
    suggestion = getattr(exc, "suggestion", None) or f"Meshsmith error {exc.code}."
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse({"code": code, "message": exc.message, "suggestion": suggestion},
                        status_code=status, headers=headers)


#: Path prefix -> that dialect's envelope; anything else is native.
DIALECT_ENVELOPES: tuple[tuple[str, Callable[[MeshsmithError], JSONResponse]], ...] = (
    (TRIPO_PREFIX, tripo_error),
)


def _envelope(request: Request) -> Callable[[MeshsmithError], JSONResponse]:
    path = request.url.path
    return next((envelope for prefix, envelope in DIALECT_ENVELOPES
                 if path.startswith(prefix)), native_error)


async def handle_meshsmith_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MeshsmithError)
    return _envelope(request)(exc)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _envelope(request)(validation_error(exc))


async def handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return _envelope(request)(http_error(exc))
