"""Square crops around the object, for one photo or for a set of views of one object.

A crop is described by ``box = (x0, y0, side)`` in the original image's pixel coordinates
(pixel ``i`` spans ``[i, i + 1)``): a point ``p`` of an ``S x S`` framed image maps back to
``x0 + p * side / S`` (and ``y0 + ...`` for rows). The square may extend past the photo; that
part is padded with the background colour and is never foreground.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from meshsmith.errors import InvalidViewsError, NoForegroundError

U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]
_WHITE = (255, 255, 255)
#: Views whose objects' heights differ by more than this factor count as rescaled.
RESCALE_RATIO = 1.15


@dataclass(frozen=True, eq=False)
class FramedView:
    """A square view: ``rgb`` ``(S, S, 3) uint8``, ``mask`` ``(S, S) bool``.

    ``box`` is ``(x0, y0, side)`` of the square in the original photo's pixel coordinates:
    framed point ``(px, py)`` is original point ``(x0 + px * side / S, y0 + py * side / S)``.
    """

    rgb: U8
    mask: Bool
    box: tuple[float, float, float]


def frame_view(rgb: U8, mask: Bool, *, fill: float = 0.88, size: int | None = None) -> FramedView:
    """Crop a square centred on ``mask``'s bounding box, whose larger side fills ``fill``.

    ``rgb`` ``(H, W, 3) uint8`` and ``mask`` ``(H, W) bool``; with ``size`` the square is
    resampled to ``size x size``.
    """
    _check_view(rgb, mask)
    _check_options(fill, size)
    x0, y0, x1, y1 = mask_bbox(mask)
    side = _side_for(max(x1 - x0, y1 - y0), fill)
    left, top = _centred(x0 + x1, side), _centred(y0 + y1, side)
    return _crop_square(rgb, mask, (left, top, side), size, _pad_color(rgb, mask))


def frame_shared(
    rgbs: Sequence[U8], masks: Sequence[Bool], *, fill: float = 0.88, size: int | None = None
) -> list[FramedView]:
    """One square for every view of an object photographed by a camera circling it.

    All views share the side and the vertical placement, and the square is centred on the
    image's centre column (where the rotation axis projects), so the relative scale between
    views is kept. The side is the smallest that keeps every view's object within ``fill``.
    Raises :class:`~meshsmith.errors.InvalidViewsError` unless all photos share one size.
    """
    _check_views(rgbs, masks)
    _check_options(fill, size)
    boxes = [mask_bbox(mask) for mask in masks]
    axis2 = rgbs[0].shape[1]  # twice the centre column's x coordinate
    # Width of the narrowest span centred on the axis that holds every view's object.
    width = max(max(axis2 - 2 * b[0], 2 * b[2] - axis2) for b in boxes)
    top, bottom = min(b[1] for b in boxes), max(b[3] for b in boxes)
    side = _side_for(max(width, bottom - top), fill)
    square = (_centred(axis2, side), _centred(top + bottom, side), side)
    return [
        _crop_square(rgb, mask, square, size, _pad_color(rgb, mask))
        for rgb, mask in zip(rgbs, masks, strict=True)
    ]


def frame_cropped(
    rgbs: Sequence[U8], masks: Sequence[Bool], *, fill: float = 0.88, size: int | None = None
) -> list[FramedView]:
    """Frames for views of one object whose photos were cropped (or rescaled) differently.

    Where the crop put the rotation axis is unknown, so each square is centred on its own
    object. A camera circling at one height sees the object equally tall from every side,
    so views whose objects' heights differ by more than :data:`RESCALE_RATIO` were rescaled:
    their squares are scaled to bring every object to the front view's height. Otherwise the
    views keep one pixel scale (rescaling would distort thin parts).
    """
    if len(rgbs) != len(masks) or not rgbs:
        raise InvalidViewsError("expected one mask per photo and at least one photo")
    _check_options(fill, size)
    boxes = [mask_bbox(mask) for mask in masks]
    heights = [b[3] - b[1] for b in boxes]
    rescaled = max(heights) > RESCALE_RATIO * min(heights)
    scales = [h / heights[0] if rescaled else 1.0 for h in heights]
    side = max(_side_for(round(max(b[2] - b[0], b[3] - b[1]) / k), fill)
               for b, k in zip(boxes, scales, strict=True))
    frames = []
    for rgb, mask, box, k in zip(rgbs, masks, boxes, scales, strict=True):
        own = max(1, round(side * k))
        square = (_centred(box[0] + box[2], own), _centred(box[1] + box[3], own), own)
        frames.append(_crop_square(rgb, mask, square, size or side, _pad_color(rgb, mask)))
    return frames


def frame_square(rgb: U8, mask: Bool, square: tuple[int, int, int], size: int) -> FramedView:
    """Cut ``square = (left, top, side)`` (original pixels; may extend past the photo, which
    is padded with the background colour) and resample it to ``size x size``."""
    _check_view(rgb, mask)
    return _crop_square(rgb, mask, square, size, _pad_color(rgb, mask))


def mask_bbox(mask: Bool) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of ``mask``'s True pixels, end-exclusive.

    Raises :class:`~meshsmith.errors.NoForegroundError` when the mask is empty.
    """
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    if w == 0 or h == 0:
        raise NoForegroundError("the object mask is empty; nothing to frame")
    return x, y, x + w, y + h


