"""Estimate the field of view of one camera circling the object, from silhouettes alone.

With the right field of view, the views' cones agree: every silhouette pixel's ray meets
the hull the other views carve. With a wrong one they disagree and some rays miss it. We
pick the field of view whose hull explains the silhouettes best: orthographic up to about
60 degrees across the frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from numpy.typing import NDArray

from meshsmith.camera import Camera
from meshsmith.engines.geometric.field import SilhouetteCone

MAX_TAN_HALF = 0.6      # about 62 degrees across the framed view
COARSE_STEPS = 13
REFINE_STEPS = 7
RAY_SAMPLES = 96        # depths sampled along each silhouette pixel's ray
TIE_TOLERANCE = 0.002   # scores this close to the best count as equally good
IMAGE = 64              # silhouette resolution while scoring
EXTENT = 1.3
SCORE_THREADS = 2       # candidates are scored concurrently (numpy and OpenCV release the GIL)


def estimate_tan_half(masks: Mapping[str, NDArray[np.bool_]],
                      centers: Mapping[str, tuple[float, float]]) -> float:
    """The ``tan_half`` (see :class:`Camera`) that best explains all silhouettes.

    masks: slot -> (S, S) bool framed silhouettes; centers: slot -> principal point (px).
    """
    small = {s: _downsample(m) for s, m in masks.items()}
    scale = {s: IMAGE / masks[s].shape[0] for s in masks}
    low = {s: (c[0] * scale[s], c[1] * scale[s]) for s, c in centers.items()}
    grid = np.linspace(0.0, MAX_TAN_HALF, COARSE_STEPS)
    best = _best(grid, small, low)
    step = grid[1] - grid[0]
    fine = np.clip(np.linspace(best - step, best + step, REFINE_STEPS), 0.0, MAX_TAN_HALF)
    return _best(fine, small, low)


def _best(candidates: NDArray[np.float64], masks: Mapping[str, NDArray[np.bool_]],
          centers: Mapping[str, tuple[float, float]]) -> float:
    """The middle of the candidates that explain the silhouettes (nearly) best.

    Symmetric objects (a bottle) explain their silhouettes equally well over a range of
    fields of view; the middle of that range is the least committal choice.
    """
    with ThreadPoolExecutor(max_workers=SCORE_THREADS) as pool:
        scores = np.array(list(pool.map(lambda t: consistency(float(t), masks, centers),
                                        candidates)))
    near_best = candidates[scores >= scores.max() - TIE_TOLERANCE]
    return float(near_best.mean())


def consistency(tan_half: float, masks: Mapping[str, NDArray[np.bool_]],
                centers: Mapping[str, tuple[float, float]]) -> float:
    """Mean share of each silhouette that the hull carved by the views re-projects onto.

    A silhouette pixel is explained when its viewing ray meets the intersection of the
    other views' cones; the ray is sampled at :data:`RAY_SAMPLES` depths.
    """
    cams = {s: Camera(s, IMAGE, centers[s], tan_half) for s in masks}
    cones = {s: SilhouetteCone.from_mask(cams[s], masks[s]) for s in masks}
    shares = []
    for slot, mask in masks.items():
        rays = _ray_points(cams[slot], mask)
        inside = np.ones(rays.shape[:2], dtype=bool)
        for other, cone in cones.items():
            if other != slot:
                inside &= cone.at(rays) > 0
        shares.append(float(inside.any(axis=1).mean()) if len(rays) else 0.0)
    return float(np.mean(shares))


def _ray_points(camera: Camera, mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    """(P, K, 3) world points along the rays of the mask's pixels, K depths each."""
    rows, cols = np.nonzero(mask)
    half = camera.size / 2
    u = (cols + 0.5 - camera.center[0]) / half
    v = -(rows + 0.5 - camera.center[1]) / half
    depth = np.linspace(-EXTENT, EXTENT, RAY_SAMPLES, dtype=np.float32)
    scale = 1.0 - depth * camera.tan_half  # (K,)
    right, up, toward = camera.basis.astype(np.float32)
    pts = ((u[:, None] * scale)[..., None] * right + (v[:, None] * scale)[..., None] * up
           + depth[None, :, None] * toward)
    return pts.astype(np.float32)


def _downsample(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    area = cv2.resize(mask.astype(np.float32), (IMAGE, IMAGE), interpolation=cv2.INTER_AREA)
    return np.asarray(area >= 0.5)
