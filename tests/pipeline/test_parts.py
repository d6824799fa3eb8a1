"""Part segmentation by shape diameter, on synthetic solids with known parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from skimage.measure import marching_cubes

from meshsmith.errors import InvalidRequestError
from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import is_watertight, orient_outward
from meshsmith.pipeline.parts import segment_parts, shape_diameter
from meshsmith.spec import GeometryOptions, TaskSpec, TextureOptions


def _solid(field: np.ndarray, grid: np.ndarray) -> Mesh:
    verts, faces, _, _ = marching_cubes(field, 0.0, spacing=(grid[1] - grid[0],) * 3)
    mesh = Mesh((verts + grid[0]).astype(np.float32), faces[:, ::-1].astype(np.int32))
    return orient_outward(mesh)


@pytest.fixture(scope="module")
def dumbbell() -> Mesh:
    """Two balls (radius 0.55 at x = +-0.9) joined by a bar (radius 0.18)."""
    g = np.linspace(-1.6, 1.6, 96)
    x, y, z = np.meshgrid(g, g, g, indexing="ij")
    balls = np.minimum(np.sqrt((x + 0.9) ** 2 + y**2 + z**2),
                       np.sqrt((x - 0.9) ** 2 + y**2 + z**2)) - 0.55
    bar = np.maximum(np.sqrt(y**2 + z**2) - 0.18, np.abs(x) - 0.9)
    return _solid(np.minimum(balls, bar), g)


def _centres(mesh: Mesh) -> np.ndarray:
    return mesh.vertices[mesh.faces].mean(axis=1)


def test_a_dumbbell_splits_into_its_two_balls_and_the_bar(dumbbell: Mesh) -> None:
    parts = segment_parts(dumbbell)
    assert parts.part_ids is not None and len(parts.part_names) == 3
    x = _centres(parts)[:, 0]
    left = np.bincount(parts.part_ids[x < -0.5], minlength=3)
    right = np.bincount(parts.part_ids[x > 0.5], minlength=3)
    middle = np.bincount(parts.part_ids[np.abs(x) < 0.25], minlength=3)
    for faces in (left, right, middle):
        assert faces.max() > 0.97 * faces.sum()  # each region is one part
    assert len({left.argmax(), right.argmax(), middle.argmax()}) == 3


def test_parts_keep_every_face_and_name_the_largest_first(dumbbell: Mesh) -> None:
    parts = segment_parts(dumbbell)
    assert np.array_equal(parts.faces, dumbbell.faces) and is_watertight(parts)
    assert parts.part_names == ("part_01", "part_02", "part_03")
    assert parts.part_ids is not None
    areas = [trimesh.Trimesh(parts.vertices, parts.faces[parts.part_ids == i]).area
             for i in range(3)]
    assert areas == sorted(areas, reverse=True)


def test_a_ball_is_one_part() -> None:
    g = np.linspace(-1.2, 1.2, 64)
    x, y, z = np.meshgrid(g, g, g, indexing="ij")
    ball = _solid(np.sqrt(x**2 + y**2 + z**2) - 1.0, g)
    assert segment_parts(ball).part_names == ("part_01",)


def test_shape_diameter_of_a_ball_is_close_to_its_diameter_times_the_cone_average() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    mesh = Mesh(sphere.vertices.astype(np.float32), sphere.faces.astype(np.int32))
    sdf = shape_diameter(mesh)
    # a chord at angle t from the inward normal is 2 cos t long: between 1.0 and 2.0 here
    assert 1.4 < np.median(sdf) < 2.0 and sdf.std() < 0.05 * sdf.mean()


def test_segmentation_is_deterministic(dumbbell: Mesh) -> None:
    a, b = segment_parts(dumbbell), segment_parts(dumbbell)
    assert a.part_ids is not None and b.part_ids is not None
    assert np.array_equal(a.part_ids, b.part_ids)


def test_parts_are_geometry_only_and_not_quad() -> None:
    front = {"front": Path("front.png")}
    with pytest.raises(InvalidRequestError, match="geometry only"):
        TaskSpec(views=front, geometry=GeometryOptions("512", parts=True))
    with pytest.raises(InvalidRequestError, match="quad"):
        GeometryOptions("512", quad=True, parts=True)
    TaskSpec(views=front, geometry=GeometryOptions("512", parts=True),
             texture=TextureOptions(enabled=False))
