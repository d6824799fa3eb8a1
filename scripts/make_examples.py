"""Procedurally model and render the example "product photos" in ``examples/``.

Every image is produced from scratch by this script: a handful of objects is
modelled as signed distance functions (SDFs), sphere-traced with numpy (fully
vectorised over pixels) through a perspective camera, and shaded with a small
studio lighting rig (Lambert key/fill/rim lights, a soft Blinn-Phong highlight,
soft shadows and SDF ambient occlusion). Surface colour is procedural (stripes,
spots, value noise, wood grain and painted-on details) so that texture
projection has something to show. No third-party content is used.

Outputs (relative to the repository root)::

    examples/duck.png             rubber duck on a plain white background (RGB)
    examples/mug.jpg              mug with a handle on a grey studio backdrop
    examples/mushroom.webp        toy mushroom on a uniform pastel background
    examples/robot/{front,back,left,right}.png
                                  wooden toy robot, four views, transparent RGBA

Camera convention: the front camera sits on +Z looking at the origin with +Y
up; the multi-view cameras circle the object at the same distance and zero
elevation (back on -Z, left on -X, right on +X). The script is deterministic
(fixed seeds) and needs only numpy and Pillow.

Usage::

    python scripts/make_examples.py [--out examples] [--size 640] [--ss 2]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

F = NDArray[np.float32]
Vec = tuple[F, F, F]
Tri = tuple[float, float, float]

SEED = 20240611
REPO_ROOT = Path(__file__).resolve().parents[1]
VFOV_DEG = 38.0
BOUND_RADIUS = 1.0  # every object fits inside this sphere around the origin


# --------------------------------------------------------------------------------------
# Small vector helpers
# --------------------------------------------------------------------------------------


def srgb(r: float, g: float, b: float) -> NDArray[np.float32]:
    """Convert an sRGB colour given in 0..1 to (approximately) linear RGB."""
    return np.power(np.array([r, g, b], dtype=np.float32), np.float32(2.2))


def to_srgb8(linear: F) -> NDArray[np.uint8]:
    """Gamma-encode linear RGB(A-less) values into 8-bit sRGB."""
    c = np.clip(linear, 0.0, 1.0) ** (1.0 / 2.2)
    return np.round(c * 255.0).astype(np.uint8)


def tonemap(c: F) -> F:
    """Leave values below 0.8 alone and roll highlights off smoothly towards 1."""
    over = np.maximum(c - 0.8, 0.0)
    return np.where(c > 0.8, 0.8 + 0.2 * (1.0 - np.exp(-over / 0.2)), c).astype(np.float32)


def normalize3(v: Tri) -> Tri:
    """Normalise a Python 3-tuple."""
    n = math.sqrt(sum(a * a for a in v))
    return (v[0] / n, v[1] / n, v[2] / n)


def length2(a: F, b: F) -> F:
    """Euclidean length of 2-component vectors given as separate arrays."""
    return np.sqrt(a * a + b * b)


def length3(a: F, b: F, c: F) -> F:
    """Euclidean length of 3-component vectors given as separate arrays."""
    return np.sqrt(a * a + b * b + c * c)


def smoothstep(e0: float, e1: float, x: F) -> F:
    """Hermite smoothstep from ``e0`` to ``e1``."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def mix(a: F, b: F, t: F) -> F:
    """Blend per-point colours ``a`` and ``b`` (``(N, 3)`` or ``(3,)``) by ``t`` (``(N,)``)."""
    tt = t[:, None]
    return (a * (1.0 - tt) + b * tt).astype(np.float32)


def paint(base: F, colour: NDArray[np.float32], mask: F) -> F:
    """Paint ``colour`` over ``base`` with a soft coverage ``mask`` in 0..1."""
    return mix(base, np.broadcast_to(colour, base.shape), np.clip(mask, 0.0, 1.0))


def disc(u: F, v: F, cu: float, cv: float, r: float, soft: float = 0.004) -> F:
    """Anti-aliased filled disc mask in a 2D surface parameterisation."""
    return 1.0 - smoothstep(r - soft, r + soft, length2(u - cu, v - cv))


def rect(u: F, v: F, u0: float, u1: float, v0: float, v1: float, soft: float = 0.004) -> F:
    """Anti-aliased axis-aligned rectangle mask."""
    return (
        smoothstep(u0 - soft, u0 + soft, u)
        * (1.0 - smoothstep(u1 - soft, u1 + soft, u))
        * smoothstep(v0 - soft, v0 + soft, v)
        * (1.0 - smoothstep(v1 - soft, v1 + soft, v))
    )


# --------------------------------------------------------------------------------------
# Procedural noise
# --------------------------------------------------------------------------------------


