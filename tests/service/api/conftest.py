"""Fixtures shared by the API dialect tests, which each run one real server per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.service.server import Server

from meshsmith.service.settings import Settings
from meshsmith.service.store import Store


@pytest.fixture(scope="module")
def store(server: Server) -> Iterator[Store]:
    """The module's server's own database, to read back what a request stored. (Here it
    replaces tests/service's per-test store: these tests need the server's.)"""
    st = Store(Settings(data_dir=server.data_dir,
                        database_url=server.env.get("MESHSMITH_DATABASE_URL")))
    yield st
    st.close()
