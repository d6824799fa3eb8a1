"""Fixtures for the service: a settings object, a store on SQLite or PostgreSQL, a running
server. PostgreSQL tests use a fresh database per test on 127.0.0.1:5432 and skip with a
reason when it is not reachable, unless MESHSMITH_REQUIRE_SERVICES=1 (CI) makes that fatal."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshsmith.service.settings import Settings
from meshsmith.service.store import Store

PG_ADMIN_URL = os.environ.get("MESHSMITH_TEST_POSTGRES",
                              "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_database() -> Iterator[str]:
    """Create a throwaway database; yield its SQLAlchemy URL; drop it afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        if os.environ.get("MESHSMITH_REQUIRE_SERVICES") == "1":
            raise RuntimeError(f"PostgreSQL required but unreachable: {exc}") from exc
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    name = f"meshsmith_t_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meshsmith.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, lease_s=2.0,
                    task_timeout_s=600, max_attempts=2)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings)
    store.migrate()
    yield store
    store.close()
