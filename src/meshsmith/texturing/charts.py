"""UVs by construction: projection charts packed into one atlas.

Each face is assigned the axis direction (+-X, +-Y, +-Z) it faces most; connected runs of
faces with one direction form a chart, flattened by orthographic projection along that
axis (no iterative unwrapping, so a million faces take seconds). Charts share one texel
density and are shelf-packed with a gutter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

DIRECTIONS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]],
                      dtype=np.float32)
#: (u axis, v axis, u sign) per direction, so every chart is seen from outside.
_PLANES = ((2, 1, -1), (2, 1, 1), (0, 2, -1), (0, 2, 1), (0, 1, 1), (0, 1, -1))
SMOOTHING_ROUNDS = 3
MIN_FACING = 0.35       # never assign a face a direction it faces less than this
GUTTER_TEXELS = 3
PACK_SEARCH_STEPS = 10


@dataclass(frozen=True)
class Atlas:
    """uvs: (T, 2) float32 in [0, 1]; uv_faces: (F, 3) int32; charts: number of charts."""

    uvs: NDArray[np.float32]
    uv_faces: NDArray[np.int32]
    charts: int


def face_normals(vertices: NDArray[np.float32], faces: NDArray[np.int32]) -> NDArray[np.float32]:
    """(F, 3) float32 unit normals (zero for degenerate faces)."""
    tri = vertices[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.asarray(n / np.maximum(length, 1e-20), dtype=np.float32)


def face_adjacency(faces: NDArray[np.int32]) -> NDArray[np.int64]:
    """(A, 2) pairs of faces that share an edge."""
    f = faces.astype(np.int64)
    n = int(f.max()) + 1
    a = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    b = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    keys = np.minimum(a, b) * n + np.maximum(a, b)
    owner = np.tile(np.arange(len(f)), 3)
    order = np.argsort(keys, kind="stable")
    k, o = keys[order], owner[order]
    same = np.nonzero(k[1:] == k[:-1])[0]
    return np.stack([o[same], o[same + 1]], axis=1)


def assign_directions(normals: NDArray[np.float32], adjacency: NDArray[np.int64]
                      ) -> NDArray[np.int64]:
    """(F,) direction index per face, smoothed by neighbour votes to avoid speckle charts."""
    facing = normals @ DIRECTIONS.T  # (F, 6)
    labels = np.argmax(facing, axis=1)
    for _ in range(SMOOTHING_ROUNDS):
        keys = np.concatenate([adjacency[:, 0] * 6 + labels[adjacency[:, 1]],
                               adjacency[:, 1] * 6 + labels[adjacency[:, 0]]])
        votes = np.bincount(keys, minlength=facing.size).reshape(facing.shape).astype(np.float32)
        votes += 0.5 * np.eye(6, dtype=np.float32)[labels]
        votes[facing < MIN_FACING] = -1.0
        labels = np.where(votes.max(axis=1) > 0, np.argmax(votes, axis=1), labels)
    return labels


def chart_ids(labels: NDArray[np.int64], adjacency: NDArray[np.int64]) -> NDArray[np.int64]:
    """(F,) connected-component id of each face among faces of its own direction."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    same = adjacency[labels[adjacency[:, 0]] == labels[adjacency[:, 1]]]
    n = len(labels)
    graph = coo_matrix((np.ones(len(same), np.int8), (same[:, 0], same[:, 1])), shape=(n, n))
    _, ids = connected_components(graph, directed=False)
    return ids.astype(np.int64)


def build_atlas(vertices: NDArray[np.float32], faces: NDArray[np.int32], size: int) -> Atlas:
    """Projection charts for a mesh, packed for a ``size`` x ``size`` texture."""
    adjacency = face_adjacency(faces)
    labels = assign_directions(face_normals(vertices, faces), adjacency)
    ids = chart_ids(labels, adjacency)
    corner_key = ids[:, None] * len(vertices) + faces.astype(np.int64)
    unique, inverse = np.unique(corner_key.ravel(), return_inverse=True)
    uv_faces = inverse.reshape(-1, 3).astype(np.int32)
    chart_of = unique // len(vertices)
    vert_of = unique % len(vertices)
    label_of = np.zeros(ids.max() + 1, np.int64)
    label_of[ids] = labels
    flat = _project(vertices[vert_of], label_of[chart_of])
    uvs = _pack(flat, chart_of, size)
    return Atlas(uvs=uvs, uv_faces=uv_faces, charts=int(ids.max()) + 1)


def _project(points: NDArray[np.float32], labels: NDArray[np.int64]) -> NDArray[np.float64]:
    """(T, 2) planar coordinates of each chart corner along its chart's direction."""
    out = np.empty((len(points), 2), dtype=np.float64)
    for label, (ua, va, sign) in enumerate(_PLANES):
        sel = labels == label
        out[sel, 0] = sign * points[sel, ua]
        out[sel, 1] = points[sel, va]
    return out


def _pack(flat: NDArray[np.float64], chart: NDArray[np.int64], size: int) -> NDArray[np.float32]:
    """Shelf-pack charts at one shared scale into [0, 1]^2; returns (T, 2) float32 UVs."""
    n = int(chart.max()) + 1
    lo = np.full((n, 2), np.inf)
    hi = np.full((n, 2), -np.inf)
    np.minimum.at(lo, chart, flat)
    np.maximum.at(hi, chart, flat)
    extent = hi - lo
    gutter = GUTTER_TEXELS / size
    good, bad = 0.0, 2.0 / max(float(np.sqrt(np.prod(extent + 1e-9, axis=1).sum())), 1e-9)
    for _ in range(PACK_SEARCH_STEPS):  # bisect the largest scale that still fits
        mid = (good + bad) / 2
        good, bad = (mid, bad) if _shelves(extent * mid, gutter) is not None else (good, mid)
    origin = _shelves(extent * good, gutter)
    if good == 0.0 or origin is None:
        raise RuntimeError("could not pack the texture atlas")
    return ((flat - lo[chart]) * good + origin[chart]).astype(np.float32)


def _shelves(extent: NDArray[np.float64], gutter: float) -> NDArray[np.float64] | None:
    """Bottom-left origins of boxes placed in rows (tallest first), or None if they overflow."""
    order = np.argsort(-extent[:, 1], kind="stable")
    origin = np.zeros_like(extent)
    x = y = gutter
    row_height = 0.0
    for i in order:
        w, h = extent[i]
        if x + w + gutter > 1.0:
            x, y = gutter, y + row_height + gutter
            row_height = 0.0
        if y + h + gutter > 1.0 or w + 2 * gutter > 1.0:
            return None
        origin[i] = (x, y)
        x += w + gutter
        row_height = max(row_height, h)
    return origin
