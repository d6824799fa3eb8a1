"""Optional photo clean-up ("autofix"): denoise, white balance and a mild contrast boost.

Every step is deliberately mild: the goal is a more neutral, cleaner texture source for
reconstruction, not a stylised photo.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

#: White-balance gains are clamped to this range so a coloured backdrop is never fully
#: neutralised into an extreme cast.
GAIN_RANGE = (0.6, 1.6)
CLAHE_CLIP = 1.5
CLAHE_TILES = 8
#: Bilateral filter: neighbourhood diameter (px), colour and space sigmas.
DENOISE_DIAMETER = 5
DENOISE_SIGMA_COLOR = 12.0
DENOISE_SIGMA_SPACE = 3.0


def autofix(rgb: U8) -> U8:
    """Denoise, white-balance and mildly boost contrast; ``(H, W, 3) uint8`` in and out."""
    denoised = denoise(rgb)
    balanced = white_balance(denoised)
    return local_contrast(balanced)


def denoise(rgb: U8) -> U8:
    """Edge-preserving bilateral smoothing (fast: one pass, small window); ``(H, W, 3) uint8``."""
    out = cv2.bilateralFilter(rgb, DENOISE_DIAMETER, DENOISE_SIGMA_COLOR, DENOISE_SIGMA_SPACE)
    return np.asarray(out, dtype=np.uint8)


def white_balance(rgb: U8) -> U8:
    """Neutralise a colour cast; ``(H, W, 3) uint8`` in and out.

    The illuminant is estimated from the brightest 10% of the pixels that are not fully blown
    out (a percentile-based white patch), falling back to the grey-world mean of those pixels
    when too few bright ones exist. Gains are applied through a per-channel lookup table.
    """
    gains = _balance_gains(_illuminant(rgb))
    luts = [np.clip(np.rint(np.arange(256) * g), 0, 255).astype(np.uint8) for g in gains]
    channels = [cv2.LUT(np.ascontiguousarray(rgb[:, :, c]), luts[c]) for c in range(3)]
    return np.ascontiguousarray(np.stack(channels, axis=2), dtype=np.uint8)


def _illuminant(rgb: U8) -> F64:
    """Estimated illuminant colour ``(3,) float64`` in 0..255 (sampled for speed)."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
    pixels = rgb[::step, ::step].reshape(-1, 3).astype(np.float64)
    # Fully blown (all channels clipped) and near-black pixels carry no colour information.
    unclipped = pixels[(pixels.min(axis=1) < 250) & (pixels.max(axis=1) > 20)]
    if len(unclipped) < 100:
        return np.full(3, 128.0)
    brightness = unclipped.sum(axis=1)
    bright = unclipped[brightness >= np.percentile(brightness, 90)]
    source = bright if len(bright) >= 50 else unclipped
    return np.asarray(source.mean(axis=0), dtype=np.float64)


def _balance_gains(illuminant: F64) -> F64:
    """Per-channel gains ``(3,)`` mapping ``illuminant`` to grey at its mean brightness."""
    gains = illuminant.mean() / np.maximum(illuminant, 1.0)
    return np.asarray(np.clip(gains, *GAIN_RANGE), dtype=np.float64)


def local_contrast(rgb: U8) -> U8:
    """Mild CLAHE on the Lab lightness channel only; ``(H, W, 3) uint8`` in and out."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(CLAHE_TILES, CLAHE_TILES))
    lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
    return np.asarray(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), dtype=np.uint8)
