"""Field-of-view estimation from silhouettes alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from meshsmith.camera import Camera
from meshsmith.engines.geometric.calibrate import estimate_tan_half

SIZE = 256


def _silhouettes(tan_half: float) -> dict[str, np.ndarray]:
    """Masks of a solid, off-centre L-shaped block seen by one camera circling it."""
    axis = np.linspace(-1, 1, 121)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    solid = (np.abs(x - 0.1) < 0.55) & (np.abs(y) < 0.6) & (np.abs(z + 0.1) < 0.35)
    solid |= (np.abs(x + 0.3) < 0.15) & (y > 0.2) & (y < 0.7) & (np.abs(z - 0.3) < 0.25)
    points = np.stack([x[solid], y[solid], z[solid]], axis=1).astype(np.float32)
    masks = {}
    for slot in ("front", "back", "left", "right"):
        cam = Camera(slot, SIZE, (SIZE / 2, SIZE / 2), tan_half)
        col, row, _ = cam.project(points)
        image = np.zeros((SIZE, SIZE), np.uint8)
        image[np.clip(np.rint(row).astype(int), 0, SIZE - 1),
              np.clip(np.rint(col).astype(int), 0, SIZE - 1)] = 1
        image = cv2.morphologyEx(image, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        masks[slot] = image > 0
    return masks


@pytest.mark.parametrize("tan_half", [0.0, 0.2, 0.35])
def test_recovers_the_field_of_view_of_a_circling_camera(tan_half: float) -> None:
    masks = _silhouettes(tan_half)
    centers = {s: (SIZE / 2, SIZE / 2) for s in masks}
    assert estimate_tan_half(masks, centers) == pytest.approx(tan_half, abs=0.06)
