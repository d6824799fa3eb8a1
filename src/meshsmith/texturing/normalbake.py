"""Bake a dense surface's shading detail into a low-poly mesh's tangent-space normal map.

For every texel of the low-poly atlas: its point ``p`` and smooth normal ``n`` on the
low-poly surface, a ray from ``p + d n`` back along ``-n`` finds the dense (reference)
surface, whose interpolated normal is written in the texel's tangent frame. The frame is the
one the GLB writer exports (:func:`meshsmith.exporters.glb.vertex_tangents`, OpenGL
convention: +X along +u, +Y along +v), so a viewer that applies the map sees the reference's
normals on the low-poly faces. A photo-detail normal map already on the material is combined
with the baked one (whiteout blending).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from meshsmith._arrays import unit_rows
from meshsmith.mesh import ByteArray, Mesh

#: How far from the low-poly surface the reference is searched, as a fraction of the
#: bounding-box diagonal (the fit keeps the two far closer than this).
SEARCH_FRACTION = 0.03
#: The bake runs at most at this size and is scaled up to the texture's: a reference of
#: 200,000 faces has no finer detail to give, and the bake's cost grows with the texels.
BAKE_MAX = 1024
FLAT = np.array([128, 128, 255], dtype=np.uint8)


def bake_normal_map(mesh: Mesh, reference: Mesh, size: int) -> Mesh:
    """``mesh`` (with UVs) whose material carries ``reference``'s normals as a ``size``²
    tangent-space normal map (combined with any normal map it already had)."""
    from meshsmith.texturing.bake import grow_into_gutter
    from meshsmith.texturing.raster import rasterize

    if mesh.uvs is None or mesh.uv_faces is None:
        raise ValueError("baking a normal map needs UVs")
    bake_size = min(size, BAKE_MAX)
    texels = rasterize(mesh.uvs, mesh.uv_faces, bake_size)
    covered = texels.covered
    frame = _texel_frames(mesh, texels.face[covered], texels.bary[covered])
    detail = _reference_normals(reference, frame, _search_distance(mesh))
    image = np.empty((bake_size, bake_size, 3), dtype=np.uint8)
    image[...] = FLAT
    image[covered] = _encode(_to_tangent_space(detail, frame))
    baked = _resized(grow_into_gutter(image, covered), size)
    old = mesh.material.normal_map
    combined = baked if old is None else whiteout(baked, _resized(old, size))
    return mesh.with_(material=replace(mesh.material, normal_map=combined))


class _Frame:
    """Per texel (N rows): surface point, unit normal, unit tangent, bitangent."""

    def __init__(self, point: NDArray[np.float64], normal: NDArray[np.float64],
                 tangent: NDArray[np.float64], bitangent: NDArray[np.float64]) -> None:
        self.point, self.normal, self.tangent, self.bitangent = point, normal, tangent, bitangent


def _texel_frames(mesh: Mesh, face: NDArray[np.int32], bary: NDArray[np.float32]) -> _Frame:
    """The exporter's per-vertex normal and tangent, interpolated at each texel."""
    from meshsmith.exporters._geometry import vertex_normals
    from meshsmith.exporters.glb import vertex_tangents

    positions, uvs, faces, source = mesh.split_by_uv()
    assert uvs is not None
    normals = vertex_normals(mesh.vertices, mesh.faces)[source]
    tangents = vertex_tangents(positions, normals, uvs, faces)
    corners = faces[face]  # (N, 3): split faces keep the mesh's face order
    w = bary.astype(np.float64)[:, :, None]
    point = (positions.astype(np.float64)[corners] * w).sum(axis=1)
    normal = unit_rows((normals.astype(np.float64)[corners] * w).sum(axis=1))
    tangent = (tangents[:, :3].astype(np.float64)[corners] * w).sum(axis=1)
    tangent = unit_rows(tangent - normal * np.einsum("ij,ij->i", normal, tangent)[:, None])
    sign = np.where((tangents[:, 3][corners] * bary).sum(axis=1) < 0, -1.0, 1.0)
    return _Frame(point, normal, tangent, sign[:, None] * np.cross(normal, tangent))


