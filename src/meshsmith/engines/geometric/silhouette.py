"""2-D fields derived from a foreground mask: signed distance and inflation height.

All outputs are in normalised framed units (half the framed image = 1.0), float32.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

_ROW_CHUNK = 32
_FAR = np.float32(1e6)
#: Gaussian sigma (pixels) applied to the signed distance: less than the 1-px quantisation.
EDGE_SMOOTHING_PX = 0.8


def signed_distance(mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Signed distance to the silhouette edge: positive inside, negative outside.

    A binary mask puts the edge on the pixel grid; a light blur of the distance removes
    that staircase, so grids finer than the photo do not carve pixel steps into the surface.

    mask: (S, S) bool. Returns (S, S) float32 in normalised units (pixels / (S / 2)),
    measured to the pixel boundary (so a lone pixel is +0.5 px, its neighbour -0.5 px).
    """
    m = mask.astype(np.uint8)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    sdf = np.where(mask, inside - 0.5, -(outside - 0.5)).astype(np.float32)
    smooth = cv2.GaussianBlur(sdf, (0, 0), EDGE_SMOOTHING_PX)
    return (smooth / (mask.shape[0] / 2)).astype(np.float32)


def inflation_height(mask: NDArray[np.bool_], work_size: int = 384) -> NDArray[np.float32]:
    """Half-thickness of the union of the silhouette's inscribed balls.

    Every inside pixel ``c`` with edge distance ``d(c)`` carries a ball of radius ``d(c)``;
    the height at ``p`` is ``max_c sqrt(d(c)^2 - |p - c|^2)``. A disc gives a sphere and
    a long bar a round tube: depth follows the local width. Solved exactly as a separable
    lower envelope of parabolas on a ``work_size`` grid.

    mask: (S, S) bool. Returns (S, S) float32 half-thickness in normalised units.
    """
    size = mask.shape[0]
    small = _resize_mask(mask, min(work_size, size))
    d = cv2.distanceTransform(small.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    g = np.where(small, -(d.astype(np.float32) ** 2), _FAR)
    env = _parabola_envelope(_parabola_envelope(g).T).T
    h = np.sqrt(np.clip(-env, 0.0, None)) / (small.shape[0] / 2)
    h[~small] = 0.0
    return cv2.resize(h.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def _parabola_envelope(g: NDArray[np.float32]) -> NDArray[np.float32]:
    """Row-wise ``min_c ((x - c)^2 + g[r, c])`` by brute force over row chunks.

    g: (R, W) float32. Returns (R, W) float32.
    """
    width = g.shape[1]
    idx = np.arange(width, dtype=np.float32)
    sq = (idx[:, None] - idx[None, :]) ** 2  # (x, c)
    out = np.empty_like(g)
    for start in range(0, g.shape[0], _ROW_CHUNK):
        block = g[start : start + _ROW_CHUNK]
        out[start : start + _ROW_CHUNK] = (sq[None, :, :] + block[:, None, :]).min(axis=2)
    return out


def _resize_mask(mask: NDArray[np.bool_], size: int) -> NDArray[np.bool_]:
    if mask.shape[0] == size:
        return mask
    area = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return np.asarray(area >= 0.5)
