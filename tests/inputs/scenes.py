"""Synthetic product photos with exact ground-truth masks, for the segmentation tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]


def white_background(height: int, width: int) -> F64:
    """An off-white studio backdrop with a faint vignette, ``(H, W, 3) float64`` 0..255."""
    ys, xs = np.mgrid[0:height, 0:width]
    radius = np.hypot(xs / width - 0.5, ys / height - 0.5)
    level = 248.0 - 18.0 * radius**2
    return np.repeat(level[:, :, None], 3, axis=2) * np.array([1.0, 0.995, 0.985])


def gradient_background(height: int, width: int) -> F64:
    """A light-grey sweep, bright at the top and darker at the bottom."""
    ys = np.linspace(0.0, 1.0, height)[:, None, None]
    level = 232.0 - 70.0 * ys
    return np.broadcast_to(level, (height, width, 3)).copy() * np.array([1.0, 1.0, 1.02])


def colored_background(height: int, width: int, seed: int = 3) -> F64:
    """A uniform teal cloth with a fine weave texture."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    weave = 6.0 * np.sin(xs * 0.9) * np.sin(ys * 0.7)
    grain = rng.normal(0.0, 5.0, (height, width))
    base = np.array([50.0, 128.0, 140.0])
    return base[None, None, :] + (weave + grain)[:, :, None]


def disc_coverage(height: int, width: int, cx: float, cy: float, radius: float) -> F64:
    """Anti-aliased coverage ``(H, W)`` of a disc; ``coverage >= 0.5`` is its exact mask."""
    ys, xs = np.mgrid[0:height, 0:width]
    dist = np.hypot(xs + 0.5 - cx, ys + 0.5 - cy)
    return np.clip(radius - dist + 0.5, 0.0, 1.0)


def shaded_sphere(height: int, width: int, cx: float, cy: float, radius: float, color: F64) -> F64:
    """Lambert-shaded colour ``(H, W, 3)`` of a sphere lit from the upper left."""
    ys, xs = np.mgrid[0:height, 0:width]
    nx = (xs + 0.5 - cx) / radius
    ny = (ys + 0.5 - cy) / radius
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    light = np.array([-0.4, -0.5, 0.77])
    lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0.0, 1.0)
    shade = 0.35 + 0.65 * lambert
    return shade[:, :, None] * color[None, None, :]


def compose(background: F64, layers: list[tuple[F64, F64]], noise: float, seed: int = 0) -> U8:
    """Blend ``(coverage, colour)`` layers over ``background`` and add sensor noise."""
    out = background.copy()
    for coverage, color in layers:
        alpha = coverage[:, :, None]
        out = out * (1.0 - alpha) + color * alpha
    rng = np.random.default_rng(seed)
    out += rng.normal(0.0, noise, out.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def sphere_scene(
    background: F64, color: tuple[float, float, float] = (200, 60, 40)
) -> tuple[U8, U8]:
    """A shaded ball on ``background``: ``(rgb (H, W, 3) uint8, truth (H, W) bool)``."""
    height, width = background.shape[:2]
    cx, cy, radius = width * 0.52, height * 0.47, min(height, width) * 0.3
    cover = disc_coverage(height, width, cx, cy, radius)
    shade = shaded_sphere(height, width, cx, cy, radius, np.array(color, dtype=float))
    return compose(background, [(cover, shade)], noise=2.5), cover >= 0.5


def ring_scene(background: F64) -> tuple[U8, U8]:
    """A flat golden ring whose centre shows the background: the centre must stay a hole."""
    height, width = background.shape[:2]
    cx, cy, outer = width * 0.5, height * 0.5, min(height, width) * 0.32
    cover = disc_coverage(height, width, cx, cy, outer)
    cover = cover - disc_coverage(height, width, cx, cy, outer * 0.55)
    shade = shaded_sphere(height, width, cx, cy, outer * 1.2, np.array([215.0, 160.0, 40.0]))
    return compose(background, [(cover, shade)], noise=2.5), cover >= 0.5


def spotted_scene(background: F64) -> tuple[U8, U8]:
    """A blue ball with a near-black spot: the spot is part of the object (filled)."""
    height, width = background.shape[:2]
    cx, cy, radius = width * 0.5, height * 0.5, min(height, width) * 0.3
    cover = disc_coverage(height, width, cx, cy, radius)
    shade = shaded_sphere(height, width, cx, cy, radius, np.array([60.0, 90.0, 200.0]))
    spot = disc_coverage(height, width, cx + radius * 0.2, cy - radius * 0.1, radius * 0.3)
    dark = np.full((height, width, 3), 25.0)
    rgb = compose(background, [(cover, shade), (spot, dark)], noise=2.5)
    return rgb, cover >= 0.5


def mug_scene(background: F64) -> tuple[U8, U8]:
    """A red mug (body + ring handle): the space inside the handle shows the background."""
    height, width = background.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    left, right = width * 0.3, width * 0.6
    top, bottom = height * 0.25, height * 0.75
    body = np.clip(
        np.minimum.reduce([xs + 0.5 - left, right - xs - 0.5, ys + 0.5 - top, bottom - ys - 0.5])
        + 0.5,
        0.0,
        1.0,
    )
    hx, hy, r_out = right, height * 0.5, height * 0.14
    handle = disc_coverage(height, width, hx, hy, r_out) - disc_coverage(
        height, width, hx, hy, r_out * 0.6
    )
    cover = np.maximum(body, np.clip(handle, 0.0, 1.0))
    shade_x = 0.55 + 0.45 * np.cos((xs - (left + right) / 2) / (right - left) * 2.2)
    color = shade_x[:, :, None] * np.array([190.0, 30.0, 35.0])[None, None, :]
    return compose(background, [(cover, color)], noise=2.5), cover >= 0.5


def iou(mask: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> float:
    """Intersection over union of two boolean masks."""
    union = np.logical_or(mask, truth).sum()
    return float(np.logical_and(mask, truth).sum() / max(union, 1))
