"""OBJ: separate UV indices written as-is, quads and parts, MTL with PBR lines and maps,
textures beside it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from meshsmith.exporters import export
from meshsmith.mesh import Material, Mesh
from meshsmith.texturing.pbr import pbr_maps

from .conftest import TEXTURE_SIZE, checker_texture


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


CUBE_QUADS = np.array([[0, 1, 2, 3], [4, 7, 6, 5], [0, 4, 5, 1],
                       [2, 6, 7, 3], [1, 5, 6, 2], [0, 3, 7, 4]])


def quad_cube(shuffle: bool = True) -> Mesh:
    """A unit cube of 6 quads (12 triangles, in shuffled order), each quad with its own UV
    cell in a 3 x 2 grid, and parts "top and bottom" (+-Y quads) and "sides"."""
    corners = np.array([[x, y, z] for y in (0, 1) for z in (0, 1) for x in (0, 1)], np.float32)
    corners = corners[[0, 1, 3, 2, 4, 5, 7, 6]] - 0.5  # y-major, counter-clockwise rings
    cell = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    offsets = np.array([[q % 3, q // 3] for q in range(6)], dtype=np.float32)
    uvs = ((cell[None] + offsets[:, None]) / [3, 2]).reshape(-1, 2).astype(np.float32)
    quad_uvs = np.arange(24).reshape(6, 4)
    faces = np.concatenate([CUBE_QUADS[:, [0, 1, 2]], CUBE_QUADS[:, [0, 2, 3]]])
    uv_faces = np.concatenate([quad_uvs[:, [0, 1, 2]], quad_uvs[:, [0, 2, 3]]])
    polygon_ids = np.tile(np.arange(6), 2)
    order = np.random.default_rng(5).permutation(12) if shuffle else np.arange(12)
    parts = np.where(np.isin(polygon_ids, [0, 1]), 0, 1)
    return Mesh(vertices=corners, faces=faces[order].astype(np.int32),
                uvs=uvs, uv_faces=uv_faces[order].astype(np.int32),
                polygon_ids=polygon_ids[order].astype(np.int32),
                part_ids=parts[order].astype(np.int32), part_names=("top and bottom", "sides"),
                material=Material(base_color=checker_texture(32)))


def _corners(path: Path) -> list[list[tuple[int, int]]]:
    """Each ``f`` line as (vertex, uv) pairs, 0-based: an independent parse of the OBJ."""
    return [[(int(c.split("/")[0]) - 1, int(c.split("/")[1]) - 1) for c in face]
            for face in _records(path, "f")]


def test_quads_are_written_as_four_corner_faces_with_matching_uvs(tmp_path: Path) -> None:
    mesh = quad_cube()
    path = tmp_path / "cube.obj"
    export(mesh, path)
    faces = _corners(path)
    assert [len(face) for face in faces] == [4] * 6
    vertices = np.array(_records(path, "v"), dtype=np.float64)
    assert mesh.uvs is not None and mesh.uv_faces is not None
    np.testing.assert_allclose(np.array(_records(path, "vt"), dtype=np.float64), mesh.uvs,
                               atol=1e-6)
    pairs = {(int(v), int(t)) for tri, uv_tri in zip(mesh.faces, mesh.uv_faces, strict=True)
             for v, t in zip(tri, uv_tri, strict=True)}
    assert {corner for face in faces for corner in face} == pairs
    for face in faces:
        points = vertices[[v for v, _ in face]]
        normal = np.cross(points[1] - points[0], points[2] - points[0])
        # Counter-clockwise from outside: the normal points away from the cube's centre.
        assert np.dot(normal, points.mean(axis=0)) > 0
        assert len({v for v, _ in face}) == 4


def test_quad_cube_reads_back_in_trimesh_as_twelve_triangles(tmp_path: Path) -> None:
    path = tmp_path / "cube.obj"
    export(quad_cube(), path)
    loaded = trimesh.load(path, force="mesh", process=False)
    assert len(loaded.faces) == 12
    assert loaded.area == pytest.approx(6.0)
    welded = trimesh.Trimesh(loaded.vertices, loaded.faces)  # merges the UV-split corners
    assert welded.is_watertight and welded.volume == pytest.approx(1.0)


def test_parts_become_o_groups(tmp_path: Path) -> None:
    path = tmp_path / "cube.obj"
    export(quad_cube(), path)
    names, counts = [], []
    for line in path.read_text(encoding="ascii").splitlines():
        if line.startswith("o "):
            names.append(line[2:])
            counts.append(0)
        elif line.startswith("f ") and counts:
            counts[-1] += 1
    assert names == ["top_and_bottom", "sides"] and counts == [2, 4]
    assert _records(path, "usemtl") == [["meshsmith_material"]] * 2


def test_a_quad_with_a_uv_seam_on_its_diagonal_stays_two_triangles(tmp_path: Path) -> None:
    mesh = quad_cube(shuffle=False)
    assert mesh.uvs is not None and mesh.uv_faces is not None
    uvs = np.vstack([mesh.uvs, mesh.uvs[mesh.uv_faces[0]] * 0.5])
    uv_faces = mesh.uv_faces.copy()
    uv_faces[0] = [24, 25, 26]  # quad 0's first triangle gets UVs of its own
    path = tmp_path / "cube.obj"
    export(mesh.with_(uvs=uvs, uv_faces=uv_faces), path)
    assert sorted(len(face) for face in _corners(path)) == [3, 3, 4, 4, 4, 4, 4]
    loaded = trimesh.load(path, force="mesh", process=False)
    assert len(loaded.faces) == 12


def test_untextured_quads_use_v_double_slash_vn(tmp_path: Path) -> None:
    path = tmp_path / "cube.obj"
    export(quad_cube().with_(uvs=None, uv_faces=None, material=Material()), path)
    faces = _records(path, "f")
    assert [len(face) for face in faces] == [4] * 6
    assert all("//" in corner for face in faces for corner in face)


def _pbr_cube(**material: object) -> Mesh:
    mesh = pbr_maps(quad_cube())
    return mesh.with_(material=dataclasses.replace(mesh.material, **material))


def test_pbr_maps_are_written_beside_the_obj_and_listed_in_the_mtl(tmp_path: Path) -> None:
    mesh = _pbr_cube()
    path = tmp_path / "cube.obj"
    written = export(mesh, path)
    names = ["cube.obj", "cube.mtl", "cube_basecolor.png", "cube_roughness.png",
             "cube_metallic.png", "cube_normal.png"]
    assert written == [tmp_path / name for name in names]
    mtl = tmp_path / "cube.mtl"
    assert _records(mtl, "map_Kd") == [["cube_basecolor.png"]]
    assert _records(mtl, "map_Pr") == [["cube_roughness.png"]]
    assert _records(mtl, "map_Pm") == [["cube_metallic.png"]]
    assert _records(mtl, "norm") == [["cube_normal.png"]]
    packed = mesh.material.metallic_roughness
    assert packed is not None and mesh.material.normal_map is not None
    maps = (("map_Pr", "L", packed[..., 1]), ("map_Pm", "L", packed[..., 2]),
            ("norm", "RGB", mesh.material.normal_map))
    for keyword, mode, expected in maps:
        image = Image.open(tmp_path / _records(mtl, keyword)[0][0])
        assert image.format == "PNG" and image.mode == mode and image.size == (32, 32)
        np.testing.assert_array_equal(np.asarray(image), expected)
    # Readers that ignore the maps get the maps' mean as the constant.
    assert float(_records(mtl, "Pr")[0][0]) == pytest.approx(packed[..., 1].mean() / 255, abs=1e-5)
    assert float(_records(mtl, "Pm")[0][0]) == pytest.approx(packed[..., 2].mean() / 255, abs=1e-5)


def test_unlit_obj_writes_no_pbr_maps(tmp_path: Path) -> None:
    written = export(_pbr_cube(unlit=True), tmp_path / "cube.obj")
    assert [p.name for p in written] == ["cube.obj", "cube.mtl", "cube_basecolor.png"]
    mtl = tmp_path / "cube.mtl"
    assert not _records(mtl, "map_Pr") and not _records(mtl, "norm")
    assert _records(mtl, "illum") == [["0"]]
