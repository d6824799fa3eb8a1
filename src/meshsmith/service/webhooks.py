"""Webhook signing and delivery.

Each terminal status of a task with a ``callback_url`` queues one delivery: a POST of the task
JSON with these headers::

    Content-Type: application/json
    X-Meshsmith-Event: success | failed | cancelled
    X-Meshsmith-Delivery: <delivery id>
    X-Meshsmith-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

``secret`` is the key's webhook secret (``GET /v1/account``). A receiver recomputes the HMAC
over the exact body bytes, compares in constant time, and rejects an old ``t``. A delivery
counts as done on any 2xx answer; otherwise it is retried after each delay of
``MESHSMITH_WEBHOOK_BACKOFF_S`` (30 s, 1, 2, 5, 10, 15 min by default: 7 attempts over about
33 minutes). Every attempt is logged on the task.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from meshsmith.errors import MeshsmithError
from meshsmith.service.fetch import FetchPolicy, post_pinned
from meshsmith.service.models import Task, WebhookDelivery
from meshsmith.service.settings import Settings
from meshsmith.service.store import Store

log = logging.getLogger("meshsmith.webhooks")
SIGNATURE_HEADER = "X-Meshsmith-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Meshsmith-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, tolerance_s: float = 300.0,
           now: float | None = None) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance_s``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


class WebhookSender:
    """One thread that sends due deliveries and schedules their retries."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store, self._settings = store, settings
        #: Body renderers of API dialects whose callbacks have their own shape, by the name
        #: a task's ``client_request["webhook"]`` gives; other tasks get the native payload.
        self.bodies: dict[str, Callable[[Task, Settings], dict[str, Any]]] = {}
        self._policy = FetchPolicy(connect_timeout_s=settings.webhook_timeout_s,
                                   read_timeout_s=settings.webhook_timeout_s,
                                   allow=tuple(settings.fetch_allow))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=15)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for delivery in self._store.due_deliveries():
                    self.deliver(delivery)
            except Exception:
                log.exception("webhook loop error")
            self._wake.wait(self._settings.scheduler_interval_s)
            self._wake.clear()

    def deliver(self, delivery: WebhookDelivery) -> None:
        """POST one delivery and record the attempt and the next retry time."""
        body = self._body(delivery)
        headers = {"Content-Type": "application/json", "User-Agent": "meshsmith-webhook/0.1",
                   "X-Meshsmith-Event": delivery.event,
                   "X-Meshsmith-Delivery": str(delivery.id),
                   SIGNATURE_HEADER: sign(self._store.webhook_secret(delivery.task_id), body,
                                          int(time.time()))}
        start = time.perf_counter()
        status, error = None, None
        try:
            status = post_pinned(delivery.url, body, headers, self._policy)
        except MeshsmithError as exc:
            error = f"{exc.code}: {exc.message}"
        elapsed_ms = (time.perf_counter() - start) * 1000
        if error is None and not 200 <= (status or 0) < 300:
            error = f"HTTP {status}"
        self._store.record_attempt(delivery.id, status, error, elapsed_ms,
                                   self._next_attempt(delivery.attempts) if error else None)

    def _body(self, delivery: WebhookDelivery) -> bytes:
        """The stored native payload, or the task's dialect body, rendered now (so its
        download links are fresh on every attempt)."""
        task = self._store.get_task(None, delivery.task_id)
        render = self.bodies.get((task.client_request or {}).get("webhook", ""))
        if render is None:
            return delivery.payload.encode()
        return json.dumps(render(task, self._settings), separators=(",", ":")).encode()

    def _next_attempt(self, attempts_before: int) -> float | None:
        backoff = self._settings.webhook_backoff_s
        return time.time() + backoff[attempts_before] if attempts_before < len(backoff) else None
