"""quad_remesh (QuadriFlow in Blender) and the polygon bookkeeping around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from meshsmith.blender import quad_count, quad_remesh
from meshsmith.blender.remesh import triangulate_polygons
from meshsmith.errors import InvalidFaceCountError, RemeshError
from meshsmith.mesh import Mesh

TARGET = 1_000


@pytest.fixture(scope="module")
def remeshed(blender: Path) -> Mesh:
    """An icosphere of 5,120 triangles remeshed to about TARGET quads."""
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=1.0)
    assert len(sphere.faces) == 5_120
    mesh = Mesh(vertices=sphere.vertices.astype(np.float32), faces=sphere.faces.astype(np.int32))
    return quad_remesh(mesh, faces=TARGET)


def test_quad_remesh_makes_mostly_quads_near_the_target(remeshed: Mesh) -> None:
    polygons = remeshed.polygons()  # raises if polygon_ids do not pair adjacent triangles
    quads = quad_count(remeshed)
    assert quads >= 0.95 * len(polygons)
    assert 0.7 * TARGET <= quads <= 1.3 * TARGET


def test_quad_remesh_splits_each_quad_into_two_triangles(remeshed: Mesh) -> None:
    assert remeshed.polygon_ids is not None
    counts = np.bincount(remeshed.polygon_ids)
    assert set(counts.tolist()) <= {1, 2}
    assert 2 * quad_count(remeshed) + int((counts == 1).sum()) == len(remeshed.faces)


def test_quad_remesh_keeps_a_closed_surface_on_the_sphere(remeshed: Mesh) -> None:
    surface = trimesh.Trimesh(remeshed.vertices, remeshed.faces, process=False)
    assert surface.is_watertight and surface.is_winding_consistent
    assert surface.volume > 0  # still facing outwards
    radii = np.linalg.norm(remeshed.vertices, axis=1)
    assert radii.min() > 0.95 and radii.max() < 1.05
    assert remeshed.uvs is None and not remeshed.has_parts


def test_quad_remesh_of_an_open_fin_raises_remesh_error(blender: Path) -> None:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]], np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3], [0, 2, 4]], np.int32)  # three faces on one edge
    with pytest.raises(RemeshError, match="manifold") as raised:
        quad_remesh(Mesh(vertices=vertices, faces=faces), faces=100)
    assert raised.value.code == 10062001


def test_quad_remesh_rejects_a_tiny_face_count() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=1)
    mesh = Mesh(vertices=sphere.vertices.astype(np.float32), faces=sphere.faces.astype(np.int32))
    with pytest.raises(InvalidFaceCountError):
        quad_remesh(mesh, faces=2)


def test_triangulate_polygons_pairs_quads_and_fans_larger_polygons() -> None:
    corners = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], np.int32)
    sizes = np.array([4, 3, 5], np.int32)  # a quad, a triangle, a pentagon
    triangles, ids = triangulate_polygons(corners, sizes)
    np.testing.assert_array_equal(
        triangles, [[0, 1, 2], [0, 2, 3], [4, 5, 6], [7, 8, 9], [7, 9, 10], [7, 10, 11]]
    )
    np.testing.assert_array_equal(ids, [0, 0, 1, 2, 3, 4])


def test_triangulated_quads_rebuild_into_the_same_quads() -> None:
    corners = np.array([0, 1, 2, 3, 1, 4, 5, 2], np.int32)
    triangles, ids = triangulate_polygons(corners, np.array([4, 4], np.int32))
    vertices = np.zeros((6, 3), np.float32)
    polygons = Mesh(vertices=vertices, faces=triangles, polygon_ids=ids).polygons()
    np.testing.assert_array_equal(polygons, [[0, 1, 2, 3], [1, 4, 5, 2]])


def test_smart_low_poly_with_quad_fits_the_quads_to_the_dense_surface(blender: Path) -> None:
    from meshsmith.pipeline.generate import low_poly, topology
    from meshsmith.spec import GeometryOptions, TaskSpec

    sphere = trimesh.creation.icosphere(subdivisions=6, radius=1.0)
    dense = Mesh(vertices=sphere.vertices.astype(np.float32), faces=sphere.faces.astype(np.int32))
    spec = TaskSpec(views={"front": Path("front.png")},
                    geometry=GeometryOptions("512", 600, quad=True, smart_low_poly=True))
    fitted, plain = low_poly(spec, dense), topology(spec, dense)
    assert quad_count(fitted) >= 0.9 * len(fitted.polygons()) and fitted.polygon_ids is not None
    assert _radial_error(fitted) < 0.7 * _radial_error(plain)


def _radial_error(mesh: Mesh) -> float:
    """Mean distance of the surface from the unit sphere."""
    points = trimesh.sample.sample_surface(trimesh.Trimesh(mesh.vertices, mesh.faces), 20_000,
                                           seed=0)[0]
    return float(np.abs(np.linalg.norm(points, axis=1) - 1.0).mean())