def _reference_normals(reference: Mesh, frame: _Frame, distance: float
                       ) -> NDArray[np.float64]:
    """(N, 3) unit normals of ``reference`` where each texel's inward ray meets it within
    ``2 distance``; the texel's own normal where it does not."""
    from meshsmith.exporters._geometry import vertex_normals
    from meshsmith.raycast import RayCaster

    origins = frame.point + distance * frame.normal
    rays, faces, along = RayCaster(reference.vertices, reference.faces).first_hits(
        origins, -frame.normal)
    result = frame.normal.copy()
    points = origins[rays] - along[:, None] * frame.normal[rays]
    near = np.linalg.norm(points - frame.point[rays], axis=1) <= distance
    rays, faces, points = rays[near], faces[near], points[near]
    corners = reference.vertices.astype(np.float64)[reference.faces[faces]]
    weights = barycentric(corners, points)
    ref_normals = vertex_normals(reference.vertices, reference.faces).astype(np.float64)
    per_corner = ref_normals[reference.faces[faces]]
    result[rays] = unit_rows((per_corner * np.clip(weights, 0, 1)[:, :, None]).sum(axis=1))
    return result


def barycentric(corners: NDArray[np.float64], points: NDArray[np.float64]
                ) -> NDArray[np.float64]:
    """(N, 3) barycentric weights of points (N, 3) in triangles (N, 3, 3) (Cramer's rule on
    the triangle's plane)."""
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    p = points - corners[:, 0]
    d11, d12, d22 = (np.einsum("ij,ij->i", x, y) for x, y in ((e1, e1), (e1, e2), (e2, e2)))
    p1, p2 = np.einsum("ij,ij->i", p, e1), np.einsum("ij,ij->i", p, e2)
    det = d11 * d22 - d12 * d12
    det = np.where(np.abs(det) > 1e-30, det, 1.0)
    v, w = (d22 * p1 - d12 * p2) / det, (d11 * p2 - d12 * p1) / det
    return np.stack([1.0 - v - w, v, w], axis=1)


def _to_tangent_space(normals: NDArray[np.float64], frame: _Frame) -> NDArray[np.float64]:
    """(N, 3) components of world ``normals`` along (tangent, bitangent, normal)."""
    local = np.stack([np.einsum("ij,ij->i", normals, axis)
                      for axis in (frame.tangent, frame.bitangent, frame.normal)], axis=1)
    local[:, 2] = np.maximum(local[:, 2], 0.05)  # a normal map never points below the face
    return unit_rows(local)


def whiteout(base: ByteArray, detail: ByteArray) -> ByteArray:
    """Two (H, W, 3) uint8 tangent-space normal maps combined (whiteout blend): the detail's
    slopes are added to the base's, so both show."""
    a = base.astype(np.float64) / 127.5 - 1.0
    b = detail.astype(np.float64) / 127.5 - 1.0
    mixed = np.stack([a[..., 0] + b[..., 0], a[..., 1] + b[..., 1], a[..., 2] * b[..., 2]], -1)
    return _encode(unit_rows(mixed.reshape(-1, 3))).reshape(base.shape)


def _resized(image: ByteArray, size: int) -> ByteArray:
    import cv2

    if image.shape[0] == size and image.shape[1] == size:
        return image
    return np.asarray(cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR))


def _encode(unit: NDArray[np.float64]) -> ByteArray:
    return np.clip(np.rint((unit + 1.0) * 127.5), 0, 255).astype(np.uint8)



def _search_distance(mesh: Mesh) -> float:
    lo, hi = mesh.bounds
    return float(np.linalg.norm(hi - lo)) * SEARCH_FRACTION
