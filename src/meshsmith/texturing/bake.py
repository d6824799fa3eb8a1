"""Project the input views onto the surface and bake them into the atlas.

Each texel gathers colour from every view that sees it (a depth test against the view's
ray-cast depth map), weighted by how squarely the surface faces that camera. Texels no view
sees (the back of a single photo) take the colour of the view they face most, ignoring
occlusion, which mirrors the front onto the back. Empty atlas space is filled by growing
the charts, so no texel is left unset.

Alignment (``TextureOptions.alignment``): ``geometry`` blends the views by facing alone, so
colour changes smoothly across the surface and seams between views stay consistent;
``original_image`` multiplies the front view's weight by :data:`FRONT_PRIORITY`, so where the
front photo sees the surface it wins and the model matches that photo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from meshsmith.camera import Camera
from meshsmith.engines.base import ViewImage
from meshsmith.mesh import Mesh
from meshsmith.raycast import RayCaster
from meshsmith.texturing.charts import face_normals
from meshsmith.texturing.raster import TexelMap

#: (D, D) float32: per pixel, the toward-camera coordinate of the first surface hit (world
#: units; -inf where the ray misses), at most :data:`DEPTH_MAP_MAX` pixels across.
DepthMap = NDArray[np.float32]

FACING_POWER = 2.0
DEPTH_TOLERANCE = 0.02     # world units (the object spans about 2)
DEPTH_MAP_MAX = 512        # depth maps are ray cast at most at this size
UNSEEN_WEIGHT = 1e-3
BAKE_THREADS = 2           # views are projected concurrently (numpy, OpenCV, Embree)
FRONT_PRIORITY = 50.0      # original_image: the front view's weight factor where it sees


def bake(mesh: Mesh, texels: TexelMap, views: Mapping[str, ViewImage],
         front_wins: bool = False, depths: Mapping[str, DepthMap] | None = None
         ) -> NDArray[np.uint8]:
    """(H, W, 3) uint8 texture: projected colour on covered texels, grown into the rest.
    ``front_wins`` gives the front view priority where it sees the surface; ``depths`` are
    the views' :func:`depth_maps` when they were made already (else they are made here)."""
    covered = texels.covered
    fid = texels.face[covered]
    w = texels.bary[covered]
    tri = mesh.vertices[mesh.faces[fid]]  # (N, 3, 3)
    points = np.einsum("nk,nkd->nd", w, tri).astype(np.float32)
    normals = face_normals(mesh.vertices, mesh.faces)[fid]
    colors = blend_views(mesh, points, normals, views, front_wins, depths)
    image = np.zeros((*texels.face.shape, 3), dtype=np.uint8)
    image[covered] = colors
    return grow_into_gutter(image, covered)


def blend_views(mesh: Mesh, points: NDArray[np.float32], normals: NDArray[np.float32],
                views: Mapping[str, ViewImage], front_wins: bool = False,
                depths: Mapping[str, DepthMap] | None = None) -> NDArray[np.uint8]:
    """(N, 3) uint8 colours for surface points (N, 3) with unit normals (N, 3).

    Visibility is tested against ``depths`` (see :func:`depth_maps`), or against depth maps
    ray cast here from ``mesh``. Seen points blend the views that see them (the front view weighted
    :data:`FRONT_PRIORITY` times more when ``front_wins``); unseen points take the colour of
    the view they face most, ignoring occlusion.
    """
    projectors = [_Projector(v.camera, extend_foreground(v.rgb, v.mask).astype(np.float32))
                  for v in views.values()]
    facing = np.stack([np.einsum("nd,nd->n", normals, p.camera.view_directions(points))
                       for p in projectors])
    depth_of = _depth_source(mesh, views, depths)
    slots = list(views)
    with ThreadPoolExecutor(max_workers=BAKE_THREADS) as pool:
        looks = list(pool.map(
            lambda k: _look(projectors[k], facing[k], depth_of(slots[k]), points),
            range(len(projectors))))
    total = np.zeros((len(points), 3), dtype=np.float32)
    weight = np.zeros(len(points), dtype=np.float32)
    for slot, (idx, wv, color) in zip(views, looks, strict=True):
        wv = wv * FRONT_PRIORITY if front_wins and slot == "front" else wv
        total[idx] += wv[:, None] * color
        weight[idx] += wv
    unseen = np.nonzero(weight < UNSEEN_WEIGHT)[0]
    nearest = np.argmax(facing[:, unseen], axis=0)
    for k, projector in enumerate(projectors):
        pick = unseen[nearest == k]
        total[pick], weight[pick] = projector.colors(points[pick]), 1.0
    return np.clip(np.rint(total / weight[:, None]), 0, 255).astype(np.uint8)


def _depth_source(mesh: Mesh, views: Mapping[str, ViewImage],
                  depths: Mapping[str, DepthMap] | None) -> Callable[[str], DepthMap]:
    """slot -> that view's depth map: from ``depths``, else ray cast from ``mesh``."""
    if depths is not None:
        return lambda slot: depths[slot]
    tracer = RayCaster(mesh.vertices, mesh.faces)
    return lambda slot: depth_map(tracer, views[slot].camera)


