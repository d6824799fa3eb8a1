"""frame_view and frame_shared: square crops, fill ratio, box mapping, shared framing."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from meshsmith.errors import InvalidViewsError, NoForegroundError
from meshsmith.inputs import FramedView, frame_cropped, frame_shared, frame_view
from meshsmith.inputs.framing import mask_bbox


def _view(
    height: int, width: int, box: tuple[int, int, int, int]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """A grey photo with a red rectangle ``box = (x0, y0, x1, y1)`` and its mask."""
    rgb = np.full((height, width, 3), 200, np.uint8)
    mask = np.zeros((height, width), bool)
    x0, y0, x1, y1 = box
    rgb[y0:y1, x0:x1] = (220, 30, 30)
    mask[y0:y1, x0:x1] = True
    return rgb, mask


def _to_original(view: FramedView, px: float, py: float) -> tuple[float, float]:
    x0, y0, side = view.box
    scale = side / view.mask.shape[0]
    return x0 + px * scale, y0 + py * scale


def test_frame_view_is_square_and_object_fills_the_requested_share() -> None:
    rgb, mask = _view(300, 400, (50, 100, 150, 150))  # 100 x 50 object
    view = frame_view(rgb, mask, fill=0.8)
    side = view.rgb.shape[0]
    assert view.rgb.shape == (side, side, 3) and view.mask.shape == (side, side)
    x0, y0, x1, y1 = mask_bbox(view.mask)
    assert (x1 - x0) / side == pytest.approx(0.8, abs=1 / side)
    assert abs((x0 + x1) / 2 - side / 2) <= 1 and abs((y0 + y1) / 2 - side / 2) <= 1


def test_frame_view_box_maps_framed_pixels_back_to_the_original() -> None:
    rgb, mask = _view(300, 400, (210, 40, 290, 200))
    view = frame_view(rgb, mask, fill=0.88)
    x0, y0, side = view.box
    assert side == view.rgb.shape[0]
    ys, xs = np.nonzero(view.mask)
    assert np.array_equal(mask[ys + int(y0), xs + int(x0)], np.ones(len(ys), bool))
    fx0, fy0, fx1, fy1 = mask_bbox(view.mask)
    assert _to_original(view, fx0, fy0) == (210, 40)
    assert _to_original(view, fx1, fy1) == (290, 200)


def test_frame_view_resamples_to_size_and_keeps_the_box_in_original_pixels() -> None:
    rgb, mask = _view(600, 800, (300, 100, 500, 500))  # 200 x 400 object
    view = frame_view(rgb, mask, fill=0.8, size=128)
    assert view.rgb.shape == (128, 128, 3) and view.mask.shape == (128, 128)
    assert view.box[2] == 500  # 400 / 0.8
    fx0, fy0, fx1, fy1 = mask_bbox(view.mask)
    ox0, oy0 = _to_original(view, fx0, fy0)
    ox1, oy1 = _to_original(view, fx1, fy1)
    assert abs(ox0 - 300) <= 4 and abs(oy0 - 100) <= 4
    assert abs(ox1 - 500) <= 4 and abs(oy1 - 500) <= 4
    assert view.rgb[64, 64].tolist() == [220, 30, 30]


def test_square_beyond_the_photo_is_padded_with_background_and_no_mask() -> None:
    rgb, mask = _view(200, 300, (0, 20, 60, 180))  # touches the left edge
    view = frame_view(rgb, mask, fill=0.5)
    assert view.box[0] < 0
    pad = -int(view.box[0])
    assert not view.mask[:, :pad].any()
    assert (view.rgb[:, :pad] == 200).all()  # the backdrop's colour


def test_frame_view_rejects_an_empty_mask() -> None:
    rgb, _ = _view(100, 100, (0, 0, 0, 0))
    with pytest.raises(NoForegroundError):
        frame_view(rgb, np.zeros((100, 100), bool))


@pytest.mark.parametrize("fill", [0.0, 1.5])
def test_frame_view_rejects_fill_outside_0_to_1(fill: float) -> None:
    rgb, mask = _view(100, 100, (20, 20, 60, 60))
    with pytest.raises(ValueError, match="fill"):
        frame_view(rgb, mask, fill=fill)


def test_frame_shared_uses_one_square_centred_on_the_image_centre_column() -> None:
    views = [
        _view(400, 600, (250, 100, 350, 300)),  # centred, tall
        _view(400, 600, (150, 150, 330, 250)),  # wide, left of centre
        _view(400, 600, (290, 120, 420, 280)),  # right of centre
    ]
    framed = frame_shared([v[0] for v in views], [v[1] for v in views], fill=0.9, size=256)
    assert len(framed) == 3
    assert len({f.box for f in framed}) == 1
    x0, y0, side = framed[0].box
    assert abs(x0 + side / 2 - 300) <= 1  # image centre column
    assert abs(y0 + side / 2 - 200) <= 1  # middle of all views' rows 100..300
    assert side == np.ceil(300 / 0.9)  # widest span about the axis: 150..450
    for view in framed:
        bx0, by0, bx1, by1 = mask_bbox(view.mask)
        assert max(bx1 - bx0, by1 - by0) <= 0.9 * 256 + 1
    heights = [mask_bbox(f.mask)[3] - mask_bbox(f.mask)[1] for f in framed]
    assert heights[0] == pytest.approx(2 * heights[1], abs=2)  # relative scale is kept


def test_frame_shared_rejects_photos_of_different_sizes_with_code_10021004() -> None:
    first, second = _view(400, 600, (250, 100, 350, 300)), _view(400, 500, (200, 100, 300, 300))
    with pytest.raises(InvalidViewsError) as caught:
        frame_shared([first[0], second[0]], [first[1], second[1]])
    assert caught.value.code == 10021004
    assert "multi-view photos must share one image size" in str(caught.value)


def _blob(height: int, width: int, box: tuple[int, int, int, int]) -> tuple[
        npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    mask = np.zeros((height, width), dtype=bool)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = True
    rgb = np.where(mask[..., None], np.uint8(90), np.uint8(250)).astype(np.uint8)
    return np.repeat(rgb, 3, axis=2), mask


def test_frame_cropped_keeps_one_pixel_scale_for_differently_cropped_photos() -> None:
    # the same 60 x 100 object, photographed once and cropped twice in different places
    a = _blob(300, 400, (50, 40, 110, 140))
    b = _blob(220, 180, (100, 90, 160, 190))
    frames = frame_cropped([a[0], b[0]], [a[1], b[1]], fill=0.8)
    assert frames[0].mask.shape == frames[1].mask.shape
    heights = [mask_bbox(f.mask)[3] - mask_bbox(f.mask)[1] for f in frames]
    assert heights[0] == heights[1] == 100
    for f in frames:  # each object is centred in its own square
        x0, y0, x1, y1 = mask_bbox(f.mask)
        side = f.mask.shape[0]
        assert abs((x0 + x1) - side) <= 2 and abs((y0 + y1) - side) <= 2


def test_frame_cropped_brings_rescaled_photos_to_the_front_views_height() -> None:
    front = _blob(300, 300, (100, 50, 160, 250))   # 200 px tall
    side = _blob(200, 200, (60, 50, 110, 150))     # the same object shrunk to 100 px
    frames = frame_cropped([front[0], side[0]], [front[1], side[1]], fill=0.8)
    heights = [mask_bbox(f.mask)[3] - mask_bbox(f.mask)[1] for f in frames]
    assert abs(heights[0] - heights[1]) <= 2
