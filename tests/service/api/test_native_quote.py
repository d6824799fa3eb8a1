"""``POST /v1/quote``: the server's own price for a task body, with create's error codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.service.server import Server, running

DUCK = Path(__file__).parents[3] / "examples" / "duck.png"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # A non-default base price: the quote must come from the server's price table.
    with running(tmp_path_factory.mktemp("srv") / "data", MESHSMITH_PRICE__BASE="7") as srv:
        yield srv


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return server.create_key(1000)


def _quote(server: Server, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with server.client(key) as client:
        response = client.post("/v1/quote", json=body)
    return response.status_code, response.json()


@pytest.mark.parametrize(("options", "expected"), [
    ({}, 7 + 10),
    ({"texture": False}, 7),
    ({"texture_size": 4096}, 7 + 10 + 10),
    ({"resolution": "1536pro", "smart_low_poly": True}, 7 + 10 + 20 + 10),
    ({"quad": True, "format": ["obj", "glb"]}, 7 + 10 + 5),
])
def test_quote_prices_options_from_the_servers_price_table(
        server: Server, key: str, options: dict[str, Any], expected: int) -> None:
    status, body = _quote(server, key, {"views": {"front": "x"}, **options})
    assert status == 200, body
    assert body == {"cost": expected}


def test_quote_equals_the_cost_create_reserves_and_reserves_nothing(
        server: Server, key: str) -> None:
    options = {"resolution": "512", "faces": 5000, "texture_size": 4096}
    _, quoted = _quote(server, key, {"views": {"front": "x"}, **options})
    with server.client(key) as client:
        before = client.get("/v1/balance").json()
        assert client.get("/v1/balance").json() == before  # the quote froze nothing
        token = client.post("/v1/uploads", files={"file": ("duck.png", DUCK.read_bytes(),
                                                           "image/png")}).json()["file_token"]
        created = client.post("/v1/tasks", json={"views": {"front": token}, **options}).json()
        client.post(f"/v1/tasks/{created['task_id']}/cancel")
    assert created["cost"] == quoted["cost"] == 27


@pytest.mark.parametrize("options", [
    {"faces": 3},
    {"resolution": "999"},
    {"texture_size": 333},
    {"format": "nope"},
    {"parts": True, "texture": True},
    {"colour": "red"},
])
def test_rejects_bad_options_with_the_same_error_as_create(
        server: Server, key: str, options: dict[str, Any]) -> None:
    body = {"views": {"front": "x"}, **options}
    status, quoted = _quote(server, key, body)
    with server.client(key) as client:
        created = client.post("/v1/tasks", json=body)
    assert status >= 400
    assert (status, quoted) == (created.status_code, created.json())
    assert isinstance(quoted["error"]["code"], int) and quoted["error"]["message"]


def test_rejects_a_quote_without_a_key(server: Server) -> None:
    status, body = _quote(server, "not-a-key", {"views": {"front": "x"}})
    assert status == 401
    assert body["error"]["code"]
