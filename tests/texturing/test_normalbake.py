"""Normal-map baking: the low-poly surface shaded with the baked map takes the dense
surface's normals, in the tangent frame the GLB writer exports."""

from __future__ import annotations

import numpy as np
import trimesh

from meshsmith.mesh import Mesh
from meshsmith.texturing import unwrap_mesh
from meshsmith.texturing.normalbake import _texel_frames, bake_normal_map, whiteout
from meshsmith.texturing.raster import rasterize


def _sphere(subdivisions: int) -> Mesh:
    tm = trimesh.creation.icosphere(subdivisions=subdivisions)
    return Mesh(tm.vertices.astype(np.float32), tm.faces.astype(np.int32))


def _decoded_normals(mesh: Mesh, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per covered texel: the texel's point, its interpolated normal, and the world normal
    the baked map gives it (tangent frame x map)."""
    assert mesh.uvs is not None and mesh.uv_faces is not None
    assert mesh.material.normal_map is not None
    texels = rasterize(mesh.uvs, mesh.uv_faces, size)
    covered = texels.covered
    frame = _texel_frames(mesh, texels.face[covered], texels.bary[covered])
    local = mesh.material.normal_map[covered].astype(np.float64) / 127.5 - 1.0
    world = (local[:, :1] * frame.tangent + local[:, 1:2] * frame.bitangent
             + local[:, 2:] * frame.normal)
    world /= np.linalg.norm(world, axis=1, keepdims=True)
    return frame.point, frame.normal, world


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = np.einsum("ij,ij->i", a, b) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _box(subdivisions: int) -> Mesh:
    tm = trimesh.creation.box(extents=(2.0, 1.0, 1.5))
    for _ in range(subdivisions):
        tm = tm.subdivide()
    return Mesh(tm.vertices.astype(np.float32), tm.faces.astype(np.int32))


def test_baked_map_gives_a_12_triangle_box_flat_faces_despite_smooth_normals() -> None:
    coarse = unwrap_mesh(_box(0), 512)  # smooth vertex normals point along the diagonals
    baked = bake_normal_map(coarse, _box(4), 512)
    points, smooth, mapped = _decoded_normals(baked, 512)
    lo, hi = coarse.bounds
    truth = _box_face_normals(points, lo, hi)
    without, with_map = _angle_deg(smooth, truth), _angle_deg(mapped, truth)
    assert np.median(without) > 20  # what shading without the map gets wrong
    assert np.median(with_map) < 2.0
    assert with_map.mean() < 0.25 * without.mean()


def _box_face_normals(points: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The outward normal of the box side each point lies on."""
    gaps = np.concatenate([points - lo, hi - points], axis=1)  # (N, 6)
    side = gaps.argmin(axis=1)
    normals = np.zeros_like(points)
    normals[np.arange(len(points)), side % 3] = np.where(side < 3, -1.0, 1.0)
    return normals


def test_baked_map_shows_bumps_the_low_poly_surface_lacks() -> None:
    dense = _sphere(5)
    bumps = 1.0 + 0.03 * np.sin(12 * dense.vertices[:, :1]) * np.sin(12 * dense.vertices[:, 1:2])
    bumpy = dense.with_(vertices=(dense.vertices * bumps).astype(np.float32))
    coarse = unwrap_mesh(_sphere(3), 1024)
    flat = bake_normal_map(coarse, dense, 1024).material.normal_map
    textured = bake_normal_map(coarse, bumpy, 1024).material.normal_map
    assert flat is not None and textured is not None
    tilt = lambda m: np.abs(m[..., :2].astype(float) - 127.5).mean()  # noqa: E731
    assert tilt(textured) > 3 * tilt(flat)


def test_whiteout_with_a_flat_map_keeps_the_other_map() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(-0.5, 0.5, (64, 64, 2))
    z = np.sqrt(1 - (xy**2).sum(-1, keepdims=True))
    detail = np.rint((np.concatenate([xy, z], -1) + 1) * 127.5).astype(np.uint8)
    flat = np.full_like(detail, 128)
    flat[..., 2] = 255
    assert np.abs(whiteout(flat, detail).astype(int) - detail).max() <= 2


def test_keeps_a_photo_detail_map_already_on_the_material() -> None:
    coarse = unwrap_mesh(_sphere(3), 256)
    detail = np.zeros((256, 256, 3), np.uint8)
    detail[...] = (200, 128, 200)  # tilted towards +u everywhere
    material = coarse.material.__class__(normal_map=detail)
    baked = bake_normal_map(coarse.with_(material=material), _sphere(5), 256)
    assert baked.material.normal_map is not None
    assert baked.material.normal_map[..., 0].mean() > 160
