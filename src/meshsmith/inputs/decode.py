"""Safe decoding of user-supplied photos into plain numpy arrays.

Only PNG, JPEG, WebP and BMP are decoded, and only with Pillow. Every check that can be done
from the file size or the header runs before any pixel is decoded, so an oversized file or a
small file that claims enormous dimensions is rejected without allocating its pixels.
"""

from __future__ import annotations

import io
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

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

#: Pillow format name -> the name :class:`DecodedImage` reports. MPO is how Pillow names the
#: multi-picture JPEGs many phones write; it is a JPEG.
FORMATS: dict[str, str] = {
    "PNG": "png",
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "WEBP": "webp",
    "BMP": "bmp",
}
#: Pillow plugins allowed to decode pixels (the JPEG plugin also yields MPO images).
_DECODERS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "BMP")
MIN_SIDE = 64
#: Default cap on decoded pixels; above it an image is treated as a decompression bomb.
MAX_PIXELS = 64_000_000
_MB = 1_000_000
#: Pillow modes that carry an alpha channel.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

#: Pillow's truncation switch is a module global; hold this lock while forcing it off.
_TRUNCATION_LOCK = threading.Lock()

U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """A decoded photo.

    ``rgb`` is ``(H, W, 3) uint8``; ``alpha`` is ``(H, W) uint8`` or ``None`` when the file
    has no alpha channel or its alpha is fully opaque; ``format`` is one of
    ``"png" | "jpeg" | "webp" | "bmp"``. EXIF orientation is already applied.
    """

    rgb: U8
    alpha: U8 | None
    format: str

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def load_image(
    source: Path | bytes,
    *,
    max_bytes: int = 20_000_000,
    max_side: int = 4096,
    max_pixels: int = MAX_PIXELS,
) -> DecodedImage:
    """Decode a PNG, JPEG, WebP or BMP file (a path or its bytes) into a :class:`DecodedImage`.

    Raises the :mod:`meshsmith.errors` input-image errors (codes ``10031001``-``10031008``).
    """
    data = _read_limited(source, max_bytes)
    with _strict_pillow() as caught:
        image = _open(data, max_side)
        fmt = FORMATS[str(image.format)]
        _check_header(image, max_side=max_side, max_pixels=max_pixels)
        if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
            raise _bomb(f"{image.size[0]}x{image.size[1]} is above Pillow's pixel limit")
        _load_pixels(image)
    return _to_arrays(_orient(image), fmt)


def _read_limited(source: Path | bytes, max_bytes: int) -> bytes:
    """The file's bytes, after checking its size (for a path, before reading it)."""
    size = len(source) if isinstance(source, bytes | bytearray) else Path(source).stat().st_size
    if size > max_bytes:
        raise ImageFileTooLargeError(
            f"image file is {size / _MB:.1f} MB; the limit is {max_bytes / _MB:.1f} MB"
        )
    if size == 0:
        raise EmptyImageError("the image file is empty (0 bytes)")
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    with Path(source).open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:  # the file grew between stat and read
        raise ImageFileTooLargeError(f"image file is larger than {max_bytes / _MB:.1f} MB")
    return data


@contextmanager
def _strict_pillow() -> Iterator[list[warnings.WarningMessage]]:
    """Make truncated data raise whatever global settings say, and record Pillow's warnings.

    ``ImageFile.LOAD_TRUNCATED_IMAGES`` is a Pillow global, so it is forced off under a lock and
    restored afterwards. Warnings raised inside the block (Pillow's decompression-bomb warning
    among them) are recorded, not shown; the caller decides what they mean.
    """
    with _TRUNCATION_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", Image.DecompressionBombWarning)
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield caught
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _open(data: bytes, max_side: int) -> Image.Image:
    """Parse the header with the allowed decoders only; classify anything else."""
    try:
        return Image.open(io.BytesIO(data), formats=_DECODERS)
    except Image.DecompressionBombError as exc:
        raise _refused_by_pillow(str(exc), max_side) from exc
    except UnidentifiedImageError:
        raise _unrecognised(data) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageTruncatedError(f"image file is truncated or corrupt: {exc}") from exc