class ValueNoise:
    """Deterministic 3D value noise with fractal (fBm) summation."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        perm = rng.permutation(256).astype(np.int64)
        self._perm = np.concatenate([perm, perm])
        self._vals = rng.random(256).astype(np.float32)

    def _hash(self, i: NDArray[np.int64], j: NDArray[np.int64], k: NDArray[np.int64]) -> F:
        p = self._perm
        return self._vals[p[p[p[i] + j] + k]]

    def value(self, x: F, y: F, z: F) -> F:
        """Smoothly interpolated lattice noise in 0..1."""
        fx, fy, fz = np.floor(x), np.floor(y), np.floor(z)
        tx, ty, tz = x - fx, y - fy, z - fz
        ux, uy, uz = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty), tz * tz * (3 - 2 * tz)
        i0, j0, k0 = (
            fx.astype(np.int64) & 255,
            fy.astype(np.int64) & 255,
            fz.astype(np.int64) & 255,
        )
        i1, j1, k1 = (i0 + 1) & 255, (j0 + 1) & 255, (k0 + 1) & 255
        x00 = self._hash(i0, j0, k0) * (1 - ux) + self._hash(i1, j0, k0) * ux
        x10 = self._hash(i0, j1, k0) * (1 - ux) + self._hash(i1, j1, k0) * ux
        x01 = self._hash(i0, j0, k1) * (1 - ux) + self._hash(i1, j0, k1) * ux
        x11 = self._hash(i0, j1, k1) * (1 - ux) + self._hash(i1, j1, k1) * ux
        y0 = x00 * (1 - uy) + x10 * uy
        y1 = x01 * (1 - uy) + x11 * uy
        return (y0 * (1 - uz) + y1 * uz).astype(np.float32)

    def fbm(self, x: F, y: F, z: F, octaves: int = 4) -> F:
        """Fractal sum of ``octaves`` noise layers, normalised to 0..1."""
        total = np.zeros_like(x)
        amp, freq, norm = 1.0, 1.0, 0.0
        for o in range(octaves):
            shift = 17.3 * o
            total += amp * self.value(x * freq + shift, y * freq - shift, z * freq + 0.5 * shift)
            norm += amp
            amp *= 0.5
            freq *= 2.03
        return (total / norm).astype(np.float32)


NOISE = ValueNoise(SEED)


def wood_grain(x: F, y: F, z: F, scale: float = 1.0) -> F:
    """Wood-grain stripe intensity in 0..1 (vertical grain, warped by noise)."""
    warp = NOISE.fbm(x * 3.0 * scale, y * 0.8 * scale, z * 3.0 * scale, 3)
    rings = np.sin((length2(x + 0.9, z + 0.6) * 9.0 * scale + warp * 2.2) * 2.0 * np.pi)
    return (0.5 + 0.5 * rings).astype(np.float32) ** 2


# --------------------------------------------------------------------------------------
# Signed distance primitives (points are given as separate x, y, z arrays)
# --------------------------------------------------------------------------------------


def sd_sphere(x: F, y: F, z: F, c: Tri, r: float) -> F:
    """Sphere of radius ``r`` centred at ``c``."""
    return length3(x - c[0], y - c[1], z - c[2]) - r


def sd_ellipsoid(x: F, y: F, z: F, c: Tri, r: Tri) -> F:
    """Approximate (bound-preserving) ellipsoid distance, after Inigo Quilez."""
    px, py, pz = x - c[0], y - c[1], z - c[2]
    k0 = length3(px / r[0], py / r[1], pz / r[2])
    k1 = length3(px / (r[0] * r[0]), py / (r[1] * r[1]), pz / (r[2] * r[2]))
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)


def sd_round_box(x: F, y: F, z: F, c: Tri, half: Tri, r: float) -> F:
    """Box with half extents ``half`` (including the rounding radius ``r``)."""
    qx = np.abs(x - c[0]) - half[0] + r
    qy = np.abs(y - c[1]) - half[1] + r
    qz = np.abs(z - c[2]) - half[2] + r
    outside = length3(np.maximum(qx, 0.0), np.maximum(qy, 0.0), np.maximum(qz, 0.0))
    inside = np.minimum(np.maximum(qx, np.maximum(qy, qz)), 0.0)
    return outside + inside - r


def _capped(radial: F, axial: F) -> F:
    """Combine radial and axial distances of a capped cylinder."""
    return np.minimum(np.maximum(radial, axial), 0.0) + length2(
        np.maximum(radial, 0.0), np.maximum(axial, 0.0)
    )


def sd_cylinder_y(x: F, y: F, z: F, c: Tri, r: float, h: float) -> F:
    """Vertical capped cylinder of radius ``r`` and half height ``h``."""
    return _capped(length2(x - c[0], z - c[2]) - r, np.abs(y - c[1]) - h)


def sd_cylinder_x(x: F, y: F, z: F, c: Tri, r: float, h: float) -> F:
    """Capped cylinder along the X axis, radius ``r`` and half length ``h``."""
    return _capped(length2(y - c[1], z - c[2]) - r, np.abs(x - c[0]) - h)


def sd_torus_z(x: F, y: F, z: F, c: Tri, big_r: float, r: float, stretch_y: float = 1.0) -> F:
    """Torus lying in the XY plane (axis along Z), optionally stretched along Y."""
    q = length2(x - c[0], (y - c[1]) / stretch_y) - big_r
    return length2(q, z - c[2]) - r


def sd_capsule(x: F, y: F, z: F, a: Tri, b: Tri, r: float) -> F:
    """Capsule (swept sphere) between points ``a`` and ``b``."""
    bax, bay, baz = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    pax, pay, paz = x - a[0], y - a[1], z - a[2]
    h = np.clip((pax * bax + pay * bay + paz * baz) / (bax * bax + bay * bay + baz * baz), 0, 1)
    return length3(pax - bax * h, pay - bay * h, paz - baz * h) - r


def smin(a: F, b: F, k: float) -> F:
    """Polynomial smooth minimum (smooth union) with blend radius ``k``."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smax(a: F, b: F, k: float) -> F:
    """Smooth maximum (smooth intersection / subtraction)."""
    return -smin(-a, -b, k)


# --------------------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------------------


@dataclass
class Surface:
    """Per-point material: linear albedo ``(N, 3)``, specular strength and shininess."""

    albedo: F
    spec: F
    shininess: F


class Shape(Protocol):
    """An object modelled in its own local frame (front towards +Z, +Y up)."""

    def sdf(self, x: F, y: F, z: F) -> F:
        """Signed distance to the surface."""
        ...

    def surface(self, x: F, y: F, z: F, n: Vec) -> Surface:
        """Material at surface points ``(x, y, z)`` with unit normals ``n``."""
        ...


def _material(n: int, albedo: F, spec: float, shin: float) -> Surface:
    return Surface(
        albedo.astype(np.float32),
        np.full(n, spec, dtype=np.float32),
        np.full(n, shin, dtype=np.float32),
    )


def _select(parts: dict[str, F]) -> tuple[list[str], NDArray[np.intp]]:
    """Names of the parts and, per point, the index of the nearest one."""
    names = list(parts)
    return names, np.argmin(np.stack([parts[k] for k in names]), axis=0)


