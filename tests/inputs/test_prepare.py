"""prepare_view: file in, full-resolution colour and object mask out."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from meshsmith.errors import NotAnImageError
from meshsmith.inputs import PreparedView, frame_view, prepare_view

from . import scenes


def _jpeg_scene(path: Path) -> np.ndarray:
    rgb, truth = scenes.sphere_scene(scenes.gradient_background(480, 640))
    Image.fromarray(rgb).save(path, "JPEG", quality=92)
    return truth


def test_prepares_a_photo_file_into_rgb_and_mask(tmp_path: Path) -> None:
    truth = _jpeg_scene(tmp_path / "ball.jpg")
    view = prepare_view(tmp_path / "ball.jpg")
    assert isinstance(view, PreparedView)
    assert view.format == "jpeg"
    assert view.rgb.shape == (480, 640, 3) and view.mask.shape == (480, 640)
    assert scenes.iou(view.mask, truth) > 0.95
    framed = frame_view(view.rgb, view.mask, size=256)
    assert framed.rgb.shape == (256, 256, 3)


def test_autofix_is_applied_before_segmentation(tmp_path: Path) -> None:
    truth = _jpeg_scene(tmp_path / "ball.jpg")
    plain = prepare_view(tmp_path / "ball.jpg")
    fixed = prepare_view(tmp_path / "ball.jpg", autofix=True)
    assert not np.array_equal(plain.rgb, fixed.rgb)
    assert scenes.iou(fixed.mask, truth) > 0.95


def test_transparent_png_is_composited_over_white_and_masked_by_alpha() -> None:
    rgba = np.zeros((100, 100, 4), np.uint8)  # hidden colour under alpha 0 is black
    rgba[30:70, 30:70] = (10, 120, 200, 255)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG")
    view = prepare_view(buffer.getvalue())
    assert view.format == "png"
    assert view.mask[30:70, 30:70].all() and view.mask.sum() == 1600
    assert (view.rgb[0, 0] == 255).all()
    assert view.rgb[50, 50].tolist() == [10, 120, 200]


def test_errors_from_decoding_pass_through() -> None:
    with pytest.raises(NotAnImageError):
        prepare_view(b"not an image at all")
