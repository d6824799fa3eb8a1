"""The studio's routes (``service/api/studio.py``): the page, its files, and nothing shadowed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.service.server import Server, running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("srv") / "data") as srv:
        yield srv


def test_serves_the_page_with_an_import_map_to_the_vendored_three(server: Server) -> None:
    with server.client() as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<script type="importmap">' in page.text
        for path in ("/studio/studio.js", "/studio/studio.css",
                     "/studio/vendor/three/build/three.module.js",
                     "/studio/vendor/three/build/three.core.js",
                     "/studio/vendor/three/examples/jsm/loaders/GLTFLoader.js",
                     "/studio/vendor/three/examples/jsm/controls/OrbitControls.js",
                     "/studio/vendor/three/examples/jsm/utils/BufferGeometryUtils.js",
                     "/studio/vendor/three/examples/jsm/utils/SkeletonUtils.js"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert len(response.content) > 1000, path
        assert "javascript" in client.get("/studio/studio.js").headers["content-type"]


def test_does_not_shadow_the_apis_or_serve_files_outside_the_studio(server: Server) -> None:
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/docs").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert "/v1/quote" in client.get("/openapi.json").json()["paths"]
        assert "/" not in client.get("/openapi.json").json()["paths"]
        assert client.get("/v1/balance").json()["error"]["code"]  # still the API (401)
        assert client.get("/studio/nope.js").status_code == 404
        assert client.get("/studio/..%2f..%2fapi%2fstudio.py").status_code == 404
