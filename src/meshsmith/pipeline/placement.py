"""Where the finished model sits: orientation, real-world size, pivot and scale.

Every step is a pure function on :class:`~meshsmith.mesh.Mesh` that moves vertices only
(faces, UVs and textures are untouched). Coordinates: (V, 3) float32, +Y up, front on +Z;
model units are metres once :func:`to_height` has run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from meshsmith.mesh import Mesh
from meshsmith.spec import CATEGORY_HEIGHTS_M, AssetOptions

#: ``orientation=default`` turns the model only when the footprint's minimum-area rectangle
#: is this much smaller than its axis-aligned box (round footprints have no clear front).
MIN_FOOTPRINT_GAIN = 0.25


@dataclass(frozen=True)
class Sizing:
    """The height the model was given and why: ``real_height_m`` (the caller's hint),
    ``category:<name>`` (that category's documented default) or ``none`` (not sized:
    the canonical height 1.0 in model units)."""

    height_m: float | None
    source: str


#: What an un-sized model reports.
NOT_SIZED = Sizing(height_m=None, source="none")


def place(mesh: Mesh, options: AssetOptions) -> tuple[Mesh, Sizing]:
    """Apply the asset options in order: orientation, size, pivot, scale factor."""
    if options.orientation == "default":
        mesh = face_front(mesh)
    sizing = sizing_for(options)
    if sizing.height_m is not None:
        mesh = to_height(mesh, sizing.height_m)
    if options.pivot_to_center_bottom:
        mesh = pivot_to_center_bottom(mesh)
    if options.scale_factor != 1.0:
        mesh = scale(mesh, options.scale_factor)
    return mesh, sizing


def sizing_for(options: AssetOptions) -> Sizing:
    """The real-world height ``auto_size`` asks for, and where it comes from."""
    if not options.auto_size:
        return NOT_SIZED
    if options.real_height_m is not None:
        return Sizing(height_m=options.real_height_m, source="real_height_m")
    return Sizing(height_m=CATEGORY_HEIGHTS_M[options.category],
                  source=f"category:{options.category}")


def face_front(mesh: Mesh) -> Mesh:
    """Turn the model about +Y so the sides of its footprint line up with X and Z.

    The footprint is the (x, z) convex hull; its minimum-area rectangle gives the turn,
    taken within +-45 degrees so the side nearest the front camera stays the front. The
    model is left alone unless that rectangle is :data:`MIN_FOOTPRINT_GAIN` smaller than
    the axis-aligned box. Rotates about the bounding box's vertical centre line.
    """
    angle = footprint_angle(mesh.vertices[:, [0, 2]])
    if angle == 0.0:
        return mesh
    lo, hi = mesh.bounds
    centre = (lo + hi) / 2
    centre[1] = 0.0
    turned = (mesh.vertices - centre) @ _yaw(angle).T + centre
    return mesh.with_(vertices=turned.astype(np.float32))


def footprint_angle(xz: NDArray[np.float32]) -> float:
    """Radians to turn the (N, 2) footprint about +Y so its tightest rectangle is
    axis-aligned; 0.0 when that gains less than :data:`MIN_FOOTPRINT_GAIN`."""
    import cv2

    points = np.ascontiguousarray(xz, dtype=np.float32)
    (_, _), (w, h), degrees = cv2.minAreaRect(points)
    extent = points.max(axis=0) - points.min(axis=0)
    box_area = float(extent[0] * extent[1])
    if box_area <= 0 or w * h > (1.0 - MIN_FOOTPRINT_GAIN) * box_area:
        return 0.0
    degrees = (degrees + 45.0) % 90.0 - 45.0  # the same rectangle, nearest to no turn
    return float(np.radians(degrees))


def _yaw(angle: float) -> NDArray[np.float64]:
    """(3, 3) rotation about +Y that undoes a footprint turned by ``angle`` in (x, z)."""
    c, s = np.cos(angle), np.sin(angle)
    # cv2 measures the angle in the (x, z) plane from +x toward +z; rotate back by it.
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def to_height(mesh: Mesh, height_m: float) -> Mesh:
    """Scale uniformly about the origin so the Y extent is ``height_m`` metres."""
    lo, hi = mesh.bounds
    extent = float(hi[1] - lo[1])
    return scale(mesh, height_m / extent) if extent > 0 else mesh


def pivot_to_center_bottom(mesh: Mesh) -> Mesh:
    """Translate so the origin is the centre of the bounding box's bottom face."""
    lo, hi = mesh.bounds
    pivot = np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2], dtype=np.float32)
    return mesh.with_(vertices=(mesh.vertices - pivot).astype(np.float32))


def scale(mesh: Mesh, factor: float) -> Mesh:
    """Multiply every coordinate by ``factor`` (about the origin)."""
    return mesh.with_(vertices=(mesh.vertices * np.float32(factor)).astype(np.float32))
