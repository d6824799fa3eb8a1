"""autofix: colour cast, contrast and noise, with shape and dtype kept."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from meshsmith.inputs import autofix
from meshsmith.inputs.enhance import denoise, white_balance

from . import scenes


def _backdrop_cast(rgb: npt.NDArray[np.uint8]) -> float:
    """Spread between channel means of the top-left backdrop patch (0 = neutral grey)."""
    patch = rgb[:60, :60].reshape(-1, 3).astype(float).mean(axis=0)
    return float(np.ptp(patch))


def _scene() -> npt.NDArray[np.uint8]:
    return scenes.sphere_scene(scenes.gradient_background(240, 320))[0]


def test_autofix_keeps_shape_and_dtype() -> None:
    rgb = _scene()
    fixed = autofix(rgb)
    assert fixed.shape == rgb.shape and fixed.dtype == np.uint8


def test_autofix_removes_most_of_a_warm_colour_cast() -> None:
    warm = np.clip(_scene() * np.array([1.12, 1.0, 0.82]), 0, 255).astype(np.uint8)
    assert _backdrop_cast(warm) > 40
    assert _backdrop_cast(autofix(warm)) < 0.25 * _backdrop_cast(warm)


def test_white_balance_removes_a_cool_cast_even_with_a_clipped_channel() -> None:
    cool = np.clip(_scene() * np.array([0.85, 1.0, 1.2]), 0, 255).astype(np.uint8)
    assert np.median(cool[:60, :60, 2]) == 255  # blue is blown out on the backdrop
    assert _backdrop_cast(white_balance(cool)) < 0.25 * _backdrop_cast(cool)


def test_autofix_leaves_a_neutral_photo_nearly_unchanged() -> None:
    rgb = _scene()
    diff = np.abs(autofix(rgb).astype(int) - rgb.astype(int))
    assert np.median(diff) <= 6


def test_denoise_reduces_noise_on_flat_areas() -> None:
    rng = np.random.default_rng(1)
    flat = np.clip(128 + rng.normal(0, 6, (128, 128, 3)), 0, 255).astype(np.uint8)
    assert denoise(flat).astype(float).std() < 0.7 * flat.astype(float).std()
