from __future__ import annotations

import numpy as np
import trimesh

from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import edge_use, is_watertight
from meshsmith.pipeline.repair import (
    fan_labels,
    fill_holes,
    half_edge_twins,
    make_manifold,
    split_pinched_vertices,
)


def _box(offset: float) -> tuple[np.ndarray, np.ndarray]:
    b = trimesh.creation.box()
    shift = np.array([offset, 0.0, 0.0])
    return (np.asarray(b.vertices) + shift).astype(np.float32), b.faces.astype(np.int32)


def _two_welded_cubes(shift: list[float]) -> Mesh:
    """Two unit cubes, the second moved by ``shift``, with coincident corners merged."""
    v0, f0 = _box(0.0)
    v1, f1 = _box(0.0)
    verts = np.concatenate([v0, v1 + np.float32(shift)])
    faces = np.concatenate([f0, f1 + len(v0)])
    _, inverse = np.unique(verts.round(6), axis=0, return_inverse=True)
    _, first = np.unique(inverse, return_index=True)
    return Mesh(vertices=verts[first], faces=inverse.reshape(-1)[faces].astype(np.int32))


def test_two_cubes_sharing_an_edge_become_manifold() -> None:
    mesh = _two_welded_cubes([1, 1, 0])  # touch along one edge only
    _, counts = edge_use(mesh.faces)
    assert (counts > 2).any()
    fixed = make_manifold(mesh)
    _, counts = edge_use(fixed.faces)
    assert (counts == 2).all()
    assert is_watertight(fixed)


def test_fill_holes_closes_an_open_box() -> None:
    v, f = _box(0.0)
    mesh = Mesh(vertices=v, faces=f[2:])  # remove one side (two triangles)
    assert not is_watertight(mesh)
    assert is_watertight(fill_holes(mesh))


def test_pinched_vertex_is_split_per_fan() -> None:
    mesh = _two_welded_cubes([1, 1, 1])  # touch at one corner only
    assert len(mesh.vertices) == 15
    assert len(split_pinched_vertices(mesh).vertices) == 16


def test_pinched_vertex_keeps_its_index_for_the_first_fan_and_copies_for_the_others() -> None:
    mesh = _two_welded_cubes([1, 1, 1])
    split = split_pinched_vertices(mesh)
    assert np.array_equal(split.vertices[:15], mesh.vertices)
    assert np.array_equal(split.vertices[15], split.vertices[np.argmax(
        (mesh.vertices == split.vertices[15]).all(axis=1))])
    assert is_watertight(split)
    assert split_pinched_vertices(split) is split


def test_fan_labels_join_the_corners_around_a_vertex_on_an_open_surface() -> None:
    v, f = _box(0.0)
    faces = f[2:].astype(np.int64)  # one side removed: its four corners sit on a boundary
    labels = fan_labels(half_edge_twins(faces))
    corner_v = faces.T.ravel()
    for vertex in range(len(v)):
        assert len(set(labels[corner_v == vertex].tolist())) == 1
    assert len(set(labels.tolist())) == len(np.unique(corner_v))


def test_half_edge_twins_pair_opposite_half_edges_and_mark_a_flipped_face() -> None:
    _, f = _box(0.0)
    twins = half_edge_twins(f)
    assert (twins >= 0).all()
    assert np.array_equal(twins[twins], np.arange(len(twins)))
    d = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    assert np.array_equal(d[twins], d[:, ::-1])
    flipped = f.copy()
    flipped[0] = flipped[0, ::-1]
    missing = half_edge_twins(flipped) < 0
    assert missing.reshape(3, -1)[:, 0].all()
    assert missing.sum() == 6  # face 0's three edges, and each neighbour's side of them
