"""Rasterise triangles in UV space: which face, at which barycentric weights, owns each texel.

Pure numpy: triangles are grouped by the size of their texel bounding box and every group
is tested against its candidate texel centres at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_MAX_CANDIDATES = 4_000_000
_EDGE_EPS = -1e-6


@dataclass(frozen=True)
class TexelMap:
    """face: (H, W) int32 face index per texel, -1 where no face covers it.
    bary: (H, W, 3) float32 barycentric weights of the face's three corners.
    Row 0 of the image is the top (v = 1)."""

    face: NDArray[np.int32]
    bary: NDArray[np.float32]

    @property
    def covered(self) -> NDArray[np.bool_]:
        return np.asarray(self.face >= 0)


def rasterize(uvs: NDArray[np.float32], uv_faces: NDArray[np.int32], size: int) -> TexelMap:
    """Rasterise every UV triangle into a ``size`` x ``size`` texel map."""
    pts = np.empty((len(uvs), 2), dtype=np.float64)
    pts[:, 0] = uvs[:, 0] * size - 0.5
    pts[:, 1] = (1.0 - uvs[:, 1]) * size - 0.5
    tri = pts[uv_faces]  # (F, 3, 2)
    lo = np.ceil(tri.min(axis=1)).astype(np.int64)
    hi = np.floor(tri.max(axis=1)).astype(np.int64)
    span = np.maximum(hi - lo + 1, 0).max(axis=1)
    face = np.full((size, size), -1, dtype=np.int32)
    bary = np.zeros((size, size, 3), dtype=np.float32)
    bucket = np.ceil(np.log2(np.maximum(span, 1))).astype(np.int64)
    for b in np.unique(bucket[span > 0]):
        ids = np.nonzero((bucket == b) & (span > 0))[0]
        _fill_group(tri, lo, ids, 1 << int(b), size, face, bary)
    return TexelMap(face=face, bary=bary)


def _fill_group(tri: NDArray[np.float64], lo: NDArray[np.int64], ids: NDArray[np.int64],
                k: int, size: int, face: NDArray[np.int32], bary: NDArray[np.float32]) -> None:
    """Test the k x k texel centres above each triangle's lower corner and write hits."""
    oy, ox = np.mgrid[0:k, 0:k]
    offsets = np.stack([ox.ravel(), oy.ravel()], axis=1)  # (k*k, 2)
    chunk = max(1, _MAX_CANDIDATES // (k * k))
    for start in range(0, len(ids), chunk):
        sel = ids[start:start + chunk]
        cand = lo[sel][:, None, :] + offsets[None, :, :]  # (n, k*k, 2)
        w = _barycentric(tri[sel], cand.astype(np.float64))
        inside = (w >= _EDGE_EPS).all(axis=2)
        inside &= (cand >= 0).all(axis=2) & (cand < size).all(axis=2)
        n_idx, c_idx = np.nonzero(inside)
        x, y = cand[n_idx, c_idx, 0], cand[n_idx, c_idx, 1]
        face[y, x] = sel[n_idx]
        bary[y, x] = np.clip(w[n_idx, c_idx], 0.0, 1.0)


def _barycentric(tri: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.float64]:
    """tri: (n, 3, 2); p: (n, m, 2). Returns (n, m, 3) barycentric weights."""
    a, b, c = tri[:, 0:1], tri[:, 1:2], tri[:, 2:3]
    v0, v1, v2 = b - a, c - a, p - a
    den = v0[..., 0] * v1[..., 1] - v1[..., 0] * v0[..., 1]
    den = np.where(np.abs(den) < 1e-12, np.inf, den)
    wb = (v2[..., 0] * v1[..., 1] - v1[..., 0] * v2[..., 1]) / den
    wc = (v0[..., 0] * v2[..., 1] - v2[..., 0] * v0[..., 1]) / den
    return np.stack([1.0 - wb - wc, wb, wc], axis=-1)
