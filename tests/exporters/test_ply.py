"""PLY: binary little-endian with per-vertex colours from colours, texture or grey."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from meshsmith.exporters import export
from meshsmith.mesh import Material, Mesh


def _load_colors(path: Path) -> np.ndarray:
    loaded = trimesh.load(path, force="mesh", process=False)
    assert loaded.visual.kind == "vertex"
    return np.asarray(loaded.visual.vertex_colors[:, :3])


def test_ply_is_binary_little_endian(untextured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.ply"
    export(untextured_mesh, path)
    header = path.read_bytes().split(b"end_header\n")[0].decode("ascii")
    assert "format binary_little_endian 1.0" in header
    for channel in ("red", "green", "blue"):
        assert f"property uchar {channel}" in header


def test_vertex_colors_round_trip(vertex_colored_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.ply"
    export(vertex_colored_mesh, path)
    np.testing.assert_array_equal(_load_colors(path), vertex_colored_mesh.vertex_colors)
    loaded = trimesh.load(path, force="mesh", process=False)
    np.testing.assert_array_equal(loaded.faces, vertex_colored_mesh.faces)
    np.testing.assert_array_equal(loaded.vertices, vertex_colored_mesh.vertices)


def test_colors_are_sampled_from_the_texture(textured_mesh: Mesh, tmp_path: Path) -> None:
    solid = np.zeros((8, 8, 3), np.uint8) + np.array([10, 120, 230], np.uint8)
    mesh = textured_mesh.with_(material=Material(base_color=solid))
    path = tmp_path / "model.ply"
    export(mesh, path)
    colors = _load_colors(path)
    np.testing.assert_array_equal(colors, np.broadcast_to([10, 120, 230], colors.shape))


def test_sampled_colors_follow_the_uvs(textured_mesh: Mesh, tmp_path: Path) -> None:
    texture = np.zeros((2, 2, 3), np.uint8)
    texture[:, 1] = 255  # right half white, left half black
    mesh = textured_mesh.with_(material=Material(base_color=texture))
    export(mesh, tmp_path / "model.ply")
    colors = _load_colors(tmp_path / "model.ply")
    assert mesh.uvs is not None and mesh.uv_faces is not None
    u = np.zeros(len(mesh.vertices))
    u[mesh.faces.ravel()] = mesh.uvs[mesh.uv_faces.ravel(), 0]
    assert (colors[u <= 0.25] == 0).all() and (colors[u >= 0.75] == 255).all()


def test_untextured_mesh_is_light_grey(untextured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "model.ply"
    export(untextured_mesh, path)
    colors = _load_colors(path)
    assert len(np.unique(colors, axis=0)) == 1
    assert 150 <= colors[0, 0] < 255
