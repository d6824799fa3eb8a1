from __future__ import annotations

import numpy as np
import trimesh

from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import edge_use, is_watertight
from meshsmith.pipeline.repair import fill_holes, make_manifold, split_pinched_vertices


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
