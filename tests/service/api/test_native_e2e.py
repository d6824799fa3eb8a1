"""End to end: a real uvicorn server on 127.0.0.1 (SQLite and PostgreSQL), driven with httpx."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import trimesh
from PIL import Image
from tests.service.conftest import _postgres_database
from tests.service.server import Server, running, sse_events, wait_for

from meshsmith.service.webhooks import verify

DUCK = Path(__file__).parents[3] / "examples" / "duck.png"
FAST = {"resolution": "512", "faces": 100_000}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("srv")
    if request.param == "sqlite":
        with running(tmp / "data") as srv:
            yield srv
        return
    for url in _postgres_database():
        with running(tmp / "data", url) as srv:
            yield srv


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return server.create_key(10_000)


def _upload(client: httpx.Client, data: bytes, name: str = "photo.png") -> dict[str, Any]:
    response = client.post("/v1/uploads", files={"file": (name, data, "image/png")})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _png(color: tuple[int, int, int] = (128, 128, 128), size: int = 256) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


def _cancel_all(client: httpx.Client) -> None:
    for status in ("queued", "running"):
        for task in client.get("/v1/tasks", params={"status": status, "limit": 100}
                               ).json()["items"]:
            client.post(f"/v1/tasks/{task['task_id']}/cancel")


def test_upload_task_progress_events_and_glb_download_round_trip(server: Server) -> None:
    key = server.create_key(100)
    with server.client(key) as client:
        up = _upload(client, DUCK.read_bytes())
        assert (up["width"], up["height"], up["format"]) == (640, 640, "png")
        created = client.post("/v1/tasks", json={"views": {"front": up["file_token"]},
                                                 "format": ["glb", "obj"], **FAST})
        assert created.status_code == 202 and created.json()["cost"] == 30
        events = sse_events(client, created.json()["task_id"])
        task = events[-1][1]
        assert events[-1][0] == "done" and task["status"] == "success", task
        progress = [d["progress"] for name, d in events if name == "progress"]
        assert progress == sorted(progress) and progress[-1] == 100
        stages = {d["stage"] for name, d in events if name == "progress"} - {None}
        assert stages <= {"preprocess", "reconstruct", "unwrap", "texture", "postprocess",
                          "export", "cover"}
        assert len(stages) >= 2
        assert client.get("/v1/balance").json() == {"balance": 70, "frozen": 0, "spent": 30}
    glb = httpx.get(task["outputs"]["model"]["glb"], timeout=30)  # no key: the link is enough
    assert glb.status_code == 200 and glb.headers["content-type"] == "model/gltf-binary"
    mesh = trimesh.load(io.BytesIO(glb.content), file_type="glb", force="mesh")
    assert len(mesh.faces) == 100_000 and task["stats"]["watertight"] is True
    texture = httpx.get(task["outputs"]["textures"]["base_color"], timeout=30)
    assert Image.open(io.BytesIO(texture.content)).size == (2048, 2048)
    assert "obj" in task["outputs"]["model"]


def test_download_links_are_signed_and_expire(server: Server, key: str) -> None:
    with server.client(key) as client:
        task = _finished_task(client)
    url = httpx.URL(task["outputs"]["model"]["glb"])
    forged = url.copy_set_param("sig", "0" * 64)
    assert httpx.get(forged).status_code == 404
    later = url.copy_set_param("expires", str(int(url.params["expires"]) + 10))
    assert httpx.get(later).status_code == 404  # the expiry is signed too
    other = str(url).replace("model.glb", "secret.txt")
    assert httpx.get(other).status_code == 404


def _finished_task(client: httpx.Client) -> dict[str, Any]:
    tasks = client.get("/v1/tasks", params={"status": "success"}).json()["items"]
    if tasks:
        return client.get(f"/v1/tasks/{tasks[0]['task_id']}").json()  # type: ignore[no-any-return]
    up = _upload(client, DUCK.read_bytes())
    created = client.post("/v1/tasks", json={"views": {"front": up["file_token"]},
                                             "texture": False, **FAST}).json()
    return wait_for(client, created["task_id"], {"success", "failed"})


def test_keys_are_isolated_from_each_other(server: Server, key: str) -> None:
    other = server.create_key(1000)
    with server.client(key) as alice, server.client(other) as bob:
        token = _upload(alice, DUCK.read_bytes())["file_token"]
        task = alice.post("/v1/tasks", json={"views": {"front": token}, **FAST}).json()
        for path in (f"/v1/tasks/{task['task_id']}", f"/v1/tasks/{task['task_id']}/events"):
            response = bob.get(path)
            assert response.status_code == 404 and response.json()["error"]["code"] == 10070001
        assert bob.post(f"/v1/tasks/{task['task_id']}/cancel").status_code == 404
        stolen = bob.post("/v1/tasks", json={"views": {"front": token}, **FAST})
        assert stolen.status_code == 400 and stolen.json()["error"]["code"] == 10031010
        assert bob.get("/v1/tasks").json()["total"] == 0
        alice.post(f"/v1/tasks/{task['task_id']}/cancel")
        done = _finished_task(alice)
        link = done["outputs"]["model"]["glb"]
        assert bob.get(link).status_code == 404  # a link used with another key's credentials


def test_concurrency_limit_answers_429_with_code_10040002(server: Server) -> None:
    key = server.create_key(1000, "--max-concurrency", "2")
    with server.client(key) as client:
        token = _upload(client, DUCK.read_bytes())["file_token"]
        body = {"views": {"front": token}, **FAST}
        assert [client.post("/v1/tasks", json=body).status_code for _ in range(2)] == [202, 202]
        refused = client.post("/v1/tasks", json=body)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == 10040002
        assert client.get("/v1/balance").json()["frozen"] == 60
        _cancel_all(client)
        assert client.get("/v1/balance").json() == {"balance": 1000, "frozen": 0, "spent": 0}
        assert client.post("/v1/tasks", json=body).status_code == 202
        _cancel_all(client)


def test_failing_input_is_refunded_and_reports_its_code(server: Server) -> None:
    key = server.create_key(100)
    with server.client(key) as client:
        token = _upload(client, _png())["file_token"]  # uniform grey: no object to find
        created = client.post("/v1/tasks", json={"views": {"front": token}, **FAST}).json()
        assert client.get("/v1/balance").json()["balance"] == 70
        task = wait_for(client, created["task_id"], {"failed", "success"})
        assert task["status"] == "failed" and task["error"]["code"] == 10031007
        assert task["charged"] == 0
        assert client.get("/v1/balance").json() == {"balance": 100, "frozen": 0, "spent": 0}


def test_out_of_credits_is_refused_with_code_10040001(server: Server) -> None:
    key = server.create_key(10)
    with server.client(key) as client:
        token = _upload(client, DUCK.read_bytes())["file_token"]
        refused = client.post("/v1/tasks", json={"views": {"front": token}, **FAST})
        assert refused.status_code == 402 and refused.json()["error"]["code"] == 10040001
        assert client.get("/v1/balance").json()["balance"] == 10


def test_idempotency_key_makes_a_retried_create_return_the_same_task(
        server: Server, key: str) -> None:
    with server.client(key) as client:
        token = _upload(client, DUCK.read_bytes())["file_token"]
        body = {"views": {"front": token}, "idempotency_key": "retry-1", **FAST}
        first, second = (client.post("/v1/tasks", json=body) for _ in range(2))
        assert first.json()["task_id"] == second.json()["task_id"]
        assert second.headers.get("Idempotent-Replayed") == "true"
        conflict = client.post("/v1/tasks", json=body | {"texture": False})
        assert conflict.status_code == 409 and conflict.json()["error"]["code"] == 10070003
        _cancel_all(client)


class _Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that fails its first two deliveries."""

    calls: ClassVar[list[tuple[bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((body, dict(self.headers)))
        self.send_response(500 if len(type(self).calls) <= 2 else 200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_webhook_is_signed_and_retried_until_the_receiver_accepts(
        server: Server, key: str) -> None:
    _Receiver.calls = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    try:
        with server.client(key) as client:
            token = _upload(client, DUCK.read_bytes())["file_token"]
            task = client.post("/v1/tasks", json={"views": {"front": token},
                                                  "callback_url": hook, **FAST}).json()
            client.post(f"/v1/tasks/{task['task_id']}/cancel")
            log = _wait_for_delivery(client, task["task_id"])
            secret = client.get("/v1/account").json()["webhook_secret"]
    finally:
        receiver.shutdown()
    assert [a["status_code"] for a in log["attempts"]] == [500, 500, 200]
    assert log["state"] == "delivered"
    body, headers = _Receiver.calls[-1]
    assert verify(secret, body, headers["X-Meshsmith-Signature"])
    assert not verify(secret, body + b" ", headers["X-Meshsmith-Signature"])
    assert headers["X-Meshsmith-Event"] == "cancelled"
    assert b'"status":"cancelled"' in body


def _wait_for_delivery(client: httpx.Client, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        hooks = client.get(f"/v1/tasks/{task_id}").json()["webhooks"]
        if hooks and hooks[0]["state"] != "pending":
            return hooks[0]  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise TimeoutError("the webhook was not delivered in 30 s")


@pytest.mark.parametrize("ref", [
    "http://169.254.169.254/latest/meta-data/iam",
    "http://10.0.0.1/photo.png",
    "http://[::1]:8000/photo.png",
    "http://192.168.1.20/photo.png",
    "http://metadata.google.internal/photo.png",
])
def test_image_urls_to_forbidden_addresses_are_refused_with_code_10032001(
        server: Server, key: str, ref: str) -> None:
    with server.client(key) as client:
        response = client.post("/v1/tasks", json={"views": {"front": ref}, **FAST})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 10032001, response.text


@pytest.mark.parametrize("hook", ["http://10.1.2.3/hook", "ftp://127.0.0.1/hook", "not a url"])
def test_a_forbidden_or_malformed_callback_url_is_refused_with_code_10020002(
        server: Server, key: str, hook: str) -> None:
    with server.client(key) as client:
        token = _upload(client, DUCK.read_bytes())["file_token"]
        response = client.post("/v1/tasks", json={"views": {"front": token}, **FAST,
                                                   "callback_url": hook})
        error = response.json()["error"]
        assert response.status_code == 400 and error["code"] == 10020002
        assert error["message"].startswith("callback_url: ")


def test_image_url_and_data_uri_from_an_allowed_server_are_fetched(
        server: Server, key: str) -> None:
    import base64

    class Images(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(DUCK.read_bytes())

        def log_message(self, *_args: object) -> None:
            pass

    images = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=images.serve_forever, daemon=True).start()
    data_uri = "data:image/png;base64," + base64.b64encode(DUCK.read_bytes()).decode()
    try:
        with server.client(key) as client:
            views = {"front": f"http://127.0.0.1:{images.server_address[1]}/duck.png",
                     "back": data_uri}
            response = client.post("/v1/tasks", json={"views": views, **FAST})
            assert response.status_code == 202, response.text
            _cancel_all(client)
    finally:
        images.shutdown()


def test_rate_limit_answers_429_with_code_10040003(server: Server) -> None:
    key = server.create_key(10, "--rate-limit", "5")
    with server.client(key) as client:
        codes = [client.get("/v1/balance").status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and codes[-1] == 429
        assert client.get("/v1/balance").json()["error"]["code"] == 10040003


def test_access_token_exchanged_for_a_key_authenticates(server: Server, key: str) -> None:
    with server.client(key) as client:
        token = client.post("/v1/auth/token").json()
    assert token["access_token"].startswith("mst_") and token["expires_in"] == 86400
    with server.client(token["access_token"]) as client:
        assert client.get("/v1/balance").status_code == 200
    with server.client(token["access_token"][:-2] + "xx") as client:
        assert client.get("/v1/balance").json()["error"]["code"] == 10010001


@pytest.mark.parametrize(("body", "code"), [
    ({"views": {"front": "x"}, "resolution": "2048"}, 10021001),
    ({"views": {"front": "x"}, "faces": 99}, 10021002),
    ({"views": {"front": "x"}, "format": "dwg"}, 10021003),
    ({"views": {"back": "x"}}, 10021004),
    ({"views": {"front": "x"}, "engine": "magic"}, 10021005),
    ({"views": {"front": "x"}, "quad": True, "parts": True, "texture": False}, 10020001),
    ({"views": {"front": "x"}, "parts": True}, 10020001),
    ({"views": {"front": "x"}, "smart_low_poly": True, "faces": 30_000}, 10021002),
    ({"views": {"front": "x"}, "bogus": True}, 10020001),
    ({"views": {"front": "x"}, "texture_size": 3000}, 10020001),
    ({"views": {"front": "no-such-token"}}, 10031010),
])
def test_invalid_task_requests_get_their_documented_codes(
        server: Server, key: str, body: dict[str, Any], code: int) -> None:
    with server.client(key) as client:
        response = client.post("/v1/tasks", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_requests_without_a_valid_key_get_401_and_unknown_routes_404(server: Server) -> None:
    with server.client() as anonymous, server.client("tsk_not-a-key") as bad:
        assert anonymous.get("/v1/tasks").json()["error"]["code"] == 10010001
        assert bad.get("/v1/tasks").status_code == 401
        missing = anonymous.get("/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == 10070001


def test_upload_of_a_non_image_is_refused_with_code_10031005(server: Server, key: str) -> None:
    with server.client(key) as client:
        response = client.post("/v1/uploads", files={"file": ("a.png", b"<html>", "image/png")})
    assert response.status_code == 400 and response.json()["error"]["code"] == 10031005


def test_registries_health_metrics_and_openapi_are_served(server: Server) -> None:
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert {"glb", "obj", "stl", "ply"} <= {f["name"] for f in
                                                client.get("/v1/formats").json()["formats"]}
        assert "geometric" in {e["name"] for e in client.get("/v1/engines").json()["engines"]}
        metrics = client.get("/metrics").text
        assert 'meshsmith_tasks{status="queued"}' in metrics
        assert "meshsmith_http_requests_total" in metrics
        openapi = client.get("/openapi.json").json()
        assert openapi["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert openapi["paths"]["/v1/tasks"]["post"]["security"] == [{"bearer": []}]
        assert "security" not in openapi["paths"]["/healthz"]["get"]


def test_task_list_is_paginated_and_filtered_by_status(server: Server) -> None:
    key = server.create_key(1000)
    with server.client(key) as client:
        token = _upload(client, DUCK.read_bytes())["file_token"]
        ids = [client.post("/v1/tasks", json={"views": {"front": token}, **FAST}
                           ).json()["task_id"] for _ in range(3)]
        _cancel_all(client)
        page = client.get("/v1/tasks", params={"limit": 2, "offset": 0}).json()
        assert page["total"] == 3 and len(page["items"]) == 2
        rest = client.get("/v1/tasks", params={"limit": 2, "offset": 2}).json()["items"]
        assert {t["task_id"] for t in page["items"] + rest} == set(ids)
        assert client.get("/v1/tasks", params={"status": "success"}).json()["total"] == 0
        bad = client.get("/v1/tasks", params={"status": "done"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == 10020001
