"""The portrait preset: head-and-shoulders subjects (Hitem3D's portrait models).

Two steps on a prepared view, before the engine sees it:

* **bust framing** (:func:`bust_crop`): a photo of a person often shows more than the bust.
  The shoulder width is the widest row of the mask's upper part (the top 60 % of its
  height); everything lower than ``BUST_HEIGHT_PER_SHOULDER`` shoulder widths below the top
  of the head is cut away, so the model is a bust. A shorter subject is kept whole.
* **bilateral symmetry** (:func:`symmetric`): a head is left-right symmetric, so the
  front mask is mirrored about the subject's vertical axis (the column mean of its upper
  part) and joined with the original; pixels it gains take their mirror pixel's colour. The
  shape the engine inflates is then symmetric, and so is the colour where the photo had none.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from meshsmith.inputs.framing import mask_bbox

U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

#: The bust's height as a multiple of the shoulder width (head plus upper chest).
BUST_HEIGHT_PER_SHOULDER = 1.25
#: The part of the silhouette, from the top, searched for the shoulders and the axis.
UPPER_FRACTION = 0.6


def bust_crop(rgb: U8, mask: Bool) -> tuple[U8, Bool]:
    """``rgb`` ``(H, W, 3) uint8`` and ``mask`` ``(H, W) bool`` with everything below the
    bust removed from the mask (the photo keeps its size; cut rows become background)."""
    _, top, _, bottom = mask_bbox(mask)
    upper = mask[top: top + max(1, int((bottom - top) * UPPER_FRACTION))]
    shoulders = int(upper.sum(axis=1).max())
    cut = top + round(BUST_HEIGHT_PER_SHOULDER * shoulders)
    if cut >= bottom:
        return rgb, mask
    kept = mask.copy()
    kept[cut:] = False
    return rgb, kept


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
    """Both steps: bust framing, then symmetry."""
    return symmetric(*bust_crop(rgb, mask))
