"""Bringing a low-resolution mask back to full resolution along the photo's real edges.

Fast guided filter (He & Sun, 2015): the local linear coefficients that map a guide image
onto the mask are fitted at low resolution, upsampled, and applied to the full-resolution
guide. The guide is the distance to the background colour, normalised to ``0..1``, so edges
follow colour contrast against the backdrop, not just brightness. The guide is evaluated
only where the coefficients are non-zero (a thin band along the mask's edge).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from meshsmith.inputs.background import BackgroundModel, normalized, to_lab

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

_RADIUS = 2
_EPS = 0.005
_GUIDE_SCALE = 100.0


def upsample_mask(
    small: Bool, small_rgb: U8, small_field: F32, rgb: U8, model: BackgroundModel
) -> Bool:
    """``small`` ``(h, w) bool`` brought to ``rgb``'s ``(H, W)``; returns ``(H, W) bool``.

    ``small_rgb`` ``(h, w, 3) uint8`` is ``rgb`` downscaled and ``small_field``
    ``(h, w, 3) float32`` its background colour field (:meth:`BackgroundModel.field`).

    The guide is the distance to ``model``'s background colour.
    """
    height, width = rgb.shape[:2]
    if small.shape == (height, width):
        return small
    small_dist = model.distance(to_lab(small_rgb), small_field)
    coeff_a, coeff_b = guided_coefficients(_guide(small_dist), small)
    full_a = _resize(coeff_a, width, height)
    soft = _resize(coeff_b, width, height)
    rows, cols = np.nonzero(np.abs(full_a) > 1e-4)
    smoothed = np.asarray(cv2.blur(rgb, (3, 3)), dtype=np.uint8)
    guide = _guide(_distance_at(smoothed, rows, cols, model))
    soft[rows, cols] += full_a[rows, cols] * guide
    return largest_component(soft > 0.5)


def guided_coefficients(
    guide: F32, mask: Bool, radius: int = _RADIUS, eps: float = _EPS
) -> tuple[F32, F32]:
    """Mean guided-filter coefficients ``(a, b)``, each ``(h, w) float32``.

    The filtered mask is ``a * guide + b``; ``guide`` is ``(h, w) float32`` in ``0..1``.
    """
    target = mask.astype(np.float32)
    mean_g, mean_t = _box(guide, radius), _box(target, radius)
    var_g = _box(guide * guide, radius) - mean_g * mean_g
    coeff_a = (_box(guide * target, radius) - mean_g * mean_t) / (var_g + np.float32(eps))
    coeff_b = mean_t - coeff_a * mean_g
    return _box(coeff_a.astype(np.float32), radius), _box(coeff_b.astype(np.float32), radius)


def _resize(values: F32, width: int, height: int) -> F32:
    """Bilinear resize of a ``(h, w) float32`` map to ``(height, width)``."""
    out = cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(out, dtype=np.float32)


def _box(values: F32, radius: int) -> F32:
    """Mean over a ``(2 radius + 1)`` square window, ``float32``."""
    ksize = (2 * radius + 1, 2 * radius + 1)
    return np.asarray(cv2.blur(values, ksize, borderType=cv2.BORDER_REFLECT), dtype=np.float32)


def _guide(dist: F32) -> F32:
    """Distance to the background on a fixed scale (100 Lab units -> 1), capped at 1.5.

    Not saturated near the threshold, so the filtered mask crosses 0.5 where a pixel is about
    half object and half background.
    """
    scaled = np.minimum(dist * np.float32(1.0 / _GUIDE_SCALE), np.float32(1.5))
    return np.asarray(scaled, dtype=np.float32)


def _distance_at(
    rgb: U8, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp], model: BackgroundModel
) -> F32:
    """Distance to the background of the pixels ``rgb[rows, cols]``: ``(N,) float32``."""
    height, width = rgb.shape[:2]
    lab = to_lab(rgb[rows, cols].reshape(-1, 1, 3)).reshape(-1, 3)
    field = model.color_at(normalized(cols, width), normalized(rows, height))
    return model.distance(lab, field)


def largest_component(mask: Bool) -> Bool:
    """The largest 8-connected component of ``mask`` ``(H, W) bool`` (all False if empty)."""
    as_u8 = mask.astype(np.uint8)
    x, y, w, h = cv2.boundingRect(as_u8)
    out = np.zeros(mask.shape, dtype=bool)
    if w == 0 or h == 0:
        return out
    _, labels, stats, _ = cv2.connectedComponentsWithStats(
        as_u8[y : y + h, x : x + w], connectivity=8
    )
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    out[y : y + h, x : x + w] = labels == best
    return out
