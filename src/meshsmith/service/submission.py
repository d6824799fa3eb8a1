"""Creating a task, the same way for every API dialect.

A router validates its own request, builds the internal :class:`~meshsmith.spec.TaskSpec`
and hands it here with the image references. :func:`submit` then, without blocking the event
loop:

1. answers a retried request with its earlier task (same ``idempotency_key``);
2. checks the callback URL's address and fetches URL or data-URI images (thread pool);
3. reserves the credits and inserts the task in one transaction (the write lane);
4. hands the task ID to the queue.

The write lane is a small thread limit (``db_write_threads``) for the task transaction:
writes serialize on SQLite anyway, and ten request threads queued on one database lock spend
their time handing the GIL to each other, which is what long creation tails are made of.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from anyio import to_thread

from meshsmith.errors import InputImageError, InvalidCallbackUrlError
from meshsmith.service.app import Services
from meshsmith.service.fetch import check_url
from meshsmith.service.intake import fetch_policy, is_remote, resolve_views
from meshsmith.service.models import Task
from meshsmith.service.pricing import task_cost
from meshsmith.service.store import NewTask
from meshsmith.spec import TaskSpec, spec_to_options


@dataclass(frozen=True)
class Submission:
    """What a dialect asks for, once its request is validated."""

    owner_id: str
    spec: TaskSpec  # its views are placeholders; ``refs`` says where the images are
    refs: Mapping[str, str]  # slot -> file_token, http(s) URL or data URI
    request_hash: str  # identifies the request body, for idempotent retries
    callback_url: str | None = None
    idempotency_key: str | None = None
    client_request: dict[str, Any] | None = None  # echoed back by the dialect, see models
    cost: int | None = None  # the dialect's own price; None: the shared price table
    #: Storage key of the mesh a texturing task paints (``spec.source_mesh`` is a placeholder)
    source_model: str | None = None


def request_hash(*parts: str) -> str:
    """A stable hash of a request's canonical text (e.g. its JSON dump)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


async def submit(svc: Services, sub: Submission) -> tuple[Task, bool]:
    """Create (or find, for a retry) the task; returns ``(task, replayed)``."""
    if sub.idempotency_key is not None:
        earlier = await to_thread.run_sync(svc.store.find_idempotent, sub.owner_id,
                                           sub.idempotency_key, sub.request_hash)
        if earlier is not None:
            return earlier, True
    svc.queue.ensure_available()  # refuse now rather than accept a task nobody can run soon
    views = await _fetch_inputs(svc, sub)
    options = spec_to_options(sub.spec)
    if sub.source_model is not None:
        options["source_model"] = sub.source_model
    new = NewTask(owner_id=sub.owner_id, views=views, options=options,
                  cost=task_cost(options, svc.settings.price) if sub.cost is None else sub.cost,
                  callback_url=sub.callback_url,
                  idempotency_key=sub.idempotency_key, request_hash=sub.request_hash,
                  client_request=sub.client_request)
    task, created = await to_thread.run_sync(svc.store.create_task, new,
                                             limiter=svc.write_lane)
    if created:
        svc.queue.enqueue(task.id)
    return task, not created


async def _fetch_inputs(svc: Services, sub: Submission) -> dict[str, str]:
    """Slot -> upload ID. Only callback checks (DNS) and remote images need a thread."""
    if sub.callback_url is None and not any(is_remote(ref) for ref in sub.refs.values()):
        return dict(sub.refs)
    if sub.callback_url is not None:
        await check_callback(svc, sub.callback_url)
    return await to_thread.run_sync(resolve_views, svc.store, svc.storage, svc.settings,
                                     sub.owner_id, sub.refs)


async def check_callback(svc: Services, url: str) -> None:
    """The callback URL's scheme and address (resolved, in a thread), under the image-URL
    rules; a refusal is :class:`InvalidCallbackUrlError`, not an image error."""
    try:
        await to_thread.run_sync(check_url, url, fetch_policy(svc.settings))
    except InputImageError as exc:
        raise InvalidCallbackUrlError(f"callback_url: {exc.message}") from exc

