"""The cover renderer: real offscreen OpenGL (moderngl on EGL), PNGs re-read by Pillow."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from meshsmith import cover
from meshsmith.errors import MissingDependencyError, RenderError
from meshsmith.mesh import Material, Mesh

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 40)


def uv_sphere(segments: int, rings: int, texture: NDArray[np.uint8] | None = None) -> Mesh:
    """A closed lat-long sphere of radius 0.5 (one vertex per pole) with a UV grid whose seam
    runs along the back (-Z) meridian. u grows from +Z toward +X; v = 1 at the north pole."""
    theta = np.linspace(0.0, np.pi, rings + 1)
    phi = np.linspace(0.0, 2 * np.pi, segments + 1)
    t, p = np.meshgrid(theta[1:-1], phi[:-1], indexing="ij")
    ring = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], -1)
    verts = np.concatenate([[[0, 1, 0]], ring.reshape(-1, 3), [[0, -1, 0]]]) * 0.5
    r, s = (a.ravel() for a in np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij"))

    def vid(r: NDArray[np.int64], s: NDArray[np.int64]) -> NDArray[np.int64]:
        inner = 1 + (r - 1) * segments + s % segments
        return np.where(r == 0, 0, np.where(r == rings, len(verts) - 1, inner))

    corners = [(r, s), (r + 1, s), (r + 1, s + 1), (r, s + 1)]
    tris = [((0, 1, 2), r != rings - 1), ((0, 2, 3), r != 0)]  # drop the pole slivers
    faces = np.concatenate([np.stack([vid(*corners[i]) for i in tri], 1)[keep]
                            for tri, keep in tris])
    uv_faces = np.concatenate([np.stack([corners[i][0] * (segments + 1) + corners[i][1]
                                         for i in tri], 1)[keep] for tri, keep in tris])
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    uvs = np.stack([pp.ravel() / (2 * np.pi), 1.0 - tt.ravel() / np.pi], 1)
    if texture is None:
        return Mesh(vertices=verts.astype(np.float32), faces=faces.astype(np.int32))
    return Mesh(vertices=verts.astype(np.float32), faces=faces.astype(np.int32),
                uvs=uvs.astype(np.float32), uv_faces=uv_faces.astype(np.int32),
                material=Material(base_color=texture))


def cube(size: float = 1.0) -> Mesh:
    """A closed cube, 12 CCW triangles, centred at the origin."""
    v = (np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)]) - 0.5) * size
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [(a, b, c) for a, b, c, d in quads] + [(a, c, d) for a, b, c, d in quads]
    return Mesh(vertices=v.astype(np.float32), faces=np.array(faces, dtype=np.int32))


def halves(top: tuple[int, int, int], bottom: tuple[int, int, int], size: int = 64,
           vertical: bool = False) -> NDArray[np.uint8]:
    """A texture whose top (or, with ``vertical``, left) half is ``top``."""
    image = np.empty((size, size, 3), np.uint8)
    if vertical:
        image[:, : size // 2], image[:, size // 2:] = top, bottom
    else:
        image[: size // 2], image[size // 2:] = top, bottom
    return image


def mask(image: NDArray[np.uint8]) -> NDArray[np.bool_]:
    return image[..., 3] > 0


def luminance(image: NDArray[np.uint8]) -> NDArray[np.float64]:
    return image[..., :3].astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def iou(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.fixture(scope="module")
def red_north_sphere() -> Mesh:
    """Texture's top half (the northern hemisphere) red, bottom half blue."""
    return uv_sphere(96, 48, halves(RED, BLUE))


@pytest.fixture(scope="module")
def red_north_image(red_north_sphere: Mesh) -> NDArray[np.uint8]:
    return cover.render_cover(red_north_sphere, size=256)


def test_output_is_square_rgba_uint8(red_north_image: NDArray[np.uint8]) -> None:
    assert red_north_image.shape == (256, 256, 4)
    assert red_north_image.dtype == np.uint8


def test_background_is_transparent_around_the_model(red_north_image: NDArray[np.uint8]) -> None:
    alpha = red_north_image[..., 3]
    assert alpha[[0, 0, -1, -1], [0, -1, 0, -1]].tolist() == [0, 0, 0, 0]
    border = np.concatenate([alpha[:2].ravel(), alpha[-2:].ravel(),
                             alpha[:, :2].ravel(), alpha[:, -2:].ravel()])
    assert border.max() == 0


def test_model_fills_a_centred_sensible_fraction(red_north_image: NDArray[np.uint8]) -> None:
    covered = mask(red_north_image)
    assert 0.35 < covered.mean() < 0.9
    rows, cols = np.nonzero(covered)
    assert abs(rows.mean() - 127.5) < 8 and abs(cols.mean() - 127.5) < 8


def test_silhouette_is_antialiased(red_north_image: NDArray[np.uint8]) -> None:
    alpha = red_north_image[..., 3]
    partial = (alpha > 0) & (alpha < 255)
    outline = mask(red_north_image).sum() ** 0.5 * 3.5  # about the circumference in pixels
    assert partial.sum() > 0.4 * outline


