"""One real ``meshsmith serve`` (SQLite, one worker) for the client tests, and a key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.service.server import Server, running

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Small, fast generations: the 512 grid, 5,000 faces, a 512 px texture (30 credits each).
FAST = {"resolution": "512", "faces": 5000, "texture_size": 512}


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("client-srv") / "data") as srv:
        yield srv


@pytest.fixture(scope="package")
def key(server: Server) -> str:
    return server.create_key(10_000)
