"""The client's exceptions. Every one is a :class:`~meshsmith.errors.MeshsmithError`, so
``exc.code`` and ``exc.message`` are the API's own code and message (see the README's error
code table); the class says which HTTP status the server answered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshsmith.errors import MeshsmithError

if TYPE_CHECKING:
    from meshsmith.client.models import Task


class ApiError(MeshsmithError):
    """The API refused a request: its ``code``, ``message`` and HTTP ``status``."""

    def __init__(self, code: int, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.status, self.http_status = code, status, status

    def __str__(self) -> str:
        return f"error {self.code}: {self.message} (HTTP {self.status})"


class BadRequestError(ApiError):
    """400: an invalid request or input image."""


class AuthError(ApiError):
    """401: missing or invalid API key or access token (10010001, 10010002)."""


class ForbiddenError(ApiError):
    """403: an expired or forged download link (10010003)."""


class CreditsError(ApiError):
    """402: not enough credits (10040001)."""


class NotFoundError(ApiError):
    """404: no such task, upload or file, or another key's (10070001)."""


class ConflictError(ApiError):
    """409: the task's status does not allow this, or an idempotency key was reused."""


class RateLimitError(ApiError):
    """429: the key's request rate or concurrency limit (10040003, 10040002)."""


class ServerError(ApiError):
    """5xx: the server failed (10090001 and others)."""


STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError, 401: AuthError, 402: CreditsError, 403: ForbiddenError,
    404: NotFoundError, 409: ConflictError, 429: RateLimitError,
}


class TaskFailedError(MeshsmithError):
    """A task ended ``failed`` (its own error code, e.g. 10031007) or ``cancelled``
    (10070002); ``task`` is its last state."""

    def __init__(self, task: Task) -> None:
        error = task.error or {}
        super().__init__(str(error.get("message") or f"task {task.id} was {task.status}"))
        self.code = int(error.get("code") or 10070002)
        self.task = task