def rows_band(image: NDArray[np.uint8], start: float, stop: float) -> NDArray[np.int64]:
    """(N, 4) opaque pixels in a band of the model's rows (0 = its top, 1 = its bottom)."""
    rows = np.nonzero(mask(image))[0]
    top, height = rows.min(), rows.max() - rows.min()
    band = image[top + int(start * height): top + int(stop * height)]
    return band[band[..., 3] == 255].astype(np.int64)


def test_texture_v_origin_is_bottom_left(red_north_image: NDArray[np.uint8]) -> None:
    """Seen from 20° above, both hemispheres show: red (image top) above, blue below."""
    upper, lower = rows_band(red_north_image, 0.02, 0.25), rows_band(red_north_image, 0.8, 0.98)
    assert (upper[:, 0] > 2 * upper[:, 2]).all()
    assert (lower[:, 2] > 2 * lower[:, 0]).all()


def test_camera_looks_from_front_right() -> None:
    """u < 0.5 is the +X half: from 45° toward +X it covers most, but not all, of the view."""
    image = cover.render_cover(uv_sphere(96, 48, halves(RED, BLUE, vertical=True)), size=256)
    pixels = image[image[..., 3] == 255].astype(np.int64)
    red = (pixels[:, 0] > 2 * pixels[:, 2]).mean()
    blue = (pixels[:, 2] > 2 * pixels[:, 0]).mean()
    assert 0.65 < red < 0.95 and blue > 0.05
    assert red + blue > 0.99


def test_lighting_shades_across_the_sphere(red_north_image: NDArray[np.uint8]) -> None:
    red = rows_band(red_north_image, 0.02, 0.3)[:, 0]
    assert red.std() > 8 and red.max() - red.min() > 40
    grey = cover.render_cover(uv_sphere(96, 48), size=128)
    assert luminance(grey)[grey[..., 3] == 255].std() > 12


def test_key_light_comes_from_the_upper_left() -> None:
    image = cover.render_cover(uv_sphere(96, 48), size=128)
    lum, solid = luminance(image), image[..., 3] == 255
    assert lum[30:64, 30:64][solid[30:64, 30:64]].mean() > lum[64:98, 64:98][
        solid[64:98, 64:98]].mean() + 20


def test_unlit_material_shows_the_base_colour_unshaded() -> None:
    texture = np.full((8, 8, 3), GREEN, np.uint8)
    sphere = uv_sphere(64, 32, texture)
    unlit = cover.render_cover(sphere.with_(material=Material(base_color=texture, unlit=True)),
                               size=128)
    solid = unlit[..., 3] == 255
    assert np.abs(unlit[solid][:, :3].astype(np.int64) - GREEN).max() <= 2
    lit = cover.render_cover(sphere, size=128)
    assert luminance(lit)[lit[..., 3] == 255].std() > 6


def test_untextured_cube_is_grey_with_lit_faces_distinct() -> None:
    image = cover.render_cover(cube(), size=128)
    pixels = image[image[..., 3] == 255][:, :3].astype(np.int64)
    assert np.abs(pixels[:, 0] - pixels[:, 2]).max() <= 2  # grey: no hue
    assert luminance(image)[image[..., 3] == 255].std() > 6
    assert 0.2 < mask(image).mean() < 0.8


def test_vertex_colours_are_shown_when_untextured() -> None:
    sphere = uv_sphere(48, 24)
    colors = np.where(sphere.vertices[:, 1:2] > 0, RED, GREEN).astype(np.uint8)
    image = cover.render_cover(sphere.with_(vertex_colors=colors), size=128)
    upper, lower = rows_band(image, 0.02, 0.25), rows_band(image, 0.8, 0.98)
    assert (upper[:, 0] > 2 * upper[:, 1]).all()
    assert (lower[:, 1] > 2 * lower[:, 0]).all()


