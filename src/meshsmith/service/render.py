"""The native task JSON, and the signed download links it carries.

A link is ``/v1/files/<task>/<name>?expires=<unix>&sig=<hmac>``; the HMAC-SHA256 covers the
task's owner, the task, the file name and the expiry, under the server's secret key. It is
used by the API (``GET /v1/tasks/{id}``) and by webhooks, which is why it lives apart from
both.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from meshsmith.service.models import Task, WebhookAttempt, WebhookDelivery
from meshsmith.service.settings import Settings
from meshsmith.service.states import SUCCESS


def file_signature(secret: str, owner_id: str, task_id: str, name: str, expires: int) -> str:
    """The hex HMAC-SHA256 binding a download link to its owner, task, file and expiry."""
    message = f"{owner_id}\n{task_id}\n{name}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_file_url(settings: Settings, task: Task, name: str, now: float | None = None) -> str:
    """An absolute download URL for one of ``task``'s files, valid ``signed_url_ttl_s``."""
    expires = int((now if now is not None else time.time()) + settings.signed_url_ttl_s)
    sig = file_signature(settings.secret_key, task.owner_id, task.id, name, expires)
    return (f"{settings.base_url()}/v1/files/{task.id}/{quote(name)}"
            f"?expires={expires}&sig={sig}")


def model_file(task: Task) -> str | None:
    """The file name of a finished task's model in its primary (first) format."""
    models = (task.outputs or {}).get("model", {})
    return models.get(task.options.get("format")) or next(iter(models.values()), None)


def result_files(task: Task) -> list[str]:
    """Every file of a finished task's result, its model first (an OBJ's MTL and texture,
    other formats and texture maps follow); the cover image is not one (see
    :func:`cover_url`)."""
    model = model_file(task)
    outputs = task.outputs or {}
    skip = {model, outputs.get("cover")}
    return ([model] if model else []) + [n for n in outputs.get("files", []) if n not in skip]


def iso(ts: float | None) -> str | None:
    """A UNIX time as an ISO 8601 UTC string, or ``None``."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def task_json(task: Task, settings: Settings) -> dict[str, Any]:
    """The task as the native API and webhooks show it."""
    return {
        "task_id": task.id,
        "status": task.status,
        "stage": task.stage,
        "progress": round(task.progress),
        "created_at": iso(task.created_at),
        "started_at": iso(task.started_at),
        "finished_at": iso(task.finished_at),
        "cost": task.cost,
        "charged": task.cost if task.status == SUCCESS else 0,
        "attempts": task.attempts,
        "options": task.options,
        "error": _error(task),
        "outputs": _outputs(task, settings),
        "stats": task.stats,
    }


def _error(task: Task) -> dict[str, Any] | None:
    if task.error_code is None:
        return None
    return {"code": task.error_code, "message": task.error_message}


def _outputs(task: Task, settings: Settings) -> dict[str, Any] | None:
    if task.status != SUCCESS or not task.outputs:
        return None
    now = time.time()

    def urls(names: dict[str, str]) -> dict[str, str]:
        return {k: signed_file_url(settings, task, v, now) for k, v in names.items()}

    return {
        "model": urls(task.outputs.get("model", {})),
        "textures": urls(task.outputs.get("textures", {})),
        "files": urls({name: name for name in task.outputs.get("files", [])}),
        "cover": cover_url(settings, task, now),
    }


def cover_url(settings: Settings, task: Task, now: float | None = None) -> str | None:
    """The signed link to a finished task's preview PNG, or ``None`` (older tasks)."""
    name = (task.outputs or {}).get("cover")
    if task.status != SUCCESS or not name:
        return None
    return signed_file_url(settings, task, name, now)


def webhook_log(deliveries: list[tuple[WebhookDelivery, list[WebhookAttempt]]]
                ) -> list[dict[str, Any]]:
    """A task's webhook deliveries and their attempts, as ``GET /v1/tasks/{id}`` shows them."""
    return [{"id": d.id, "url": d.url, "event": d.event, "state": d.state,
             "next_attempt_at": iso(d.next_attempt_at),
             "attempts": [{"attempt": a.attempt, "at": iso(a.at), "status_code": a.status_code,
                           "error": a.error, "duration_ms": round(a.duration_ms, 1)}
                          for a in attempts]}
            for d, attempts in deliveries]
