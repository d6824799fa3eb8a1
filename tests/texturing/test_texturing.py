from __future__ import annotations

import numpy as np
import pytest
import trimesh

from meshsmith.camera import Camera
from meshsmith.engines.base import ViewImage
from meshsmith.mesh import Mesh
from meshsmith.spec import TextureOptions
from meshsmith.texturing import texture_mesh
from meshsmith.texturing.bake import depth_maps, visible
from meshsmith.texturing.charts import build_atlas
from meshsmith.texturing.raster import rasterize


@pytest.fixture(scope="module")
def sphere() -> Mesh:
    s = trimesh.creation.icosphere(subdivisions=5, radius=0.8)
    return Mesh(vertices=s.vertices.astype(np.float32), faces=s.faces.astype(np.int32))


def _uv_areas(uvs: np.ndarray, uv_faces: np.ndarray) -> np.ndarray:
    t = uvs[uv_faces]
    a, b = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    return 0.5 * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])


def test_atlas_charts_are_inside_the_unit_square_and_do_not_overlap(sphere: Mesh) -> None:
    atlas = build_atlas(sphere.vertices, sphere.faces, 1024)
    assert atlas.uvs.min() >= 0 and atlas.uvs.max() <= 1
    areas = _uv_areas(atlas.uvs, atlas.uv_faces)
    assert (areas > 0).all()  # every chart is seen from outside: no flipped triangles
    texels = rasterize(atlas.uvs, atlas.uv_faces, 1024)
    covered = texels.covered.mean()
    assert covered == pytest.approx(areas.sum(), rel=0.05)  # no two faces share texels
    assert covered > 0.45


def test_rasterized_barycentrics_reproduce_the_uv_position(sphere: Mesh) -> None:
    atlas = build_atlas(sphere.vertices, sphere.faces, 256)
    texels = rasterize(atlas.uvs, atlas.uv_faces, 256)
    rows, cols = np.nonzero(texels.covered)
    faces = texels.face[rows, cols]
    uv = np.einsum("nk,nkd->nd", texels.bary[rows, cols], atlas.uvs[atlas.uv_faces[faces]])
    assert np.allclose(uv[:, 0] * 256 - 0.5, cols, atol=1e-3)
    assert np.allclose((1 - uv[:, 1]) * 256 - 0.5, rows, atol=1e-3)


