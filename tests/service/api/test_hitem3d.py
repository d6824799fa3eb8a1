"""The Hitem3D dialect (/open-api/v1) against a real server on 127.0.0.1: the token rules,
one test per model, field and error code of the seeds and the issue, and the golden
token -> submit -> query -> download cycle with its callback. Tasks that only check a rule
are cancelled at once; their options are read back from the store."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np
import pytest
import trimesh
from PIL import Image
from tests.service.server import Server, running, wait_for

from meshsmith.service.store import Store
from meshsmith.service.webhooks import verify

DUCK = Path(__file__).parents[3] / "examples" / "duck.png"
API = "/open-api/v1"
FAST = {"model": "hitem3dv1.5", "resolution": "512", "face": "100000"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("srv") / "data") as srv:
        yield srv


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return server.create_key(100_000, "--max-concurrency", "50")


@pytest.fixture(scope="module")
def client(server: Server, key: str) -> Iterator[httpx.Client]:
    key_id = _key_id(server, key)
    with server.client() as anonymous:
        token = anonymous.post(f"{API}/auth/token", headers=_basic(key_id, key)).json()
    with server.client(token["data"]["accessToken"]) as c:
        yield c


def _key_id(server: Server, key: str) -> str:
    with server.client(key) as c:
        return str(c.get("/v1/account").json()["id"])


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode())
            .decode()}


def _image(fmt: str = "PNG", color: tuple[int, int, int] | None = None) -> bytes:
    if color is None and fmt == "PNG":
        return DUCK.read_bytes()
    out = io.BytesIO()
    Image.open(DUCK).convert("RGB").save(out, format=fmt) if color is None else \
        Image.new("RGB", (256, 256), color).save(out, format=fmt)
    return out.getvalue()


def _submit(client: httpx.Client, fields: dict[str, str] | None = None,
            images: list[bytes] | None = None, multi: list[bytes] | None = None
            ) -> httpx.Response:
    files = [("images", (f"i{i}.png", data)) for i, data in enumerate(images or [])]
    files += [("multi_images", (f"m{i}.png", data)) for i, data in enumerate(multi or [])]
    return client.post(f"{API}/submit-task", data=fields or {}, files=files)


def _accepted(client: httpx.Client, store: Store, fields: dict[str, str],
              images: list[bytes] | None = None, multi: list[bytes] | None = None
              ) -> dict[str, Any]:
    r = _submit(client, fields, images if images or multi else [_image()], multi)
    assert r.status_code == 200 and r.json()["code"] == 200, r.text
    task_id = r.json()["data"]["task_id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    task = store.get_task(None, task_id)
    return task.options | {"cost": task.cost, "views": sorted(task.views)}


def _error(r: httpx.Response, code: int, status: int = 400) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["data"] is None and body["msg"], body
    return str(body["msg"])


# --- token -----------------------------------------------------------------------------------

def test_token_for_the_key_id_and_the_key_as_client_id(server: Server, key: str) -> None:
    with server.client() as anonymous:
        for client_id in (_key_id(server, key), key):
            body = anonymous.post(f"{API}/auth/token", headers=_basic(client_id, key)).json()
            assert body["code"] == 200 and body["data"]["tokenType"] == "Bearer"
            assert body["data"]["accessToken"] and body["data"]["nonce"]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer x"}, {"Authorization": "Basic !!!"},
    {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}])
def test_missing_or_malformed_basic_credentials_are_40010000(server: Server,
                                                             headers: dict[str, str]) -> None:
    with server.client() as anonymous:
        _error(anonymous.post(f"{API}/auth/token", headers=headers), 40010000, 401)


def test_a_wrong_secret_or_someone_elses_client_id_is_40010000(server: Server,
                                                               key: str) -> None:
    other = server.create_key(10)
    with server.client() as anonymous:
        _error(anonymous.post(f"{API}/auth/token", headers=_basic(key, "tsk_wrong")),
               40010000, 401)
        _error(anonymous.post(f"{API}/auth/token",
                              headers=_basic(_key_id(server, other), key)), 40010000, 401)


def test_requests_without_a_token_are_40010000(server: Server) -> None:
    with server.client() as anonymous:
        _error(anonymous.get(f"{API}/balance"), 40010000, 401)


def test_balance(client: httpx.Client) -> None:
    body = client.get(f"{API}/balance").json()
    assert body["code"] == 200 and body["data"]["balance"] > 0 and "frozen" in body["data"]


# --- models and resolutions --------------------------------------------------------------------

@pytest.mark.parametrize(("model", "resolution", "portrait"), [
    ("model_sparc3d", "1024", False), ("model_hitem-sparc-3d-2", "1536", False),
    ("model_hitem-sparc-3d-portrait-2", "1536", True), ("model_sparc3d-portrait", "1024", True),
    ("hitem3dv1", "1024", False), ("hitem3dv1.5", "1024", False),
    ("hitem3dv2.0", "1536", False), ("scene-portraitv1.5", "1024", True),
    ("scene-portraitv2.0", "1536", True)])
def test_every_model_with_its_default_resolution_and_preset(
        client: httpx.Client, store: Store, model: str, resolution: str,
        portrait: bool) -> None:
    options = _accepted(client, store, {"model": model, "face": "100000"})
    assert options["resolution"] == resolution
    assert options["preset"] == ("portrait" if portrait else "object")


def test_the_default_model_is_hitem3dv1_5_with_an_obj_and_a_texture(
        client: httpx.Client, store: Store) -> None:
    options = _accepted(client, store, {"face": "100000"})
    assert (options["resolution"], options["format"], options["texture"]) == ("1024", "obj",
                                                                            True)


def test_an_unknown_model_is_10031006(client: httpx.Client) -> None:
    assert "hitem3dv1.5" in _error(_submit(client, {"model": "sparc9"}, [_image()]), 10031006)


@pytest.mark.parametrize(("model", "resolution"), [
    ("hitem3dv2.0", "1024"), ("model_hitem-sparc-3d-2", "512"), ("hitem3dv1", "1536pro"),
    ("scene-portraitv2.0", "1536"), ("model_sparc3d-portrait", "1024"),
    ("hitem3dv1.5", "2048")])
def test_a_resolution_the_model_does_not_allow_is_10031003(client: httpx.Client, model: str,
                                                            resolution: str) -> None:
    _error(_submit(client, {"model": model, "resolution": resolution}, [_image()]), 10031003)


@pytest.mark.parametrize("resolution", ["512", "1024", "1536", "1536pro"])
def test_every_resolution_of_a_model_that_allows_it(client: httpx.Client, store: Store,
                                                    resolution: str) -> None:
    options = _accepted(client, store, {"model": "hitem3dv1.5", "resolution": resolution,
                                        "face": "100000"})
    assert options["resolution"] == resolution


# --- faces, formats, request types ---------------------------------------------------------------

@pytest.mark.parametrize(("resolution", "faces"), [
    ("512", 500_000), ("1024", 1_000_000), ("1536", 2_000_000)])
def test_default_face_counts_per_resolution(client: httpx.Client, store: Store,
                                            resolution: str, faces: int) -> None:
    options = _accepted(client, store, {"model": "hitem3dv1.5", "resolution": resolution})
    assert options["faces"] == faces


@pytest.mark.parametrize("face", ["99999", "2000001", "20000"])
def test_face_outside_100k_2m_is_10031002(client: httpx.Client, face: str) -> None:
    _error(_submit(client, {"face": face}, [_image()]), 10031002)


def test_an_odd_face_count_becomes_the_even_count_below(client: httpx.Client,
                                                        store: Store) -> None:
    assert _accepted(client, store, {**FAST, "face": "100001"})["faces"] == 100_000


@pytest.mark.parametrize(("code", "fmt"), [("1", "obj"), ("2", "glb"), ("3", "stl"),
                                           ("4", "fbx")])
def test_format_codes(client: httpx.Client, store: Store, code: str, fmt: str) -> None:
    assert _accepted(client, store, {**FAST, "format": code})["format"] == fmt


@pytest.mark.parametrize("code", ["5", "0", "-1"])
def test_unknown_formats_are_10031004(client: httpx.Client, code: str) -> None:
    _error(_submit(client, {**FAST, "format": code}, [_image()]), 10031004)


def test_000s_spelling_requesttype_is_honoured_and_must_agree(client: httpx.Client,
                                                              store: Store) -> None:
    options = _accepted(client, store, {**FAST, "model": "model_sparc3d", "requestType": "1"})
    assert (options["texture"], options["cost"]) == (False, 20)
    _error(_submit(client, {**FAST, "request_type": "3", "requestType": "1"}, [_image()]),
           10030000)


@pytest.mark.parametrize(("fields", "code"), [
    ({"bogus": "1"}, 10030000), ({"mesh_url": "http://127.0.0.1/x.glb"}, 10030000),
    ({"face": "abc"}, 10031002), ({"format": "glb"}, 10031004),
    ({"request_type": "abc"}, 10030000)])
def test_unknown_misplaced_or_non_numeric_fields_get_their_codes(
        client: httpx.Client, fields: dict[str, str], code: int) -> None:
    _error(_submit(client, {**FAST, **fields}, [_image()]), code)


@pytest.mark.parametrize("hook", ["ftp://127.0.0.1/cb", "not a url", "http://10.0.0.1/cb"])
def test_a_bad_callback_url_is_10020002_not_an_image_error(client: httpx.Client,
                                                           hook: str) -> None:
    _error(_submit(client, {**FAST, "callback_url": hook}, [_image()]), 10020002)


def test_request_type_1_is_geometry_only_and_costs_less(client: httpx.Client,
                                                        store: Store) -> None:
    geometry = _accepted(client, store, {**FAST, "request_type": "1"})
    full = _accepted(client, store, {**FAST, "request_type": "3"})
    assert (geometry["texture"], full["texture"]) == (False, True)
    assert (geometry["cost"], full["cost"]) == (20, 30)
    assert _accepted(client, store, {**FAST, "resolution": "1536pro"})["cost"] == 50


@pytest.mark.parametrize(("fields", "code"), [
    ({"request_type": "4"}, 10030000), ({"request_type": "2", "model": "model_sparc3d"}, 10030000),
    ({"request_type": "2"}, 10031011),
    ({"request_type": "2", "mesh_url": "http://127.0.0.1/v1/files/x/model.glb"}, 10031012),
    ({"request_type": "2", "mesh_url": "https://example.invalid/model.glb"}, 10031012),
    ({"request_type": "2", "mesh_url": "http://[::1"}, 10031012),
    ({"request_type": "2", "mesh_url": "http://127.0.0.1/v1/files/t/m.glb?expires=1&sig=%C3%A9"},
     10031012)])
def test_request_type_rules(client: httpx.Client, fields: dict[str, str], code: int) -> None:
    _error(_submit(client, {**FAST, **fields}, [_image()]), code)


# --- images --------------------------------------------------------------------------------------

def test_images_and_multi_images_together_are_10031007(client: httpx.Client) -> None:
    _error(_submit(client, FAST, [_image()], [_image(), _image()]), 10031007)


def test_no_images_is_10031008(client: httpx.Client) -> None:
    _error(_submit(client, FAST), 10031008)


def test_one_multi_image_is_10031008_and_five_are_10031009(client: httpx.Client) -> None:
    _error(_submit(client, FAST, multi=[_image()]), 10031008)
    _error(_submit(client, FAST, multi=[_image()] * 5), 10031009)
    _error(_submit(client, FAST, images=[_image()] * 5), 10031009)


@pytest.mark.parametrize(("count", "views"), [
    (2, ["back", "front"]), (4, ["back", "front", "left", "right"])])
def test_images_takes_1_to_4_files_front_back_left_right_as_000_says(
        client: httpx.Client, store: Store, count: int, views: list[str]) -> None:
    assert _accepted(client, store, FAST, images=[_image()] * count)["views"] == views


def test_multi_images_bit_goes_with_multi_images_only(client: httpx.Client) -> None:
    _error(_submit(client, {**FAST, "multi_images_bit": "1000"}, [_image()]), 10030000)


@pytest.mark.parametrize(("count", "bits", "views"), [
    (2, None, ["back", "front"]), (3, None, ["back", "front", "left"]),
    (4, None, ["back", "front", "left", "right"]), (2, "1010", ["front", "left"]),
    (3, "1011", ["front", "left", "right"])])
def test_multi_images_fill_front_back_left_right_or_the_bits(
        client: httpx.Client, store: Store, count: int, bits: str | None,
        views: list[str]) -> None:
    fields = {**FAST} | ({"multi_images_bit": bits} if bits else {})
    assert _accepted(client, store, fields, multi=[_image()] * count)["views"] == views


@pytest.mark.parametrize(("bits", "code"), [("1100", 10030000), ("0110", 10030000),
                                            ("11", 10030000), ("1x10", 10030000)])
def test_bad_multi_images_bit(client: httpx.Client, bits: str, code: int) -> None:
    _error(_submit(client, {**FAST, "multi_images_bit": bits}, multi=[_image()] * 3), code)


@pytest.mark.parametrize("fmt", ["BMP", "GIF"])
def test_image_types_other_than_png_jpeg_webp_are_10031005(client: httpx.Client,
                                                           fmt: str) -> None:
    _error(_submit(client, FAST, [_image(fmt)]), 10031005)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_accepted(client: httpx.Client, store: Store, fmt: str) -> None:
    assert _accepted(client, store, FAST, [_image(fmt)])


def test_an_empty_file_is_10031010_and_one_over_20_mb_is_10031001(client: httpx.Client) -> None:
    _error(_submit(client, FAST, [b""]), 10031010)
    _error(_submit(client, FAST, [_image() + b"\0" * 20_000_001]), 10031001)


def test_out_of_credits_is_30010000(server: Server) -> None:
    with server.client(server.create_key(10)) as poor:
        _error(_submit(poor, FAST, [_image()]), 30010000, 402)


# --- the golden cycle, its callback, a failure --------------------------------------------------

class _Receiver(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        type(self).calls.append((self.rfile.read(int(self.headers["Content-Length"])),
                                 dict(self.headers)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.calls = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()


def _query(client: httpx.Client, task_id: str) -> dict[str, Any]:
    r = client.get(f"{API}/query-task", params={"task_id": task_id})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_golden_token_submit_query_download_with_callback(
        server: Server, key: str, client: httpx.Client, receiver: str, tmp_path: Path) -> None:
    before = client.get(f"{API}/balance").json()["data"]["balance"]
    r = _submit(client, {**FAST, "format": "2", "callback_url": receiver}, [_image()])
    task_id = r.json()["data"]["task_id"]
    assert _query(client, task_id)["data"]["state"] in ("queueing", "processing")
    wait_for(client, task_id, {"success"}, timeout=300)
    body = _query(client, task_id)
    data = body["data"]
    assert body["code"] == 200 and data["state"] == "success"
    assert data["id"] == f"{task_id}_0" and data["task_id"] == task_id
    assert data["url"].split("?")[0].endswith(".glb")
    cover = client.get(data["cover_url"])
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(cover.content)).size == (512, 512)
    (tmp_path / "m.glb").write_bytes(client.get(data["url"]).content)
    assert len(trimesh.load(tmp_path / "m.glb", force="mesh").faces) == 100_000
    assert client.get(f"{API}/balance").json()["data"]["balance"] == before - 30
    _wait_for_callback(client, task_id)
    sent, headers = _Receiver.calls[-1]
    callback = json.loads(sent)
    assert callback["code"] == 200 and callback["data"]["state"] == "success"
    assert callback["data"]["id"] == f"{task_id}_0" and callback["data"]["url"]
    with server.client(key) as by_key:
        secret = by_key.get("/v1/account").json()["webhook_secret"]
    assert verify(secret, sent, headers["X-Meshsmith-Signature"])
    _texture_the_result(client, data["url"], tmp_path)


def _wait_for_callback(client: httpx.Client, task_id: str) -> None:
    for _ in range(100):
        log = client.get(f"/v1/tasks/{task_id}").json().get("webhooks", [])
        if log and log[0]["state"] == "delivered":
            return
        threading.Event().wait(0.2)
    raise AssertionError("the callback was not delivered")


def _texture_the_result(client: httpx.Client, mesh_url: str, tmp_path: Path) -> None:
    """request_type 2 paints the earlier result's mesh: same faces, now textured."""
    shaping = {"request_type": "2", "mesh_url": mesh_url, "face": "100000"}
    assert "leave them out" in _error(_submit(client, shaping, [_image()]), 10030000)
    fields = {"request_type": "2", "mesh_url": mesh_url, "format": "2"}
    task_id = _submit(client, fields, [_image()]).json()["data"]["task_id"]
    wait_for(client, task_id, {"success"}, timeout=300)
    data = _query(client, task_id)["data"]
    (tmp_path / "painted.glb").write_bytes(client.get(data["url"]).content)
    painted = trimesh.load(tmp_path / "painted.glb", force="mesh")
    original = trimesh.load(tmp_path / "m.glb", force="mesh")
    assert len(painted.faces) == len(original.faces) == 100_000
    assert np.allclose(painted.bounds, original.bounds, atol=1e-4)
    assert painted.visual.material.baseColorTexture is not None


def test_a_failed_generation_reports_50010001_and_is_refunded(client: httpx.Client) -> None:
    before = client.get(f"{API}/balance").json()["data"]["balance"]
    task_id = _submit(client, FAST, [_image(color=(128, 128, 128))]).json()["data"]["task_id"]
    wait_for(client, task_id, {"failed"}, timeout=300)
    body = _query(client, task_id)
    assert body["code"] == 50010001 and body["data"]["state"] == "failed"
    assert body["data"]["error_code"] == 10031007 and "Meshsmith" not in body["msg"]
    assert body["msg"] and body["data"]["url"] is None
    assert client.get(f"{API}/balance").json()["data"]["balance"] == before


def test_another_keys_task_is_not_found(server: Server, client: httpx.Client) -> None:
    task_id = _submit(client, FAST, [_image()]).json()["data"]["task_id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    with server.client(server.create_key(10)) as other:
        _error(other.get(f"{API}/query-task", params={"task_id": task_id}), 10070001, 404)
