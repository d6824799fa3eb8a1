"""The command line: exit codes, one-line errors, registries and a real generation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import trimesh
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshsmith.cli", *args], capture_output=True,
                          text=True, timeout=600, check=False)


def test_generate_writes_a_textured_glb_from_an_example_photo(tmp_path: Path) -> None:
    out = tmp_path / "duck.glb"
    result = _run("generate", str(EXAMPLES / "duck.png"), "-o", str(out),
                  "--resolution", "512", "--faces", "100000", "--texture-size", "1024", "-q")
    assert result.returncode == 0, result.stderr
    mesh = trimesh.load(out, force="mesh")
    assert len(mesh.faces) == 100_000
    mesh.merge_vertices(merge_tex=True, merge_norm=True)  # GLB splits vertices at UV seams
    assert mesh.is_watertight
    assert mesh.bounds[1][1] - mesh.bounds[0][1] == pytest.approx(1.0, abs=1e-4)
    assert mesh.visual.material.baseColorTexture.size == (1024, 1024)


def test_generate_geometry_only_stl_follows_the_output_extension(tmp_path: Path) -> None:
    out = tmp_path / "mushroom.stl"
    result = _run("generate", str(EXAMPLES / "mushroom.webp"), "-o", str(out),
                  "--resolution", "512", "--faces", "100000", "--no-texture", "-q")
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size == 84 + 50 * 100_000


def test_missing_image_exits_2_with_a_one_line_error(tmp_path: Path) -> None:
    result = _run("generate", str(tmp_path / "nope.png"), "-o", str(tmp_path / "x.glb"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error 10031009:")


def test_non_image_exits_2_with_code_10031005(tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    result = _run("generate", str(bad), "-o", str(tmp_path / "x.glb"))
    assert result.returncode == 2
    assert result.stderr.startswith("error 10031005:")


@pytest.mark.parametrize(("option", "value", "code"), [
    ("--resolution", "999", 10021001),
    ("--faces", "50", 10021002),
    ("--faces", "100001", 10021002),
    ("--format", "xyz", 10021003),
    ("--views", "left", 10021004),
    ("--preset", "statue", 10020001),
])
def test_bad_options_exit_2_with_their_codes(tmp_path: Path, option: str, value: str,
                                             code: int) -> None:
    image = tmp_path / "in.png"
    Image.new("RGB", (128, 128), "white").save(image)
    result = _run("generate", str(image), "-o", str(tmp_path / "x.glb"), option, value)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error {code}:")


def test_formats_and_engines_list_the_registries() -> None:
    from meshsmith.engines import ENGINES
    from meshsmith.exporters import EXPORTERS

    formats = _run("formats")
    assert formats.returncode == 0
    assert all(name in formats.stdout for name in EXPORTERS)
    engines = _run("engines")
    assert engines.returncode == 0
    assert all(name in engines.stdout for name in ENGINES)


def test_keys_create_prints_the_key_alone_on_the_last_line(tmp_path: Path) -> None:
    done = _run("keys", "create", "--data-dir", str(tmp_path), "--name", "ci", "--credits", "50")
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("tsk_") and " " not in key and len(key) > 40
    listed = _run("keys", "list", "--data-dir", str(tmp_path))
    assert "ci" in listed.stdout and "50" in listed.stdout and key not in listed.stdout
    assert re.search(r"key_[0-9a-f]{16}", listed.stdout)  # whole: Hitem3D's client_id


def test_keys_create_reads_the_data_dir_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "MESHSMITH_DATA_DIR": str(tmp_path / "env-dir")}
    done = subprocess.run([sys.executable, "-m", "meshsmith.cli", "keys", "create", "--name",
                           "x"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and (tmp_path / "env-dir" / "meshsmith.db").is_file()


def test_serve_refuses_to_start_in_production_with_the_default_secret(tmp_path: Path) -> None:
    env = {**os.environ, "MESHSMITH_MODE": "production", "MESHSMITH_DATA_DIR": str(tmp_path)}
    env.pop("MESHSMITH_SECRET_KEY", None)
    done = subprocess.run([sys.executable, "-m", "meshsmith.cli", "serve", "--port", "0"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2 and "MESHSMITH_SECRET_KEY" in done.stderr


def test_texture_paints_an_existing_mesh_and_keeps_its_geometry(tmp_path: Path) -> None:
    shape = tmp_path / "duck_shape.obj"
    made = _run("generate", str(EXAMPLES / "duck.png"), "-o", str(shape), "--resolution", "512",
                "--faces", "20000", "--no-texture", "-q")
    assert made.returncode == 0, made.stderr
    out = tmp_path / "duck.glb"
    result = _run("texture", str(shape), str(EXAMPLES / "duck.png"), "-o", str(out),
                  "--texture-size", "512", "-q")
    assert result.returncode == 0, result.stderr
    before, after = trimesh.load(shape, force="mesh"), trimesh.load(out, force="mesh")
    assert len(after.faces) == len(before.faces) == 20_000
    assert abs(after.bounds - before.bounds).max() < 1e-4
    texture = after.visual.material.baseColorTexture.convert("RGB")
    assert texture.size == (512, 512)
    mean = [float(c) for c in Image.Image.getextrema(texture)[0]]  # red channel spans
    assert mean[1] > 200  # the duck's yellow reached the texture


def test_texture_refuses_an_fbx_mesh_with_exit_2_and_code_10033001(tmp_path: Path) -> None:
    mesh = tmp_path / "model.fbx"
    mesh.write_bytes(b"Kaydara FBX Binary  \x00")
    result = _run("texture", str(mesh), str(EXAMPLES / "duck.png"), "-o", str(tmp_path / "o.glb"))
    assert result.returncode == 2
    assert result.stderr.startswith("error 10033001:") and len(result.stderr.splitlines()) == 1
