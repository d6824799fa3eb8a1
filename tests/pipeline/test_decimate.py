from __future__ import annotations

import numpy as np
import pytest
import trimesh

from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import is_watertight, signed_volume
from meshsmith.pipeline.decimate import split_longest_edges, subdivide, to_face_count


def _sphere(subdivisions: int) -> Mesh:
    s = trimesh.creation.icosphere(subdivisions=subdivisions)
    return Mesh(vertices=s.vertices.astype(np.float32), faces=s.faces.astype(np.int32))


@pytest.mark.parametrize("target", [10_000, 12_346, 60_000])
def test_reaches_the_exact_face_count_and_stays_watertight(target: int) -> None:
    mesh = to_face_count(_sphere(6), target)
    assert len(mesh.faces) == target
    assert is_watertight(mesh)
    assert trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).is_watertight


def test_subdivision_raises_the_count_fourfold_and_keeps_the_shape() -> None:
    mesh = _sphere(3)
    finer = subdivide(mesh)
    assert len(finer.faces) == 4 * len(mesh.faces)
    assert is_watertight(finer)
    assert signed_volume(finer) == pytest.approx(signed_volume(mesh), rel=1e-6)


def test_edge_splits_add_two_faces_each() -> None:
    mesh = _sphere(3)
    split = split_longest_edges(mesh, 25)
    assert len(split.faces) == len(mesh.faces) + 50
    assert is_watertight(split)


def test_keeps_only_the_largest_piece_at_the_exact_count() -> None:
    big, small = _sphere(5), _sphere(2)
    verts = np.concatenate([big.vertices, small.vertices * 0.1 + 3.0])
    faces = np.concatenate([big.faces, small.faces + len(big.vertices)])
    for target in (8_000, 30_000):  # decimated and refined paths
        mesh = to_face_count(Mesh(vertices=verts, faces=faces), target)
        assert len(mesh.faces) == target
        assert mesh.vertices.max() < 1.5  # the small far sphere is gone
        assert is_watertight(mesh)
