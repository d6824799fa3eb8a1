"""The geometric engine's data path: frame -> cameras -> field -> bounds -> surface."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from meshsmith.camera import Camera
from meshsmith.engines.base import Engine, ProgressFn, Reconstruction, ViewImage, ViewInput
from meshsmith.engines.geometric import surface
from meshsmith.engines.geometric.calibrate import estimate_tan_half
from meshsmith.engines.geometric.field import (
    Field,
    InflatedSilhouette,
    SilhouetteCone,
    VisualHull,
)
from meshsmith.inputs import FramedView, frame_cropped, frame_shared, frame_view
from meshsmith.inputs.framing import frame_square
from meshsmith.mesh import Mesh
from meshsmith.spec import SLOTS, GeometryOptions

FILL = 0.88            # fraction of the framed view the object spans
MIN_FRAME = 128        # framed views are never smaller than this (pixels)
BOUNDS_GRID = 96       # samples per axis when locating the object
BOUNDS_EXTENT = 1.3    # half-size of the search cube, world units
#: The texture is projected from each view's crop at the photo's own resolution, up to this
#: edge (pixels), not at the grid's: a 2048² or 4096² texture can then hold the photo's
#: detail. 2048 keeps four float views of the projection within about 200 MB.
TEXTURE_FRAME_MAX = 2048


class GeometricEngine(Engine):
    """Single view: union-of-balls inflation. Several views: a perspective visual hull
    whose field of view is estimated from the silhouettes themselves."""

    name = "geometric"
    description = "CPU silhouette inflation and visual hull; no weights"

    def _reconstruct(self, views: Mapping[str, ViewInput], options: GeometryOptions,
                     progress: ProgressFn) -> Reconstruction:
        framed = frame(views, options.grid_size)
        cameras = place_cameras(views, framed)
        field = build_field(framed, cameras)
        progress(0.1)
        lattice = surface.fine_lattice(*object_bounds(field), options.grid_size)
        verts, faces = surface.extract(field, lattice, lambda f: progress(0.1 + 0.85 * f))
        mesh = Mesh(vertices=verts, faces=faces)
        return Reconstruction(mesh=mesh, views=texture_views(views, framed, cameras))


def frame(views: Mapping[str, ViewInput], grid: int) -> dict[str, FramedView]:
    """Square crops of every view; several views share one scale and the image centre."""
    slots = [s for s in SLOTS if s in views]
    sides = [max(views[s].rgb.shape[:2]) for s in slots]
    size = max(MIN_FRAME, min(grid, max(sides)))
    if len(slots) == 1:
        v = views[slots[0]]
        return {slots[0]: frame_view(v.rgb, v.mask, fill=FILL, size=size)}
    framer = frame_shared if _one_image_size(views) else frame_cropped
    frames = framer([views[s].rgb for s in slots], [views[s].mask for s in slots],
                    fill=FILL, size=size)
    return dict(zip(slots, frames, strict=True))


def texture_views(views: Mapping[str, ViewInput], framed: Mapping[str, FramedView],
                  cameras: Mapping[str, Camera]) -> dict[str, ViewImage]:
    """The views the texture is projected from: each framed crop cut again from its photo
    at the photo's resolution (up to :data:`TEXTURE_FRAME_MAX`), its camera scaled to
    match; a crop the grid already holds at full resolution is kept as it is."""
    return {s: _texture_view(views[s], framed[s], cameras[s]) for s in framed}


def _texture_view(view: ViewInput, crop: FramedView, camera: Camera) -> ViewImage:
    size = crop.mask.shape[0]
    left, top, side = (round(v) for v in crop.box)
    sharp = min(TEXTURE_FRAME_MAX, side)
    if sharp <= size:
        return ViewImage(crop.rgb, crop.mask, camera)
    full = frame_square(view.rgb, view.mask, (left, top, side), sharp)
    k = sharp / size
    scaled = Camera(camera.slot, sharp, (camera.center[0] * k, camera.center[1] * k),
                    camera.tan_half)
    return ViewImage(full.rgb, full.mask, scaled)


def _one_image_size(views: Mapping[str, ViewInput]) -> bool:
    """Whether the photos share one size (uncropped shots of one camera)."""
    return len({v.mask.shape for v in views.values()}) == 1


def place_cameras(views: Mapping[str, ViewInput], framed: Mapping[str, FramedView]
                  ) -> dict[str, Camera]:
    """Orthographic for one view, and for photos cropped differently (their principal points
    are lost); otherwise one circling camera with an estimated field of view."""
    size = next(iter(framed.values())).mask.shape[0]
    if len(framed) == 1 or not _one_image_size(views):
        return {s: Camera(s, size, (size / 2, size / 2), 0.0) for s in framed}
    centers = {s: _principal_point(views[s], framed[s]) for s in framed}
    tan_half = estimate_tan_half({s: fv.mask for s, fv in framed.items()}, centers)
    return {s: Camera(s, size, centers[s], tan_half) for s in framed}


def _principal_point(view: ViewInput, fv: FramedView) -> tuple[float, float]:
    """The original image centre, in the framed view's pixels."""
    x0, y0, side = fv.box
    h, w = view.mask.shape
    s = fv.mask.shape[0] / side
    return ((w / 2 - x0) * s, (h / 2 - y0) * s)


def build_field(framed: Mapping[str, FramedView], cameras: Mapping[str, Camera]) -> Field:
    """Inflate a lone view; intersect the cones of several."""
    if len(framed) == 1:
        (slot, fv), = framed.items()
        return InflatedSilhouette.from_mask(cameras[slot], fv.mask)
    return VisualHull(tuple(SilhouetteCone.from_mask(cameras[s], framed[s].mask)
                            for s in framed))


def object_bounds(field: Field) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """World-space (lo, hi) corners of the field's positive region, padded by one cell."""
    axis = np.linspace(-BOUNDS_EXTENT, BOUNDS_EXTENT, BOUNDS_GRID, dtype=np.float32)
    inside = field.grid((axis, axis, axis)) > 0
    if not inside.any():
        from meshsmith.errors import ReconstructionError

        raise ReconstructionError("the views' silhouettes do not agree on any common volume")
    idx = np.argwhere(inside)
    cell = axis[1] - axis[0]
    lo = axis[idx.min(axis=0)] - 2 * cell
    hi = axis[idx.max(axis=0)] + 2 * cell
    return lo.astype(np.float64), hi.astype(np.float64)
