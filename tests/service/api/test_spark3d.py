"""The spark_3d dialect (/v1/3d/generations) against a real server on 127.0.0.1: one test per
rule of ``../shared/seeds/002_...`` and of the README's spark_3d table, every error code, and
the golden request -> poll -> download cycles. Accepted generations that only check a rule
are cancelled at once; their options are read back from the store. Image URLs are served by
a local HTTP server on 127.0.0.1 (the test server allows that address)."""

from __future__ import annotations

import base64
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
from tests.service.server import Server, running

from meshsmith.service.api.spark3d import generation
from meshsmith.service.models import Task
from meshsmith.service.settings import Settings
from meshsmith.service.store import Store

DUCK = Path(__file__).parents[3] / "examples" / "duck.png"
API = "/v1/3d/generations"


def _data_uri(data: bytes, fmt: str = "png") -> str:
    return f"data:image/{fmt};base64," + base64.b64encode(data).decode()


DUCK_URI = _data_uri(DUCK.read_bytes())


def _png(width: int = 256, height: int = 256, color: tuple[int, int, int] = (128, 128, 128)
         ) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def _duck_as(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.open(DUCK).convert("RGB").save(out, format=fmt)
    return out.getvalue()


class _Images(BaseHTTPRequestHandler):
    """Serves ``files`` by path; anything else is 404."""

    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        data = self.files.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    """Base URL of a local image server: /duck.png, /big.png (10 MB + 1 byte)."""
    _Images.files = {"/duck.png": DUCK.read_bytes(),
                     "/big.png": b"\x89PNG\r\n\x1a\n" + bytes(10_000_001 - 8)}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("srv") / "data",
                 MESHSMITH_FETCH_ALLOW='["127.0.0.1"]') as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client(server.create_key(100_000, "--max-concurrency", "50")) as c:
        yield c


def _body(text: str | None = "--sl low", url: str | None = DUCK_URI, **extra: Any
          ) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    if url is not None:
        content.append({"type": "image_url", "image_url": {"url": url}})
    return {"model": "spark_3d", "content": content} | extra


