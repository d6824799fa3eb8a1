"""Request dependencies: the app's services and the calling key."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import Depends, Request

from meshsmith.service.app import Services
from meshsmith.service.models import ApiKey


async def services(request: Request) -> Services:
    """The app's services (async: it never blocks, so it needs no thread-pool hop)."""
    return request.app.state.services  # type: ignore[no-any-return]


async def current_key(request: Request) -> ApiKey:
    """The authenticated key of this request (``Authorization: Bearer ...``), after its rate
    limit is applied. A recently seen credential is answered from memory; only a lookup goes
    to the thread pool. The header is read directly: a declared ``Header()`` parameter costs
    every request a validation pass, and this runs on every authenticated request."""
    svc: Services = request.app.state.services
    authorization = request.headers.get("authorization")
    key = svc.auth.cached(authorization)
    if key is None:
        key = await to_thread.run_sync(svc.auth.key_for, authorization)
    svc.auth.check_rate(key)
    return key


ServicesDep = Annotated[Services, Depends(services)]
KeyDep = Annotated[ApiKey, Depends(current_key)]
