"""The Tripo dialect (/v2/openapi) against a real server on 127.0.0.1: one test per rule of
``../shared/seeds/003_...`` and the issue, every error code it answers, and the golden
upload -> task -> poll -> download cycle. Accepted tasks that only check a rule are
cancelled at once; their options are read back from the store."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import trimesh
from PIL import Image
from tests.exporters.readers import decode_with_gltf_transform
from tests.service.server import Server, running, wait_for

from meshsmith.service.store import Store

DUCK = Path(__file__).parents[3] / "examples" / "duck.png"
API = "/v2/openapi"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("srv") / "data") as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client(server.create_key(100_000, "--max-concurrency", "50")) as c:
        yield c


@pytest.fixture(scope="module")
def token(client: httpx.Client) -> str:
    return _upload(client, DUCK.read_bytes())


def _upload(client: httpx.Client, data: bytes, name: str = "photo.png") -> str:
    r = client.post(f"{API}/upload", files={"file": (name, data, "image/png")})
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["image_token"])


def _task(client: httpx.Client, token: str, **params: Any) -> httpx.Response:
    body = {"type": "image_to_model", "file": {"type": "png", "file_token": token}} | params
    return client.post(f"{API}/task", json=body)


def _accepted(client: httpx.Client, store: Store, token: str, **params: Any
              ) -> dict[str, Any]:
    """Create, cancel at once, and return the stored task's options and cost."""
    r = _task(client, token, **params)
    assert r.status_code == 200, r.text
    task_id = r.json()["data"]["task_id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    task = store.get_task(None, task_id)
    return task.options | {"cost": task.cost, "views": task.views}


def _error(r: httpx.Response, code: int, status: int = 400) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["message"] and body["suggestion"], body
    return str(body["message"])


def _png(size: int = 256, color: tuple[int, int, int] = (128, 128, 128)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


# --- envelopes, uploads, balance -------------------------------------------------------------

def test_every_response_carries_a_trace_id_errors_included(client: httpx.Client) -> None:
    ok = client.get(f"{API}/user/balance")
    bad = client.get(f"{API}/task/nope")
    assert ok.headers["X-Tripo-Trace-ID"] and bad.headers["X-Tripo-Trace-ID"]
    assert ok.headers["X-Tripo-Trace-ID"] != bad.headers["X-Tripo-Trace-ID"]
    assert ok.json()["code"] == 0


def test_upload_returns_a_uuid_image_token(client: httpx.Client, token: str) -> None:
    assert len(token) == 36 and token.count("-") == 4
    sts = client.post(f"{API}/upload/sts", files={"file": ("d.png", DUCK.read_bytes())})
    assert sts.json()["data"]["image_token"] != token


def test_empty_upload_is_2003_and_a_non_image_is_2004(client: httpx.Client) -> None:
    empty = client.post(f"{API}/upload", files={"file": ("e.png", b"", "image/png")})
    _error(empty, 2003)
    text = client.post(f"{API}/upload", files={"file": ("a.png", b"hello world" * 20)})
    _error(text, 2004)


def test_sts_token_fails_clearly_without_s3_storage(client: httpx.Client) -> None:
    message = _error(client.post(f"{API}/upload/sts/token", json={"format": "jpeg"}), 1004, 501)
    assert "S3" in message


def test_balance_is_balance_and_frozen(client: httpx.Client) -> None:
    data = client.get(f"{API}/user/balance").json()["data"]
    assert set(data) == {"balance", "frozen"} and data["balance"] > 0


def test_a_missing_key_is_1002_and_an_unknown_task_is_2001(server: Server,
                                                           client: httpx.Client) -> None:
    with server.client() as anonymous:
        _error(anonymous.get(f"{API}/user/balance"), 1002, 401)
    _error(client.get(f"{API}/task/no-such-task"), 2001, 404)


def test_another_keys_task_is_2001(server: Server, client: httpx.Client, token: str) -> None:
    task_id = _task(client, token, face_limit=20_000).json()["data"]["task_id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    with server.client(server.create_key(100)) as other:
        _error(other.get(f"{API}/task/{task_id}"), 2001, 404)


def test_out_of_credits_is_2010_with_http_403(server: Server, token: str) -> None:
    with server.client(server.create_key(10)) as poor:
        own = _upload(poor, DUCK.read_bytes())
        _error(_task(poor, own), 2010, 403)


def test_rate_limit_is_2000_with_http_429(server: Server) -> None:
    with server.client(server.create_key(100, "--rate-limit", "2")) as fast:
        statuses = [fast.get(f"{API}/user/balance").status_code for _ in range(4)]
        assert statuses[:2] == [200, 200]
        _error(fast.get(f"{API}/user/balance"), 2000, 429)


# --- task types and versions ---------------------------------------------------------------

@pytest.mark.parametrize("body", [
    {"type": "text_to_model", "prompt": "a duck"},
    {"type": "refine_model", "draft_model_task_id": "x"},
    {"prompt": "no type at all"}])
def test_unsupported_task_types_are_2002_whatever_their_parameters(
        client: httpx.Client, body: dict[str, Any]) -> None:
    _error(client.post(f"{API}/task", json=body), 2002)


def test_a_method_not_allowed_answers_in_the_tripo_envelope(client: httpx.Client) -> None:
    r = client.delete(f"{API}/user/balance")
    assert r.headers["X-Tripo-Trace-ID"]
    _error(r, 1004, 405)


def test_null_means_the_default_and_types_are_strict(client: httpx.Client, store: Store,
                                                     token: str) -> None:
    options = _accepted(client, store, token, pbr=None, model_version=None, face_limit=20_000)
    assert options["pbr"] is True
    assert "texture" in _error(_task(client, token, texture="yes"), 1004)
    assert "face_limit" in _error(_task(client, token, face_limit="20000"), 1004)


@pytest.mark.parametrize("version", ["v2.5-20250123", "v3.2-20270101", ""])
def test_unsupported_model_version_is_2015_and_suggests_the_supported_ones(
        client: httpx.Client, token: str, version: str) -> None:
    r = _task(client, token, model_version=version)
    _error(r, 2015)
    assert "v3.1-20260211" in r.json()["suggestion"] and "v3.0-20250812" in r.json()["suggestion"]


@pytest.mark.parametrize("version", ["v3.1-20260211", "v3.0-20250812"])
def test_both_supported_model_versions_are_accepted(client: httpx.Client, store: Store,
                                                    token: str, version: str) -> None:
    assert _accepted(client, store, token, model_version=version, face_limit=20_000)


def test_defaults_v3_1_standard_pbr_texture_and_are_echoed_in_input(
        client: httpx.Client, token: str) -> None:
    task_id = _task(client, token).json()["data"]["task_id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    data = client.get(f"{API}/task/{task_id}").json()["data"]
    assert data["type"] == "image_to_model" and data["status"] == "cancelled"
    assert data["input"]["model_version"] == "v3.1-20260211"
    assert data["input"]["texture"] is True and data["input"]["pbr"] is True
    assert isinstance(data["create_time"], int) and data["output"] == {}


def test_unknown_parameters_are_refused_not_ignored(client: httpx.Client, token: str) -> None:
    assert "colour" in _error(_task(client, token, colour="red"), 1004)


# --- images ----------------------------------------------------------------------------------

def test_file_needs_exactly_one_of_file_token_url_object(client: httpx.Client,
                                                         token: str) -> None:
    both = {"type": "image_to_model",
            "file": {"type": "png", "file_token": token, "url": "http://127.0.0.1/x.png"}}
    _error(client.post(f"{API}/task", json=both), 1004)
    _error(client.post(f"{API}/task", json={"type": "image_to_model", "file": {"type": "png"}}),
           1004)
    s3 = {"type": "image_to_model", "file": {"type": "png", "object": {"bucket": "b", "key": "k"}}}
    assert "S3" in _error(client.post(f"{API}/task", json=s3), 1004)


def test_multiview_slots_are_front_left_back_right(client: httpx.Client, store: Store,
                                                   token: str) -> None:
    back = _upload(client, DUCK.read_bytes())
    files = [{"type": "png", "file_token": token}, {}, {"type": "png", "file_token": back}, {}]
    r = client.post(f"{API}/task", json={"type": "multiview_to_model", "files": files,
                                         "face_limit": 20_000,
                                         "images": ["front.png", None, "back.png", None]})
    assert r.status_code == 200, r.text
    task = store.get_task(None, r.json()["data"]["task_id"])
    client.post(f"/v1/tasks/{task.id}/cancel")
    assert task.views == {"front": token, "back": back}


@pytest.mark.parametrize(("files", "why"), [
    (None, "exactly 4"),
    ([{}, {}, {}], "exactly 4"),
    ([{}, {"type": "png", "file_token": "T"}, {}, {"type": "png", "file_token": "T"}], "front"),
    ([{"type": "png", "file_token": "T"}, {}, {}, {}], "at least 2"),
])
def test_multiview_rules(client: httpx.Client, token: str, files: Any, why: str) -> None:
    if files is not None:
        files = [f | {"file_token": token} if f else f for f in files]
    r = client.post(f"{API}/task", json={"type": "multiview_to_model", "files": files})
    assert why in _error(r, 1004)


@pytest.mark.parametrize("bad", [{"foo": 1}, {"file_token": 5}])
def test_a_malformed_multiview_slot_is_1004_not_a_crash(client: httpx.Client, token: str,
                                                         bad: dict[str, Any]) -> None:
    files = [{"type": "png", "file_token": token}, bad, {"type": "png", "file_token": token}, {}]
    r = client.post(f"{API}/task", json={"type": "multiview_to_model", "files": files})
    assert r.headers["X-Tripo-Trace-ID"]
    _error(r, 1004)


@pytest.mark.parametrize(("task_type", "extra"), [
    ("image_to_model", {"files": []}), ("image_to_model", {"images": ["a.png"]}),
    ("multiview_to_model", {"file": {"type": "png", "file_token": "T"}})])
def test_the_other_task_types_image_fields_are_refused_not_ignored(
        client: httpx.Client, token: str, task_type: str, extra: dict[str, Any]) -> None:
    files = [{"type": "png", "file_token": token}] * 2 + [{}, {}]
    body = {"type": task_type, "file": {"type": "png", "file_token": token}, "files": files}
    body = {k: v for k, v in body.items() if k not in ("file", "files")} | extra
    if task_type == "image_to_model":
        body["file"] = {"type": "png", "file_token": token}
    else:
        body["files"] = files
    _error(client.post(f"{API}/task", json=body), 1004)


def test_a_file_token_of_another_key_is_refused(server: Server, token: str) -> None:
    with server.client(server.create_key(1000)) as other:
        _error(_task(other, token), 1004)


# --- texture, pbr and quality rules ----------------------------------------------------------

def test_standard_texture_quality_without_texture_and_pbr_is_refused(
        client: httpx.Client, token: str) -> None:
    assert "not allowed" in _error(_task(client, token, texture=False, pbr=False), 1004)


def test_detailed_without_texture_and_pbr_is_only_for_v3_0(client: httpx.Client, store: Store,
                                                           token: str) -> None:
    params = {"texture": False, "pbr": False, "texture_quality": "detailed",
              "face_limit": 20_000}
    assert "v3.0" in _error(_task(client, token, **params), 1004)
    options = _accepted(client, store, token, model_version="v3.0-20250812", **params)
    assert (options["texture"], options["texture_size"], options["pbr"]) == (True, 4096, False)
    assert options["cost"] == 20 + 10  # texture=false -10, detailed texture +10 (as sent)


@pytest.mark.parametrize(("texture", "pbr", "size", "want_pbr"), [
    (True, True, 2048, True), (True, False, 2048, False), (False, True, 2048, True)])
def test_pbr_forces_texture_and_standard_quality_is_2k(
        client: httpx.Client, store: Store, token: str, texture: bool, pbr: bool, size: int,
        want_pbr: bool) -> None:
    options = _accepted(client, store, token, texture=texture, pbr=pbr, face_limit=20_000)
    assert (options["texture"], options["texture_size"], options["pbr"]) == (True, size,
                                                                          want_pbr)


def test_detailed_texture_is_4k_and_detailed_geometry_is_the_finest_grid(
        client: httpx.Client, store: Store, token: str) -> None:
    options = _accepted(client, store, token, texture_quality="detailed",
                        geometry_quality="detailed", face_limit=20_000)
    assert options["texture_size"] == 4096 and options["resolution"] == "1536pro"


def test_seeds_and_autofix_reach_the_spec(client: httpx.Client, store: Store,
                                          token: str) -> None:
    options = _accepted(client, store, token, model_seed=7, texture_seed=9,
                        enable_image_autofix=True, face_limit=20_000)
    assert (options["model_seed"], options["texture_seed"], options["autofix"]) == (7, 9, True)


# --- face limits -------------------------------------------------------------------------------

@pytest.mark.parametrize(("version", "quality", "cap"), [
    ("v3.1-20260211", "standard", 1_500_000), ("v3.1-20260211", "detailed", 2_000_000),
    ("v3.0-20250812", "standard", 1_000_000), ("v3.0-20250812", "detailed", 1_500_000)])
def test_face_limit_caps_per_version_and_geometry_quality(
        client: httpx.Client, token: str, version: str, quality: str, cap: int) -> None:
    r = _task(client, token, model_version=version, geometry_quality=quality,
              face_limit=cap + 1)
    assert f"{cap:,}" in _error(r, 1004)


@pytest.mark.parametrize(("version", "quality", "faces"), [
    ("v3.1-20260211", "standard", 1_000_000), ("v3.0-20250812", "detailed", 1_500_000)])
def test_without_face_limit_the_default_stays_within_the_cap(
        client: httpx.Client, store: Store, token: str, version: str, quality: str,
        faces: int) -> None:
    options = _accepted(client, store, token, model_version=version, geometry_quality=quality)
    assert options["faces"] == faces


def test_face_limit_is_the_face_target_rounded_to_even(client: httpx.Client, store: Store,
                                                       token: str) -> None:
    assert _accepted(client, store, token, face_limit=12_345)["faces"] == 12_344


@pytest.mark.parametrize(("quad", "limit"), [
    (False, 999), (False, 20_001), (True, 499), (True, 10_001)])
def test_smart_low_poly_face_limit_ranges(client: httpx.Client, token: str, quad: bool,
                                          limit: int) -> None:
    params = {"smart_low_poly": True, "quad": quad, "face_limit": limit}
    assert "face_limit must be" in _error(_task(client, token, **params), 1004)


@pytest.mark.parametrize("params", [
    {"generate_parts": True}, {"generate_parts": True, "texture": False},
    {"generate_parts": True, "texture": False, "pbr": False, "quad": True,
     "texture_quality": "detailed", "model_version": "v3.0-20250812"}])
def test_generate_parts_is_incompatible_with_texture_pbr_and_quad(
        client: httpx.Client, token: str, params: dict[str, Any]) -> None:
    assert "generate_parts is not compatible" in _error(_task(client, token, **params), 1004)


#: The only combination 003 accepts with generate_parts: texture and pbr off, which in turn
#: needs texture_quality=detailed, which is v3.0 only.
PARTS = {"generate_parts": True, "texture": False, "pbr": False,
         "texture_quality": "detailed", "model_version": "v3.0-20250812"}


def test_generate_parts_is_a_geometry_only_task_priced_base_plus_parts(
        client: httpx.Client, store: Store, token: str) -> None:
    options = _accepted(client, store, token, face_limit=20_000, **PARTS)
    assert options["parts"] is True and options["texture"] is False
    assert options["cost"] == 40


def test_auto_size_needs_a_textured_model_so_parts_refuse_it(client: httpx.Client,
                                                            token: str) -> None:
    r = _task(client, token, face_limit=20_000, auto_size=True, **PARTS)
    assert "auto_size can only be used with a textured model" in _error(r, 1004)


@pytest.mark.parametrize(("params", "faces"), [
    ({"smart_low_poly": True}, 5_000), ({"smart_low_poly": True, "face_limit": 1_000}, 1_000),
    ({"smart_low_poly": True, "face_limit": 20_000}, 20_000),
    ({"smart_low_poly": True, "quad": True}, 10_000),
    ({"smart_low_poly": True, "quad": True, "face_limit": 500}, 500)])
def test_smart_low_poly_reaches_the_spec_with_its_face_target(
        client: httpx.Client, store: Store, token: str, params: dict[str, Any],
        faces: int) -> None:
    options = _accepted(client, store, token, **params)
    assert options["smart_low_poly"] is True and options["faces"] == faces


@pytest.mark.parametrize(("params", "want"), [
    ({}, {"compress": "meshopt", "format": "glb", "quad": False, "faces": 20_000}),
    ({"compress": "geometry"}, {"compress": "draco", "format": "glb"}),
    ({"quad": True}, {"compress": None, "format": "fbx", "quad": True, "faces": 10_000}),
    ({"quad": True, "face_limit": 3_001}, {"format": "fbx", "quad": True, "faces": 3_000}),
    ({"auto_size": True}, {"auto_size": True, "category": "object", "real_height_m": None}),
    ({"orientation": "align_image"}, {"orientation": "align_image"}),
    ({"orientation": "align_image", "texture": False, "pbr": False,
      "texture_quality": "detailed", "model_version": "v3.0-20250812"},
     {"orientation": "align_image"}),
    ({"orientation": "align_image", "texture": False, "pbr": False,
      "texture_quality": "detailed"}, None),
    ({"export_uv": False}, {"export_uv": False}),
    ({"texture_alignment": "geometry"}, {"texture_alignment": "geometry"}),
    ({"texture_alignment": "original_image"}, {"texture_alignment": "original_image"}),
])
def test_output_options_reach_the_spec(client: httpx.Client, store: Store, token: str,
                                       params: dict[str, Any],
                                       want: dict[str, Any] | None) -> None:
    params = ({} if params.get("quad") else {"face_limit": 20_000}) | params
    if want is None:  # the 4K-upscale combination is v3.0 only (1004), checked first
        _error(_task(client, token, **params), 1004)
        return
    options = _accepted(client, store, token, **params)
    assert {k: options[k] for k in want} == want


# --- prices ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "cost"), [
    ({}, 30), ({"texture_quality": "detailed"}, 40), ({"geometry_quality": "detailed"}, 50),
    ({"texture_quality": "detailed", "geometry_quality": "detailed"}, 60),
    ({"smart_low_poly": True}, 40),
    ({"smart_low_poly": True, "quad": True, "face_limit": 5_000}, 45)])
def test_prices_follow_the_tripo_option_table(client: httpx.Client, store: Store, token: str,
                                              params: dict[str, Any], cost: int) -> None:
    params = {"face_limit": 20_000} | params
    assert _accepted(client, store, token, **params)["cost"] == cost


# --- the golden cycle and a failure ------------------------------------------------------------

def test_golden_upload_task_poll_download_cycle(client: httpx.Client, token: str,
                                                tmp_path: Path) -> None:
    before = client.get(f"{API}/user/balance").json()["data"]["balance"]
    task_id = _task(client, token, face_limit=20_000).json()["data"]["task_id"]
    polled = client.get(f"{API}/task/{task_id}").json()["data"]
    assert polled["status"] in ("queued", "running") and 0 <= polled["progress"] <= 100
    assert "running_left_time" in polled
    wait_for(client, task_id, {"success"}, timeout=300)
    data = client.get(f"{API}/task/{task_id}").json()["data"]
    assert data["status"] == "success" and data["progress"] == 100
    assert set(data["output"]) == {"model", "base_model", "pbr_model", "rendered_image"}
    cover = client.get(data["output"]["rendered_image"])
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/png"
    rgba = np.asarray(Image.open(io.BytesIO(cover.content)))
    assert rgba.shape == (512, 512, 4) and 0.05 < (rgba[..., 3] > 0).mean() < 0.9
    model = client.get(data["output"]["model"])
    assert model.status_code == 200
    (tmp_path / "m.glb").write_bytes(model.content)
    decoded = decode_with_gltf_transform(tmp_path / "m.glb")  # meshopt: Tripo's default
    assert "EXT_meshopt_compression" in decoded["extensionsUsed"]
    assert sum(len(p["triangles"]) for p in decoded["primitives"]) == 20_000
    assert client.get(f"{API}/user/balance").json()["data"]["balance"] == before - 30
    _texture_the_result(client, task_id, tmp_path)
    _convert_the_result(client, task_id, tmp_path)


def _texture_the_result(client: httpx.Client, source_id: str, tmp_path: Path) -> None:
    """texture_model paints the finished task's (meshopt) model again: same triangles, a
    new texture, charged 10."""
    before = client.get(f"{API}/user/balance").json()["data"]["balance"]
    body = {"type": "texture_model", "original_model_task_id": source_id,
            "texture_alignment": "geometry"}
    task_id = client.post(f"{API}/task", json=body).json()["data"]["task_id"]
    wait_for(client, task_id, {"success"}, timeout=300)
    data = client.get(f"{API}/task/{task_id}").json()["data"]
    assert data["type"] == "texture_model" and data["status"] == "success"
    (tmp_path / "painted.glb").write_bytes(client.get(data["output"]["model"]).content)
    decoded = decode_with_gltf_transform(tmp_path / "painted.glb")
    # gltfpack drops the few triangles the source's 14-bit quantization made degenerate
    assert 19_900 <= sum(len(p["triangles"]) for p in decoded["primitives"]) <= 20_000
    assert all(p["texture"] is not None for p in decoded["primitives"])
    assert client.get(f"{API}/user/balance").json()["data"]["balance"] == before - 10


def _convert_the_result(client: httpx.Client, source_id: str, tmp_path: Path) -> None:
    """convert_model writes the same model as an OBJ with a 1024² JPEG texture, charged 5."""
    before = client.get(f"{API}/user/balance").json()["data"]["balance"]
    body = {"type": "convert_model", "original_model_task_id": source_id, "format": "OBJ",
            "texture_size": 1024, "pivot_to_center_bottom": True}
    task_id = client.post(f"{API}/task", json=body).json()["data"]["task_id"]
    wait_for(client, task_id, {"success"}, timeout=300)
    data = client.get(f"{API}/task/{task_id}").json()["data"]
    assert data["type"] == "convert_model"
    model = client.get(data["output"]["model"])
    assert model.status_code == 200 and data["output"]["model"].split("?")[0].endswith(".obj")
    files = client.get(f"/v1/tasks/{task_id}").json()["outputs"]["files"]
    for name, url in files.items():
        (tmp_path / name).write_bytes(client.get(url).content)
    texture = next(n for n in files if n.endswith((".jpg", ".jpeg")))
    assert Image.open(tmp_path / texture).size == (1024, 1024)
    obj = trimesh.load(tmp_path / next(n for n in files if n.endswith(".obj")), force="mesh")
    assert len(obj.faces) == 20_000 and abs(obj.bounds[0][1]) < 1e-4  # pivot at the bottom
    assert client.get(f"{API}/user/balance").json()["data"]["balance"] == before - 5


@pytest.mark.parametrize(("extra", "fragment"), [
    ({"format": "DWG"}, "format"), ({"format": "OBJ", "texture_format": "TIFF"}, "texture"),
    ({"format": "OBJ", "with_animation": True}, "with_animation"),
    ({"format": "OBJ", "texture_size": 3000}, "texture_size")])
def test_convert_model_refuses_what_it_does_not_make_with_1004(
        client: httpx.Client, extra: dict[str, Any], fragment: str) -> None:
    body = {"type": "convert_model", "original_model_task_id": "x"} | extra
    assert fragment in _error(client.post(f"{API}/task", json=body), 1004)


def test_convert_model_options_reach_the_spec(client: httpx.Client, store: Store,
                                              token: str) -> None:
    source = _task(client, token, face_limit=20_000).json()["data"]["task_id"]
    wait_for(client, source, {"success"}, timeout=300)
    body = {"type": "convert_model", "original_model_task_id": source, "format": "FBX",
            "quad": True, "face_limit": 3_000, "texture_format": "PNG", "scale_factor": 2.5}
    r = client.post(f"{API}/task", json=body)
    assert r.status_code == 200, r.text
    task_id = r.json()["data"]["task_id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    task = store.get_task(None, task_id)
    assert {k: task.options[k] for k in ("format", "quad", "faces", "texture_format",
                                         "texture_size", "scale_factor", "compress")} == {
        "format": "fbx", "quad": True, "faces": 3_000, "texture_format": "png",
        "texture_size": 4096, "scale_factor": 2.5, "compress": None}
    assert task.cost == 10 and task.views == store.get_task(None, source).views


def test_texture_model_refuses_unknown_foreign_and_unfinished_sources(
        server: Server, client: httpx.Client, token: str) -> None:
    body = {"type": "texture_model", "original_model_task_id": "no-such-task"}
    assert "not one of your tasks" in _error(client.post(f"{API}/task", json=body), 2006)
    queued = _task(client, token, face_limit=20_000).json()["data"]["task_id"]
    body["original_model_task_id"] = queued
    assert "still" in _error(client.post(f"{API}/task", json=body), 2007)
    with server.client(server.create_key(1000)) as other:
        _error(other.post(f"{API}/task", json=body), 2006)
    client.post(f"/v1/tasks/{queued}/cancel")
    assert "cancelled" in _error(client.post(f"{API}/task", json=body), 2006)


def test_a_quad_fbx_task_converts_but_cannot_be_textured(client: httpx.Client, store: Store,
                                                         token: str) -> None:
    source = _task(client, token, quad=True, face_limit=1_000).json()["data"]["task_id"]
    wait_for(client, source, {"success"}, timeout=300)
    texture = {"type": "texture_model", "original_model_task_id": source}
    assert "FBX" in _error(client.post(f"{API}/task", json=texture), 2006)
    convert = {"type": "convert_model", "original_model_task_id": source, "format": "OBJ"}
    r = client.post(f"{API}/task", json=convert)
    assert r.status_code == 200, r.text
    task_id = r.json()["data"]["task_id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    options = store.get_task(None, task_id).options
    assert (options["format"], options["quad"], options["faces"]) == ("obj", True, 1_000)


@pytest.mark.parametrize("extra", [{"text_prompt": "gold"}, {"texture": False, "pbr": False},
                                   {"texture_quality": "ultra"}])
def test_texture_model_refuses_what_it_does_not_make_with_1004(
        client: httpx.Client, extra: dict[str, Any]) -> None:
    body = {"type": "texture_model", "original_model_task_id": "x"} | extra
    _error(client.post(f"{API}/task", json=body), 1004)


def test_a_failed_task_reports_its_error_and_is_not_charged(client: httpx.Client) -> None:
    before = client.get(f"{API}/user/balance").json()["data"]["balance"]
    grey = _upload(client, _png())  # uniform: no object to find
    task_id = _task(client, grey, face_limit=20_000).json()["data"]["task_id"]
    wait_for(client, task_id, {"failed"}, timeout=300)
    data = client.get(f"{API}/task/{task_id}").json()["data"]
    assert data["status"] == "failed" and data["error_code"] == 1004
    assert "10031007" in data["error_msg"] and data["output"] == {}
    assert client.get(f"{API}/user/balance").json()["data"]["balance"] == before


# --- the watch WebSocket -----------------------------------------------------------------------

def _watch(server: Server, key: str | None, task_id: str, close_code: int = 1000
           ) -> list[dict[str, Any]]:
    """Every message of one watch, checking how the server closed it."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    url = server.url.replace("http://", "ws://") + f"{API}/task/watch/{task_id}"
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    messages: list[dict[str, Any]] = []
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        try:
            for raw in ws:
                messages.append(json.loads(raw))
        except ConnectionClosed:
            pass
        assert ws.close_code == close_code
    return messages


def test_watch_streams_updates_then_one_finalized(server: Server, token: str) -> None:
    key = server.create_key(1000)
    with server.client(key) as owner:
        own = _upload(owner, DUCK.read_bytes())
        task_id = _task(owner, own, face_limit=20_000).json()["data"]["task_id"]
    messages = _watch(server, key, task_id)
    events = [m["event"] for m in messages]
    assert events[-1] == "finalized" and set(events[:-1]) <= {"update"} and len(events) >= 2
    assert messages[-1]["data"]["status"] == "success"
    assert messages[-1]["data"]["output"]["model"]
    progress = [m["data"]["progress"] for m in messages]
    assert progress == sorted(progress) and progress[-1] == 100


def test_watch_with_a_bad_key_or_another_keys_task_sends_one_error(
        server: Server, client: httpx.Client, token: str) -> None:
    task_id = _task(client, token, face_limit=20_000).json()["data"]["task_id"]
    client.post(f"/v1/tasks/{task_id}/cancel")
    assert _watch(server, "tsk_wrong", task_id, 1008) == [
        {"code": 1002, "message": "invalid API key"}]
    other = server.create_key(10)
    assert [m["code"] for m in _watch(server, other, task_id, 1008)] == [2001]
