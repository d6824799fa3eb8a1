"""A model of a photo's background colour, estimated from the image border.

Two complementary estimates, both in CIE Lab (``L`` 0..100, ``a``/``b`` about -128..127):

* a smooth colour field - a quadratic in ``(x, y)`` per channel, fitted robustly to the border
  pixels - which follows gradients and vignetting of a studio backdrop;
* a few colour clusters of the border pixels, which cover two-tone setups (table + wall).

A pixel's distance to the background is its distance to the nearer of the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

#: Weight of lightness against chroma in colour distances (shading and soft shadows mostly
#: change lightness, so it counts a little less).
L_WEIGHT = 0.7
#: Border clusters smaller than this share of the border are taken to be the object, not
#: the background.
MIN_CLUSTER_SHARE = 0.15
_CLUSTERS = 3
_MAX_CLUSTER_SAMPLES = 4000
_MAX_FIT_SAMPLES = 6000


@dataclass(frozen=True, eq=False)
class BackgroundModel:
    """``coeffs`` is the ``(6, 3) float64`` quadratic field; ``centres`` ``(K, 3) float32`` Lab."""

    coeffs: F64
    centres: F32

    def color_at(self, gx: F32, gy: F32) -> F32:
        """Smooth background colour ``(..., 3) float32`` at normalised coordinates.

        ``gx`` and ``gy`` broadcast together. Coordinates are resolution independent: pixel
        ``(x, y)`` of a ``W x H`` image sits at ``gx = 2 (x + 0.5) / W - 1``,
        ``gy = 2 (y + 0.5) / H - 1`` (see :func:`normalized`).
        """
        c = self.coeffs.astype(np.float32)
        x, y = gx[..., None], gy[..., None]
        poly = c[0] + x * (c[1] + x * c[3] + y * c[4]) + y * (c[2] + y * c[5])
        return np.asarray(poly, dtype=np.float32)

    def field(self, height: int, width: int) -> F32:
        """The smooth background colour at every pixel: ``(height, width, 3) float32`` Lab."""
        gx = normalized(np.arange(width), width)[None, :]
        gy = normalized(np.arange(height), height)[:, None]
        return self.color_at(gx, gy)

    def distance(self, lab: F32, field: F32) -> F32:
        """Distance of each pixel of ``lab`` ``(..., 3) float32`` to the background: ``(...)``.

        ``field`` is :meth:`color_at` / :meth:`field` sampled at the same pixels.
        """
        dist = _squared_distance(lab, field)
        for centre in self.centres:
            np.minimum(dist, _squared_distance(lab, centre), out=dist)
        return np.sqrt(dist, out=dist)


def normalized(index: npt.NDArray[np.integer], extent: int) -> F32:
    """Pixel indices along an axis of length ``extent`` mapped to centres in ``-1..1``."""
    return ((index.astype(np.float32) + np.float32(0.5)) * np.float32(2.0 / extent) - 1.0).astype(
        np.float32
    )


def to_lab(rgb: U8) -> F32:
    """``(H, W, 3) uint8`` sRGB to ``(H, W, 3) float32`` Lab."""
    scaled = rgb.astype(np.float32) * np.float32(1.0 / 255.0)
    return np.asarray(cv2.cvtColor(scaled, cv2.COLOR_RGB2Lab), dtype=np.float32)


def color_distance(lab: F32, reference: F32) -> F32:
    """Weighted Euclidean Lab distance of ``lab`` ``(..., 3)`` to a broadcastable ``reference``."""
    return np.sqrt(_squared_distance(lab, reference))


def _squared_distance(lab: F32, reference: F32) -> F32:
    """Squared :func:`color_distance`, ``(...) float32``."""
    diff = np.subtract(lab, reference, dtype=np.float32)
    np.multiply(diff, diff, out=diff)
    out = diff[..., 0] * np.float32(L_WEIGHT * L_WEIGHT)
    out += diff[..., 1]
    out += diff[..., 2]
    return out


def border_band(height: int, width: int, frac: float = 0.02) -> Bool:
    """``(height, width) bool``, True on a band along the edges (``frac`` of the short side)."""
    band = max(2, round(frac * min(height, width)))
    mask = np.zeros((height, width), dtype=bool)
    mask[:band, :] = True
    mask[-band:, :] = True
    mask[:, :band] = True
    mask[:, -band:] = True
    return mask


def fit_background(lab: F32, border: Bool) -> BackgroundModel:
    """Fit the background model to the ``border`` pixels of ``lab`` ``(H, W, 3) float32``."""
    ys, xs = np.nonzero(border)
    step = max(1, len(ys) // _MAX_FIT_SAMPLES)
    ys, xs = ys[::step], xs[::step]
    height, width = border.shape
    gx, gy = normalized(xs, width), normalized(ys, height)
    samples = lab[ys, xs].astype(np.float64)
    coeffs = _robust_quadratic(_basis(gx, gy), samples)
    return BackgroundModel(coeffs, _border_clusters(samples.astype(np.float32)))


def _basis(gx: npt.NDArray[np.floating], gy: npt.NDArray[np.floating]) -> F64:
    """``(N, 6)`` quadratic basis ``[1, x, y, x², xy, y²]`` of normalised coordinates."""
    cols = [np.ones_like(gx), gx, gy, gx * gx, gx * gy, gy * gy]
    return np.stack(cols, axis=1).astype(np.float64)


def _robust_quadratic(basis: F64, samples: F64, rounds: int = 4) -> F64:
    """Least-squares ``(6, 3)`` fit of ``samples`` ``(N, 3)``, re-fitted on the inliers.

    Pixels of an object touching the border are outliers; each round drops samples whose
    residual exceeds ``max(2.5 * median, 2)`` of the current fit.
    """
    keep = np.ones(len(samples), dtype=bool)
    coeffs = np.zeros((basis.shape[1], 3))
    for _ in range(rounds):
        coeffs = _least_squares(basis[keep], samples[keep])
        resid = color_distance((basis @ coeffs).astype(np.float32), samples.astype(np.float32))
        inliers = resid <= max(2.5 * float(np.median(resid)), 2.0)
        if inliers.sum() < max(12, len(samples) // 4):
            break
        keep = inliers
    return np.asarray(coeffs, dtype=np.float64)


def _least_squares(basis: F64, samples: F64) -> F64:
    """``(6, 3)`` least-squares coefficients via the (slightly damped) normal equations."""
    gram = basis.T @ basis + 1e-6 * np.eye(basis.shape[1])
    return np.asarray(np.linalg.solve(gram, basis.T @ samples), dtype=np.float64)


def _border_clusters(samples: F32) -> F32:
    """``(K, 3) float32`` Lab centres of border-colour clusters holding enough of the border."""
    step = max(1, len(samples) // _MAX_CLUSTER_SAMPLES)
    data = np.ascontiguousarray(samples[::step], dtype=np.float32)
    if len(data) < _CLUSTERS * 4:
        return np.median(data, axis=0, keepdims=True).astype(np.float32)
    # Deterministic start (lightness terciles) instead of OpenCV's global random generator.
    ranks = np.argsort(np.argsort(data[:, 0], kind="stable"), kind="stable")
    start = (ranks * _CLUSTERS // len(data)).astype(np.int32).reshape(-1, 1)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    flags = cv2.KMEANS_USE_INITIAL_LABELS
    _, labels, centres = cv2.kmeans(data, _CLUSTERS, start, criteria, 1, flags)
    share = np.bincount(labels.ravel(), minlength=_CLUSTERS) / len(data)
    return np.asarray(centres[share >= MIN_CLUSTER_SHARE], dtype=np.float32)
