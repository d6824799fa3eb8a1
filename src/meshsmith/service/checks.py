"""Start-up validation and health checks of the services the server depends on.

:func:`preflight` runs before the API serves (and before ``meshsmith worker`` consumes): the
database is reachable and its schema current (or migrated, when the settings say the API
migrates), the storage is usable (the S3 bucket exists), and the broker answers. Each
problem is one clear :class:`~meshsmith.errors.MeshsmithError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from meshsmith.errors import ConfigurationError, MeshsmithError, ServiceUnavailableError
from meshsmith.service.db import schema_revisions

if TYPE_CHECKING:
    from meshsmith.service.queue import TaskQueue
    from meshsmith.service.storage import Storage
    from meshsmith.service.store import Store


def check_database(store: Store) -> None:
    """The database answers; raises :class:`ServiceUnavailableError`."""
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise ServiceUnavailableError(
            f"the database is unreachable: {type(exc).__name__}: {exc.args[0] if exc.args else exc}"
        ) from exc


def check_schema(store: Store) -> None:
    """The schema is at the newest revision; raises :class:`ConfigurationError` telling to
    run ``meshsmith db upgrade`` when it is behind (or ahead of this code)."""
    current, newest = schema_revisions(store.engine)
    if current != newest:
        raise ConfigurationError(
            f"the database schema is at revision {current or 'none (empty database)'} but this "
            f"version of Meshsmith needs {newest}: run `meshsmith db upgrade` (with the same "
            "MESHSMITH_DATABASE_URL) first")


def preflight(store: Store, storage: Storage, queue: TaskQueue, migrate: bool) -> None:
    """Validate (and with ``migrate``, migrate) everything before serving; raises the first
    problem found."""
    check_database(store)
    if migrate:
        store.migrate()
    else:
        check_schema(store)
    storage.check()
    queue.probe()


def component_health(store: Store, storage: Storage, queue: TaskQueue) -> dict[str, str]:
    """``{"database": ..., "queue": ..., "storage": ...}``: ``ok`` or the problem."""
    checks = {"database": lambda: check_database(store), "queue": queue.probe,
              "storage": storage.check}
    report: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            report[name] = "ok"
        except MeshsmithError as exc:
            report[name] = exc.message
        except Exception as exc:
            report[name] = f"{type(exc).__name__}: {exc}"
    return report
