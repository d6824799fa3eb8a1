"""foreground_mask on synthetic product photos with exact ground truth."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from meshsmith.errors import NoForegroundError
from meshsmith.inputs import DecodedImage, foreground_mask
from meshsmith.inputs.mask import _fill_foreground_holes, _prepare_work

from . import scenes

Background = Callable[[int, int], scenes.F64]
BACKGROUNDS: dict[str, Background] = {
    "white": scenes.white_background,
    "grey_gradient": scenes.gradient_background,
    "textured_teal": scenes.colored_background,
}
HEIGHT, WIDTH = 480, 640  # above the 512 working size, so the upsampling path runs


def _mask(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    mask = foreground_mask(DecodedImage(rgb, None, "jpeg"))
    assert mask.shape == rgb.shape[:2] and mask.dtype == np.bool_
    return mask


@pytest.mark.parametrize("background", sorted(BACKGROUNDS))
def test_segments_shaded_ball_with_iou_above_0_95(background: str) -> None:
    rgb, truth = scenes.sphere_scene(BACKGROUNDS[background](HEIGHT, WIDTH))
    assert scenes.iou(_mask(rgb), truth) > 0.95


@pytest.mark.parametrize("background", sorted(BACKGROUNDS))
def test_ring_keeps_its_see_through_hole(background: str) -> None:
    rgb, truth = scenes.ring_scene(BACKGROUNDS[background](HEIGHT, WIDTH))
    mask = _mask(rgb)
    assert scenes.iou(mask, truth) > 0.95
    centre = mask[HEIGHT // 2 - 20 : HEIGHT // 2 + 20, WIDTH // 2 - 20 : WIDTH // 2 + 20]
    assert not centre.any()


def test_dark_spot_inside_the_object_is_filled() -> None:
    rgb, truth = scenes.spotted_scene(scenes.white_background(HEIGHT, WIDTH))
    mask = _mask(rgb)
    assert scenes.iou(mask, truth) > 0.95
    spot_x, spot_y = int(WIDTH * 0.5 + HEIGHT * 0.06), int(HEIGHT * 0.5 - HEIGHT * 0.03)
    assert mask[spot_y - 10 : spot_y + 10, spot_x - 10 : spot_x + 10].all()


def test_mug_handle_opening_stays_background() -> None:
    rgb, truth = scenes.mug_scene(scenes.gradient_background(HEIGHT, WIDTH))
    mask = _mask(rgb)
    assert scenes.iou(mask, truth) > 0.95
    hx, hy = int(WIDTH * 0.6), HEIGHT // 2
    assert not mask[hy - 5 : hy + 5, hx + 8 : hx + 20].any()  # inside the handle


def test_light_grey_object_on_white_is_found_whole() -> None:
    rgb, truth = scenes.sphere_scene(scenes.white_background(HEIGHT, WIDTH), (235, 235, 240))
    assert scenes.iou(_mask(rgb), truth) > 0.95


def test_white_object_with_a_coloured_logo_on_white_is_found_whole() -> None:
    # a white van on a white backdrop: only a faint shade separates its body from the backdrop
    background = scenes.white_background(HEIGHT, WIDTH)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    body = ((np.abs(xs - WIDTH / 2) < WIDTH * 0.3) & (np.abs(ys - HEIGHT / 2) < HEIGHT * 0.2))
    logo = np.hypot(xs - WIDTH / 2, ys - HEIGHT / 2) < HEIGHT * 0.08
    layers = [(body.astype(float), np.array([228.0, 228.0, 230.0])),
              (logo.astype(float), np.array([40.0, 120.0, 200.0]))]
    rgb = scenes.compose(background, layers, noise=0.8)
    assert scenes.iou(_mask(rgb), body) > 0.95


def test_object_cut_by_the_frame_edge_is_kept() -> None:
    background = scenes.white_background(HEIGHT, WIDTH)
    cover = scenes.disc_coverage(HEIGHT, WIDTH, WIDTH * 0.5, HEIGHT * 0.9, HEIGHT * 0.3)
    color = scenes.shaded_sphere(
        HEIGHT, WIDTH, WIDTH * 0.5, HEIGHT * 0.9, HEIGHT * 0.3, np.array([60.0, 160.0, 60.0])
    )
    rgb = scenes.compose(background, [(cover, color)], noise=2.5)
    assert scenes.iou(_mask(rgb), cover >= 0.5) > 0.95


def test_works_on_small_images_without_resampling() -> None:
    rgb, truth = scenes.sphere_scene(scenes.white_background(200, 300))
    assert scenes.iou(_mask(rgb), truth) > 0.93


@pytest.mark.parametrize("background", sorted(BACKGROUNDS))
def test_empty_backdrop_raises_no_foreground_with_code_10031007(background: str) -> None:
    rgb = scenes.compose(BACKGROUNDS[background](HEIGHT, WIDTH), [], noise=3.0)
    with pytest.raises(NoForegroundError) as caught:
        _mask(rgb)
    assert caught.value.code == 10031007
    assert "background" in str(caught.value)


def test_object_below_half_a_percent_of_the_image_is_rejected() -> None:
    background = scenes.white_background(HEIGHT, WIDTH)
    cover = scenes.disc_coverage(HEIGHT, WIDTH, 300, 200, 9.0)  # ~0.08% of the image
    rgb = scenes.compose(background, [(cover, np.array([200.0, 30.0, 30.0]))], noise=2.0)
    with pytest.raises(NoForegroundError):
        _mask(rgb)


def test_hole_rule_fills_object_coloured_holes_and_keeps_background_ones() -> None:
    rgb, _ = scenes.sphere_scene(scenes.white_background(256, 256))
    work = _prepare_work(rgb)
    mask = np.zeros((256, 256), dtype=bool)
    mask[60:200, 60:200] = True
    mask[100:130, 100:130] = False  # over the ball: object-coloured pixels -> filled
    mask[70:100, 165:195] = True
    mask[5:35, 5:35] = True
    mask[12:28, 12:28] = False  # over the backdrop: see-through -> stays open
    filled = _fill_foreground_holes(mask, work)
    assert filled[100:130, 100:130].all()
    assert not filled[12:28, 12:28].any()


def test_alpha_channel_is_used_when_present() -> None:
    rgb = np.full((100, 120, 3), 255, np.uint8)  # colour says nothing: alpha decides
    alpha = np.zeros((100, 120), np.uint8)
    alpha[20:80, 30:90] = 255
    alpha[20:80, 29] = 100  # soft edge below the 127 cut
    alpha[50, 100] = 255  # an isolated speck is dropped
    mask = foreground_mask(DecodedImage(rgb, alpha, "png"))
    expected = np.zeros_like(mask)
    expected[20:80, 30:90] = True
    assert np.array_equal(mask, expected)


def test_fully_transparent_image_raises_no_foreground() -> None:
    rgb = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(NoForegroundError):
        foreground_mask(DecodedImage(rgb, np.zeros((100, 100), np.uint8), "png"))
