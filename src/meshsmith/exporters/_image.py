"""Texture encoding and sampling shared by the writers. Pillow is imported lazily."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from meshsmith.mesh import ByteArray, FloatArray, Material

#: File extension (no dot) and media type per ``Material.image_format``.
IMAGE_EXTENSIONS = {"png": "png", "jpeg": "jpg"}
IMAGE_MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
JPEG_QUALITY = 90
#: zlib level of PNG textures (0-9): 1 trades about 8% of size for a third of the time.
PNG_COMPRESSION = 1


def texture_path(material: Material, model: Path) -> Path:
    """Where a model's base-colour image goes: ``<model stem>_basecolor.<png|jpg>`` beside it."""
    return model.with_name(f"{model.stem}_basecolor.{IMAGE_EXTENSIONS[material.image_format]}")


def write_texture(material: Material, model: Path) -> Path:
    """Encode the base colour and write it at :func:`texture_path`; returns that path."""
    path = texture_path(material, model)
    path.write_bytes(encode_texture(material))
    return path


def encode_texture(material: Material) -> bytes:
    """The material's (H, W, 3) uint8 base colour encoded as PNG or JPEG bytes."""
    from PIL import Image

    if material.base_color is None:
        raise ValueError("material has no base colour texture")
    if material.image_format != "jpeg":
        return encode_png(material.base_color)
    image = Image.fromarray(np.ascontiguousarray(material.base_color, dtype=np.uint8))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def map_path(model: Path, name: str) -> Path:
    """Where a named PBR map goes: ``<model stem>_<name>.png`` beside the model.

    Names in use: ``metallic_roughness`` and ``normal`` (RGB, as glTF packs them), and
    ``roughness`` and ``metallic`` (grayscale, for OBJ's ``map_Pr`` / ``map_Pm``).
    """
    return model.with_name(f"{model.stem}_{name}.png")


def pbr_map_images(material: Material) -> dict[str, ByteArray]:
    """The material's PBR maps by name (see :func:`map_path`); empty when it has none.

    ``metallic_roughness`` and ``normal`` are (H, W, 3) uint8; ``roughness`` (the
    metallic-roughness map's G channel) and ``metallic`` (its B channel) are (H, W) uint8.
    """
    images: dict[str, ByteArray] = {}
    if material.metallic_roughness is not None:
        packed = material.metallic_roughness
        images["metallic_roughness"] = packed
        images["roughness"] = np.ascontiguousarray(packed[:, :, 1])
        images["metallic"] = np.ascontiguousarray(packed[:, :, 2])
    if material.normal_map is not None:
        images["normal"] = material.normal_map
    return images


def write_maps(material: Material, model: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Write those of ``names`` the material has as PNGs at :func:`map_path`; returns
    ``{name: path}`` for each written, in the order of ``names``."""
    images = pbr_map_images(material)
    written: dict[str, Path] = {}
    for name in names:
        if name in images:
            written[name] = map_path(model, name)
            written[name].write_bytes(encode_png(images[name]))
    return written


def encode_png(pixels: ByteArray) -> bytes:
    """(H, W) grayscale, (H, W, 3) RGB or (H, W, 4) RGBA uint8 pixels as PNG bytes.

    OpenCV's encoder at zlib level :data:`PNG_COMPRESSION`: on a photo-like 2048² texture it
    takes about a third of Pillow's default (level 6) CPU time for files about 8% larger,
    which keeps exports of four maps within their time targets.
    """
    import cv2

    array = np.ascontiguousarray(pixels, dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        swap = cv2.COLOR_RGB2BGR if array.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
        array = np.asarray(cv2.cvtColor(array, swap), dtype=np.uint8)
    ok, encoded = cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {array.shape} image as PNG")
    return bytes(encoded.tobytes())


def sample_bilinear(image: ByteArray, uvs: FloatArray) -> ByteArray:
    """Bilinearly sample an (H, W, 3) uint8 image at (N, 2) uvs; returns (N, 3) uint8.

    UVs use the mesh convention (origin bottom-left, texel centres at (i + 0.5) / W) and are
    clamped to the image edge.
    """
    height, width = image.shape[:2]
    x = np.clip(uvs[:, 0].astype(np.float64) * width - 0.5, 0, width - 1)
    y = np.clip((1.0 - uvs[:, 1].astype(np.float64)) * height - 0.5, 0, height - 1)
    x0, y0 = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    img = image.astype(np.float64)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    mixed: NDArray[np.float64] = np.rint(top * (1 - fy) + bottom * fy)
    return np.clip(mixed, 0, 255).astype(np.uint8)


def srgb_to_linear(colors: ByteArray) -> FloatArray:
    """(N, C) uint8 sRGB to (N, C) float32 linear in [0, 1] (the IEC 61966-2-1 curve)."""
    c = colors.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear.astype(np.float32)