def _refused_by_pillow(detail: str, max_side: int) -> InputImageError:
    """Pillow refused the header's size outright, so its dimensions are not available.

    Above ``max_side ** 2`` pixels at least one side is necessarily longer than ``max_side``,
    so that case is reported as too-large dimensions, the same as a smaller oversized image.
    """
    hard_limit = 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else 0
    if hard_limit >= max_side * max_side:
        return ImageDimensionsTooLargeError(
            f"image declares more than {hard_limit:,} pixels; "
            f"each side must be at most {max_side} pixels"
        )
    return _bomb(detail)


def _unrecognised(data: bytes) -> Exception:
    """The error for bytes no allowed decoder accepts: another image format, or not an image."""
    try:
        with Image.open(io.BytesIO(data)) as other:
            name = str(other.format)
    except Image.DecompressionBombError:
        name = "These"
    except Exception:  # any failure to identify means "not an image"
        return NotAnImageError(
            "the file is not an image that can be read; upload a PNG, JPEG, WebP or BMP photo"
        )
    return UnsupportedImageFormatError(
        f"{name} images are not supported; upload a PNG, JPEG, WebP or BMP photo"
    )


def _bomb(detail: str) -> DecompressionBombError:
    return DecompressionBombError(
        f"image declares too many pixels to decode safely (possible decompression bomb): {detail}"
    )


def _check_header(image: Image.Image, *, max_side: int, max_pixels: int) -> None:
    """Reject by the header's dimensions, before any pixel is decoded."""
    width, height = image.size
    if max(width, height) > max_side:
        raise ImageDimensionsTooLargeError(
            f"image is {width}x{height} pixels; each side must be at most {max_side} pixels"
        )
    if width * height > max_pixels:
        raise _bomb(f"{width}x{height} is more than {max_pixels:,} pixels")
    if min(width, height) < MIN_SIDE:
        raise ImageTooSmallError(
            f"image is {width}x{height} pixels; each side must be at least {MIN_SIDE} pixels"
        )


def _load_pixels(image: Image.Image) -> None:
    """Decode every pixel now, so truncated or corrupt data raises here."""
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise _bomb(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise ImageTruncatedError(f"image data is truncated or corrupt: {exc}") from exc


def _to_arrays(image: Image.Image, fmt: str) -> DecodedImage:
    """Normalise any Pillow mode into ``(H, W, 3) uint8`` colour plus optional alpha."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        gray = _scale_wide_gray(np.asarray(image), sixteen_bit=mode.startswith("I;16"))
        return DecodedImage(np.repeat(gray[:, :, None], 3, axis=2), None, fmt)
    if mode != "RGB" and mode != "RGBA":
        has_alpha = mode in _ALPHA_MODES or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    pixels = np.asarray(image, dtype=np.uint8)
    if pixels.shape[2] == 3:
        return DecodedImage(np.ascontiguousarray(pixels), None, fmt)
    alpha = _alpha_or_none(pixels[:, :, 3])
    return DecodedImage(np.ascontiguousarray(pixels[:, :, :3]), alpha, fmt)


def _orient(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; a corrupt EXIF block leaves the image as stored."""
    try:
        oriented = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, struct.error):
        return image
    return oriented if oriented is not None else image


def _alpha_or_none(alpha: U8) -> U8 | None:
    """``alpha`` as a contiguous ``(H, W) uint8`` copy, or ``None`` when it is fully opaque."""
    return None if bool(np.all(alpha == 255)) else np.ascontiguousarray(alpha)


def _scale_wide_gray(values: npt.NDArray[np.generic], *, sixteen_bit: bool) -> U8:
    """Map a 16/32-bit integer or float grey ``(H, W)`` array onto ``(H, W) uint8``.

    16-bit data is scaled (``v * 255 / 65535``), not clipped. 32-bit integer data is scaled
    the same way when it exceeds 255, else taken as 8-bit. Float data is taken as ``0..1``
    when its maximum is at most 1, else as ``0..255``.
    """
    wide = np.nan_to_num(values.astype(np.float64))
    peak = float(wide.max(initial=0.0))
    if sixteen_bit:
        top = 65535.0
    elif np.issubdtype(values.dtype, np.floating):
        top = 1.0 if peak <= 1.0 else 255.0
    else:
        top = 65535.0 if peak > 255.0 else 255.0
    return np.clip(np.rint(wide * (255.0 / top)), 0, 255).astype(np.uint8)