def _side_for(extent: int, fill: float) -> int:
    """Smallest integer square side in which ``extent`` pixels take at most ``fill``."""
    return max(1, math.ceil(extent / fill - 1e-9))


def _centred(twice_centre: int, side: int) -> int:
    """Integer start of a ``side``-long span centred on ``twice_centre / 2``."""
    return (twice_centre - side) // 2


def _crop_square(
    rgb: U8, mask: Bool, square: tuple[int, int, int], size: int | None, pad: tuple[int, ...]
) -> FramedView:
    """Cut ``square = (left, top, side)`` out of the view (padding outside it), then resample."""
    left, top, side = square
    out_rgb = np.empty((side, side, 3), dtype=np.uint8)
    out_rgb[:] = np.asarray(pad, dtype=np.uint8)
    out_mask = np.zeros((side, side), dtype=bool)
    height, width = mask.shape
    ys, ye = max(top, 0), min(top + side, height)
    xs, xe = max(left, 0), min(left + side, width)
    if ys < ye and xs < xe:
        out_rgb[ys - top : ye - top, xs - left : xe - left] = rgb[ys:ye, xs:xe]
        out_mask[ys - top : ye - top, xs - left : xe - left] = mask[ys:ye, xs:xe]
    if size is not None and size != side:
        out_rgb, out_mask = _resample(out_rgb, out_mask, size)
    return FramedView(out_rgb, out_mask, (float(left), float(top), float(side)))


def _resample(rgb: U8, mask: Bool, size: int) -> tuple[U8, Bool]:
    """Resize a square view to ``size x size`` (area-averaged down, bilinear up)."""
    interp = cv2.INTER_AREA if size < rgb.shape[0] else cv2.INTER_LINEAR
    out_rgb = cv2.resize(rgb, (size, size), interpolation=interp)
    soft = cv2.resize(mask.astype(np.float32), (size, size), interpolation=interp)
    return np.asarray(out_rgb, dtype=np.uint8), np.asarray(soft >= 0.5, dtype=bool)


def _pad_color(rgb: U8, mask: Bool) -> tuple[int, ...]:
    """Median colour of the photo's border pixels outside the object; white if there are none."""
    edges = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    inside = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    background = edges[~inside]
    if len(background) == 0:
        return _WHITE
    return tuple(int(v) for v in np.median(background, axis=0))


def _check_view(rgb: U8, mask: Bool) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or mask.shape != rgb.shape[:2]:
        raise ValueError(
            f"expected rgb (H, W, 3) and mask (H, W); got {rgb.shape} and {mask.shape}"
        )


def _check_views(rgbs: Sequence[U8], masks: Sequence[Bool]) -> None:
    if not rgbs or len(rgbs) != len(masks):
        raise InvalidViewsError(
            f"expected one mask per photo and at least one photo; got {len(rgbs)} photos "
            f"and {len(masks)} masks"
        )
    for rgb, mask in zip(rgbs, masks, strict=True):
        _check_view(rgb, mask)
    sizes = sorted({f"{rgb.shape[1]}x{rgb.shape[0]}" for rgb in rgbs})
    if len(sizes) > 1:
        raise InvalidViewsError(
            f"multi-view photos must share one image size; got {', '.join(sizes)}"
        )


def _check_options(fill: float, size: int | None) -> None:
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"fill must be in (0, 1]; got {fill}")
    if size is not None and size < 1:
        raise ValueError(f"size must be a positive number of pixels; got {size}")
