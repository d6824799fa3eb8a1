"""The portrait preset: head-and-shoulders subjects (Hitem3D's portrait models).

Two steps on a prepared view, before the engine sees it:

* **bust framing** (:func:`bust_fraction`, :func:`cut_below`): a photo of a person often
  shows more than the bust. The shoulder width is the widest row of the front mask's upper
  part (the top 60 % of its height); everything lower than ``BUST_HEIGHT_PER_SHOULDER``
  shoulder widths below the top of the head is cut away, in every view at the same
  fraction of the subject's height, so the model is a bust. A shorter subject is kept whole.
* **bilateral symmetry** (:func:`symmetric`): a head is left-right symmetric, so the
  front (and back) mask is mirrored about the subject's vertical axis (the column mean of its upper
  part) and joined with the original; pixels it gains take their mirror pixel's colour. The
  shape the engine inflates is then symmetric, and so is the colour where the photo had none.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from meshsmith.inputs.framing import mask_bbox

U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

#: The bust's height as a multiple of the shoulder width (head plus upper chest).
BUST_HEIGHT_PER_SHOULDER = 1.25
#: The part of the silhouette, from the top, searched for the shoulders and the axis.
UPPER_FRACTION = 0.6


def bust_fraction(mask: Bool) -> float:
    """The part of the front silhouette's height, from the top, that is the bust (1.0: a
    subject that is already a bust)."""
    _, top, _, bottom = mask_bbox(mask)
    upper = mask[top: top + max(1, int((bottom - top) * UPPER_FRACTION))]
    shoulders = int(upper.sum(axis=1).max())
    return min(1.0, BUST_HEIGHT_PER_SHOULDER * shoulders / (bottom - top))


def cut_below(mask: Bool, fraction: float) -> Bool:
    """``mask`` ``(H, W) bool`` without the rows below ``fraction`` of its height from its
    top. Every view of one subject is cut at the same fraction: a side view's width is the
    chest's depth, not the shoulders', so only the front can measure the bust."""
    if fraction >= 1.0:
        return mask
    _, top, _, bottom = mask_bbox(mask)
    kept = mask.copy()
    kept[top + round(fraction * (bottom - top)):] = False
    return kept


def bust_crop(rgb: U8, mask: Bool) -> tuple[U8, Bool]:
    """``rgb`` and ``mask`` with everything below the bust removed from the mask, measured
    on this view itself (the photo keeps its size; cut rows become background)."""
    return rgb, cut_below(mask, bust_fraction(mask))


def symmetric(rgb: U8, mask: Bool) -> tuple[U8, Bool]:
    """``mask`` ``(H, W) bool`` joined with its mirror image about the subject's axis; the
    pixels it gains take the colour of their mirror pixel in ``rgb`` ``(H, W, 3) uint8``."""
    _, top, _, bottom = mask_bbox(mask)
    upper = mask[top: top + max(1, int((bottom - top) * UPPER_FRACTION))]
    axis = float(np.nonzero(upper)[1].mean()) + 0.5  # in pixel-edge coordinates
    source = np.rint(2.0 * axis - 0.5 - np.arange(mask.shape[1])).astype(np.int64)
    inside = (source >= 0) & (source < mask.shape[1])
    mirror_mask = np.zeros_like(mask)
    mirror_mask[:, inside] = mask[:, source[inside]]
    mirror_rgb = rgb.copy()
    mirror_rgb[:, inside] = rgb[:, source[inside]]
    gained = mirror_mask & ~mask
    out = rgb.copy()
    out[gained] = mirror_rgb[gained]
    return out, np.asarray(mask | mirror_mask, dtype=np.bool_)


def portrait(rgb: U8, mask: Bool) -> tuple[U8, Bool]:
    """Both steps on a single front view: bust framing, then symmetry."""
    return symmetric(*bust_crop(rgb, mask))


def portrait_views(views: Mapping[str, tuple[U8, Bool]]) -> dict[str, tuple[U8, Bool]]:
    """Every view of one subject, slot -> ``(rgb, mask)``: all cut at the bust fraction the
    front measures; the front and back (which face the symmetry plane) made symmetric. A
    side view is a profile: mirroring it would put the face on the back of the head."""
    fraction = bust_fraction(views["front"][1])
    out = {}
    for slot, (rgb, mask) in views.items():
        cut = cut_below(mask, fraction)
        out[slot] = symmetric(rgb, cut) if slot in ("front", "back") else (rgb, cut)
    return out
