"""pbr_maps: metallic-roughness and normal maps estimated from synthetic base colours."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from meshsmith.mesh import Material, Mesh
from meshsmith.texturing.charts import build_atlas
from meshsmith.texturing.pbr import chart_coverage, pbr_maps
from meshsmith.texturing.raster import rasterize

SIZE = 128


def _square(image: np.ndarray, roughness: float = 0.8, u_max: float = 1.0) -> Mesh:
    """A unit square whose UVs cover [0, u_max] x [0, 1] of ``image``."""
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32)
    uvs = np.array([[0, 0], [u_max, 0], [u_max, 1], [0, 1]], dtype=np.float32)
    material = Material(base_color=image, roughness=roughness)
    return Mesh(vertices=vertices, faces=faces, uvs=uvs, uv_faces=faces.copy(),
                material=material)


def _noise(seed: int, scale: float, base: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pixels = np.array(base, dtype=np.float64) + rng.normal(0, scale, (SIZE, SIZE, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _with_blob(image: np.ndarray, centre: tuple[int, int], sigma: float) -> np.ndarray:
    """``image`` with a white Gaussian highlight at ``centre`` (row, column)."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    blob = np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * sigma**2))
    mixed = image * (1 - blob[..., None]) + 250 * blob[..., None]
    return np.clip(mixed, 0, 255).astype(np.uint8)


