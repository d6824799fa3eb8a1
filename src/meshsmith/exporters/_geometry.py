"""Normals shared by the writers (numpy only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from meshsmith.mesh import FloatArray, IntArray

#: Used where a normal is undefined (degenerate faces, unreferenced vertices): +Y, glTF's up.
FALLBACK_NORMAL = np.array([0.0, 1.0, 0.0], dtype=np.float32)


def face_normals(vertices: FloatArray, faces: IntArray, unit: bool = True) -> FloatArray:
    """(F, 3) float32 face normals from CCW winding.

    With ``unit=False`` each row is the raw cross product, whose length is twice the face area
    (model units squared), so summing rows weights by area. Degenerate faces give zero rows.
    """
    tri = vertices[faces].astype(np.float64)
    cross: NDArray[np.float64] = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    if not unit:
        return cross.astype(np.float32)
    length: NDArray[np.float64] = np.linalg.norm(cross, axis=1, keepdims=True)
    unit_cross = np.divide(cross, length, out=np.zeros_like(cross), where=length > 0)
    return unit_cross.astype(np.float32)


def vertex_normals(vertices: FloatArray, faces: IntArray) -> FloatArray:
    """(V, 3) float32 unit smooth normals, area-weighted over the faces around each vertex.

    Vertices with no (non-degenerate) face get :data:`FALLBACK_NORMAL`, so every row has
    length 1 as glTF requires.
    """
    cross = face_normals(vertices, faces, unit=False).astype(np.float64)
    corners = faces.ravel()
    summed = np.stack(
        [np.bincount(corners, np.repeat(cross[:, k], 3), len(vertices)) for k in range(3)], axis=1
    )
    length = np.linalg.norm(summed, axis=1, keepdims=True)
    normals = np.where(length > 0, summed / np.where(length > 0, length, 1.0), FALLBACK_NORMAL)
    return normals.astype(np.float32)
