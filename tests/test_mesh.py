"""The mesh type's quad and part helpers."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from meshsmith._polygons import corner_uv_indices
from meshsmith.mesh import Mesh


def _quad_cube() -> Mesh:
    """A unit cube: 6 quads, each split (a, b, c) + (a, c, d), sharing one polygon id."""
    box = trimesh.creation.box()
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))], np.int32)
    return Mesh(box.vertices.astype(np.float32), faces,
                polygon_ids=np.repeat(np.arange(6), 2).astype(np.int32))


def test_polygons_merge_triangle_pairs_into_quads_with_the_same_winding() -> None:
    mesh = _quad_cube()
    polygons = mesh.polygons()
    assert polygons.shape == (6, 4) and (polygons >= 0).all()
    for quad, (t1, t2) in zip(polygons, mesh.faces.reshape(6, 2, 3), strict=True):
        assert set(quad) == set(t1) | set(t2)
        cycle = list(quad) * 2
        for a, b, c in (t1, t2):  # each triangle's edges run the quad's way round
            assert any(cycle[i:i + 2] == [a, b] for i in range(4)) or \
                any(cycle[i:i + 2] == [b, c] for i in range(4))


def test_polygons_without_ids_are_the_triangles_padded() -> None:
    mesh = _quad_cube().with_(polygon_ids=None)
    polygons = mesh.polygons()
    assert polygons.shape == (12, 4)
    np.testing.assert_array_equal(polygons[:, :3], mesh.faces)
    assert (polygons[:, 3] == -1).all()


def test_polygons_keep_lone_triangles_and_the_order_of_first_appearance() -> None:
    mesh = _quad_cube()
    ids = np.array([5, 5, 0, 7, 1, 1, 2, 2, 3, 3, 4, 4], np.int32)  # faces 2 and 3 alone
    polygons = mesh.with_(polygon_ids=ids).polygons()
    assert len(polygons) == 7
    assert (polygons[0] >= 0).all()
    assert (polygons[1] == [*mesh.faces[2], -1]).all()
    assert (polygons[2] == [*mesh.faces[3], -1]).all()


def test_polygons_refuse_groups_that_are_not_quads() -> None:
    mesh = _quad_cube()
    with pytest.raises(ValueError, match="more than two"):
        mesh.with_(polygon_ids=np.zeros(12, np.int32)).polygons()
    apart = np.array([0, 1, 2, 0, 4, 5, 6, 7, 8, 9, 10, 11], np.int32)  # faces 0 and 3
    with pytest.raises(ValueError, match="share exactly one edge"):
        mesh.with_(polygon_ids=apart).polygons()


def test_part_returns_only_that_parts_faces_and_vertices() -> None:
    mesh = _quad_cube()
    parts = (mesh.faces.min(axis=1) < 2).astype(np.int32)
    mesh = mesh.with_(part_ids=parts, part_names=("rest", "corner"),
                      uvs=np.zeros((8, 2), np.float32), uv_faces=mesh.faces.copy())
    corner = mesh.part(1)
    assert len(corner.faces) == int(parts.sum())
    assert len(corner.vertices) == len(np.unique(mesh.faces[parts == 1]))
    assert corner.uv_faces is not None and corner.uv_faces.max() < len(corner.uvs)
    assert not corner.has_parts and corner.polygon_ids is not None


def test_mesh_rejects_inconsistent_part_and_polygon_ids() -> None:
    mesh = _quad_cube()
    with pytest.raises(ValueError, match="polygon_ids"):
        mesh.with_(polygon_ids=np.zeros(3, np.int32))
    with pytest.raises(ValueError, match="together"):
        mesh.with_(part_ids=np.zeros(12, np.int32))
    with pytest.raises(ValueError, match="index part_names"):
        mesh.with_(part_ids=np.full(12, 2, np.int32), part_names=("a", "b"))


def test_corner_uvs_follow_polygon_corners_across_a_split_diagonal() -> None:
    # One quad whose two triangles use different UV indices for the shared vertices.
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    mesh = Mesh(
        vertices=vertices,
        faces=np.array([[0, 1, 2], [0, 2, 3]], np.int32),
        uvs=np.arange(12, dtype=np.float32).reshape(6, 2),
        uv_faces=np.array([[0, 1, 2], [3, 4, 5]], np.int32),
        polygon_ids=np.array([0, 0], np.int32),
    )
    polygons = mesh.polygons()
    np.testing.assert_array_equal(polygons, [[0, 1, 2, 3]])
    uv_index = corner_uv_indices(mesh)
    assert uv_index[1] == 1 and uv_index[3] == 5  # vertices in one triangle only
    assert uv_index[0] in (0, 3) and uv_index[2] in (2, 4)


def test_corner_uvs_need_uvs() -> None:
    with pytest.raises(ValueError, match="no UVs"):
        corner_uv_indices(_quad_cube())