def test_projected_texture_colours_front_from_the_photo_and_leaves_no_black_texel(
    sphere: Mesh,
) -> None:
    size = 256
    rgb = np.zeros((size, size, 3), np.uint8)
    rgb[:, : size // 2] = (220, 30, 30)  # left half red
    rgb[:, size // 2 :] = (30, 30, 220)  # right half blue
    yy, xx = np.mgrid[:size, :size] + 0.5
    mask = np.hypot(xx - size / 2, yy - size / 2) < 0.8 * size / 2
    view = ViewImage(rgb=rgb, mask=mask, camera=Camera("front", size, (size / 2, size / 2)))
    textured = texture_mesh(sphere, {"front": view}, TextureOptions(size=512))
    image = textured.material.base_color
    assert image is not None and image.shape == (512, 512, 3)
    assert (image.sum(axis=2) > 0).all()
    # per-vertex colour via its UV: x < 0 must be red, x > 0 blue (front and mirrored back)
    uv_of_vertex = np.zeros((len(sphere.vertices), 2), np.float32)
    uv_of_vertex[textured.faces.ravel()] = textured.uvs[textured.uv_faces.ravel()]
    px = np.clip((uv_of_vertex[:, 0] * 512).astype(int), 0, 511)
    py = np.clip(((1 - uv_of_vertex[:, 1]) * 512).astype(int), 0, 511)
    colours = image[py, px].astype(int)
    x = sphere.vertices[:, 0]
    assert (colours[x < -0.2, 0] > colours[x < -0.2, 2]).mean() > 0.95
    assert (colours[x > 0.2, 2] > colours[x > 0.2, 0]).mean() > 0.95


def test_nearest_fill_gives_every_unknown_pixel_its_nearest_known_colour() -> None:
    from meshsmith.texturing.bake import nearest_fill

    image = np.zeros((40, 60, 3), np.uint8)
    known = np.zeros((40, 60), bool)
    image[:, :5], known[:, :5] = (200, 0, 0), True
    image[:, -5:], known[:, -5:] = (0, 0, 200), True
    filled = nearest_fill(image, known)
    assert (filled[:, :28] == (200, 0, 0)).all()
    assert (filled[:, 32:] == (0, 0, 200)).all()


def _flat_view(slot: str, colour: tuple[int, int, int], size: int = 128) -> ViewImage:
    rgb = np.zeros((size, size, 3), np.uint8)
    rgb[:] = colour
    yy, xx = np.mgrid[:size, :size] + 0.5
    mask = np.hypot(xx - size / 2, yy - size / 2) < 0.8 * size / 2
    return ViewImage(rgb=rgb, mask=mask, camera=Camera(slot, size, (size / 2, size / 2)))


def _vertex_colours(textured: Mesh) -> np.ndarray:
    image = textured.material.base_color
    assert image is not None and textured.uvs is not None and textured.uv_faces is not None
    uv = np.zeros((len(textured.vertices), 2), np.float32)
    uv[textured.faces.ravel()] = textured.uvs[textured.uv_faces.ravel()]
    h, w = image.shape[:2]
    px = np.clip((uv[:, 0] * w).astype(int), 0, w - 1)
    py = np.clip(((1 - uv[:, 1]) * h).astype(int), 0, h - 1)
    return image[py, px].astype(int)


def test_original_image_alignment_lets_the_front_photo_win_where_views_disagree(
    sphere: Mesh,
) -> None:
    views = {"front": _flat_view("front", (230, 20, 20)),
             "right": _flat_view("right", (20, 20, 230))}
    # points seen by both views, turned 45 degrees from the front toward the right
    v = sphere.vertices
    between = (v[:, 0] > 0.4) & (v[:, 2] > 0.4) & (np.abs(v[:, 1]) < 0.2)
    assert between.sum() > 10
    colours = {}
    for alignment in ("original_image", "geometry"):
        options = TextureOptions(size=512, alignment=alignment)  # type: ignore[arg-type]
        colours[alignment] = _vertex_colours(texture_mesh(sphere, views, options))[between]
    front_wins = colours["original_image"]
    blended = colours["geometry"]
    assert (front_wins[:, 0] > 180).mean() > 0.9 and (front_wins[:, 2] < 60).mean() > 0.9
    # geometry blends both views by facing: a mix, clearly less red than the front's colour
    assert blended[:, 2].mean() > 60 and blended[:, 0].mean() < 190


def test_depth_maps_made_ahead_give_the_same_texture_as_depth_maps_made_while_baking(
    sphere: Mesh,
) -> None:
    views = {"front": _flat_view("front", (230, 20, 20)),
             "left": _flat_view("left", (20, 20, 230))}
    options = TextureOptions(size=512)
    ahead = depth_maps(sphere, {slot: view.camera for slot, view in views.items()})
    assert set(ahead) == {"front", "left"}
    assert np.isfinite(ahead["front"]).any() and np.isneginf(ahead["front"]).any()
    made_here = texture_mesh(sphere, views, options).material.base_color
    given = texture_mesh(sphere, views, options, depths=ahead).material.base_color
    assert made_here is not None and given is not None
    assert np.array_equal(made_here, given)


def test_a_depth_map_hides_the_far_side_of_the_sphere_from_its_camera(sphere: Mesh) -> None:
    camera = Camera("front", 128, (64.0, 64.0))
    depth = depth_maps(sphere, {"front": camera})["front"]
    near = np.array([[0.0, 0.0, 0.8]], np.float32)
    far = np.array([[0.0, 0.0, -0.8]], np.float32)
    assert visible(depth, camera, near).all()
    assert not visible(depth, camera, far).any()
