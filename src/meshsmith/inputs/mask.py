"""Foreground masks: from the alpha channel when there is one, else by automatic segmentation.

Automatic segmentation runs on a copy whose longest side is :data:`WORK_SIDE` pixels:

1. model the background colour from the border pixels (:mod:`.background`);
2. label pixels far from the background - and holes in them that do not look like the
   background - as probable foreground, the image border as background;
3. refine with ``cv2.grabCut`` initialised from those labels;
4. keep the largest connected component and fill its holes, except holes that show the
   background (the inside of a mug handle or of a ring stays open);
5. bring the mask back to full resolution with a fast guided filter whose guide is the
   full-resolution distance to the background, so edges follow the real photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from meshsmith.errors import NoForegroundError
from meshsmith.inputs.background import (
    BackgroundModel,
    border_band,
    fit_background,
    to_lab,
)
from meshsmith.inputs.decode import DecodedImage
from meshsmith.inputs.refine import largest_component, upsample_mask

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

#: Longest side of the working copy used for segmentation.
WORK_SIDE = 512
#: Smallest accepted foreground, as a share of the image area.
MIN_FOREGROUND = 0.005
#: Distances to the background below this (Lab units) never count as foreground.
MIN_THRESHOLD = 3.0
#: Background-coloured holes smaller than this share of the working copy are filled anyway.
MIN_HOLE = 0.0002
_GRABCUT_ROUNDS = 3


@dataclass(frozen=True, eq=False)
class _Work:
    """The downscaled working copy.

    ``rgb`` ``(h, w, 3) uint8``; ``field`` ``(h, w, 3) float32`` the background colour (Lab);
    ``dist`` ``(h, w) float32`` each pixel's distance to the background; ``threshold`` the
    distance above which a pixel is probably foreground; ``hole_tolerance`` the (smaller)
    distance within which a hole's pixels count as showing the background.
    """

    rgb: U8
    field: F32
    dist: F32
    threshold: float
    hole_tolerance: float
    model: BackgroundModel


def foreground_mask(image: DecodedImage) -> Bool:
    """The object's ``(H, W) bool`` mask for ``image``.

    Uses ``alpha > 127`` when the image has alpha; otherwise segments automatically.
    Raises :class:`~meshsmith.errors.NoForegroundError` when no object, or one smaller than
    0.5% of the image, is found.
    """
    if image.alpha is not None:
        return _mask_from_alpha(image.alpha)
    return _segment(image.rgb)


def _mask_from_alpha(alpha: U8) -> Bool:
    """``alpha > 127``, without specks smaller than 1% of the largest opaque part."""
    mask = alpha > 127
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    areas = stats[1:, cv2.CC_STAT_AREA]
    if count <= 1 or areas.max() < MIN_FOREGROUND * mask.size:
        raise NoForegroundError(
            "the image's transparency leaves no visible object (or one smaller than 0.5% of "
            "the image); upload a cut-out whose object is opaque"
        )
    keep = np.zeros(count, dtype=bool)
    keep[1:] = areas >= max(16, 0.01 * areas.max())
    return np.asarray(keep[labels], dtype=bool)


def _no_object_message() -> str:
    return (
        "no object could be separated from the background; photograph the object against a "
        "plain, contrasting background, or upload a PNG with transparency"
    )


def _segment(rgb: U8) -> Bool:
    """Automatic segmentation of ``rgb`` ``(H, W, 3) uint8`` into a ``(H, W) bool`` mask."""
    work = _prepare_work(rgb)
    far = work.dist > work.threshold
    if far.mean() < MIN_FOREGROUND / 4:
        raise NoForegroundError(_no_object_message())
    solid = _fill_foreground_holes(far, work)
    cut = _grabcut(work.rgb, _initial_labels(work, solid), _region_of_interest(far))
    small = _fill_foreground_holes(largest_component(cut), work)
    if small.mean() < MIN_FOREGROUND:
        raise NoForegroundError(_no_object_message())
    return upsample_mask(small, work.rgb, work.field, rgb, work.model)


def _prepare_work(rgb: U8) -> _Work:
    """Downscale, fit the background model and compute the distance map and its threshold."""
    small = _downscale(rgb, WORK_SIDE)
    lab = to_lab(np.asarray(cv2.GaussianBlur(small, (0, 0), 1.0), dtype=np.uint8))
    border = border_band(*small.shape[:2])
    model = fit_background(lab, border)
    field = model.field(*small.shape[:2])
    dist = model.distance(lab, field)
    return _Work(small, field, dist, *_thresholds(dist[border]), model)


def _downscale(rgb: U8, side: int) -> U8:
    """``rgb`` resized (area-averaged) so its longest side is at most ``side``."""
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _thresholds(border_dist: F32) -> tuple[float, float]:
    """``(threshold, hole_tolerance)`` from the spread of the border's distances.

    The 80th percentile is robust to an object covering part of the border. Holes must match
    the background more tightly than the foreground threshold, so a highlight that is merely
    close to the backdrop colour does not count as a see-through hole.
    """
    spread = float(np.percentile(border_dist, 80))
    threshold = max(MIN_THRESHOLD, 3.0 * spread)
    return threshold, max(2.5 * spread + 1.5, 0.5 * threshold)


def _initial_labels(work: _Work, far: Bool) -> U8:
    """``(h, w) uint8`` grabCut labels from ``far`` (far from the background, holes filled).

    ``far`` is probable foreground and its eroded strongest part definite foreground; the
    image border is definite background wherever it is not ``far``.
    """
    labels = np.full(far.shape, cv2.GC_PR_BGD, dtype=np.uint8)
    labels[far] = cv2.GC_PR_FGD
    core = (work.dist > 2.0 * work.threshold).astype(np.uint8)
    labels[cv2.erode(core, np.ones((5, 5), np.uint8)).astype(bool)] = cv2.GC_FGD
    labels[border_band(far.shape[0], far.shape[1], frac=0.01) & ~far] = cv2.GC_BGD
    return labels


def _region_of_interest(far: Bool) -> tuple[slice, slice]:
    """Rows and columns around the far-from-background blobs, with a margin for grabCut."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(far.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    blobs = stats[1:][areas >= 0.05 * areas.max()]
    x0, y0 = blobs[:, cv2.CC_STAT_LEFT].min(), blobs[:, cv2.CC_STAT_TOP].min()
    x1 = (blobs[:, cv2.CC_STAT_LEFT] + blobs[:, cv2.CC_STAT_WIDTH]).max()
    y1 = (blobs[:, cv2.CC_STAT_TOP] + blobs[:, cv2.CC_STAT_HEIGHT]).max()
    margin = max(12, round(0.06 * max(far.shape)))
    height, width = far.shape
    rows = slice(max(0, y0 - margin), min(height, y1 + margin))
    return rows, slice(max(0, x0 - margin), min(width, x1 + margin))