def depth_maps(mesh: Mesh, cameras: Mapping[str, Camera]) -> dict[str, DepthMap]:
    """Each camera's :func:`depth_map` of ``mesh`` (one ray caster for all)."""
    tracer = RayCaster(mesh.vertices, mesh.faces)
    return {slot: depth_map(tracer, camera) for slot, camera in cameras.items()}


def _look(view: _Projector, facing: NDArray[np.float32], depth: DepthMap,
          points: NDArray[np.float32]
          ) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]:
    """The points one view sees: ``(indices (M,), blend weights (M,), colours (M, 3))``."""
    idx = np.nonzero(facing > 0)[0]
    idx = idx[visible(depth, view.camera, points[idx])]
    weight = (np.clip(facing[idx], 0, 1) ** FACING_POWER).astype(np.float32)
    return idx, weight, view.colors(points[idx])


@dataclass(frozen=True)
class _Projector:
    """A view's camera and its colour image, background replaced by the nearest object
    colour so silhouette edges never pick up the backdrop. image: (S, S, 3) float32."""

    camera: Camera
    image: NDArray[np.float32]

    def colors(self, points: NDArray[np.float32]) -> NDArray[np.float32]:
        """(N, 3) float32 colours at the points' projections (bilinear)."""
        col, row, _ = self.camera.project(points)
        n = len(points)
        pad = (-n) % 4096
        cols = np.pad(col, (0, pad)).reshape(-1, 4096)
        rows = np.pad(row, (0, pad)).reshape(-1, 4096)
        out = cv2.remap(self.image, cols, rows, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
        return np.asarray(out.reshape(-1, 3)[:n], dtype=np.float32)


def extend_foreground(rgb: NDArray[np.uint8], mask: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """(S, S, 3) copy of ``rgb`` whose background pixels take the nearest object pixel."""
    core = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if not core.any():
        core = mask
    return nearest_fill(rgb, core)


def nearest_fill(image: NDArray[np.uint8], known: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """(H, W, C) copy of ``image`` where every pixel outside ``known`` takes the value of the
    nearest ``known`` pixel (OpenCV's labelled distance transform, 5x5 mask)."""
    if known.all() or not known.any():
        return image
    _, labels = cv2.distanceTransformWithLabels((~known).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    rows, cols = np.nonzero(known)  # labels number the known pixels in row-major order
    return image[rows, cols][labels - 1]


def visible(depth: DepthMap, camera: Camera, points: NDArray[np.float32]) -> NDArray[np.bool_]:
    """(N,) whether each surface point is the first surface its camera ray meets, within
    :data:`DEPTH_TOLERANCE` of the camera's ``depth`` map (see :func:`depth_map`)."""
    scale = depth.shape[0] / camera.size
    col, row, _ = camera.project(points)
    c = np.clip(np.rint((col + 0.5) * scale - 0.5), 0, depth.shape[1] - 1).astype(np.int64)
    r = np.clip(np.rint((row + 0.5) * scale - 0.5), 0, depth.shape[0] - 1).astype(np.int64)
    toward = points @ camera.toward.astype(np.float32)
    return np.asarray(toward >= depth[r, c] - DEPTH_TOLERANCE)


def depth_map(tracer: RayCaster, camera: Camera) -> DepthMap:
    """(D, D) float32: the toward-camera coordinate of the first hit per pixel (-inf: none).

    ``tracer`` is a :class:`~meshsmith.raycast.RayCaster` over the mesh.
    """
    size = min(camera.size, DEPTH_MAP_MAX)
    small = Camera(camera.slot, size, (camera.center[0] * size / camera.size,
                                       camera.center[1] * size / camera.size), camera.tan_half)
    origins, dirs = _pixel_rays(small)
    depth = np.full(size * size, -np.inf, dtype=np.float32)
    ray_idx, _, distance = tracer.first_hits(origins, dirs)
    hits = origins[ray_idx] + distance[:, None] * dirs[ray_idx]
    depth[ray_idx] = hits @ camera.toward
    return depth.reshape(size, size)


def _pixel_rays(camera: Camera) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One ray per pixel centre: origins and unit directions, (S*S, 3) each."""
    s = camera.size
    rows, cols = np.mgrid[0:s, 0:s].astype(np.float64)
    x = (cols.ravel() + 0.5 - camera.center[0]) / (s / 2)
    y = -(rows.ravel() + 0.5 - camera.center[1]) / (s / 2)
    right, up, toward = camera.basis
    far = 4.0
    if camera.tan_half <= 0:
        origins = x[:, None] * right + y[:, None] * up + far * toward
        return origins, np.broadcast_to(-toward, origins.shape).copy()
    d = (x[:, None] * right + y[:, None] * up) * camera.tan_half - toward
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    origin = toward / camera.tan_half
    return np.broadcast_to(origin, d.shape).copy(), d


def grow_into_gutter(image: NDArray[np.uint8], covered: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """Fill every uncovered texel with the colour of the nearest covered one."""
    return nearest_fill(image, covered)
