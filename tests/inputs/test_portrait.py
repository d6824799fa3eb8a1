"""The portrait preset: bust framing and bilateral symmetry on synthetic silhouettes."""

from __future__ import annotations

import numpy as np

from meshsmith.inputs.portrait import BUST_HEIGHT_PER_SHOULDER, bust_crop, portrait, symmetric


def _person(height: int = 600) -> np.ndarray:
    """A head (radius 30 at x=100) on a 140 px wide body from y=90 down to ``height``."""
    yy, xx = np.mgrid[:700, :200]
    head = (xx - 100) ** 2 + (yy - 50) ** 2 <= 30 ** 2
    body = (xx >= 30) & (xx < 170) & (yy >= 90) & (yy < height)
    return np.asarray(head | body)


def test_bust_crop_cuts_a_full_figure_below_the_bust() -> None:
    mask = _person()
    rgb = np.full((*mask.shape, 3), 200, np.uint8)
    out_rgb, out = bust_crop(rgb, mask)
    cut = 20 + round(BUST_HEIGHT_PER_SHOULDER * 140)  # top of the head at y=20
    assert not out[cut:].any() and np.array_equal(out[:cut], mask[:cut])
    assert out_rgb is rgb


def test_bust_crop_keeps_a_subject_that_is_already_a_bust() -> None:
    mask = _person(height=150)
    assert np.array_equal(bust_crop(np.zeros((*mask.shape, 3), np.uint8), mask)[1], mask)


def test_symmetric_mirrors_the_silhouette_and_copies_colours_into_gained_pixels() -> None:
    mask = np.zeros((100, 100), bool)
    mask[20:80, 30:70] = True  # a centred block ...
    mask[40:50, 70:85] = True  # ... with an arm on its right
    rgb = np.zeros((100, 100, 3), np.uint8)
    rgb[40:50, 70:85] = (255, 0, 0)
    out_rgb, out = symmetric(rgb, mask)
    cols = np.nonzero(out[45])[0]
    assert out[40:50, 70:85].all() and out[40:50, 22:30].all()  # the arm and its mirror
    assert abs((cols.min() + cols.max() + 1) / 2 - (np.nonzero(mask[20:56])[1].mean() + 0.5)) <= 1
    gained = out & ~mask
    assert gained[40:50, 22:30].all() and (out_rgb[40:50, 22:30] == (255, 0, 0)).all()
    assert np.array_equal(out_rgb[mask], rgb[mask]) and (out | ~mask).all()


def test_portrait_is_bust_crop_then_symmetry() -> None:
    mask = _person()
    mask[100:120, 170:190] = True  # one raised hand, right side only
    _, out = portrait(np.zeros((*mask.shape, 3), np.uint8), mask)
    assert not out[300:].any()
    assert out[100:120, 10:30].any()  # mirrored to the left


def test_every_view_is_cut_at_the_fronts_bust_fraction_and_only_front_and_back_mirrored(
        ) -> None:
    from meshsmith.inputs.portrait import portrait_views

    front = _person()
    side = np.zeros_like(front)
    side[20:600, 80:120] = True  # a narrow profile: its own "shoulders" would cut it higher
    side[40:60, 120:140] = True  # the nose, on one side only
    rgb = np.zeros((*front.shape, 3), np.uint8)
    out = portrait_views({"front": (rgb, front), "left": (rgb, side)})
    cut = 20 + round(BUST_HEIGHT_PER_SHOULDER * 140)
    assert not out["front"][1][cut:].any() and out["front"][1][cut - 1].any()
    assert not out["left"][1][cut:].any() and out["left"][1][cut - 1].any()
    assert not out["left"][1][40:60, 60:80].any()  # the profile is not mirrored
