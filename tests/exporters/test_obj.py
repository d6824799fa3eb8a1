"""OBJ: separate UV indices written as-is, MTL with PBR lines, texture beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from meshsmith.exporters import export
from meshsmith.mesh import Mesh

from .conftest import TEXTURE_SIZE


def _records(path: Path, keyword: str) -> list[list[str]]:
    """The whitespace-split fields of every line starting with ``keyword``."""
    lines = path.read_text(encoding="ascii").splitlines()
    return [line.split()[1:] for line in lines if line.split()[:1] == [keyword]]


def test_files_written_beside_the_obj(textured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "chair.obj"
    written = export(textured_mesh, path)
    assert written == [path, tmp_path / "chair.mtl", tmp_path / "chair_basecolor.png"]
    assert _records(path, "mtllib") == [["chair.mtl"]]
    assert _records(path, "usemtl") == [[textured_mesh.material.name]]
    image = Image.open(tmp_path / "chair_basecolor.png")
    assert image.size == (TEXTURE_SIZE, TEXTURE_SIZE)


def test_mtl_has_texture_and_pbr_lines(textured_mesh: Mesh, tmp_path: Path) -> None:
    export(textured_mesh, tmp_path / "chair.obj")
    mtl = tmp_path / "chair.mtl"
    assert _records(mtl, "newmtl") == [[textured_mesh.material.name]]
    assert _records(mtl, "map_Kd") == [["chair_basecolor.png"]]
    assert float(_records(mtl, "Pm")[0][0]) == 0.25
    assert float(_records(mtl, "Pr")[0][0]) == 0.6
    for key in ("Kd", "Ka", "Ks"):
        assert len(_records(mtl, key)[0]) == 3


def test_jpeg_texture_name(jpeg_textured_mesh: Mesh, tmp_path: Path) -> None:
    written = export(jpeg_textured_mesh, tmp_path / "chair.obj")
    assert written[-1] == tmp_path / "chair_basecolor.jpg"
    assert Image.open(written[-1]).format == "JPEG"
    assert _records(tmp_path / "chair.mtl", "map_Kd") == [["chair_basecolor.jpg"]]


def test_uv_indices_are_written_without_splitting(textured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.obj"
    export(textured_mesh, path)
    assert textured_mesh.uvs is not None and textured_mesh.uv_faces is not None
    assert len(_records(path, "v")) == len(textured_mesh.vertices)
    vt = np.array(_records(path, "vt"), dtype=np.float64)
    np.testing.assert_allclose(vt, textured_mesh.uvs, atol=1e-6)
    corners = np.array(
        [[c.split("/") for c in face] for face in _records(path, "f")], dtype=np.int64
    )
    np.testing.assert_array_equal(corners[:, :, 0] - 1, textured_mesh.faces)
    np.testing.assert_array_equal(corners[:, :, 1] - 1, textured_mesh.uv_faces)
    np.testing.assert_array_equal(corners[:, :, 2], corners[:, :, 0])


def test_uvs_round_trip_through_trimesh(textured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.obj"
    export(textured_mesh, path)
    loaded = trimesh.load(path, force="mesh", process=False)
    assert textured_mesh.uvs is not None and textured_mesh.uv_faces is not None
    np.testing.assert_allclose(
        loaded.vertices[loaded.faces], textured_mesh.vertices[textured_mesh.faces], atol=1e-6
    )
    np.testing.assert_allclose(
        loaded.visual.uv[loaded.faces], textured_mesh.uvs[textured_mesh.uv_faces], atol=1e-6
    )


def test_normals_are_unit_and_per_vertex(untextured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.obj"
    export(untextured_mesh, path)
    normals = np.array(_records(path, "vn"), dtype=np.float64)
    assert len(normals) == len(untextured_mesh.vertices)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert all("//" in corner for face in _records(path, "f") for corner in face)


def test_untextured_mesh_has_no_texture(untextured_mesh: Mesh, tmp_path: Path) -> None:
    written = export(untextured_mesh, tmp_path / "model.obj")
    assert written == [tmp_path / "model.obj", tmp_path / "model.mtl"]
    assert not _records(tmp_path / "model.mtl", "map_Kd")
    assert not _records(tmp_path / "model.obj", "vt")


def test_vertex_colors_extension(vertex_colored_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.obj"
    export(vertex_colored_mesh, path)
    rows = np.array(_records(path, "v"), dtype=np.float64)
    assert rows.shape == (len(vertex_colored_mesh.vertices), 6)
    np.testing.assert_allclose(rows[:, :3], vertex_colored_mesh.vertices, atol=1e-6)
    assert vertex_colored_mesh.vertex_colors is not None
    np.testing.assert_allclose(rows[:, 3:] * 255, vertex_colored_mesh.vertex_colors, atol=0.02)
