"""Topology clean-up and checks: small pure functions on :class:`Mesh`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from meshsmith._arrays import pair_keys
from meshsmith.mesh import Mesh


def half_edges(faces: NDArray[np.integer]) -> NDArray[np.int64]:
    """(3F, 2) directed edges: all (0, 1) corners, then (1, 2), then (2, 0)."""
    f = faces.astype(np.int64)
    return np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])


def edge_use(faces: NDArray[np.integer]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Undirected edges and how often each is used: ``(edges (E, 2), counts (E,))``."""
    undirected = np.sort(half_edges(faces), axis=1)
    n = int(undirected.max()) + 1 if len(undirected) else 1
    keys, counts = np.unique(pair_keys(undirected[:, 0], undirected[:, 1], n),
                             return_counts=True)
    return np.stack([keys // n, keys % n], axis=1), counts


def is_watertight(mesh: Mesh) -> bool:
    """Closed and 2-manifold on edges, with every edge's two faces consistently wound:
    every directed edge occurs once, and so does its reverse."""
    if len(mesh.faces) == 0:
        return False
    d = half_edges(mesh.faces)
    n = len(mesh.vertices) + 1
    forward = np.sort(pair_keys(d[:, 0], d[:, 1], n))
    if (forward[1:] == forward[:-1]).any():
        return False
    return bool(np.array_equal(forward, np.sort(pair_keys(d[:, 1], d[:, 0], n))))


def signed_volume(mesh: Mesh) -> float:
    """Enclosed volume in cubic model units; negative when the faces wind inward."""
    v = mesh.vertices.astype(np.float64)[mesh.faces]
    return float(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0)


def drop_degenerate(mesh: Mesh) -> Mesh:
    """Remove faces that repeat a vertex index, then unreferenced vertices."""
    f = mesh.faces
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])
    return compact(mesh.with_(faces=f[keep]))


def compact(mesh: Mesh) -> Mesh:
    """Drop unreferenced vertices (geometry only; UVs and colours are discarded)."""
    used = np.bincount(mesh.faces.ravel(), minlength=len(mesh.vertices)) > 0
    index = (np.cumsum(used) - 1).astype(np.int32)
    faces = index[mesh.faces].reshape(-1, 3)
    return Mesh(vertices=mesh.vertices[used], faces=faces, material=mesh.material)


def largest_component(mesh: Mesh) -> Mesh:
    """Keep the connected component with the most faces: no floating fragments."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = mesh.faces.astype(np.int64)
    n = len(mesh.vertices)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    if count <= 1:
        return mesh
    face_labels = labels[f[:, 0]]
    biggest = np.argmax(np.bincount(face_labels, minlength=count))
    return compact(mesh.with_(faces=mesh.faces[face_labels == biggest]))


def orient_outward(mesh: Mesh) -> Mesh:
    """Flip every face when the surface encloses negative volume."""
    if signed_volume(mesh) >= 0:
        return mesh
    return mesh.with_(faces=np.ascontiguousarray(mesh.faces[:, ::-1]))
