"""load_image: formats, mode conversions, orientation and every rejection path."""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from meshsmith.errors import (
    DecompressionBombError,
    EmptyImageError,
    ImageDimensionsTooLargeError,
    ImageFileTooLargeError,
    ImageTooSmallError,
    ImageTruncatedError,
    InputImageError,
    NotAnImageError,
    UnsupportedImageFormatError,
)
from meshsmith.inputs import DecodedImage, load_image


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _photo(width: int = 160, height: int = 120) -> np.ndarray:
    """A smooth colour test card (compresses well, survives JPEG)."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack(
        [xs * 255 // (width - 1), ys * 255 // (height - 1), np.full_like(xs, 90)], axis=2
    ).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny grey PNG whose header claims ``width x height`` (one compressed row of zeros)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (width + 1), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _reject(data: bytes | Path, error: type[InputImageError], code: int, **kw: int) -> str:
    with pytest.raises(error) as caught:
        load_image(data, **kw)
    assert caught.value.code == code
    assert type(caught.value) is error
    return str(caught.value)


@pytest.mark.parametrize(
    ("fmt", "name", "tolerance"),
    [("PNG", "png", 0), ("BMP", "bmp", 0), ("WEBP", "webp", 12), ("JPEG", "jpeg", 12)],
)
def test_decodes_each_supported_format_to_rgb_uint8(fmt: str, name: str, tolerance: int) -> None:
    pixels = _photo()
    params: dict[str, object] = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    image = load_image(_encode(Image.fromarray(pixels), fmt, **params))
    assert isinstance(image, DecodedImage)
    assert image.format == name
    assert image.rgb.shape == (120, 160, 3) and image.rgb.dtype == np.uint8
    assert image.alpha is None
    diff = np.abs(image.rgb.astype(int) - pixels.astype(int))
    assert np.percentile(diff, 99) <= tolerance


def test_reads_a_path_as_well_as_bytes(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    Image.fromarray(_photo()).save(path)
    assert np.array_equal(load_image(path).rgb, load_image(path.read_bytes()).rgb)


def test_keeps_real_alpha_and_drops_fully_opaque_alpha() -> None:
    rgba = np.dstack([_photo(), np.full((120, 160), 255, np.uint8)])
    assert load_image(_encode(Image.fromarray(rgba), "PNG")).alpha is None
    rgba[:, :40, 3] = 0
    image = load_image(_encode(Image.fromarray(rgba), "PNG"))
    assert image.alpha is not None and image.alpha.shape == (120, 160)
    assert image.alpha[:, :40].max() == 0 and image.alpha[:, 40:].min() == 255
    assert np.array_equal(image.rgb, rgba[:, :, :3])


def test_palette_png_with_transparency_becomes_rgb_plus_alpha() -> None:
    indices = np.zeros((80, 100), np.uint8)
    indices[20:60, 30:70] = 1
    palette_image = Image.fromarray(indices, mode="P")
    palette_image.putpalette([0, 0, 0, 200, 30, 40] + [0] * 762)
    image = load_image(_encode(palette_image, "PNG", transparency=0))
    assert image.alpha is not None
    assert image.alpha[40, 50] == 255 and image.alpha[0, 0] == 0
    assert tuple(image.rgb[40, 50]) == (200, 30, 40)


def test_grey_and_grey_alpha_pngs_become_three_equal_channels() -> None:
    grey = _photo()[:, :, 0]
    image = load_image(_encode(Image.fromarray(grey, mode="L"), "PNG"))
    assert all(np.array_equal(image.rgb[:, :, c], grey) for c in range(3))
    alpha = np.where(grey > 100, 255, 0).astype(np.uint8)
    both = load_image(_encode(Image.fromarray(np.dstack([grey, alpha]), mode="LA"), "PNG"))
    assert both.alpha is not None and np.array_equal(both.alpha, alpha)


def test_16_bit_grey_png_is_scaled_to_8_bit_not_clipped() -> None:
    wide = np.tile(np.array([0, 1000, 32768, 65535], np.uint16).repeat(20), (70, 1))
    image = load_image(_encode(Image.fromarray(wide), "PNG"))
    assert image.rgb.dtype == np.uint8
    assert list(image.rgb[0, ::20, 0]) == [0, 4, 128, 255]


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    cmyk = Image.fromarray(_photo()).convert("CMYK")
    image = load_image(_encode(cmyk, "JPEG", quality=95))
    assert image.rgb.shape == (120, 160, 3)
    assert np.percentile(np.abs(image.rgb.astype(int) - _photo().astype(int)), 95) <= 16


def test_jpeg_with_exif_orientation_6_is_rotated_upright() -> None:
    stored = np.zeros((80, 120, 3), np.uint8)
    stored[:, :60] = (220, 20, 20)  # left half red, right half black
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image = load_image(_encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif))
    assert image.rgb.shape == (120, 80, 3)  # portrait once upright
    assert image.rgb[:50, :, 0].mean() > 180  # the stored left half is now on top
    assert image.rgb[70:, :, 0].mean() < 40


def test_rejects_png_larger_than_20_mb_with_code_10031001(tmp_path: Path) -> None:
    padded = _encode(Image.fromarray(_photo()), "PNG") + b"\0" * 20_500_000
    path = tmp_path / "huge.png"
    path.write_bytes(padded)
    message = _reject(path, ImageFileTooLargeError, 10031001)
    assert "20.5 MB" in message and "20.0 MB" in message
    _reject(padded, ImageFileTooLargeError, 10031001)


def test_rejects_an_empty_file_with_code_10031011(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert "empty" in _reject(path, EmptyImageError, 10031011)
    _reject(b"", EmptyImageError, 10031011)


def test_max_bytes_is_configurable() -> None:
    data = _encode(Image.fromarray(_photo()), "PNG")
    _reject(data, ImageFileTooLargeError, 10031001, max_bytes=len(data) - 1)
    assert load_image(data, max_bytes=len(data)).rgb.shape == (120, 160, 3)


def test_rejects_5000_by_100_image_with_code_10031002() -> None:
    data = _encode(Image.new("RGB", (5000, 100), "white"), "PNG")
    message = _reject(data, ImageDimensionsTooLargeError, 10031002)
    assert "5000x100" in message and "4096" in message


def test_tiny_file_claiming_30000_squared_is_rejected_before_allocation() -> None:
    data = _bomb_png(30_000, 30_000)
    assert len(data) < 200
    start = time.perf_counter()
    _reject(data, ImageDimensionsTooLargeError, 10031002)
    assert time.perf_counter() - start < 0.5


def test_rejects_decompression_bomb_with_code_10031004() -> None:
    # Sides within a raised max_side, so the pixel-count (bomb) checks are what fires.
    _reject(_bomb_png(30_000, 30_000), DecompressionBombError, 10031004, max_side=100_000)
    _reject(_bomb_png(3_000, 3_000), DecompressionBombError, 10031004, max_pixels=1_000_000)


def test_pillows_bomb_warning_becomes_an_error_without_global_changes() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # even when the caller silences warnings
        _reject(
            _bomb_png(10_000, 10_000),  # 100 M pixels: above Pillow's warning level only
            DecompressionBombError,
            10031004,
            max_side=100_000,
            max_pixels=10**9,
        )
    assert Image.MAX_IMAGE_PIXELS == before


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP"])
def test_rejects_truncated_file_with_code_10031003(fmt: str) -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    data = _encode(Image.fromarray(noise), fmt)
    _reject(data[: len(data) * 2 // 3], ImageTruncatedError, 10031003)


def test_truncated_file_is_rejected_even_if_pillow_is_told_to_load_truncated_images(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = _encode(Image.fromarray(_photo(300, 200)), "JPEG")
    _reject(data[: len(data) // 2], ImageTruncatedError, 10031003)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored


@pytest.mark.parametrize("data", [b"hello, this is not an image\n" * 20, b"\x89PNG\r\n"])
def test_rejects_non_image_bytes_with_code_10031005(data: bytes) -> None:
    message = _reject(data, NotAnImageError, 10031005)
    assert "PNG, JPEG, WebP or BMP" in message


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_rejects_other_image_formats_with_code_10031006(fmt: str) -> None:
    message = _reject(
        _encode(Image.fromarray(_photo()), fmt), UnsupportedImageFormatError, 10031006
    )
    assert fmt in message


def test_rejects_image_smaller_than_64_px_with_code_10031008() -> None:
    data = _encode(Image.fromarray(_photo(300, 40)), "PNG")
    message = _reject(data, ImageTooSmallError, 10031008)
    assert "300x40" in message and "64" in message
