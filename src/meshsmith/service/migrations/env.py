"""Alembic environment: runs against the connection :func:`meshsmith.service.db.migrate`
hands over, or against ``MESHSMITH_DATABASE_URL`` when called from the ``alembic`` CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from meshsmith.service.models import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from meshsmith.service.db import make_engine
    from meshsmith.service.settings import load_settings

    engine = make_engine(load_settings().db_url)
    with engine.begin() as conn:
        _run(conn)


_main()
