"""Implicit fields sampled on axis-aligned grids: positive inside the object.

Values are world-unit distances (or bounds on them), so a surface extractor can tell from a
coarse sample how far away the surface may be. Every camera here is axis-aligned, so each
view's constraint is sampled slice by slice with separable pixel maps, never through a
dense (M, 3) point array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from meshsmith.camera import Camera
from meshsmith.engines.geometric.silhouette import inflation_height, signed_distance

_OUTSIDE = -1.0
_REMAP_ROWS = 16384
_REMAP_WIDTH = 4096
Axes = tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]


class Field(Protocol):
    """Anything that evaluates a signed field on a grid."""

    def grid(self, axes: Axes) -> NDArray[np.float32]:
        """axes: world coordinates along x (nx,), y (ny,), z (nz,), float32.

        Returns (nx, ny, nz) float32, > 0 inside.
        """
        ...


def sample_maps(image: NDArray[np.float32], cols: NDArray[np.float32],
                rows: NDArray[np.float32], outside: float) -> NDArray[np.float32]:
    """Bilinear samples of ``image`` (H, W) at pixel maps ``cols``, ``rows`` of one shape.

    Any map shape is accepted; returns float32 of that shape, ``outside`` beyond the image.
    """
    shape = cols.shape
    width = shape[-1] if len(shape) > 1 and shape[-1] <= _REMAP_ROWS else _REMAP_WIDTH
    c = _rows_of(cols, width)
    r = _rows_of(rows, width)
    out = np.empty(c.shape, dtype=np.float32)
    for start in range(0, c.shape[0], _REMAP_ROWS):
        stop = start + _REMAP_ROWS
        out[start:stop] = cv2.remap(image, c[start:stop], r[start:stop], cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=outside)
    return out.ravel()[: cols.size].reshape(shape)


def _rows_of(values: NDArray[np.float32], width: int) -> NDArray[np.float32]:
    """``values`` flattened to float32 rows of ``width``, zero-padded at the end."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    pad = (-flat.size) % width
    if pad:
        flat = np.concatenate([flat, np.zeros(pad, np.float32)])
    return np.ascontiguousarray(flat.reshape(-1, width))


@dataclass(frozen=True)
class ViewImage:
    """A 2-D image seen through one camera, sampled on world grids."""

    camera: Camera
    image: NDArray[np.float32]
    outside: float

    def grid(self, axes: Axes, scaled: bool) -> NDArray[np.float32]:
        """(nx, ny, nz) samples; ``scaled`` multiplies by the depth factor (to world units).

        Computed as (depth, y, right) maps in one remap, then transposed into x, y, z order.
        """
        ra, rs, ta, ts = self.camera.axes
        depth = axes[ta] if self.camera.tan_half > 0 else np.zeros(1, np.float32)
        scale = (1.0 - ts * depth * self.camera.tan_half).astype(np.float32)[:, None, None]
        cols = np.broadcast_to(self.camera.pixel_cols(rs * axes[ra][None, None, :], scale),
                               (depth.size, axes[1].size, axes[ra].size))
        rows = np.broadcast_to(self.camera.pixel_rows(axes[1][None, :, None], scale),
                               cols.shape)
        planes = sample_maps(self.image, cols, rows, self.outside)
        if scaled:
            planes *= scale
        return _to_xyz(planes, ra, (axes[0].size, axes[1].size, axes[2].size))


def _to_xyz(planes: NDArray[np.float32], ra: int, shape: tuple[int, int, int]
            ) -> NDArray[np.float32]:
    """(depth, y, right) samples -> (nx, ny, nz), broadcasting a single orthographic plane."""
    if ra == 0:  # right = x, depth = z
        out = planes.transpose(2, 1, 0)
    else:  # right = z, depth = x
        out = planes
    return np.ascontiguousarray(np.broadcast_to(out, shape))


def depth_coordinate(camera: Camera, axes: Axes) -> NDArray[np.float32]:
    """(nx, ny, nz) signed distance of each grid point toward the camera, broadcastable."""
    _, _, ta, ts = camera.axes
    shape = [1, 1, 1]
    shape[ta] = axes[ta].size
    return (ts * axes[ta]).reshape(shape).astype(np.float32)


@dataclass(frozen=True)
class SilhouetteCone:
    """One view's cone constraint: the silhouette's signed distance, in world units."""

    view: ViewImage

    @classmethod
    def from_mask(cls, camera: Camera, mask: NDArray[np.bool_]) -> SilhouetteCone:
        return cls(ViewImage(camera, signed_distance(mask), _OUTSIDE))

    def grid(self, axes: Axes) -> NDArray[np.float32]:
        return self.view.grid(axes, scaled=True)

    def at(self, points: NDArray[np.float32]) -> NDArray[np.float32]:
        """(..., 3) world points -> (...) constraint values in world units."""
        col, row, scale = self.view.camera.project(points.reshape(-1, 3))
        values = sample_maps(self.view.image, col, row, self.view.outside) * scale
        return values.reshape(points.shape[:-1])


@dataclass(frozen=True)
class VisualHull:
    """Intersection of the views' silhouette cones: the minimum of their constraints."""

    cones: tuple[SilhouetteCone, ...]

    def grid(self, axes: Axes) -> NDArray[np.float32]:
        values = self.cones[0].grid(axes)
        for cone in self.cones[1:]:
            np.minimum(values, cone.grid(axes), out=values)
        return values


@dataclass(frozen=True)
class InflatedSilhouette:
    """A single view inflated into a closed solid: ``|depth| <= k * height``.

    ``height`` is the union-of-inscribed-balls half-thickness (see :func:`inflation_height`);
    ``k`` scales the depth (1.0 keeps round cross-sections). Orthographic.
    """

    cone: SilhouetteCone
    height: ViewImage
    k: float = 1.0

    @classmethod
    def from_mask(cls, camera: Camera, mask: NDArray[np.bool_], k: float = 1.0
                  ) -> InflatedSilhouette:
        height = ViewImage(camera, inflation_height(mask), 0.0)
        return cls(SilhouetteCone.from_mask(camera, mask), height, k)

    def grid(self, axes: Axes) -> NDArray[np.float32]:
        depth = np.abs(depth_coordinate(self.height.camera, axes))
        slab = self.k * self.height.grid(axes, scaled=False) - depth
        return np.minimum(self.cone.grid(axes), slab)
