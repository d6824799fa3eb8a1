"""Schema migrations on SQLite and PostgreSQL: the newest revision is exactly the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from meshsmith.service.models import Base
from meshsmith.service.store import Store


def test_migrations_build_exactly_the_schema_the_models_declare(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