class Duck:
    """A rubber duck: body, tail, wings, head, beak, painted eyes and a spotted scarf."""

    def _parts(self, x: F, y: F, z: F) -> dict[str, F]:
        body = sd_ellipsoid(x, y, z, (0.0, -0.2, -0.06), (0.34, 0.25, 0.42))
        body = smin(body, sd_ellipsoid(x, y, z, (0.0, -0.08, -0.38), (0.14, 0.16, 0.1)), 0.1)
        body = smax(body, -0.43 - y, 0.03)  # flattened bottom so it sits upright
        wings = sd_ellipsoid(np.abs(x), y, z, (0.29, -0.14, -0.04), (0.065, 0.12, 0.2))
        head = sd_sphere(x, y, z, (0.0, 0.15, 0.14), 0.2)
        beak_top = sd_ellipsoid(x, y, z, (0.0, 0.125, 0.35), (0.11, 0.04, 0.12))
        beak_low = sd_ellipsoid(x, y, z, (0.0, 0.09, 0.32), (0.08, 0.03, 0.09))
        return {
            "body": body,
            "wings": wings,
            "head": head,
            "beak": np.minimum(beak_top, beak_low),
        }

    def sdf(self, x: F, y: F, z: F) -> F:
        p = self._parts(x, y, z)
        d = smin(p["body"], p["wings"], 0.05)
        d = smin(d, p["head"], 0.12)
        return smin(d, p["beak"], 0.025)

    def surface(self, x: F, y: F, z: F, n: Vec) -> Surface:
        names, which = _select(self._parts(x, y, z))
        npts = x.shape[0]
        grain = NOISE.fbm(x * 6.0, y * 6.0, z * 6.0, 3)
        yellow = mix(
            np.broadcast_to(srgb(1.0, 0.80, 0.08), (npts, 3)),
            np.broadcast_to(srgb(1.0, 0.88, 0.25), (npts, 3)),
            grain,
        )
        col = yellow.copy()
        wing = which == names.index("wings")
        col[wing] = col[wing] * srgb(1.0, 0.93, 0.8)
        # Painted wing feathers: darker curved strokes.
        feather = np.abs(np.sin((y + 0.35 * np.abs(z + 0.04)) * 48.0)) < 0.22
        col[wing & feather] *= srgb(0.95, 0.8, 0.6)
        beak = which == names.index("beak")
        col[beak] = srgb(1.0, 0.42, 0.05) * (0.9 + 0.2 * grain[beak, None])
        # Painted eyes on the head (direction from the head centre).
        hx, hy, hz = x, y - 0.15, z - 0.14
        hl = np.maximum(length3(hx, hy, hz), 1e-6)
        head = which == names.index("head")
        for side in (-1.0, 1.0):
            ex, ey, ez = normalize3((0.5 * side, 0.38, 0.78))
            cosang = (hx * ex + hy * ey + hz * ez) / hl
            ang = np.arccos(np.clip(cosang, -1.0, 1.0))
            col = paint(col, srgb(0.02, 0.02, 0.03), head * (1.0 - smoothstep(0.19, 0.21, ang)))
            gx, gy, gz = normalize3((0.5 * side - 0.05, 0.47, 0.74))
            glint = np.arccos(np.clip((hx * gx + hy * gy + hz * gz) / hl, -1.0, 1.0))
            col = paint(col, srgb(1.0, 1.0, 1.0), head * (1.0 - smoothstep(0.045, 0.06, glint)))
        # Blue scarf with white polka dots around the neck.
        neck = (
            smoothstep(-0.075, -0.06, y)
            * (1.0 - smoothstep(0.0, 0.015, y))
            * (1.0 - smoothstep(0.27, 0.29, length2(x, z - 0.1)))
        )
        neck *= ~beak
        dots = length3(
            (x * 14.0) % 1.0 - 0.5, ((y + 0.03) * 14.0) % 1.0 - 0.5, (z * 14.0) % 1.0 - 0.5
        )
        scarf = paint(
            np.broadcast_to(srgb(0.12, 0.35, 0.85), (npts, 3)).copy(),
            srgb(0.97, 0.97, 0.97),
            1.0 - smoothstep(0.3, 0.36, dots),
        )
        col = mix(col, scarf, neck)
        return _material(npts, col, 0.45, 45.0)


class Mug:
    """A ceramic mug with a ring handle, a painted wave band and polka dots."""

    OUTER_R = 0.32
    HALF_H = 0.34

    def _parts(self, x: F, y: F, z: F) -> tuple[F, F, F]:
        outer = sd_cylinder_y(x, y, z, (0.0, 0.0, 0.0), self.OUTER_R - 0.02, self.HALF_H - 0.02)
        outer = outer - 0.02
        cavity = sd_cylinder_y(x, y, z, (0.0, 0.12, 0.0), 0.27, 0.4)
        handle = sd_torus_z(x, y, z, (0.37, 0.02, 0.0), 0.16, 0.045, stretch_y=1.12)
        return outer, cavity, handle

    def sdf(self, x: F, y: F, z: F) -> F:
        outer, cavity, handle = self._parts(x, y, z)
        return smax(smin(outer, handle, 0.035), -cavity, 0.015)

    def surface(self, x: F, y: F, z: F, n: Vec) -> Surface:
        npts = x.shape[0]
        outer, _, handle = self._parts(x, y, z)
        radial = length2(x, z)
        ang = np.arctan2(x, z)  # 0 at the front, increasing towards +X
        speck = NOISE.fbm(x * 40.0, y * 40.0, z * 40.0, 2)
        blue = srgb(0.07, 0.24, 0.62)
        cream = srgb(0.97, 0.93, 0.84)
        col = np.broadcast_to(blue, (npts, 3)) * (0.85 + 0.3 * speck[:, None])
        # White polka dots on a staggered grid in (arc length, height).
        arc = ang * self.OUTER_R
        row = np.floor((y + 0.5) / 0.085)
        du = ((arc + 0.5 * 0.085 * (row % 2)) / 0.085) % 1.0 - 0.5
        dv = ((y + 0.5) / 0.085) % 1.0 - 0.5
        away = smoothstep(0.125, 0.135, np.abs(y))  # keep whole dots clear of the band
        col = paint(col, cream, away * (1.0 - smoothstep(0.2, 0.26, length2(du, dv))))
        # Cream band with a red wave and small blue dots.
        band = rect(ang, y, -10.0, 10.0, -0.1, 0.1, 0.006)
        wave = 0.035 * np.sin(ang * 6.0)
        band_col = paint(
            np.broadcast_to(cream, (npts, 3)).copy(),
            srgb(0.85, 0.12, 0.1),
            1.0 - smoothstep(0.014, 0.02, np.abs(y - wave)),
        )
        # One dot in every trough and under every crest of the wave.
        k = np.round(ang * 6.0 / np.pi - 0.5)
        centre = (k + 0.5) * np.pi / 6.0
        dot_y = np.where(k % 2 == 0, -0.058, 0.058)
        dist = length2((ang - centre) * self.OUTER_R, y - dot_y)
        blue_dots = 1.0 - smoothstep(0.013, 0.018, dist)
        band_col = paint(band_col, blue, blue_dots)
        col = mix(col, band_col, band)
        # Thin dark lines bordering the band.
        col = paint(col, srgb(0.05, 0.1, 0.3), rect(ang, np.abs(y), -10, 10, 0.1, 0.112, 0.003))
        # Unglazed clay foot ring.
        clay = srgb(0.78, 0.6, 0.45) * (0.9 + 0.2 * speck[:, None])
        foot = smoothstep(-0.295, -0.305, y)
        col = mix(col, clay, foot)
        # Handle is glazed blue; the inside and rim are cream.
        on_handle = (handle < outer) & (radial > self.OUTER_R - 0.005)
        col[on_handle] = blue * (0.85 + 0.3 * speck[on_handle, None])
        inside = (radial < 0.3) | (y > self.HALF_H - 0.015)
        col[inside] = cream
        spec = np.where(foot > 0.5, 0.1, 0.9).astype(np.float32)
        shin = np.where(foot > 0.5, 12.0, 140.0).astype(np.float32)
        return Surface(col.astype(np.float32), spec, shin)