def test_mesh_above_max_faces_renders_from_a_decimated_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 5x reduction, as 1M faces to the default 200k is."""
    sphere = uv_sphere(200, 100, halves(RED, BLUE))
    full = cover.render_cover(sphere, size=256)
    counts: list[int] = []
    decimate = cover._decimate

    def spy(*args: object) -> object:
        keep, faces = decimate(*args)  # type: ignore[arg-type]
        counts.append(len(faces))
        return keep, faces

    monkeypatch.setattr(cover, "_decimate", spy)
    small = cover.render_cover(sphere, size=256, max_faces=8000)
    assert len(sphere.faces) > 4 * 8000
    assert len(counts) == 1 and counts[0] <= 8000
    assert iou(mask(small), mask(full)) > 0.98
    both = (small[..., 3] == 255) & (full[..., 3] == 255)
    small, full = small.astype(np.int64), full.astype(np.int64)
    # the texture still maps to the same places: the colour class agrees almost everywhere
    assert ((small[both][:, 0] > small[both][:, 2]) ==
            (full[both][:, 0] > full[both][:, 2])).mean() > 0.99
    assert np.abs(small[both] - full[both]).mean() < 4


def test_decimated_copy_stays_closed_across_uv_seams() -> None:
    """UV seams split vertices; decimating the split mesh must not open a crack there.

    Welded by position (split copies share theirs exactly), every edge of the decimated
    sphere still joins exactly two faces.
    """
    sphere = uv_sphere(128, 64, halves(RED, BLUE))
    geometry = cover._geometry(sphere, max_faces=3000)
    assert len(geometry.faces) <= 3000
    _, welded = np.unique(geometry.vertices[:, :3], axis=0, return_inverse=True)
    faces = welded.ravel()[geometry.faces]
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, uses = np.unique(edges, axis=0, return_counts=True)
    assert (uses == 2).all()


def test_shared_uv_indices_fall_back_to_split_by_uv() -> None:
    """Every face of this cube reuses the same four UVs, so UV indices are not vertices."""
    box = cube()
    uv_faces = np.array([[0, 1, 2]] * 6 + [[0, 2, 3]] * 6, np.int32)  # as cube() orders them
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    textured = box.with_(uvs=uvs, uv_faces=uv_faces,
                         material=Material(base_color=np.full((4, 4, 3), BLUE, np.uint8)))
    positions, _, faces, _ = cover._one_index_buffer(textured)
    expected, _, expected_faces, _ = textured.split_by_uv()
    assert np.array_equal(positions[faces], expected[expected_faces])
    image = cover.render_cover(textured, size=96)
    pixels = image[image[..., 3] == 255].astype(np.int64)
    assert (pixels[:, 2] > 2 * pixels[:, 0]).all()


def test_one_index_buffer_matches_split_by_uv(red_north_sphere: Mesh) -> None:
    positions, uvs, faces, source = cover._one_index_buffer(red_north_sphere)
    expected, expected_uvs, expected_faces, expected_source = red_north_sphere.split_by_uv()
    assert uvs is not None and expected_uvs is not None
    assert np.array_equal(positions[faces], expected[expected_faces])
    assert np.array_equal(uvs[faces], expected_uvs[expected_faces])
    assert np.array_equal(source[faces], expected_source[expected_faces])


def test_write_cover_writes_a_png_pillow_reads_back(
    red_north_sphere: Mesh, tmp_path: Path
) -> None:
    path = cover.write_cover(red_north_sphere, tmp_path / "cover.png", size=128)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGBA" and image.size == (128, 128)
        pixels = np.asarray(image)
    assert np.array_equal(pixels, cover.render_cover(red_north_sphere, size=128))


def test_default_size_is_512(red_north_sphere: Mesh) -> None:
    assert cover.render_cover(red_north_sphere).shape == (512, 512, 4)


def test_renders_from_another_thread_match(red_north_sphere: Mesh) -> None:
    here = cover.render_cover(red_north_sphere, size=96)
    with ThreadPoolExecutor(max_workers=2) as pool:
        there = list(pool.map(lambda _: cover.render_cover(red_north_sphere, size=96), range(3)))
    for image in there:
        assert np.array_equal(image, here)


def test_mesh_without_faces_is_a_render_error() -> None:
    empty = Mesh(vertices=np.zeros((3, 3), np.float32), faces=np.zeros((0, 3), np.int32))
    with pytest.raises(RenderError):
        cover.render_cover(empty)


def test_failed_egl_context_is_a_render_error_naming_the_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import moderngl

    def no_egl(*args: object, **kwargs: object) -> object:
        raise Exception("eglInitialize failed")

    monkeypatch.setattr(moderngl, "create_context", no_egl)
    monkeypatch.setattr(cover._CACHE, "renderer", None)
    with pytest.raises(RenderError) as caught:
        cover.render_cover(cube(), size=32)
    assert caught.value.code == 10061002
    assert "libegl1" in caught.value.message and "libgl1-mesa-dri" in caught.value.message
    assert "eglInitialize failed" in caught.value.message


def test_missing_moderngl_is_a_missing_dependency_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moderngl", None)
    monkeypatch.setattr(cover._CACHE, "renderer", None)
    with pytest.raises(MissingDependencyError, match="pip install moderngl"):
        cover.render_cover(cube(), size=32)


def test_gl_failure_during_a_render_is_a_render_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import moderngl

    def out_of_memory(*args: object) -> object:
        raise moderngl.Error("GL_OUT_OF_MEMORY")

    monkeypatch.setattr(cover._Renderer, "_upload_texture", out_of_memory)
    with pytest.raises(RenderError, match="GL_OUT_OF_MEMORY"):
        cover.render_cover(cube(), size=32)


def test_unreferenced_vertices_do_not_change_the_framing() -> None:
    box = cube()
    stray = box.with_(vertices=np.concatenate([box.vertices, [[40.0, 0.0, 0.0]]]).astype(
        np.float32))
    assert np.array_equal(cover.render_cover(stray, size=64), cover.render_cover(box, size=64))
