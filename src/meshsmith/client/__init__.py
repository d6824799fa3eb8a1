"""A Python client for Meshsmith's native API (``/v1``), sync (:class:`Client`) and async
(:class:`AsyncClient`), on httpx::

    from meshsmith.client import Client

    with Client("http://127.0.0.1:8000", "tsk_...") as client:
        task = client.generate(["duck.png"], out_dir="out", resolution="512")
        print(task.files, task.charged)

Requests that fail with 429, a 5xx or a connection error are retried with backoff where that
is safe (see :class:`RetryPolicy`); errors are typed (:class:`ApiError` and its subclasses
carry the API's code, message and HTTP status).
"""

from meshsmith.client._common import RetryPolicy
from meshsmith.client.aio import AsyncClient
from meshsmith.client.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    CreditsError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskFailedError,
)
from meshsmith.client.models import Balance, Task, TaskPage, TaskProgress, Upload
from meshsmith.client.sync import Client
from meshsmith.errors import ServerUnreachableError, UnexpectedResponseError

__all__ = [
    "ApiError", "AsyncClient", "AuthError", "BadRequestError", "Balance", "Client",
    "ConflictError", "CreditsError", "ForbiddenError", "NotFoundError", "RateLimitError",
    "RetryPolicy", "ServerError", "ServerUnreachableError", "Task", "TaskFailedError",
    "TaskPage", "TaskProgress", "UnexpectedResponseError", "Upload",
]
