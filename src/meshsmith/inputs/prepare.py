"""One call from an uploaded photo to the engine's inputs: colour and object mask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from meshsmith.inputs.decode import DecodedImage, load_image
from meshsmith.inputs.enhance import autofix as autofix_photo
from meshsmith.inputs.mask import foreground_mask

U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class PreparedView:
    """A decoded, optionally auto-fixed photo and its object mask, uncropped, full resolution.

    ``rgb`` ``(H, W, 3) uint8``; ``mask`` ``(H, W) bool``; ``format`` the source file's format.
    """

    rgb: U8
    mask: Bool
    format: str


def prepare_view(
    source: Path | bytes,
    *,
    autofix: bool = False,
    max_bytes: int = 20_000_000,
    max_side: int = 4096,
) -> PreparedView:
    """Decode ``source``, optionally auto-fix it, and find the object mask.

    An image with transparency is composited over white first, so colour hidden under
    transparent pixels never reaches the engine; its mask comes from the alpha channel. Auto-fix
    runs before segmentation. Raises the input-image errors of :func:`load_image` and
    :func:`foreground_mask`.
    """
    image = load_image(source, max_bytes=max_bytes, max_side=max_side)
    rgb = image.rgb if image.alpha is None else over_white(image.rgb, image.alpha)
    if autofix:
        rgb = autofix_photo(rgb)
    mask = foreground_mask(DecodedImage(rgb, image.alpha, image.format))
    return PreparedView(rgb, mask, image.format)


def over_white(rgb: U8, alpha: U8) -> U8:
    """``rgb`` ``(H, W, 3) uint8`` composited over white with ``alpha`` ``(H, W) uint8``."""
    weight = alpha.astype(np.float32)[:, :, None] * np.float32(1.0 / 255.0)
    blended = rgb.astype(np.float32) * weight + np.float32(255.0) * (1.0 - weight)
    return np.asarray(np.clip(np.rint(blended), 0, 255), dtype=np.uint8)
