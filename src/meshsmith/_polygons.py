"""Polygon and part helpers behind :meth:`Mesh.polygons` and :meth:`Mesh.part`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from meshsmith.mesh import IntArray, Mesh


def merge_polygons(faces: IntArray, polygon_ids: IntArray | None) -> IntArray:
    """(P, 4) int32 polygons from triangles grouped by ``polygon_ids`` (see ``Mesh``).

    faces: (F, 3) int32, counter-clockwise. polygon_ids: (F,) int32 or ``None``.
    A group of two triangles sharing an edge becomes one quad with the same winding; a group
    of one stays a triangle (4th index -1). Raises ``ValueError`` for any other group.
    """
    padded = np.full((len(faces), 4), -1, dtype=np.int32)
    padded[:, :3] = faces
    if polygon_ids is None:
        return padded
    order = np.argsort(polygon_ids, kind="stable")
    _, starts, counts = np.unique(polygon_ids[order], return_index=True, return_counts=True)
    if counts.max(initial=1) > 2:
        raise ValueError("a polygon has more than two triangles; only quads are supported")
    first = order[starts]
    pairs = counts == 2
    result = padded[first]
    result[pairs] = _quads(faces[first[pairs]], faces[order[starts[pairs] + 1]])
    return result[np.argsort(first, kind="stable")]


def _quads(a: IntArray, b: IntArray) -> IntArray:
    """(N, 4) quads from triangle pairs (N, 3) that share an edge, keeping ``a``'s winding."""
    in_b = (a[:, :, None] == b[:, None, :]).any(axis=2)
    if (in_b.sum(axis=1) != 2).any():
        raise ValueError("the two triangles of a quad must share exactly one edge")
    k = np.argmin(in_b, axis=1)  # a's vertex opposite the shared edge
    rows = np.arange(len(a))
    x, y, z = a[rows, (k - 1) % 3], a[rows, k], a[rows, (k + 1) % 3]
    d = b[rows, np.argmin((b[:, :, None] == a[:, None, :]).any(axis=2), axis=1)]
    return np.column_stack([x, y, z, d]).astype(np.int32)


def corner_uv_indices(mesh: Mesh) -> IntArray:
    """(C,) int32: the ``uvs`` row of every corner of ``mesh.polygons()``, row by row.

    C counts the polygon corners (4 per quad, 3 per triangle) in the order of the face-vertex
    indices. A corner takes the UV its vertex has in the first triangle of its polygon that
    uses it. Raises ``ValueError`` without ``uv_faces``.
    """
    if mesh.uv_faces is None:
        raise ValueError("the mesh has no UVs")
    polygons = mesh.polygons()
    count = len(mesh.vertices)
    keys = np.repeat(_polygon_of_face(mesh), 3) * count + mesh.faces.ravel()
    order = np.argsort(keys, kind="stable")
    rows = np.nonzero(polygons >= 0)[0].astype(np.int64)
    wanted = rows * count + polygons[polygons >= 0]
    found = order[np.searchsorted(keys[order], wanted)]
    return mesh.uv_faces.ravel()[found].astype(np.int32)


def _polygon_of_face(mesh: Mesh) -> np.ndarray:
    """(F,) int64: the row of ``mesh.polygons()`` that each triangle belongs to."""
    if mesh.polygon_ids is None:
        return np.arange(len(mesh.faces), dtype=np.int64)
    _, first, inverse = np.unique(mesh.polygon_ids, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


def submesh(mesh: Mesh, keep: np.ndarray) -> Mesh:
    """The faces where ``keep`` ((F,) bool) is true, with unused vertices and UVs dropped."""
    faces = mesh.faces[keep]
    used, inverse = np.unique(faces, return_inverse=True)
    changes: dict[str, object] = {
        "vertices": mesh.vertices[used],
        "faces": inverse.reshape(-1, 3).astype(np.int32),
        "part_ids": None,
        "part_names": (),
    }
    if mesh.uvs is not None and mesh.uv_faces is not None:
        used_uv, uv_inverse = np.unique(mesh.uv_faces[keep], return_inverse=True)
        uv_faces = uv_inverse.reshape(-1, 3).astype(np.int32)
        changes |= {"uvs": mesh.uvs[used_uv], "uv_faces": uv_faces}
    if mesh.vertex_colors is not None:
        changes["vertex_colors"] = mesh.vertex_colors[used]
    if mesh.polygon_ids is not None:
        changes["polygon_ids"] = np.unique(mesh.polygon_ids[keep], return_inverse=True)[1].astype(
            np.int32
        )
    return mesh.with_(**changes)
