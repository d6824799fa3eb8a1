"""Rasterise triangles in UV space: which face, at which barycentric weights, owns each texel.

Pure numpy: each triangle's barycentric weights are affine in the texel position, so they
are set up once per triangle; triangles are grouped by the size of their texel bounding box
and every group is tested against its candidate texel centres at once, in chunks that two
threads test while the results are written in a fixed order.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_MAX_CANDIDATES = 1_000_000
_EDGE_EPS = np.float32(-1e-5)
RASTER_THREADS = 2  # chunks are tested concurrently (numpy releases the GIL) and written in order


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
    span = np.floor(tri.max(axis=1)).astype(np.int64) - lo + 1  # (F, 2) texels in x, y
    coeffs = _edge_functions(tri - lo[:, None, :])
    face = np.full((size, size), -1, dtype=np.int32)
    bary = np.zeros((size, size, 3), dtype=np.float32)
    live = (span > 0).all(axis=1) & np.isfinite(coeffs).all(axis=(1, 2))
    with ThreadPoolExecutor(max_workers=RASTER_THREADS) as pool:
        hits = pool.map(lambda job: _hits(coeffs, lo, job[0], job[1], size),
                        _jobs(span, live))
        for ids, x, y, w in hits:  # in job order, so overlaps resolve the same every run
            face[y, x] = ids
            bary[y, x] = w
    return TexelMap(face=face, bary=bary)


def _jobs(span: NDArray[np.int64], live: NDArray[np.bool_]
          ) -> Iterator[tuple[NDArray[np.int64], tuple[int, int]]]:
    """Triangles grouped by their texel box rounded up to powers of two, in chunks of at
    most :data:`_MAX_CANDIDATES` candidate texels: ``(face ids, (box width, height))``."""
    bx = np.ceil(np.log2(np.maximum(span[:, 0], 1))).astype(np.int64)
    by = np.ceil(np.log2(np.maximum(span[:, 1], 1))).astype(np.int64)
    group = bx * 64 + by
    for g in np.unique(group[live]):
        ids = np.nonzero(live & (group == g))[0]
        box = (1 << int(g // 64), 1 << int(g % 64))
        chunk = max(1, _MAX_CANDIDATES // (box[0] * box[1]))
        for start in range(0, len(ids), chunk):
            yield ids[start:start + chunk], box


def _edge_functions(tri: NDArray[np.float64]) -> NDArray[np.float32]:
    """(F, 3, 3) float32: weight k at (x, y) is ``c[k, 0] * x + c[k, 1] * y + c[k, 2]``.

    ``tri`` is given relative to each triangle's lowest texel, so magnitudes stay small.
    """
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(np.abs(area) > 1e-12, 1.0 / area, np.nan)
    out = np.empty((len(tri), 3, 3), dtype=np.float64)
    for k, (p, q) in enumerate(((b, c), (c, a), (a, b))):  # weight of the opposite corner
        out[:, k, 0] = (p[:, 1] - q[:, 1]) * inv
        out[:, k, 1] = (q[:, 0] - p[:, 0]) * inv
        out[:, k, 2] = (p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]) * inv
    return out.astype(np.float32)


def _hits(coeffs: NDArray[np.float32], lo: NDArray[np.int64], ids: NDArray[np.int64],
          k: tuple[int, int], size: int
          ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64],
                     NDArray[np.float32]]:
    """Test the kx x ky texel centres from each triangle's lower corner: the hits as
    ``(face ids (H,), x (H,), y (H,), barycentric weights (H, 3))``."""
    oy, ox = np.mgrid[0:k[1], 0:k[0]]
    off_x, off_y = ox.ravel(), oy.ravel()
    cx = lo[ids, 0:1] + off_x[None, :]  # (n, m)
    cy = lo[ids, 1:2] + off_y[None, :]
    c = coeffs[ids]
    fx = off_x.astype(np.float32)[None, :, None]
    fy = off_y.astype(np.float32)[None, :, None]
    w = c[:, None, :, 0] * fx + c[:, None, :, 1] * fy + c[:, None, :, 2]
    inside = (w >= _EDGE_EPS).all(axis=2)
    inside &= (cx >= 0) & (cx < size) & (cy >= 0) & (cy < size)
    n_idx, c_idx = np.nonzero(inside)
    return ids[n_idx], cx[n_idx, c_idx], cy[n_idx, c_idx], np.clip(w[n_idx, c_idx], 0.0, 1.0)
