"""Topology clean-up and checks: small pure functions on :class:`Mesh`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from meshsmith.mesh import Mesh


def edge_use(faces: NDArray[np.integer]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Undirected edges and how often each is used: ``(edges (E, 2), counts (E,))``."""
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    undirected = np.sort(directed, axis=1).astype(np.int64)
    edges, counts = np.unique(undirected, axis=0, return_counts=True)
    return edges, counts


def is_watertight(mesh: Mesh) -> bool:
    """Closed and 2-manifold on edges, with every edge's two faces consistently wound."""
    faces = mesh.faces.astype(np.int64)
    if len(faces) == 0:
        return False
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = directed[:, 0] * (len(mesh.vertices) + 1) + directed[:, 1]
    reverse = directed[:, 1] * (len(mesh.vertices) + 1) + directed[:, 0]
    if len(np.unique(key)) != len(key):
        return False
    return bool(np.isin(reverse, key, assume_unique=False).all())


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
    used, inverse = np.unique(mesh.faces, return_inverse=True)
    faces = inverse.reshape(-1, 3).astype(np.int32)
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
