"""Estimate the field of view of one camera circling the object, from silhouettes alone.

With the right field of view, the views' cones agree: the hull they carve re-projects onto
every silhouette. With a wrong one they disagree, the hull shrinks, and its projections
cover less of each silhouette. We pick the field of view whose hull explains the
silhouettes best: orthographic up to about 60 degrees across the frame.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np
from numpy.typing import NDArray

from meshsmith.camera import Camera
from meshsmith.engines.geometric.field import SilhouetteCone, VisualHull

MAX_TAN_HALF = 0.6      # about 62 degrees across the framed view
COARSE_STEPS = 13
REFINE_STEPS = 7
GRID = 112              # hull samples per axis while scoring (denser than the pixels)
IMAGE = 64              # silhouette resolution while scoring
EXTENT = 1.3


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
    scores = [consistency(float(t), masks, centers) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def consistency(tan_half: float, masks: Mapping[str, NDArray[np.bool_]],
                centers: Mapping[str, tuple[float, float]]) -> float:
    """Mean IoU between each silhouette and the re-projection of the hull they carve."""
    cams = {s: Camera(s, IMAGE, centers[s], tan_half) for s in masks}
    hull = VisualHull(tuple(SilhouetteCone.from_mask(cams[s], masks[s]) for s in masks))
    axis = np.linspace(-EXTENT, EXTENT, GRID, dtype=np.float32)
    inside = hull.grid((axis, axis, axis)) > 0
    if not inside.any():
        return 0.0
    points = axis[np.argwhere(inside)]
    return float(np.mean([_iou(_splat(cams[s], points), masks[s]) for s in masks]))


def _splat(camera: Camera, points: NDArray[np.float32]) -> NDArray[np.bool_]:
    """(IMAGE, IMAGE) bool image of where the points land, closed over voxel gaps."""
    col, row, _ = camera.project(points)
    c = np.clip(np.rint(col).astype(np.int64), 0, IMAGE - 1)
    r = np.clip(np.rint(row).astype(np.int64), 0, IMAGE - 1)
    image = np.zeros((IMAGE, IMAGE), dtype=np.uint8)
    image[r, c] = 1
    kernel = np.ones((3, 3), np.uint8)
    return np.asarray(cv2.morphologyEx(image, cv2.MORPH_CLOSE, kernel) > 0)


def _iou(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def _downsample(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    area = cv2.resize(mask.astype(np.float32), (IMAGE, IMAGE), interpolation=cv2.INTER_AREA)
    return np.asarray(area >= 0.5)
