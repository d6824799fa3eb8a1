"""The FastAPI application and the services it runs on.

:func:`create_app` wires one :class:`Services` bundle (store, storage, queue, scheduler,
webhook sender, authenticator) from the settings. Starting the app migrates the database and
starts the queue and the two background threads; nothing runs at import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from meshsmith import __version__
from meshsmith.errors import MeshsmithError
from meshsmith.service.api import envelopes
from meshsmith.service.auth import Authenticator
from meshsmith.service.metrics import Metrics
from meshsmith.service.queue import TaskQueue, make_queue
from meshsmith.service.scheduler import Scheduler
from meshsmith.service.settings import Settings
from meshsmith.service.storage import Storage, make_storage
from meshsmith.service.store import Store
from meshsmith.service.webhooks import WebhookSender

log = logging.getLogger("meshsmith.service")


@dataclass
class Services:
    """Everything a request handler may use, built once per app."""

    settings: Settings
    store: Store
    storage: Storage
    queue: TaskQueue
    auth: Authenticator
    scheduler: Scheduler
    webhooks: WebhookSender
    metrics: Metrics


def build_services(settings: Settings) -> Services:
    store = Store(settings)
    queue = make_queue(settings, store)
    storage = make_storage(settings)
    return Services(settings=settings, store=store, storage=storage, queue=queue,
                    auth=Authenticator(store, settings),
                    scheduler=Scheduler(store, queue, storage, settings),
                    webhooks=WebhookSender(store, settings), metrics=Metrics(store))


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for ``settings``: the native ``/v1`` API, health and metrics."""
    from meshsmith.service.api import native, system

    services = build_services(settings)
    app = FastAPI(title="Meshsmith", version=__version__, lifespan=_lifespan,
                  description="Photos in, textured 3D models out.")
    app.state.services = services
    app.add_exception_handler(MeshsmithError, envelopes.handle_meshsmith_error)
    app.add_exception_handler(RequestValidationError, envelopes.handle_validation_error)
    app.add_exception_handler(HTTPException, envelopes.handle_http_error)
    app.include_router(system.router)
    app.include_router(native.router)
    services.metrics.instrument(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: Services = app.state.services
    services.settings.data_dir.mkdir(parents=True, exist_ok=True)
    services.store.migrate()
    services.queue.start()
    services.scheduler.start()
    services.webhooks.start()
    try:
        yield
    finally:
        services.scheduler.stop()
        services.webhooks.stop()
        services.queue.stop()