class Mushroom:
    """A toy mushroom: spotted red cap, gills underneath, a stem with a painted face."""

    def __init__(self) -> None:
        rng = np.random.default_rng(SEED + 1)
        k = 22
        golden = math.pi * (3.0 - math.sqrt(5.0))
        dirs, radii = [], []
        for i in range(k):
            yy = 1.0 - 0.95 * (i + 0.5) / k
            rr = math.sqrt(max(0.0, 1.0 - yy * yy))
            th = golden * i + rng.uniform(-0.3, 0.3)
            dirs.append(normalize3((rr * math.cos(th), yy * 1.0, rr * math.sin(th))))
            radii.append(rng.uniform(0.13, 0.22) * (0.75 if i == 0 else 1.0))
        self._spot_dirs = np.array(dirs, dtype=np.float32)
        self._spot_cos = np.cos(np.array(radii, dtype=np.float32))

    def _parts(self, x: F, y: F, z: F) -> tuple[F, F]:
        cap = sd_ellipsoid(x, y, z, (0.0, 0.03, 0.0), (0.47, 0.37, 0.47))
        under = 0.07 - y - 0.06 * (1.0 - length2(x, z) / 0.47)  # slightly domed underside
        cap = smax(cap, under, 0.05)
        radius = 0.2 - 0.05 * (y + 0.1) + 0.02 * np.cos((y + 0.2) * 6.0)
        stem = _capped(length2(x, z) - radius + 0.04, np.abs(y + 0.17) - 0.28 + 0.04) - 0.04
        return cap, stem

    def sdf(self, x: F, y: F, z: F) -> F:
        cap, stem = self._parts(x, y, z)
        return smin(cap, stem, 0.05)

    def surface(self, x: F, y: F, z: F, n: Vec) -> Surface:
        npts = x.shape[0]
        cap, stem = self._parts(x, y, z)
        on_cap = cap < stem
        grain = NOISE.fbm(x * 7.0, y * 7.0, z * 7.0, 4)
        red = mix(
            np.broadcast_to(srgb(0.72, 0.06, 0.05), (npts, 3)),
            np.broadcast_to(srgb(0.93, 0.2, 0.1), (npts, 3)),
            grain,
        )
        # Cream spots: angular distance from a set of directions on the cap.
        cx, cy, cz = x, y + 0.05, z
        cl = np.maximum(length3(cx, cy, cz), 1e-6)
        cosang = (
            np.outer(cx / cl, self._spot_dirs[:, 0])
            + np.outer(cy / cl, self._spot_dirs[:, 1])
            + np.outer(cz / cl, self._spot_dirs[:, 2])
        )
        wobble = 0.012 * (NOISE.value(x * 25.0, y * 25.0, z * 25.0) - 0.5)
        margin = (cosang - self._spot_cos[None, :]).max(axis=1) + wobble
        spots = smoothstep(-0.002, 0.004, margin) * smoothstep(0.09, 0.12, y)
        cream = srgb(0.98, 0.94, 0.83)
        cap_col = paint(red, cream, spots)
        # Gills: radial stripes on the underside.
        ang = np.arctan2(z, x)
        gills = 0.75 + 0.25 * np.abs(np.sin(ang * 40.0))
        gill_col = srgb(0.85, 0.72, 0.55) * gills[:, None]
        underside = (n[1] < -0.3) & (y < 0.13)
        cap_col[underside] = gill_col[underside]
        # Stem: creamy wood-like colour with a painted face on the front.
        stem_col = mix(
            np.broadcast_to(srgb(0.93, 0.87, 0.72), (npts, 3)),
            np.broadcast_to(srgb(0.99, 0.96, 0.88), (npts, 3)),
            grain,
        )
        front = smoothstep(0.05, 0.12, z)
        for side in (-1.0, 1.0):
            eye = 1.0 - smoothstep(
                0.0, 0.01, ((x - 0.07 * side) / 0.03) ** 2 + ((y + 0.1) / 0.042) ** 2 - 1.0
            )
            stem_col = paint(stem_col, srgb(0.08, 0.05, 0.05), eye * front)
            glint = disc(x, y, 0.07 * side - 0.01, -0.085, 0.011, 0.003)
            stem_col = paint(stem_col, srgb(1.0, 1.0, 1.0), glint * front)
            cheek = disc(x, y, 0.135 * side, -0.175, 0.032, 0.012)
            stem_col = paint(stem_col, srgb(0.98, 0.55, 0.55), 0.8 * cheek * front)
        smile_r = length2(x, y + 0.14)
        smile = (1.0 - smoothstep(0.006, 0.012, np.abs(smile_r - 0.065))) * smoothstep(
            -0.165, -0.175, y
        )
        stem_col = paint(stem_col, srgb(0.35, 0.08, 0.06), smile * front)
        col = np.where(on_cap[:, None], cap_col, stem_col)
        spec = np.where(on_cap, 0.55, 0.25).astype(np.float32)
        shin = np.where(on_cap, 60.0, 25.0).astype(np.float32)
        return Surface(col.astype(np.float32), spec, shin)


