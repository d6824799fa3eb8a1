"""Acceptance: the official Tripo Python SDK (tripo3d 0.3.x, unmodified) runs image_to_model,
multiview_to_model, wait_for_task, download_task_models and get_balance against Meshsmith
with only its BASE_URL changed and a ``tsk_`` key. All traffic stays on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from tests.exporters.readers import decode_with_gltf_transform
from tests.service.server import Server, running

EXAMPLES = Path(__file__).parents[3] / "examples"
CLIENT = Path(__file__).with_name("tripo_sdk_client.py")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("srv") / "data") as srv:
        yield srv


def _views(tmp_path: Path) -> tuple[Path, Path]:
    """The duck's front photo and a mirrored copy as its back view."""
    back = tmp_path / "duck_back.png"
    Image.open(EXAMPLES / "duck.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(back)
    return EXAMPLES / "duck.png", back


def test_official_tripo_sdk_generates_downloads_and_reads_the_balance(
        server: Server, tmp_path: Path) -> None:
    key = server.create_key(1000)
    assert key.startswith("tsk_")
    front, back = _views(tmp_path)
    out = tmp_path / "downloads"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP", "http"))}
    proc = subprocess.run([sys.executable, str(CLIENT), f"{server.url}/v2/openapi", key,
                           str(front), str(back), str(out)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in ("single", "multi"):
        run = result[name]
        assert run["status"] == "success", run
        model = Path(run["files"]["model"])
        assert model.name == f"{run['id']}_model.glb" and model.parent == out
        assert Path(run["files"]["pbr_model"]).exists()  # pbr=true by default
        decoded = decode_with_gltf_transform(model)  # meshopt-compressed, as Tripo's are
        assert sum(len(p["triangles"]) for p in decoded["primitives"]) == 20_000
    assert result["single"]["progress"] == 100
    assert result["balance"] == {"balance": 1000 - 2 * 30, "frozen": 0}