def _maps(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    material = pbr_maps(mesh).material
    assert material.metallic_roughness is not None and material.normal_map is not None
    return material.metallic_roughness, material.normal_map


def test_outputs_match_the_base_colour_shape_and_the_factors_become_one() -> None:
    image = _noise(0, 20, (120, 90, 60))[:, : SIZE // 2]
    mesh = _square(image)
    result = pbr_maps(mesh)
    material = result.material
    for array in (material.metallic_roughness, material.normal_map):
        assert array is not None and array.shape == image.shape and array.dtype == np.uint8
    assert (material.metallic, material.roughness) == (1.0, 1.0)
    assert material.metallic_roughness is not None
    assert (material.metallic_roughness[..., 0] == 255).all()  # R unused, as glTF packs it
    np.testing.assert_array_equal(material.base_color, image)
    assert mesh.material.metallic_roughness is None  # the input is left alone
    assert result.uvs is mesh.uvs and result.faces is mesh.faces


def test_specular_blob_is_glossier_than_the_rest_and_stays_dielectric() -> None:
    image = _with_blob(_noise(1, 4, (150, 100, 70)), (64, 64), 6.0)
    packed, _ = _maps(_square(image))
    roughness = packed[..., 1].astype(int)
    background = np.median(roughness)
    assert background == round(0.8 * 255)  # the material's roughness is the baseline
    assert roughness[64, 64] < background - 80
    assert roughness[10, 10] == background
    assert packed[..., 2].max() == 0  # one highlight on a coloured surface is not metal


def test_grey_surface_dense_with_highlights_reads_as_metal_and_coloured_does_not() -> None:
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    grey = np.where((rows % 12 < 4) & (cols % 12 < 4), 250.0, 60.0)
    grey = np.dstack([grey] * 3).astype(np.uint8)
    tinted = grey.copy()
    tinted[..., 2] //= 3
    metal_grey = _maps(_square(grey))[0][..., 2]
    metal_tinted = _maps(_square(tinted))[0][..., 2]
    assert metal_grey.max() > 64
    assert metal_tinted.max() == 0


def test_flat_colour_gives_a_flat_normal_map_and_uniform_roughness() -> None:
    image = np.full((SIZE, SIZE, 3), (90, 140, 200), dtype=np.uint8)
    packed, normal = _maps(_square(image, roughness=0.6))
    assert np.abs(normal.astype(int) - [128, 128, 255]).max() <= 1
    assert np.unique(packed[..., 1]).tolist() == [round(0.6 * 255)]
    assert np.unique(packed[..., 2]).tolist() == [0]


def test_fine_detail_tilts_the_normals() -> None:
    image = _noise(2, 60, (128, 128, 128))
    _, normal = _maps(_square(image))
    tilt = np.abs(normal[..., :2].astype(int) - 128)
    assert tilt.mean() > 4 and tilt.max() > 30
    assert normal[..., 2].min() > 128  # every normal still faces out of the surface


def test_normal_map_uses_the_opengl_convention() -> None:
    """A bright bump: on its right the surface faces +X, above it (+v, up the image) +Y."""
    image = _with_blob(np.full((SIZE, SIZE, 3), 80, dtype=np.uint8), (64, 64), 2.0)
    _, normal = _maps(_square(image))
    assert normal[64, 67, 0] > 140 and normal[64, 61, 0] < 116  # right / left of the bump
    assert normal[61, 64, 1] > 140 and normal[67, 64, 1] < 116  # above / below the bump
    assert abs(int(normal[64, 67, 1]) - 128) <= 2


def test_gutter_takes_the_nearest_chart_texel() -> None:
    """Only the left half of the texture is mapped; the rest copies the chart's edge."""
    mesh = _square(_noise(3, 60, (128, 128, 128)), u_max=0.5)
    assert mesh.uvs is not None and mesh.uv_faces is not None
    covered = chart_coverage(mesh.uvs, mesh.uv_faces, SIZE, SIZE)
    last = int(np.nonzero(covered.any(axis=0))[0].max())
    assert last in (SIZE // 2 - 1, SIZE // 2)  # the edge texel may count as touched
    assert mesh.material.base_color is not None
    junk = mesh.material.base_color.copy()
    junk[:, last + 1 :] = (255, 0, 0)  # texels the baker never wrote: they must not leak in
    packed, normal = _maps(mesh.with_(material=Material(base_color=junk)))
    for result in (packed, normal):
        np.testing.assert_array_equal(
            result[:, last + 1 :], np.repeat(result[:, last : last + 1], SIZE - last - 1, axis=1)
        )
    clean_packed, clean_normal = _maps(mesh)
    np.testing.assert_array_equal(packed, clean_packed)
    np.testing.assert_array_equal(normal, clean_normal)


def test_chart_coverage_follows_the_uv_triangles() -> None:
    uvs = np.array([[0, 0], [0.5, 0], [0, 1]], dtype=np.float32)
    covered = chart_coverage(uvs, np.array([[0, 1, 2]], dtype=np.int32), 64, 32)
    assert covered.shape == (64, 32)
    assert covered[63, 0] and covered[0, 0] and covered[63, 15]
    assert not covered[0, 31] and not covered[10, 20]
    assert covered.mean() == pytest.approx(0.25, abs=0.03)


@pytest.mark.parametrize("size", [64, 512])  # tiny triangles (sampled) and large (filled)
def test_chart_coverage_contains_every_texel_the_baker_rasterises(size: int) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=4)
    atlas = build_atlas(sphere.vertices.astype(np.float32), sphere.faces.astype(np.int32), size)
    baked = rasterize(atlas.uvs, atlas.uv_faces, size).covered
    covered = chart_coverage(atlas.uvs, atlas.uv_faces, size, size)
    assert covered[baked].all()
    assert covered.sum() < 1.1 * baked.sum() + 4 * size  # a texel's rim at most


@pytest.mark.parametrize("scale", [1.0, 0.01])
def test_overlapping_uv_triangles_stay_covered(scale: float) -> None:
    triangle = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]], dtype=np.float32) * scale
    inner = triangle.mean(axis=0) + 0.5 * (triangle - triangle.mean(axis=0))
    uvs = np.vstack([triangle, triangle, inner])  # stacked twice, plus one inside
    faces = np.arange(9, dtype=np.int32).reshape(3, 3)
    alone = chart_coverage(triangle, faces[:1], 256, 256)
    assert alone.any()
    np.testing.assert_array_equal(chart_coverage(uvs, faces, 256, 256), alone)


def test_untextured_mesh_is_returned_unchanged() -> None:
    mesh = _square(np.zeros((4, 4, 3), dtype=np.uint8))
    geometry_only = mesh.with_(uvs=None, uv_faces=None)
    no_image = mesh.with_(material=Material())
    assert pbr_maps(geometry_only) is geometry_only
    assert pbr_maps(no_image) is no_image


def test_maps_already_present_are_kept() -> None:
    mesh = pbr_maps(_square(_noise(4, 30, (100, 100, 100))))
    assert pbr_maps(mesh) is mesh