class Robot:
    """A painted wooden toy robot with a face and control panel on the front,
    a backpack with vents and screws on the back, and different badges on each side."""

    def _parts(self, x: F, y: F, z: F) -> dict[str, F]:
        ax = np.abs(x)  # the limbs, joints and ears are mirror-symmetric in X
        legs = sd_round_box(ax, y, z, (0.11, -0.43, 0.0), (0.075, 0.09, 0.085), 0.03)
        feet = sd_round_box(ax, y, z, (0.11, -0.49, 0.035), (0.09, 0.035, 0.125), 0.025)
        arms = sd_capsule(ax, y, z, (0.31, 0.06, 0.0), (0.37, -0.19, 0.04), 0.05)
        joints = np.minimum(
            sd_sphere(ax, y, z, (0.29, 0.08, 0.0), 0.07),
            sd_sphere(ax, y, z, (0.375, -0.25, 0.045), 0.07),
        )
        ears = sd_cylinder_x(ax, y, z, (0.22, 0.34, 0.0), 0.055, 0.04) - 0.01
        antenna = np.minimum(
            sd_capsule(x, y, z, (0.0, 0.46, 0.0), (0.0, 0.57, 0.0), 0.018),
            sd_sphere(x, y, z, (0.0, 0.6, 0.0), 0.045),
        )
        return {
            "body": sd_round_box(x, y, z, (0.0, -0.1, 0.0), (0.25, 0.26, 0.17), 0.05),
            "backpack": sd_round_box(x, y, z, (0.0, -0.08, -0.19), (0.16, 0.17, 0.06), 0.03),
            "neck": sd_cylinder_y(x, y, z, (0.0, 0.19, 0.0), 0.07, 0.05),
            "head": sd_round_box(x, y, z, (0.0, 0.34, 0.0), (0.2, 0.14, 0.16), 0.05),
            "ears": ears,
            "antenna": antenna,
            "arms": arms,
            "joints": joints,
            "legs": legs,
            "feet": feet,
        }

    def sdf(self, x: F, y: F, z: F) -> F:
        p = self._parts(x, y, z)
        d = p["body"]
        for k in ("backpack", "neck", "head", "ears", "antenna", "arms", "joints", "legs", "feet"):
            d = np.minimum(d, p[k])
        return d

    def surface(self, x: F, y: F, z: F, n: Vec) -> Surface:
        npts = x.shape[0]
        names, which = _select(self._parts(x, y, z))
        grain = wood_grain(x, y, z)
        wood = mix(
            np.broadcast_to(srgb(0.86, 0.66, 0.42), (npts, 3)),
            np.broadcast_to(srgb(0.62, 0.4, 0.22), (npts, 3)),
            grain,
        )
        shade = (0.88 + 0.12 * (1.0 - grain))[:, None]  # grain showing through paint
        paints = {
            "body": srgb(0.16, 0.5, 0.62),
            "backpack": srgb(0.95, 0.55, 0.12),
            "neck": srgb(0.35, 0.35, 0.38),
            "ears": srgb(0.85, 0.15, 0.12),
            "arms": srgb(0.85, 0.15, 0.12),
            "joints": srgb(0.98, 0.78, 0.15),
            "legs": srgb(0.16, 0.5, 0.62),
            "feet": srgb(0.2, 0.2, 0.24),
        }
        col = wood.copy()  # the head stays natural wood
        for name, c in paints.items():
            m = which == names.index(name)
            col[m] = c * shade[m]
        antenna = which == names.index("antenna")
        col[antenna] = np.where(
            (y[antenna] > 0.56)[:, None], srgb(0.9, 0.1, 0.1), srgb(0.7, 0.7, 0.72)
        )
        nx, _, nz = n
        part = which
        on = {k: (part == names.index(k)).astype(np.float32) for k in ("body", "head", "backpack")}
        front = smoothstep(0.6, 0.8, nz)
        back = smoothstep(0.6, 0.8, -nz)
        dark = srgb(0.05, 0.05, 0.07)

        # Face on the front of the head.
        hx, hy = x, y - 0.34
        face = on["head"] * front
        for side in (-1.0, 1.0):
            col = paint(col, dark, face * disc(hx, hy, 0.085 * side, 0.025, 0.05))
            col = paint(col, srgb(0.2, 0.85, 0.95), face * disc(hx, hy, 0.085 * side, 0.025, 0.032))
            col = paint(
                col, srgb(1.0, 1.0, 1.0), face * disc(hx, hy, 0.085 * side - 0.012, 0.037, 0.01)
            )
        col = paint(col, dark, face * rect(hx, hy, -0.095, 0.095, -0.095, -0.045))
        teeth = (
            (np.abs(((hx + 0.095) / 0.038) % 1.0 - 0.5) < 0.3)
            & (np.abs(hy + 0.07) < 0.018)
            & (np.abs(hx) < 0.085)
        )
        col = paint(col, srgb(0.92, 0.92, 0.88), face * teeth)
        # Speaker grille on the back of the head.
        gx, gy = ((hx / 0.04) % 1.0) - 0.5, ((hy / 0.04) % 1.0) - 0.5
        grille = rect(hx, hy, -0.1, 0.1, -0.08, 0.08) * (length2(gx, gy) < 0.25)
        col = paint(col, srgb(0.15, 0.12, 0.1), on["head"] * back * grille)

        # Control panel on the front of the body.
        bx, by = x, y + 0.1
        panel = on["body"] * front
        col = paint(col, dark, panel * rect(bx, by, -0.175, 0.175, -0.185, 0.155))
        col = paint(col, srgb(0.95, 0.92, 0.82), panel * rect(bx, by, -0.16, 0.16, -0.17, 0.14))
        for cx_, c in (
            (-0.09, srgb(0.9, 0.1, 0.1)),
            (0.0, srgb(1.0, 0.8, 0.1)),
            (0.09, srgb(0.1, 0.7, 0.2)),
        ):
            col = paint(col, dark, panel * disc(bx, by, cx_, 0.075, 0.04))
            col = paint(col, c, panel * disc(bx, by, cx_, 0.075, 0.031))
        hu, hv = bx / 0.065, (by + 0.07) / 0.065 + 0.3
        heart = (hu * hu + hv * hv - 1.0) ** 3 - hu * hu * hv**3
        col = paint(col, srgb(0.9, 0.12, 0.2), panel * (heart < 0.0))
        # Backpack: vents and four screws.
        pack = on["backpack"] * back
        vents = rect(bx, by, -0.1, 0.1, -0.04, 0.12) * ((((by + 0.04) / 0.032) % 1.0) < 0.45)
        col = paint(col, srgb(0.2, 0.1, 0.05), pack * vents)
        for sx in (-0.12, 0.12):
            for sy in (-0.11, 0.13):
                col = paint(col, srgb(0.75, 0.75, 0.78), pack * disc(bx, by, sx, sy, 0.016))
                slot = rect(bx, by, sx - 0.012, sx + 0.012, sy - 0.003, sy + 0.003, 0.002)
                col = paint(col, dark, pack * slot * disc(bx, by, sx, sy, 0.016))
        # Side badges: a star badge on +X, white racing stripes on -X.
        right_side = on["body"] * smoothstep(0.85, 0.95, nx)
        left_side = on["body"] * smoothstep(0.85, 0.95, -nx)
        col = paint(col, srgb(1.0, 0.85, 0.15), right_side * disc(z, by, -0.095, -0.06, 0.065))
        sa = np.arctan2(by + 0.06, z + 0.095)
        sr = length2(z + 0.095, by + 0.06)
        star = sr < 0.05 * (0.55 + 0.45 * np.cos(2.5 * (sa - np.pi / 2)) ** 6)
        col = paint(col, srgb(0.85, 0.15, 0.12), right_side * star)
        stripes = (np.abs(by - 0.05) < 0.025) | (np.abs(by + 0.04) < 0.025)
        col = paint(col, srgb(0.97, 0.97, 0.95), left_side * stripes * (np.abs(z) < 0.16))

        glossy = (part == names.index("antenna")) | (part == names.index("joints"))
        spec = np.where(glossy, 0.7, 0.28).astype(np.float32)
        shin = np.where(glossy, 90.0, 30.0).astype(np.float32)
        return Surface(col.astype(np.float32), spec, shin)