def _grabcut(rgb: U8, labels: U8, roi: tuple[slice, slice]) -> Bool:
    """``cv2.grabCut`` from ``labels`` inside ``roi``; ``(h, w) bool`` foreground.

    The edge of the region is definite background where it is not probable foreground. If
    grabCut cannot run (no background sample, say), the initial labels are the answer.
    """
    crop = np.ascontiguousarray(labels[roi])
    edge = border_band(crop.shape[0], crop.shape[1], frac=0.0) & (crop == cv2.GC_PR_BGD)
    crop[edge] = cv2.GC_BGD
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        image = np.ascontiguousarray(rgb[roi])
        unused_rect = (0, 0, 1, 1)  # ignored with GC_INIT_WITH_MASK
        cv2.grabCut(image, crop, unused_rect, *models, _GRABCUT_ROUNDS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        crop = np.ascontiguousarray(labels[roi])
    out = np.zeros(labels.shape, dtype=bool)
    out[roi] = (crop == cv2.GC_FGD) | (crop == cv2.GC_PR_FGD)
    return out


def _fill_foreground_holes(mask: Bool, work: _Work) -> Bool:
    """Fill the holes of ``mask``, except big enough ones whose pixels match the background."""
    count, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    if count <= 1:
        return mask
    area = np.bincount(labels.ravel(), minlength=count).astype(np.float64)
    bg_like = np.bincount(labels.ravel(), (work.dist <= work.hole_tolerance).ravel(), count)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep_open = (bg_like >= 0.6 * area) & (area >= MIN_HOLE * mask.size)
    keep_open[edge] = True
    keep_open[0] = False  # label 0 is the foreground itself
    return np.asarray(~keep_open[labels], dtype=bool)
