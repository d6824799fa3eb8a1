"""The ONE place where errors become HTTP responses, one envelope per API dialect.

The request path picks the dialect:

* native ``/v1``: ``{"error": {"code": <int>, "message": <str>}}`` with the error's HTTP
  status;
* Tripo ``/v2/openapi``: ``{"code": <int>, "message", "suggestion"}`` with Tripo's codes
  and statuses (:func:`tripo_code`);
* spark_3d ``/v1/3d/``: ``{"error": {"code": "0030200xx", "error_message"}}`` (spark3d_error);
* Hitem3D ``/open-api/v1``: ``{"code", "data": null, "msg"}`` with Hitem3D's codes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshsmith.errors import (
    AuthenticationError,
    ConcurrencyLimitError,
    DialectRuleError,
    EmptyImageError,
    ImageFileTooLargeError,
    InputImageError,
    InsufficientCreditsError,
    InvalidFaceCountError,
    InvalidRequestError,
    InvalidResolutionError,
    MeshsmithError,
    NotAnImageError,
    NotFoundError,
    RateLimitError,
    RemeshError,
    TaskStateError,
    UnknownEndpointError,
    UnsupportedFormatError,
    UnsupportedImageFormatError,
)

TRIPO_PREFIX = "/v2/openapi"
TRACE_HEADER = "X-Tripo-Trace-ID"
log = logging.getLogger("meshsmith.service")


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
    (RemeshError, 2018, 400),  # "the model is too complex to remesh"
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


#: spark_3d's (9-digit code, HTTP status) per Meshsmith error class, most specific first:
#: 003020097 "HTTP error response" for what fails before the dialect reads the request (key,
#: rate limit, route), 003020098 "status check error" for an unknown generation, 003020005
#: for any unusable image, 003020099 "task creation error" for any other refused request.
_SPARK3D_CODES: tuple[tuple[type[MeshsmithError], int, int], ...] = (
    (AuthenticationError, 3020097, 401),
    (RateLimitError, 3020097, 429),
    (UnknownEndpointError, 3020097, 404),
    (NotFoundError, 3020098, 404),
    (ConcurrencyLimitError, 3020099, 429),
    (InsufficientCreditsError, 3020099, 402),
    (InputImageError, 3020005, 400),
    (InvalidRequestError, 3020099, 400),
)


def spark3d_error(exc: MeshsmithError) -> JSONResponse:
    """The spark_3d envelope ``{"error": {"code": "0030200xx", "error_message"}}``: the
    seed's 9-digit codes as strings, the same object a failed generation carries. A routing
    error keeps its status (405) with 003020097; anything unmapped is 003020095."""
    if isinstance(exc, DialectRuleError):
        code, status = exc.dialect_code, exc.http_status
    elif type(exc) is InvalidRequestError and exc.http_status != 400:
        code, status = 3020097, exc.http_status
    else:
        code, status = next(((c, s) for cls, c, s in _SPARK3D_CODES if isinstance(exc, cls)),
                            (3020095, exc.http_status))
    message = exc.message if isinstance(exc, DialectRuleError) else (
        f"{exc.message} (Meshsmith error {exc.code})")
    headers = {"Retry-After": "1"} if status == 429 else None
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else headers
    return JSONResponse({"error": {"code": f"{code:09d}", "error_message": message}},
                        status_code=status, headers=headers)


HITEM3D_PREFIX = "/open-api/v1"
#: Hitem3D's (code, HTTP status) per Meshsmith error class, most specific first: its
#: documented codes where it has one; otherwise the Meshsmith code itself (also 8 digits).
#: Image errors outside its list are 10031005, as Meshsmith's own 1003xxxx codes mean other
#: things there.
_HITEM3D_CODES: tuple[tuple[type[MeshsmithError], int, int], ...] = (
    (AuthenticationError, 40010000, 401),
    (InsufficientCreditsError, 30010000, 402),
    (ImageFileTooLargeError, 10031001, 400),
    (EmptyImageError, 10031010, 400),
    (InputImageError, 10031005, 400),
    (InvalidFaceCountError, 10031002, 400),
    (InvalidResolutionError, 10031003, 400),
    (UnsupportedFormatError, 10031004, 400),
)


def hitem3d_error(exc: MeshsmithError) -> JSONResponse:
    """The Hitem3D envelope: ``{"code", "data": null, "msg"}``."""
    if isinstance(exc, DialectRuleError):
        code, status = exc.dialect_code, exc.http_status
    else:
        code, status = next(((c, s) for cls, c, s in _HITEM3D_CODES if isinstance(exc, cls)),
                            (exc.code, exc.http_status))
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse({"code": code, "data": None, "msg": exc.message}, status_code=status,
                        headers=headers)


#: Path prefix -> that dialect's envelope; anything else is native.
DIALECT_ENVELOPES: tuple[tuple[str, Callable[[MeshsmithError], JSONResponse]], ...] = (
    (TRIPO_PREFIX, tripo_error),
    ("/v1/3d/", spark3d_error),
    (HITEM3D_PREFIX, hitem3d_error),
)


def _envelope(request: Request) -> Callable[[MeshsmithError], JSONResponse]:
    return envelope_for(request.url.path)


def envelope_for(path: str) -> Callable[[MeshsmithError], JSONResponse]:
    """The envelope of the dialect that serves ``path``."""
    return next((envelope for prefix, envelope in DIALECT_ENVELOPES
                 if path.startswith(prefix)), native_error)


class DialectMiddleware:
    """Two things every response owes its dialect, in one thin ASGI layer:

    * Tripo's ``X-Tripo-Trace-ID`` header on every response under its prefix;
    * an unexpected exception (a bug) still answers in the dialect's envelope, with the
      internal-error code, instead of a plain-text 500; it is logged with its traceback.

    Other requests pass straight through (no wrapped ``send``): this runs on every request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(TRIPO_PREFIX):
            send = _with_header(send, TRACE_HEADER, uuid.uuid4().hex)
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            log.exception("unhandled error serving %s", scope["path"])
            error = MeshsmithError(f"internal error ({type(exc).__name__})")
            try:
                await envelope_for(scope["path"])(error)(scope, receive, send)
            except RuntimeError:  # the response had already started: nothing to replace
                raise exc from None


def _with_header(send: Send, name: str, value: str) -> Send:
    header = (name.lower().encode(), value.encode())

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), header]
        await send(message)

    return sending


async def handle_meshsmith_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MeshsmithError)
    return _envelope(request)(exc)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _envelope(request)(validation_error(exc))


async def handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return _envelope(request)(http_error(exc))
