"""One exception hierarchy with stable numeric codes.

Every error Meshsmith raises on purpose is a :class:`MeshsmithError`. Its ``code`` is stable
across releases: clients and API dialects key on it, so never renumber an existing one.
Codes are grouped by the first four digits:

* ``1002xxxx`` - a request or option is invalid.
* ``1003xxxx`` - an input image is rejected.
* ``1005xxxx`` - an engine could not run or could not reconstruct.
* ``1006xxxx`` - an exporter could not write the requested format.
* ``1009xxxx`` - an internal error.
"""

from __future__ import annotations


class MeshsmithError(Exception):
    """Base of every deliberate Meshsmith error: a stable ``code`` plus a human message."""

    code: int = 10090001
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """The wire form ``{"code": int, "message": str}`` shared by every dialect."""
        return {"code": self.code, "message": self.message}


class InvalidRequestError(MeshsmithError):
    """A task option is missing or outside its allowed values."""

    code = 10020001
    http_status = 400


class InvalidCallbackUrlError(InvalidRequestError):
    """A ``callback_url`` that is not an http(s) URL of a public address."""

    code = 10020002


class InvalidResolutionError(InvalidRequestError):
    code = 10021001


class InvalidFaceCountError(InvalidRequestError):
    code = 10021002


class UnsupportedFormatError(InvalidRequestError):
    code = 10021003


class InvalidViewsError(InvalidRequestError):
    code = 10021004


class UnknownEngineError(InvalidRequestError):
    code = 10021005


class InputImageError(MeshsmithError):
    """An input image cannot be used."""

    code = 10030001
    http_status = 400


class ImageFileTooLargeError(InputImageError):
    code = 10031001


class ImageDimensionsTooLargeError(InputImageError):
    code = 10031002


class ImageTruncatedError(InputImageError):
    code = 10031003


class DecompressionBombError(InputImageError):
    code = 10031004


class NotAnImageError(InputImageError):
    code = 10031005


class EmptyImageError(NotAnImageError):
    """The file has no bytes at all."""

    code = 10031011


class UnsupportedImageFormatError(InputImageError):
    code = 10031006


class NoForegroundError(InputImageError):
    code = 10031007


class ImageTooSmallError(InputImageError):
    code = 10031008


class EngineError(MeshsmithError):
    """An engine failed to produce a shape."""

    code = 10050001
    http_status = 500


class EngineUnavailableError(EngineError):
    """An engine's weights or optional libraries are missing."""

    code = 10051001
    http_status = 503


class ReconstructionError(EngineError):
    code = 10051002
    http_status = 422


class ExportError(MeshsmithError):
    code = 10060001
    http_status = 500


class CompressionError(ExportError):
    """A compressed GLB could not be produced (the compressor failed or is missing)."""

    code = 10061001


class RenderError(ExportError):
    """The cover image could not be rendered (no offscreen OpenGL, or the render failed)."""

    code = 10061002


class RemeshError(MeshsmithError):
    """A remesh step (quad, low-poly, parts, face target) cannot reach what was asked."""

    code = 10062001
    http_status = 422


class UnreachableFaceTargetError(RemeshError):
    """The requested face count cannot be reached without breaking the surface."""

    code = 10062002


class MeshInputError(InputImageError):
    """A mesh given as input (texture an existing mesh) cannot be read or is empty."""

    code = 10033001


class MissingDependencyError(MeshsmithError):
    """An optional library is not installed; the message says what to install."""

    code = 10090002
    http_status = 503


class InputNotFoundError(InputImageError):
    """An input path does not exist or is not a readable file."""

    code = 10031009


# --- the service: accounts, limits, tasks and fetched inputs -------------------------------


class AuthenticationError(MeshsmithError):
    """No credentials, or credentials that match no active API key or valid token."""

    code = 10010001
    http_status = 401


class TokenExpiredError(AuthenticationError):
    code = 10010002


class LinkExpiredError(MeshsmithError):
    """A signed download link is past its expiry or its signature does not match."""

    code = 10010003
    http_status = 403


class InsufficientCreditsError(MeshsmithError):
    code = 10040001
    http_status = 402


class ConcurrencyLimitError(MeshsmithError):
    """The key already has its maximum number of queued and running tasks."""

    code = 10040002
    http_status = 429


class RateLimitError(MeshsmithError):
    code = 10040003
    http_status = 429


class NotFoundError(MeshsmithError):
    """A task, upload or file does not exist, or belongs to another key."""

    code = 10070001
    http_status = 404


class UnknownEndpointError(NotFoundError):
    """No route matches the request's path."""


class TaskStateError(MeshsmithError):
    """The task's status does not allow the requested change (e.g. cancelling a success)."""

    code = 10070002
    http_status = 409


class IdempotencyConflictError(MeshsmithError):
    """An ``idempotency_key`` was reused with a different request body."""

    code = 10070003
    http_status = 409


class UnknownUploadError(InputImageError):
    """A ``file_token`` names no upload of this key."""

    code = 10031010


class BlockedAddressError(InputImageError):
    """An image URL resolves to a loopback, private, link-local or metadata address."""

    code = 10032001


class FetchError(InputImageError):
    """An image URL could not be downloaded (timeout, HTTP error, bad scheme, redirects)."""

    code = 10032002


class InvalidDataUriError(InputImageError):
    code = 10032003


class TaskTimeoutError(MeshsmithError):
    """A task ran past the configured time limit."""

    code = 10090003


class TaskAbandonedError(MeshsmithError):
    """A task's worker died on every one of its allowed attempts."""

    code = 10090004


class ServiceUnavailableError(MeshsmithError):
    """A service the server depends on (the task queue's broker, the database, the object
    store) is unreachable; retry later."""

    code = 10090005
    http_status = 503


class ConfigurationError(MeshsmithError):
    """The settings name a service that is missing or not ready (a bucket that does not
    exist, a database schema behind the code); raised at start-up."""

    code = 10090006


class DialectRuleError(InvalidRequestError):
    """A rule that only one API dialect has (Tripo's model versions, Hitem3D's model list),
    carrying that dialect's own error code; its envelope passes the code through."""

    def __init__(self, message: str, dialect_code: int, http_status: int = 400,
                 suggestion: str | None = None) -> None:
        super().__init__(message)
        self.dialect_code, self.http_status, self.suggestion = dialect_code, http_status, suggestion


def error_for_code(code: int, message: str) -> MeshsmithError:
    """The error a stored ``(code, message)`` stands for (its most specific class), so that
    a task's recorded failure maps to a dialect's codes like a raised one."""
    pending: list[type[MeshsmithError]] = [MeshsmithError]
    while pending:
        cls = pending.pop()
        if cls.code == code and cls is not DialectRuleError:
            return cls(message)
        pending.extend(cls.__subclasses__())
    error = MeshsmithError(message)
    error.code = code
    return error


# --- the Python client (meshsmith.client): failures that never reach the API ---------------


class ServerUnreachableError(MeshsmithError):
    """The client could not reach the server, or lost the connection mid-request, after
    the retries it was allowed."""

    code = 10080001
    http_status = 503


class UnexpectedResponseError(MeshsmithError):
    """The server answered something the client cannot read (not the native envelope)."""

    code = 10080002
    http_status = 502
