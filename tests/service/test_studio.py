"""The web studio in a real browser: Debian's chromium driven by playwright against a live
server. Screenshots of each state go to tests/artifacts/studio/ (look at them)."""

from __future__ import annotations

import base64
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import trimesh
from PIL import Image
from tests.service.server import Server, running

ROOT = Path(__file__).parents[2]
DUCK = ROOT / "examples" / "duck.png"
SHOTS = ROOT / "tests" / "artifacts" / "studio"
CHROMIUM = "/usr/bin/chromium"
WEBGL_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox"]


def _missing(reason: str) -> None:
    if os.environ.get("MESHSMITH_REQUIRE_SERVICES") == "1":
        raise RuntimeError(f"the studio test needs a browser: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _missing(f"playwright is not installed: {exc}")
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=WEBGL_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("srv") / "data") as srv:
        yield srv


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return server.create_key(1000)


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(server.url + "/")
    pg.wait_for_selector("body[data-ready='true']")
    yield pg
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Any, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_a_bad_key_shows_the_apis_error(page: Any) -> None:
    _shot(page, "1-signed-out")
    _sign_in(page, "tsk_not_a_real_key")
    error = page.locator("#signin-error")
    error.wait_for(state="visible")
    assert "code 1" in error.inner_text()  # the API's message and numeric code
    assert page.locator("#studio").get_attribute("data-signed-in") == "false"
    assert page.evaluate("sessionStorage.length") == 0
    page.locator("#submit-button").focus()  # signed out, the panels are inert
    assert page.evaluate("document.activeElement.id") != "submit-button"


def test_refuses_a_file_that_is_not_an_image(page: Any, key: str, tmp_path: Path) -> None:
    _sign_in(page, key)
    page.wait_for_selector("#studio[data-signed-in='true']")
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    page.locator("input[name='front']").set_input_files(str(text))
    assert "not a PNG, JPEG, WebP or BMP" in page.locator("#views-error").inner_text()
    page.locator("input[name='front']").set_input_files(
        {"name": "huge.png", "mimeType": "image/png", "buffer": bytes(20_000_001)})
    assert "larger than 20 MB" in page.locator("#views-error").inner_text()
    assert not page.locator(".drop[data-slot='front'] img").is_visible()
    page.get_by_role("button", name="Generate").click()
    assert "front photo is required" in page.locator("#views-error").inner_text()


def test_shows_an_option_error_next_to_its_field(page: Any, key: str) -> None:
    _sign_in(page, key)
    page.wait_for_selector("#studio[data-signed-in='true']")
    page.wait_for_function("document.querySelector('#cost').textContent !== ''")
    page.get_by_label("Faces (empty: default)").fill("3")
    page.get_by_label("Faces (empty: default)").dispatch_event("change")
    error = page.locator("[data-error-for='faces']")
    error.wait_for(state="visible")
    assert "code 10021002" in error.inner_text()  # the server's code, from /v1/quote
    assert page.locator("#cost").inner_text() == ""


def test_asks_for_a_glb_too_when_another_format_is_chosen(page: Any, key: str) -> None:
    _sign_in(page, key)
    page.wait_for_selector("#studio[data-signed-in='true']")
    page.wait_for_function("document.querySelector('#format').options.length > 1")
    with page.expect_request("**/v1/quote") as request:
        page.get_by_label("Format").select_option("obj")
    assert request.value.post_data_json["format"] == ["obj", "glb"]


def test_drop_zones_are_keyboard_reachable_with_a_visible_focus(page: Any, key: str) -> None:
    _sign_in(page, key)
    page.wait_for_selector("#studio[data-signed-in='true']")
    page.locator("#signout-button").focus()
    for _ in range(5):  # the first focusable things after the header are the four zones
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "front":
            break
    assert page.evaluate("document.activeElement.type") == "file"
    outline = page.evaluate("getComputedStyle(document.activeElement.closest('.drop'))"
                            ".outlineStyle")
    assert outline == "solid"


def _pick_and_configure(page: Any, key: str, server: Server) -> None:
    _sign_in(page, key)
    page.wait_for_selector("#studio[data-signed-in='true']")
    assert page.locator("#balance").inner_text().startswith("1000 credits")
    page.locator("input[name='front']").set_input_files(str(DUCK))
    page.get_by_label("Resolution").select_option("512")
    page.get_by_label("Faces (empty: default)").fill("5000")
    page.get_by_label("Faces (empty: default)").dispatch_event("change")
    quote = server.client(key).post("/v1/quote", json={
        "views": {"front": "x"}, "resolution": "512", "faces": 5000}).json()["cost"]
    page.wait_for_function("c => document.querySelector('#cost').textContent === c",
                           arg=f"{quote} credits")
    assert page.locator(".drop[data-slot='front'] img").is_visible()
    _shot(page, "2-images-picked")


def _canvas_pixels(page: Any) -> np.ndarray:
    url = page.evaluate("document.querySelector('#viewer canvas').toDataURL('image/png')")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _check_glb(page: Any, tmp_path: Path) -> trimesh.Trimesh:
    link = page.locator("#downloads a", has_text=".glb").first
    response = httpx.get(link.get_attribute("href"), timeout=30)
    assert response.status_code == 200
    path = tmp_path / "model.glb"
    path.write_bytes(response.content)
    mesh = trimesh.load(path, force="mesh")
    assert isinstance(mesh, trimesh.Trimesh)
    return mesh


def test_generates_a_model_and_shows_it(page: Any, key: str, server: Server,
                                        tmp_path: Path) -> None:
    _pick_and_configure(page, key, server)
    page.get_by_role("button", name="Generate").click()
    page.locator("#progress-box").wait_for(state="visible")
    page.wait_for_function("document.querySelector('#progress').value > 0", timeout=120_000)
    _shot(page, "3-progress")
    page.wait_for_function("window.studio.loaded === true || window.studio.error",
                           timeout=240_000)
    assert page.evaluate("window.studio.error") is None
    assert page.evaluate("window.studio.task.status") == "success"
    _shot(page, "4-result")
    pixels = _canvas_pixels(page)
    background = np.array([0xDF, 0xE3, 0xEA])
    model_share = (np.abs(pixels - background).sum(axis=2) > 30).mean()
    assert 0.02 < model_share < 0.95, f"the viewer shows {model_share:.1%} model pixels"
    assert pixels.reshape(-1, 3).std(axis=0).max() > 10  # shaded, not one flat colour
    mesh = _check_glb(page, tmp_path)
    stats = page.evaluate("window.studio.task.stats")
    assert len(mesh.faces) == stats["faces"] == 5000
    assert f"Faces{stats['faces']}" in page.locator("#stats").inner_text().replace("\n", "")
    assert page.locator("#cover").is_visible()
    _check_history_and_phone(page)


def _check_history_and_phone(page: Any) -> None:
    page.get_by_label("Wireframe").check()
    assert page.evaluate("window.studio.viewer.model.getObjectByProperty('isMesh', true)"
                         ".material.wireframe") is True
    page.get_by_label("Light").fill("4.5")
    assert page.evaluate("window.studio.viewer.sun.intensity") == 4.5
    item = page.locator("#history li button").first
    item.wait_for()
    page.evaluate("window.studio.loaded = false")
    item.click()
    page.wait_for_function("window.studio.loaded === true", timeout=60_000)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    _shot(page, "5-phone-390px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