class Placed:
    """A shape placed in the world: ``world = offset + scale * R(yaw) R(pitch) local``."""

    def __init__(
        self,
        shape: Shape,
        yaw_deg: float = 0.0,
        pitch_deg: float = 0.0,
        scale: float = 1.0,
        offset: Tri = (0.0, 0.0, 0.0),
    ) -> None:
        self.shape = shape
        cy, sy = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
        cp, sp = math.cos(math.radians(pitch_deg)), math.sin(math.radians(pitch_deg))
        r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
        inv = (r_yaw @ r_pitch).T  # world -> local rotation
        self._inv = [[float(v) for v in row] for row in inv]
        self._identity = yaw_deg == 0.0 and pitch_deg == 0.0
        self.scale = scale
        self.offset = offset
        self.bounds = bounding_box(self.sdf)

    def _to_local(self, x: F, y: F, z: F) -> Vec:
        m, s, o = self._inv, 1.0 / self.scale, self.offset
        dx, dy, dz = (x - o[0]) * s, (y - o[1]) * s, (z - o[2]) * s
        if self._identity:
            return dx, dy, dz
        return (
            m[0][0] * dx + m[0][1] * dy + m[0][2] * dz,
            m[1][0] * dx + m[1][1] * dy + m[1][2] * dz,
            m[2][0] * dx + m[2][1] * dy + m[2][2] * dz,
        )

    def sdf(self, x: F, y: F, z: F) -> F:
        """World-space signed distance."""
        return self.shape.sdf(*self._to_local(x, y, z)) * self.scale

    def surface(self, x: F, y: F, z: F, n: Vec) -> Surface:
        """World-space material lookup (normals are rotated into the local frame)."""
        m = self._inv
        ln = [m[i][0] * n[0] + m[i][1] * n[1] + m[i][2] * n[2] for i in range(3)]
        return self.shape.surface(*self._to_local(x, y, z), (ln[0], ln[1], ln[2]))


# --------------------------------------------------------------------------------------
# Camera, ray marching and shading
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """Pinhole camera orbiting the origin at ``distance``, ``yaw_deg`` around +Y (0 = on +Z)."""

    distance: float
    yaw_deg: float = 0.0
    vfov_deg: float = VFOV_DEG

    def basis(self) -> tuple[NDArray[np.float64], ...]:
        """Camera position and its right, up and back (towards the viewer) unit vectors."""
        a = math.radians(self.yaw_deg)
        pos = np.array([math.sin(a), 0.0, math.cos(a)]) * self.distance
        back = pos / np.linalg.norm(pos)
        right = np.cross(np.array([0.0, 1.0, 0.0]), back)
        right /= np.linalg.norm(right)
        up = np.cross(back, right)
        return pos, right, up, back

    def rays(self, sx: F, sy: F) -> F:
        """Unit ray directions ``(N, 3)`` through screen points ``sx``, ``sy`` in 0..1
        (left to right, top to bottom) of a square image."""
        _, right, up, back = self.basis()
        half = math.tan(math.radians(self.vfov_deg) / 2.0)
        u = ((sx * 2.0 - 1.0) * half).reshape(-1, 1)
        v = ((1.0 - sy * 2.0) * half).reshape(-1, 1)
        d = u * right.astype(np.float32) + v * up.astype(np.float32) - back.astype(np.float32)
        return d / np.sqrt((d * d).sum(axis=1, keepdims=True))

    def to_world(self, v: Tri) -> Tri:
        """Convert a camera-space direction (x right, y up, z towards viewer) to world."""
        _, right, up, back = self.basis()
        w = v[0] * right + v[1] * up + v[2] * back
        return normalize3((float(w[0]), float(w[1]), float(w[2])))


SdfFn = Callable[[F, F, F], F]


def bounding_box(sdf: SdfFn, res: int = 64, margin: float = 0.04) -> tuple[Tri, Tri]:
    """Axis-aligned box around the surface, found by sampling the SDF on a grid."""
    g = np.linspace(-BOUND_RADIUS, BOUND_RADIUS, res, dtype=np.float32)
    x, y, z = (a.reshape(-1) for a in np.meshgrid(g, g, g, indexing="ij"))
    cell = 2.0 * BOUND_RADIUS / (res - 1)
    inside = sdf(x, y, z) < cell
    lo = [float(a[inside].min()) - margin for a in (x, y, z)]
    hi = [float(a[inside].max()) + margin for a in (x, y, z)]
    return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