def _create(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post(API, json=body)


def _accepted(client: httpx.Client, store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Create, cancel at once; the stored options, cost and request, and the response."""
    r = _create(client, body)
    assert r.status_code == 200, r.text
    task_id = r.json()["id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    task = store.get_task(None, task_id)
    return task.options | {"cost": task.cost, "request": task.client_request,
                           "views": task.views, "response": r.json()}


def _error(r: httpx.Response, code: str, status: int = 400) -> str:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["error_message"], error
    assert set(error) == {"code", "error_message"}
    return str(error["error_message"])


def _wait(client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 300
          ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"{API}/{task_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.3)
    raise TimeoutError(f"generation {task_id} stayed {body['status']}")


# --- the request: model, content items, unknown fields ---------------------------------------

def test_the_creation_answer_is_the_generation_object_queued(client: httpx.Client,
                                                             store: Store) -> None:
    body = _accepted(client, store, _body())["response"]
    assert body["model"] == "spark_3d" and body["status"] == "queued" and body["id"]
    assert isinstance(body["created_at"], int) and isinstance(body["updated_at"], int)
    assert "output" not in body and "usage" not in body and "error" not in body


@pytest.mark.parametrize("model", ["spark_2d", "Spark_3D", "", None])
def test_a_model_other_than_spark_3d_is_003020099(client: httpx.Client, model: Any) -> None:
    assert "spark_3d" in _error(_create(client, _body(model=model)), "003020099")


def test_a_missing_model_is_003020099(client: httpx.Client) -> None:
    body = _body()
    del body["model"]
    _error(_create(client, body), "003020099")


@pytest.mark.parametrize("extra", [{"stream": False}, {"callback_url": "http://x/"},
                                   {"metadata": {}}])
def test_unknown_top_level_fields_are_003020099(client: httpx.Client,
                                                extra: dict[str, Any]) -> None:
    assert next(iter(extra)) in _error(_create(client, _body(**extra)), "003020099")


@pytest.mark.parametrize("item", [
    {"type": "video_url", "video_url": {"url": "http://127.0.0.1/v.mp4"}},
    {"type": "image", "image": DUCK_URI}, {"text": "no type"}, "a string item", None])
def test_unknown_content_item_types_are_003020099(client: httpx.Client, item: Any) -> None:
    body = _body()
    body["content"].append(item)
    assert "type" in _error(_create(client, body), "003020099")


def test_unknown_fields_inside_items_are_003020099(client: httpx.Client) -> None:
    text = _body()
    text["content"][0]["lang"] = "en"
    assert "lang" in _error(_create(client, text), "003020099")
    image = _body()
    image["content"][1]["image_url"]["detail"] = "high"
    assert "detail" in _error(_create(client, image), "003020099")


@pytest.mark.parametrize("content", ["--sl low", {"type": "text"}, None])
def test_content_that_is_not_an_array_is_003020099(client: httpx.Client, content: Any) -> None:
    _error(_create(client, {"model": "spark_3d", "content": content}), "003020099")


def test_a_body_that_is_not_a_json_object_is_003020099(client: httpx.Client) -> None:
    r = client.post(API, content=b"{not json", headers={"Content-Type": "application/json"})
    _error(r, "003020099")
    _error(client.post(API, json=["spark_3d"]), "003020099")


def test_several_image_items_are_003020099(client: httpx.Client) -> None:
    body = _body()
    body["content"].append({"type": "image_url", "image_url": {"url": DUCK_URI}})
    assert "one image" in _error(_create(client, body), "003020099")


# --- 003020001 and 003020002 -------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    _body(text=None), {"model": "spark_3d"}, {"model": "spark_3d", "content": []},
    _body(text=""), _body(text="   \n "),
    {"model": "spark_3d", "content": [{"type": "text"},
                                      {"type": "image_url", "image_url": {"url": DUCK_URI}}]},
    {"model": "spark_3d", "content": [{"type": "text", "text": 7},
                                      {"type": "image_url", "image_url": {"url": DUCK_URI}}]}])
def test_a_missing_text_prompt_is_003020001(client: httpx.Client, body: dict[str, Any]) -> None:
    _error(_create(client, body), "003020001")


@pytest.mark.parametrize("image", [
    None, {"type": "image_url"}, {"type": "image_url", "image_url": {}},
    {"type": "image_url", "image_url": {"url": ""}},
    {"type": "image_url", "image_url": {"url": None}},
    {"type": "image_url", "image_url": DUCK_URI}])
def test_a_missing_image_url_is_003020002(client: httpx.Client, image: Any) -> None:
    body = _body(url=None)
    if image is not None:
        body["content"].append(image)
    _error(_create(client, body), "003020002")


def test_the_text_is_checked_before_the_image(client: httpx.Client) -> None:
    _error(_create(client, _body(text=None, url=None)), "003020001")


# --- text commands -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "level", "faces"), [
    ("--subdivisionlevel high", "high", 200_000), ("--sl high", "high", 200_000),
    ("--subdivisionlevel medium", "medium", 100_000), ("--sl medium", "medium", 100_000),
    ("--subdivisionlevel low", "low", 30_000), ("--sl low", "low", 30_000),
    ("--sl=low", "low", 30_000)])
def test_subdivision_levels_are_exact_face_counts(client: httpx.Client, store: Store,
                                                  text: str, level: str, faces: int) -> None:
    task = _accepted(client, store, _body(text=text))
    assert task["faces"] == faces and task["request"]["subdivisionlevel"] == level
    assert task["resolution"] == "1024" and task["cost"] == 30  # the same price at every level


@pytest.mark.parametrize(("text", "fmt"), [
    ("--fileformat glb", "glb"), ("--ff glb", "glb"), ("--fileformat obj", "obj"),
    ("--ff obj", "obj"), ("--ff=obj", "obj"), ("--ff usd", "usd"), ("--fileformat usdz", "usdz")])
def test_file_formats_glb_obj_usd_and_usdz(client: httpx.Client, store: Store, text: str,
                                  fmt: str) -> None:
    task = _accepted(client, store, _body(text=text))
    assert task["format"] == fmt and task["extra_formats"] == []


def test_defaults_are_medium_and_glb(client: httpx.Client, store: Store) -> None:
    task = _accepted(client, store, _body(text="a rubber duck"))
    assert task["faces"] == 100_000 and task["format"] == "glb"
    assert (task["texture"], task["texture_size"], task["pbr"]) == (True, 2048, True)
    assert task["request"] == {"model": "spark_3d", "subdivisionlevel": "medium",
                               "fileformat": "glb", "prompt": "a rubber duck"}


def test_both_commands_together_in_either_order(client: httpx.Client, store: Store) -> None:
    task = _accepted(client, store, _body(text="--ff obj --subdivisionlevel high"))
    assert (task["faces"], task["format"]) == (200_000, "obj")


def test_the_prompt_is_the_non_command_text_and_is_echoed_not_used(
        client: httpx.Client, store: Store) -> None:
    task = _accepted(client, store, _body(text="a  yellow duck, --sl low  front view"))
    assert task["request"]["prompt"] == "a yellow duck, front view"
    assert task["response"]["metadata"]["prompt"] == "a yellow duck, front view"
    assert task["faces"] == 30_000


def test_several_text_items_are_read_as_one_text(client: httpx.Client, store: Store) -> None:
    body = _body(text="a duck")
    body["content"].append({"type": "text", "text": "--sl low --ff obj"})
    task = _accepted(client, store, body)
    assert (task["faces"], task["format"], task["request"]["prompt"]) == (30_000, "obj",
                                                                          "a duck")


def test_a_commands_only_text_is_a_text_prompt(client: httpx.Client, store: Store) -> None:
    assert _accepted(client, store, _body(text="--sl low"))["request"]["prompt"] == ""


@pytest.mark.parametrize("text", ["--sl ultra", "--sl HIGH", "--subdivisionlevel 3", "--sl",
                                  "--sl --ff obj", "--sl=", "--sl low --sl low",
                                  "--sl low --subdivisionlevel high"])
def test_an_invalid_subdivision_level_is_003020003(client: httpx.Client, text: str) -> None:
    assert "subdivisionlevel" in _error(_create(client, _body(text=text)), "003020003")


@pytest.mark.parametrize("text", ["--ff fbx", "--fileformat stl", "--ff GLB", "--ff",
                                  "--ff glb --fileformat obj"])
def test_an_invalid_file_format_is_003020004(client: httpx.Client, text: str) -> None:
    assert "fileformat" in _error(_create(client, _body(text=text)), "003020004")


@pytest.mark.parametrize("text", ["--seed 42", "--quality high --sl low", "--SL low", "--"])
def test_unknown_text_commands_are_003020099(client: httpx.Client, text: str) -> None:
    assert "unknown text command" in _error(_create(client, _body(text=text)), "003020099")


# --- the image: URL format (003020005) and spark_3d's limits -----------------------------------

@pytest.mark.parametrize("fmt", ["png", "jpg", "jpeg", "webp", "bmp"])
def test_data_uris_in_every_spark_format_are_accepted(client: httpx.Client, store: Store,
                                                      fmt: str) -> None:
    pil = {"jpg": "JPEG", "jpeg": "JPEG"}.get(fmt, fmt.upper())
    task = _accepted(client, store, _body(url=_data_uri(_duck_as(pil), fmt)))
    assert task["faces"] == 30_000


def test_an_http_image_url_is_fetched(client: httpx.Client, store: Store, images: str) -> None:
    task = _accepted(client, store, _body(url=f"{images}/duck.png"))
    upload = store.uploads([task["views"]["front"]])[task["views"]["front"]]
    assert (upload.width, upload.height, upload.format) == (640, 640, "png")


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1/duck.png", "not a url", "file:///etc/passwd", "http:///duck.png",
    "data:image/PNG;base64," + base64.b64encode(DUCK.read_bytes()).decode(),
    _data_uri(b"GIF89a" + bytes(100), "gif"), "data:image/png," + "AAAA",
    "data:image/png;base64", "data:text/plain;base64,aGVsbG8=",
    "data:image/png;base64,!!not base64!!"])
def test_a_malformed_image_url_is_003020005(client: httpx.Client, url: str) -> None:
    _error(_create(client, _body(url=url)), "003020005")


def test_an_image_over_10_mb_is_003020005_though_the_shared_cap_is_20(
        client: httpx.Client, images: str) -> None:
    big = b"\x89PNG\r\n\x1a\n" + bytes(10_000_001 - 8)
    assert "10000000" in _error(_create(client, _body(url=_data_uri(big))), "003020005")
    _error(_create(client, _body(url=f"{images}/big.png")), "003020005")


def test_4096x4096_pixels_are_003020005_and_just_under_is_accepted(
        client: httpx.Client, store: Store) -> None:
    message = _error(_create(client, _body(url=_data_uri(_png(4096, 4096)))), "003020005")
    assert "fewer than 4096x4096" in message
    assert _accepted(client, store, _body(url=_data_uri(_png(4096, 4095))))


@pytest.mark.parametrize(("data", "why"), [
    (_png(5000, 1000), "4096"), (_png(32, 32), "64"), (b"hello world" * 50, "image"),
    (_png()[:200], "corrupt")])
def test_images_the_engine_refuses_are_003020005(client: httpx.Client, data: bytes,
                                                 why: str) -> None:
    assert why in _error(_create(client, _body(url=_data_uri(data))), "003020005")


def test_a_gif_behind_a_url_is_003020005(client: httpx.Client, images: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (128, 128)).save(out, format="GIF")
    _Images.files["/duck.gif"] = out.getvalue()
    _error(_create(client, _body(url=f"{images}/duck.gif")), "003020005")


def test_an_unreachable_or_forbidden_image_url_is_003020005(client: httpx.Client,
                                                            images: str) -> None:
    assert "404" in _error(_create(client, _body(url=f"{images}/missing.png")), "003020005")
    # refused by the address check before any connection is made
    assert "non-public" in _error(_create(client, _body(url="http://10.1.2.3/d.png")),
                                  "003020005")


# --- keys, limits, polling errors ----------------------------------------------------------

def test_a_missing_or_bad_key_is_003020097_with_http_401(server: Server) -> None:
    with server.client() as anonymous, server.client("tsk_not-a-key") as bad:
        r = anonymous.post(API, json=_body())
        _error(r, "003020097", 401)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        _error(bad.get(f"{API}/anything"), "003020097", 401)


def test_an_unknown_or_another_keys_generation_is_003020098_with_http_404(
        server: Server, client: httpx.Client) -> None:
    _error(client.get(f"{API}/no-such-task"), "003020098", 404)
    task_id = _create(client, _body()).json()["id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    with server.client(server.create_key(100)) as other:
        _error(other.get(f"{API}/{task_id}"), "003020098", 404)


def test_out_of_credits_is_003020099_with_http_402(server: Server) -> None:
    with server.client(server.create_key(29)) as poor:
        message = _error(_create(poor, _body()), "003020099", 402)
        assert "10040001" in message


def test_the_concurrency_limit_is_003020099_with_http_429(server: Server) -> None:
    with server.client(server.create_key(1000, "--max-concurrency", "1")) as one:
        first = _create(one, _body()).json()["id"]
        try:
            r = _create(one, _body())
            _error(r, "003020099", 429)
            assert r.headers["Retry-After"]
        finally:
            one.post(f"/v1/tasks/{first}/cancel")


def test_the_rate_limit_is_003020097_with_http_429(server: Server) -> None:
    with server.client(server.create_key(100, "--rate-limit", "2")) as fast:
        [fast.get(f"{API}/x") for _ in range(2)]
        _error(fast.get(f"{API}/x"), "003020097", 429)


def test_routing_errors_answer_in_the_spark_envelope(client: httpx.Client) -> None:
    _error(client.get("/v1/3d/nothing-here"), "003020097", 404)
    _error(client.delete(f"{API}/some-id"), "003020097", 405)


def test_other_dialects_keep_their_envelopes(client: httpx.Client) -> None:
    assert client.get("/v1/tasks/no-such-task").json()["error"]["code"] == 10070001
    assert client.get("/v2/openapi/task/no-such-task").json()["code"] == 2001


# --- polling: statuses, errors, usage (the renderer, on stored rows) ---------------------------

def _row(status: str, **fields: Any) -> Task:
    values: dict[str, Any] = {
        "id": "t1", "owner_id": "k1", "status": status, "progress": 40.0, "cost": 30,
        "options": {"faces": 30_000, "format": "glb"}, "created_at": 1_700_000_000.7,
        "updated_at": 1_700_000_100.2, "error_code": None, "error_message": None,
        "outputs": None, "client_request": {"model": "spark_3d", "subdivisionlevel": "low",
                                            "fileformat": "glb", "prompt": "a duck"}}
    return Task(**(values | fields))


@pytest.mark.parametrize(("internal", "spark"), [
    ("queued", "queued"), ("running", "processing"), ("success", "completed"),
    ("failed", "failed"), ("cancelled", "failed"), ("expired", "completed")])
def test_statuses_map_onto_queued_processing_completed_failed(internal: str,
                                                              spark: str) -> None:
    outputs = {"model": {"glb": "model.glb"}, "files": ["model.glb"]}
    body = generation(_row(internal, outputs=outputs, error_code=10050001,
                           error_message="boom"), Settings())
    assert body["status"] == spark
    assert ("error" in body) == (spark == "failed")
    assert ("output" in body) == ("usage" in body) == (spark == "completed")
    assert (body["created_at"], body["updated_at"]) == (1_700_000_000, 1_700_000_100)


def test_metadata_is_meshsmith_status_progress_credits_and_the_request() -> None:
    assert generation(_row("running"), Settings())["metadata"] == {
        "meshsmith_status": "running", "progress": 40, "credits": 30, "faces": 30_000,
        "fileformat": "glb", "subdivisionlevel": "low", "prompt": "a duck"}


def test_metadata_of_another_dialects_task_has_no_spark_request() -> None:
    meta = generation(_row("queued", client_request=None), Settings())["metadata"]
    assert (meta["subdivisionlevel"], meta["prompt"], meta["fileformat"]) == (None, None, "glb")


@pytest.mark.parametrize(("code", "spark"), [
    (10031007, "003020005"), (10031008, "003020005"), (10060001, "003020096"),
    (10050001, "003020095"), (10051002, "003020095"), (10051001, "003020095"),
    (10090001, "003020095"), (10090003, "003020095"), (10090004, "003020095")])
def test_failed_generations_report_the_seed_codes(code: int, spark: str) -> None:
    error = generation(_row("failed", error_code=code, error_message="why"), Settings())["error"]
    assert error == {"code": spark, "error_message": f"why (Meshsmith error {code})"}


def test_a_cancelled_generation_is_failed_003020095_and_an_expired_one_completed_empty(
        ) -> None:
    cancelled = generation(_row("cancelled"), Settings())["error"]
    assert cancelled["code"] == "003020095" and "cancelled" in cancelled["error_message"]
    outputs = {"model": {"glb": "model.glb"}, "files": ["model.glb"]}
    expired = generation(_row("expired", outputs=outputs), Settings())
    assert expired["status"] == "completed" and "error" not in expired
    assert expired["output"][0]["content"] == [] and expired["usage"]["cost"] == "0.30"


@pytest.mark.parametrize(("rate", "cost"), [(0.01, "0.30"), (0.002, "0.060"), (1.0, "30.0"),
                                            (0.0, "0.0")])
def test_usage_cost_is_credits_times_the_usd_rate_and_tokens_are_zero(rate: float,
                                                                      cost: str) -> None:
    outputs = {"model": {"glb": "model.glb"}, "files": ["model.glb"]}
    usage = generation(_row("success", outputs=outputs),
                       Settings(spark_usd_per_credit=rate))["usage"]
    assert usage == {"cost": cost, "discount": 0, "input_tokens": 0, "output_tokens": 0,
                     "total_tokens": 0}


def test_the_usd_rate_setting_defaults_to_a_cent_and_reads_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().spark_usd_per_credit == 0.01
    monkeypatch.setenv("MESHSMITH_SPARK_USD_PER_CREDIT", "0.005")
    assert Settings().spark_usd_per_credit == 0.005


def test_an_obj_output_lists_the_model_then_its_mtl_and_texture() -> None:
    outputs = {"model": {"obj": "model.obj"},
               "files": ["model.obj", "model.mtl", "model_basecolor.png"]}
    content = generation(_row("success", outputs=outputs), Settings())["output"][0]["content"]
    assert [c["type"] for c in content] == ["obj", "mtl", "png"]
    assert all("/v1/files/t1/" in c["url"] and "sig=" in c["url"] for c in content)


# --- the golden cycles and a failure (real generations) ------------------------------------

def _balance(client: httpx.Client) -> int:
    return int(client.get("/v1/balance").json()["balance"])


def test_golden_data_uri_request_poll_download_cycle(client: httpx.Client,
                                                     tmp_path: Path) -> None:
    before = _balance(client)
    created = _create(client, _body(text="a rubber duck --sl low")).json()
    polled = client.get(f"{API}/{created['id']}").json()
    assert polled["status"] in ("queued", "processing") and "output" not in polled
    done = _wait(client, created["id"], {"completed", "failed"})
    assert done["status"] == "completed", done
    [output] = done["output"]
    assert output["jobId"] == created["id"] and [c["type"] for c in output["content"]] == ["glb"]
    model = client.get(output["content"][0]["url"])
    assert model.status_code == 200
    (tmp_path / "m.glb").write_bytes(model.content)
    assert len(trimesh.load(tmp_path / "m.glb", force="mesh").faces) == 30_000
    assert done["usage"]["cost"] == "0.30" and done["usage"]["total_tokens"] == 0
    assert done["metadata"]["progress"] == 100 and done["updated_at"] >= done["created_at"]
    assert _balance(client) == before - 30  # charged on success


def test_golden_url_obj_cycle_downloads_model_mtl_and_texture(client: httpx.Client,
                                                              images: str) -> None:
    created = _create(client, _body(text="--sl low --ff obj", url=f"{images}/duck.png"))
    assert created.status_code == 200, created.text
    done = _wait(client, created.json()["id"], {"completed", "failed"})
    assert done["status"] == "completed", done
    content = done["output"][0]["content"]
    # the model, its MTL, then the base colour and the PBR maps (roughness, metallic, normal)
    assert [c["type"] for c in content] == ["obj", "mtl", "png", "png", "png", "png"]
    files = [client.get(c["url"]) for c in content]
    assert all(r.status_code == 200 for r in files)
    assert files[0].text.count("\nf ") == 30_000
    mtl = files[1].text
    assert "map_Kd model_basecolor.png" in mtl and "map_Pr" in mtl and "norm" in mtl
    assert all(Image.open(io.BytesIO(r.content)).size == (2048, 2048) for r in files[2:])


def test_a_failed_generation_reports_003020005_and_is_refunded(client: httpx.Client) -> None:
    before = _balance(client)
    grey = _data_uri(_png())  # uniform: no object to find
    task_id = _create(client, _body(url=grey)).json()["id"]
    done = _wait(client, task_id, {"completed", "failed"})
    assert done["status"] == "failed" and "output" not in done and "usage" not in done
    assert done["error"]["code"] == "003020005" and "10031007" in done["error"]["error_message"]
    assert _balance(client) == before  # reserved, then released
