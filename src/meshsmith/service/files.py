"""Checking signed download links (see :mod:`meshsmith.service.render` for how they are made)."""

from __future__ import annotations

import hmac
import time
from typing import TYPE_CHECKING

from meshsmith.errors import LinkExpiredError, NotFoundError
from meshsmith.service.models import Task
from meshsmith.service.render import file_signature
from meshsmith.service.states import SUCCESS

if TYPE_CHECKING:
    from meshsmith.service.app import Services


def check_download(svc: Services, task_id: str, name: str, expires: int, sig: str) -> Task:
    """The task whose file ``name`` the link grants; raises if it is forged, expired or gone.

    The signature covers the task's owner, so a link cannot be moved to another task or key.
    """
    task = svc.store.get_task(None, task_id)
    expected = file_signature(svc.settings.secret_key, task.owner_id, task.id, name, expires)
    if not sig.isascii() or not hmac.compare_digest(expected, sig):
        raise NotFoundError(f"no file {name!r} for task {task_id!r}")
    if expires < time.time():
        raise LinkExpiredError("this download link has expired; fetch the task for a new one")
    if task.status != SUCCESS or name not in (task.outputs or {}).get("files", []):
        raise NotFoundError(f"no file {name!r} for task {task_id!r}")
    return task