def march(
    sdf: SdfFn,
    bounds: tuple[Tri, Tri],
    origin: NDArray[np.float64],
    dirs: F,
    max_steps: int = 160,
) -> F:
    """Sphere-trace rays from ``origin``; return hit distance per ray (``inf`` on a miss).

    Only rays that cross the object's bounding box ``bounds`` are marched, starting
    where they enter it.
    """
    lo, hi = bounds
    o = [float(c) for c in origin]
    t_near = np.zeros(dirs.shape[0], dtype=np.float32)
    t_far = np.full(dirs.shape[0], np.inf, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis in range(3):
            inv = 1.0 / dirs[:, axis]
            ta = (lo[axis] - o[axis]) * inv
            tb = (hi[axis] - o[axis]) * inv
            t_near = np.maximum(t_near, np.minimum(ta, tb))
            t_far = np.minimum(t_far, np.maximum(ta, tb))
    ox, oy, oz = o
    t_hit = np.full(dirs.shape[0], np.inf, dtype=np.float32)
    idx = np.nonzero(t_far > t_near)[0]
    t = t_near[idx]
    t_far = t_far[idx]
    d = np.zeros_like(t)
    dx, dy, dz = dirs[idx, 0], dirs[idx, 1], dirs[idx, 2]
    for _ in range(max_steps):
        if idx.size == 0:
            break
        d = sdf(ox + t * dx, oy + t * dy, oz + t * dz)
        hit = d < 2e-4 * t
        t_hit[idx[hit]] = t[hit]
        t = t + 0.9 * d
        keep = np.nonzero(~hit & (t < t_far))[0]
        idx, t, t_far, d = idx[keep], t[keep], t_far[keep], d[keep]
        dx, dy, dz = dx[keep], dy[keep], dz[keep]
    close = d < 5e-3  # rays that ran out of steps while grazing the surface
    t_hit[idx[close]] = t[close]
    return t_hit


def normals(sdf: SdfFn, x: F, y: F, z: F, h: float = 7e-4) -> Vec:
    """Unit surface normals by the tetrahedral central-difference trick."""
    nx = np.zeros_like(x)
    ny = np.zeros_like(x)
    nz = np.zeros_like(x)
    for kx, ky, kz in ((1, -1, -1), (-1, -1, 1), (-1, 1, -1), (1, 1, 1)):
        d = sdf(x + kx * h, y + ky * h, z + kz * h)
        nx += kx * d
        ny += ky * d
        nz += kz * d
    inv = 1.0 / np.maximum(length3(nx, ny, nz), 1e-12)
    return nx * inv, ny * inv, nz * inv


def soft_shadow(
    sdf: SdfFn, x: F, y: F, z: F, light: Tri, k: float, t_min: float = 0.02, t_max: float = 2.5
) -> F:
    """Penumbra factor towards a directional light (1 = fully lit), after Inigo Quilez."""
    res = np.ones_like(x)
    idx = np.arange(x.shape[0])
    t = np.full(x.shape[0], t_min, dtype=np.float32)
    for _ in range(48):
        if idx.size == 0:
            break
        d = sdf(x[idx] + light[0] * t, y[idx] + light[1] * t, z[idx] + light[2] * t)
        res[idx] = np.minimum(res[idx], k * d / t)
        t = t + np.clip(d, 0.01, 0.2)
        keep = (res[idx] > 1e-3) & (t < t_max)
        idx, t = idx[keep], t[keep]
    r = np.clip(res, 0.0, 1.0)
    return r * r * (3.0 - 2.0 * r)


def ambient_occlusion(sdf: SdfFn, x: F, y: F, z: F, n: Vec, reach: float = 0.16) -> F:
    """Cheap SDF ambient occlusion along the normal (1 = unoccluded)."""
    occ = np.zeros_like(x)
    weight = 1.0
    for i in range(5):
        h = 0.01 + reach * i / 4.0
        d = sdf(x + n[0] * h, y + n[1] * h, z + n[2] * h)
        occ += (h - d) * weight
        weight *= 0.8
    return np.clip(1.0 - 2.2 * occ / (1.0 + reach * 4.0), 0.0, 1.0)


@dataclass(frozen=True)
class Lights:
    """Studio lighting rig; directions (normalised on use) are in camera space
    (x right, y up, z towards the viewer)."""

    key: Tri = (-0.55, 0.75, 0.65)
    key_col: Tri = (1.0, 0.96, 0.9)
    fill: Tri = (0.8, 0.15, 0.6)
    fill_col: Tri = (0.28, 0.3, 0.34)
    rim: Tri = (0.3, 0.6, -0.75)
    rim_col: Tri = (0.35, 0.35, 0.35)
    sky: Tri = (0.3, 0.31, 0.34)
    ground: Tri = (0.12, 0.11, 0.1)


def shade(scene: Placed, cam: Camera, lights: Lights, dirs: F, t: F, env: NDArray[np.float32]) -> F:
    """Shade hit points: diffuse key/fill/rim + hemisphere ambient, specular and Fresnel."""
    origin = cam.basis()[0]
    x = (origin[0] + t * dirs[:, 0]).astype(np.float32)
    y = (origin[1] + t * dirs[:, 1]).astype(np.float32)
    z = (origin[2] + t * dirs[:, 2]).astype(np.float32)
    n = normals(scene.sdf, x, y, z)
    surf = scene.surface(x, y, z, n)
    key, fill, rim = cam.to_world(lights.key), cam.to_world(lights.fill), cam.to_world(lights.rim)

    def ndot(v: Tri) -> F:
        return n[0] * v[0] + n[1] * v[1] + n[2] * v[2]

    eps = 2e-3
    sx, sy, sz = x + n[0] * eps, y + n[1] * eps, z + n[2] * eps
    n_key = ndot(key)
    lit = np.maximum(n_key, 0.0)
    shadow = np.ones_like(x)
    need = lit > 0.0
    shadow[need] = soft_shadow(scene.sdf, sx[need], sy[need], sz[need], key, k=10.0)
    ao = ambient_occlusion(scene.sdf, x, y, z, n)
    hemi = (0.5 + 0.5 * n[1])[:, None]
    ambient = (np.array(lights.sky) * hemi + np.array(lights.ground) * (1 - hemi)) * ao[:, None]
    diffuse = (
        np.outer(lit * shadow, lights.key_col)
        + np.outer(np.maximum(ndot(fill), 0.0) * (0.6 + 0.4 * ao), lights.fill_col)
        + np.outer(np.maximum(ndot(rim), 0.0) * ao, lights.rim_col)
        + ambient
    )
    vx, vy, vz = -dirs[:, 0], -dirs[:, 1], -dirs[:, 2]
    hx, hy, hz = key[0] + vx, key[1] + vy, key[2] + vz
    hl = np.maximum(length3(hx, hy, hz), 1e-6)
    n_h = np.maximum((n[0] * hx + n[1] * hy + n[2] * hz) / hl, 0.0)
    norm = (surf.shininess + 8.0) / (8.0 * np.pi)
    spec = surf.spec * norm * n_h**surf.shininess * lit * shadow * 0.6
    n_v = np.clip(n[0] * vx + n[1] * vy + n[2] * vz, 0.0, 1.0)
    fresnel = (0.04 + 0.96 * (1.0 - n_v) ** 5) * surf.spec * ao
    col = surf.albedo * diffuse + np.outer(spec, lights.key_col) + np.outer(fresnel, env) * 0.5
    return col.astype(np.float32)


# --------------------------------------------------------------------------------------
# Backgrounds and image assembly
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backdrop:
    """Background: ``kind`` is "solid", "studio" (gradient sweep with floor shadow) or
    "transparent"; ``colour`` is sRGB; ``floor_y`` is the floor height for "studio"."""

    kind: str
    colour: Tri = (1.0, 1.0, 1.0)
    floor_y: float = -0.5


def backdrop_pixels(
    bd: Backdrop, scene: Placed, cam: Camera, lights: Lights, dirs: F, sx: F, sy: F
) -> F:
    """Linear background colour ``(N, 3)`` for rays ``dirs`` through screen points
    ``sx``, ``sy`` (0..1)."""
    base = srgb(*bd.colour)
    out = np.broadcast_to(base, (dirs.shape[0], 3)).astype(np.float32)
    if bd.kind != "studio":
        return out
    grad = 0.86 + 0.16 * sy  # darker at the top, brighter towards the floor
    vign = 1.0 - 0.22 * ((sx - 0.5) ** 2 + (sy - 0.55) ** 2)
    out = (out * (grad * vign)[:, None]).astype(np.float32)
    # Floor shadow: where a ray meets the floor plane, darken by shadow and occlusion.
    origin = cam.basis()[0]
    down = dirs[:, 1] < -1e-4
    t = np.where(down, (bd.floor_y - origin[1]) / np.minimum(dirs[:, 1], -1e-4), np.inf)
    fx = origin[0] + t * dirs[:, 0]
    fz = origin[2] + t * dirs[:, 2]
    idx = np.nonzero(down & (length2(fx, fz) < 2.2))[0]
    px = fx[idx].astype(np.float32)
    pz = fz[idx].astype(np.float32)
    py = np.full(idx.size, bd.floor_y + 1e-3, dtype=np.float32)
    key = cam.to_world(lights.key)
    sh = soft_shadow(scene.sdf, px, py, pz, key, k=3.0, t_min=0.01)
    up = (np.zeros_like(px), np.ones_like(px), np.zeros_like(px))
    ao = ambient_occlusion(scene.sdf, px, py, pz, up, reach=0.35)
    light = (0.62 + 0.38 * sh) * (0.45 + 0.55 * ao)
    out[idx] *= light[:, None]
    return out


def render_samples(
    scene: Placed, cam: Camera, backdrop: Backdrop, lights: Lights, sx: F, sy: F
) -> tuple[F, F]:
    """Trace one ray per screen point; return linear RGB (zero where the backdrop is
    transparent and the ray misses) and coverage (1 on a hit, else 0)."""
    dirs = cam.rays(sx, sy)
    t = march(scene.sdf, scene.bounds, cam.basis()[0], dirs)
    hit = np.isfinite(t)
    env = (srgb(*backdrop.colour) * 0.9).astype(np.float32)
    if backdrop.kind == "transparent":
        env = srgb(0.85, 0.85, 0.85)
    rgb = np.zeros((dirs.shape[0], 3), dtype=np.float32)
    if backdrop.kind != "transparent":
        miss = ~hit
        rgb[miss] = backdrop_pixels(backdrop, scene, cam, lights, dirs[miss], sx[miss], sy[miss])
    rgb[hit] = tonemap(shade(scene, cam, lights, dirs[hit], t[hit], env))
    return rgb, hit.astype(np.float32)


def _subpixel_grid(px: NDArray[np.intp], py: NDArray[np.intp], size: int, m: int) -> tuple[F, F]:
    """Screen coordinates of an ``m`` x ``m`` stratified grid inside each given pixel."""
    off = (np.arange(m, dtype=np.float32) + 0.5) / m
    ox, oy = (a.reshape(-1) for a in np.meshgrid(off, off))
    sx = (px[:, None].astype(np.float32) + ox[None, :]) / size
    sy = (py[:, None].astype(np.float32) + oy[None, :]) / size
    return sx.reshape(-1), sy.reshape(-1)


def render(
    scene: Placed,
    cam: Camera,
    backdrop: Backdrop,
    size: int,
    ss: int,
    lights: Lights | None = None,
    edge_ss: int = 4,
) -> tuple[F, F]:
    """Render a ``size`` x ``size`` image with ``ss`` x ``ss`` supersampling, and
    ``edge_ss`` x ``edge_ss`` supersampling on and next to silhouette edges.

    Returns linear RGB (premultiplied by coverage when the backdrop is transparent)
    and the coverage (alpha) channel.
    """
    lights = lights or Lights()
    grid = np.arange(size, dtype=np.intp)
    px, py = (a.reshape(-1) for a in np.meshgrid(grid, grid))
    sx, sy = _subpixel_grid(px, py, size, ss)
    rgb_s, cov_s = render_samples(scene, cam, backdrop, lights, sx, sy)
    rgb = rgb_s.reshape(size * size, ss * ss, 3).mean(axis=1)
    alpha = cov_s.reshape(size * size, ss * ss).mean(axis=1)
    # Refine pixels with partial coverage, and their neighbours, with more samples.
    edge = ((alpha > 0.0) & (alpha < 1.0)).reshape(size, size)
    grown = edge.copy()
    for axis in (0, 1):
        for shift in (-1, 1):
            grown |= np.roll(edge, shift, axis=axis)
    idx = np.nonzero(grown.reshape(-1))[0]
    if idx.size:
        sx, sy = _subpixel_grid(px[idx], py[idx], size, edge_ss)
        rgb_e, cov_e = render_samples(scene, cam, backdrop, lights, sx, sy)
        m2 = edge_ss * edge_ss
        rgb[idx] = rgb_e.reshape(idx.size, m2, 3).mean(axis=1)
        alpha[idx] = cov_e.reshape(idx.size, m2).mean(axis=1)
    return (
        rgb.reshape(size, size, 3).astype(np.float32),
        alpha.reshape(size, size).astype(np.float32),
    )


def to_image(rgb: F, alpha: F, transparent: bool) -> Image.Image:
    """Convert a linear render into an 8-bit Pillow image (RGBA when ``transparent``)."""
    if not transparent:
        return Image.fromarray(to_srgb8(rgb), "RGB")
    straight = rgb / np.maximum(alpha, 1e-6)[..., None]
    a8 = np.round(np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)
    rgba = np.concatenate([to_srgb8(straight), a8[..., None]], axis=-1)
    rgba[a8 == 0, :3] = 0
    return Image.fromarray(rgba, "RGBA")


# --------------------------------------------------------------------------------------
# The example set
# --------------------------------------------------------------------------------------


def make_all(out_dir: Path, size: int, ss: int) -> list[Path]:
    """Render every example into ``out_dir`` and return the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    duck = Placed(Duck(), yaw_deg=32.0, offset=(0.0, 0.04, 0.0))
    rgb, a = render(duck, Camera(2.0), Backdrop("solid", (1.0, 1.0, 1.0)), size, ss)
    path = out_dir / "duck.png"
    to_image(rgb, a, transparent=False).save(path, optimize=True)
    written.append(path)

    mug = Placed(Mug(), yaw_deg=0.0, offset=(-0.13, 0.0, 0.0))
    studio = Backdrop("studio", (0.88, 0.88, 0.89), floor_y=-Mug.HALF_H)
    rgb, a = render(mug, Camera(2.05), studio, size, ss)
    path = out_dir / "mug.jpg"
    to_image(rgb, a, transparent=False).save(path, quality=90, optimize=True, progressive=True)
    written.append(path)

    mushroom = Placed(Mushroom(), pitch_deg=12.0, offset=(0.0, 0.02, 0.0))
    rgb, a = render(mushroom, Camera(2.15), Backdrop("solid", (0.78, 0.9, 0.84)), size, ss)
    path = out_dir / "mushroom.webp"
    to_image(rgb, a, transparent=False).save(path, quality=90, method=6)
    written.append(path)

    robot = Placed(Robot(), scale=0.86, offset=(0.0, -0.06 * 0.86, 0.0))
    views = {"front": 0.0, "back": 180.0, "left": -90.0, "right": 90.0}
    (out_dir / "robot").mkdir(exist_ok=True)
    for name, yaw in views.items():
        rgb, a = render(robot, Camera(2.3, yaw_deg=yaw), Backdrop("transparent"), size, ss)
        path = out_dir / "robot" / f"{name}.png"
        to_image(rgb, a, transparent=True).save(path, optimize=True)
        written.append(path)
    return written


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "examples", help="output folder")
    parser.add_argument("--size", type=int, default=640, help="image side in pixels")
    parser.add_argument("--ss", type=int, default=2, help="supersampling factor per axis")
    args = parser.parse_args()
    start = time.perf_counter()
    paths = make_all(args.out, args.size, args.ss)
    for p in paths:
        print(
            f"{p.relative_to(args.out.parent) if p.is_relative_to(args.out.parent) else p}"
            f"  {p.stat().st_size / 1024:.0f} KB"
        )
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
