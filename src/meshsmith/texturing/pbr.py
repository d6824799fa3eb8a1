"""PBR maps estimated from a baked base-colour texture: metallic-roughness and normal.

:func:`pbr_maps` turns a textured mesh into one whose material carries glTF's
metallic-roughness map and a tangent-space normal map, both the base colour's size, with the
scalar factors set to 1.0 so the maps rule. Everything is an image-space estimate from a
single RGB texture, so it is deliberately conservative:

* **Roughness** starts at the material's own ``roughness`` (0.8 by default) and drops towards
  :data:`GLOSSY_ROUGHNESS` where the texture shows a *specular highlight*: a texel that is
  bright (luminance above :data:`HIGHLIGHT_MIN_LUMA`), nearly unsaturated (HSV saturation
  below :data:`HIGHLIGHT_MAX_SATURATION`) and clearly brighter than its neighbourhood (a
  Gaussian of :data:`NEIGHBOURHOOD_SIGMA` x texture size, at least
  :data:`NEIGHBOURHOOD_MIN_TEXELS`), all measured on a lightly smoothed copy so single noisy
  texels do not count. Highlights are widened slightly so the glossy region covers the
  blob, not just its peak.
* **Metallic** stays at the material's ``metallic`` (0.0 by default: dielectric) unless there
  is strong evidence of metal: a wide neighbourhood (:data:`METAL_SCALE` times the
  highlight one) that is grey (mean saturation below
  :data:`METAL_MAX_SATURATION`), high in contrast (luminance deviation above
  :data:`METAL_MIN_CONTRAST`) *and* has specular highlights over much of it. A lone highlight
  on a coloured or flat surface never makes metal.
* **Normal map** from height-from-shading: the luminance, high-passed (minus a Gaussian of
  :data:`DETAIL_SIGMA` texels), is taken as height; Sobel gradients scaled by
  :data:`NORMAL_STRENGTH` tilt the normal. Caveat: this cannot tell relief from printed
  pattern or baked-in lighting, so painted edges also read as small bumps; the strength is
  small so the map adds surface detail under light without inventing geometry.

Only texels inside UV charts are estimated. Chart coverage is rasterised from the UVs, the
gutter of the luminance is refilled from the nearest covered texel before filtering (so
filters near a chart's edge do not see another chart), and the outputs' gutters are filled
from the nearest covered texel, the same rule the baker uses for the base colour.

Untextured meshes (no base colour or no UVs) are returned unchanged: the maps are images
addressed by UVs, so there is nothing to estimate or to map them onto. So are meshes whose
material already has a metallic-roughness or normal map.

Cost: chart coverage in bulk for UV triangles up to :data:`SAMPLED_SPAN` texels across (one
OpenCV fill per larger triangle), then a few dozen full-image passes (OpenCV filters, numpy
arithmetic; wide blurs run downsampled). Measured on a loaded 2-core machine: about 0.3-0.5 s
at 2048 x 2048 and 1.2-3.3 s at 4096 x 4096, for 80 k to 1.3 M faces.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from meshsmith.mesh import ByteArray, Mesh

Float = NDArray[np.float32]

GLOSSY_ROUGHNESS = 0.3          # roughness at a full-strength highlight
HIGHLIGHT_MIN_LUMA = 0.55       # highlights are at least this bright (sRGB luminance, 0..1)
HIGHLIGHT_MAX_SATURATION = 0.35  # ... and at most this saturated (HSV)
HIGHLIGHT_MIN_EXCESS = 0.08     # ... and this much brighter than their neighbourhood
HIGHLIGHT_FULL_EXCESS = 0.25    # excess at which the evidence is full
NEIGHBOURHOOD_SIGMA = 1 / 64    # neighbourhood Gaussian sigma, fraction of the texture size
NEIGHBOURHOOD_MIN_TEXELS = 8.0  # ... and at least this many texels
HIGHLIGHT_SPREAD_TEXELS = 1.5   # highlights widened by a Gaussian of this sigma
METAL_SCALE = 4.0               # metal is judged over this many highlight neighbourhoods
METAL_MAX_SATURATION = 0.12     # metal neighbourhoods are grey ...
METAL_MIN_CONTRAST = 0.12       # ... with strong luminance contrast (std. deviation) ...
METAL_MIN_HIGHLIGHT = 0.15      # ... and at least this share of highlight texels
SAMPLED_SPAN = 8                # texels: smaller UV triangles are covered by sample points
DETAIL_SIGMA = 3.0              # texels: luminance detail finer than this becomes height
NORMAL_STRENGTH = 2.0           # height units per luminance unit (texels): small tilt
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def pbr_maps(mesh: Mesh, covered: NDArray[np.bool_] | None = None) -> Mesh:
    """A copy of ``mesh`` whose material has ``metallic_roughness`` and ``normal_map``.

    mesh: textured (``material.base_color`` (H, W, 3) uint8 sRGB plus UVs); an untextured
    mesh is returned unchanged. The maps are (H, W, 3) uint8: metallic-roughness in glTF's
    linear packing (R = 255, G = roughness, B = metallic), the normal map in tangent space,
    OpenGL convention (+Y towards +v; flat = (128, 128, 255)). ``metallic`` and
    ``roughness`` become 1.0; the previous values are the maps' baselines. A material that
    already has either map is returned unchanged (given maps are never overwritten).

    ``covered`` (H, W) marks the texels the charts own, where the bake's rasteriser already
    knows them; by default they are found from the UVs (:func:`chart_coverage`). Every other
    texel of the maps takes its nearest covered texel's value.
    """
    material = mesh.material
    if material.base_color is None or mesh.uvs is None or mesh.uv_faces is None:
        return mesh
    if material.has_pbr_maps:
        return mesh
    height, width = material.base_color.shape[:2]
    if covered is None:
        covered = chart_coverage(mesh.uvs, mesh.uv_faces, height, width)
    nearest = _nearest_covered(covered)
    rgb = _refill(np.ascontiguousarray(material.base_color, dtype=np.uint8), nearest)
    rgb_f = rgb.astype(np.float32) * np.float32(1 / 255)
    luma: Float = np.asarray(rgb_f @ LUMA, dtype=np.float32)
    saturation = _saturation(rgb_f)
    rough, metal = _metallic_roughness(luma, saturation, material.roughness, material.metallic)
    packed = _merge(np.full(rough.shape, 255, np.uint8), _to_byte(rough), _to_byte(metal))
    normal = _normal_map(luma)
    result = dataclasses.replace(
        material, metallic=1.0, roughness=1.0,
        metallic_roughness=_refill(packed, nearest), normal_map=_refill(normal, nearest),
    )
    return mesh.with_(material=result)


def chart_coverage(uvs: NDArray[np.float32], uv_faces: NDArray[np.int32], height: int,
                   width: int) -> NDArray[np.bool_]:
    """(H, W) bool: texels that a UV triangle touches (row 0 is the top, v = 1).

    Triangles wider than :data:`SAMPLED_SPAN` texels are filled one by one (OpenCV, 1/16
    texel precision, so overlapping UVs stay covered); smaller ones, the bulk of a dense
    mesh, mark the texels under a grid of points spaced at most a texel apart, in bulk.
    """
    import cv2

    limit = np.float32(4 * max(height, width) + 16)
    x = np.clip(uvs[:, 0].astype(np.float32) * np.float32(width) - 0.5, -limit, limit)
    y = np.clip((1 - uvs[:, 1].astype(np.float32)) * np.float32(height) - 0.5, -limit, limit)
    xs = [x[uv_faces[:, k]] for k in range(3)]  # (F,) texel coordinates of each corner
    ys = [y[uv_faces[:, k]] for k in range(3)]
    span = np.maximum(_extent(xs), _extent(ys))
    mask = np.zeros((height, width), dtype=np.uint8)
    low = -1.0
    for steps in (1, 2, 4, SAMPLED_SPAN):
        keep = (span > low) & (span <= steps)
        low = steps
        _mark_samples(mask, [c[keep] for c in xs], [c[keep] for c in ys], steps)
    big = span > SAMPLED_SPAN
    corners = np.stack([np.stack([c[big] for c in xs], 1), np.stack([c[big] for c in ys], 1)], 2)
    for triangle in np.rint(corners * 16.0).astype(np.int32):
        cv2.fillConvexPoly(mask, triangle, 1, cv2.LINE_8, 4)
    return mask > 0


def _extent(values: list[Float]) -> Float:
    """(F,) max minus min of three (F,) arrays."""
    high = np.maximum(np.maximum(values[0], values[1]), values[2])
    return np.asarray(high - np.minimum(np.minimum(values[0], values[1]), values[2]))


def _mark_samples(mask: ByteArray, xs: list[Float], ys: list[Float], steps: int) -> None:
    """Set the texels under a ``steps``-subdivided barycentric grid of each triangle (corner
    texel coordinates ``xs``/``ys``: three (N,) arrays each; texel centres at integers)."""
    height, width = mask.shape
    flat = mask.reshape(-1)
    for i in range(steps + 1):
        for j in range(steps + 1 - i):
            w = (i / steps, j / steps, (steps - i - j) / steps)
            col = np.rint(w[0] * xs[0] + w[1] * xs[1] + w[2] * xs[2]).astype(np.int64)
            row = np.rint(w[0] * ys[0] + w[1] * ys[1] + w[2] * ys[2]).astype(np.int64)
            inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
            flat[row[inside] * width + col[inside]] = 1


def _nearest_covered(covered: NDArray[np.bool_]) -> tuple[Float, Float]:
    """(H, W) float32 column and row maps: the nearest covered texel of every texel (itself
    when covered), in the form ``cv2.remap`` takes."""
    import cv2

    if covered.all() or not covered.any():
        grid = np.indices(covered.shape, dtype=np.float32)
        return grid[1], grid[0]
    _, labels = cv2.distanceTransformWithLabels((~covered).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    known_rows, known_cols = np.nonzero(covered)  # labels number covered texels row-major
    index = labels - 1
    return known_cols.astype(np.float32)[index], known_rows.astype(np.float32)[index]


def _refill(image: ByteArray, nearest: tuple[Float, Float]) -> ByteArray:
    """(H, W, C) copy of ``image`` whose gutter texels take their nearest covered texel."""
    import cv2

    out = cv2.remap(image, nearest[0], nearest[1], cv2.INTER_NEAREST)
    return np.ascontiguousarray(out.reshape(image.shape), dtype=np.uint8)


def _saturation(rgb: Float) -> Float:
    """(H, W) HSV saturation of (H, W, 3) float RGB in [0, 1] (in place where possible)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high = np.maximum(r, g)
    np.maximum(high, b, out=high)
    low = np.minimum(r, g)
    np.minimum(low, b, out=low)
    np.subtract(high, low, out=low)
    np.maximum(high, np.float32(1e-3), out=high)
    np.divide(low, high, out=low)
    return low


def _metallic_roughness(luma: Float, saturation: Float, roughness: float,
                        metallic: float) -> tuple[Float, Float]:
    """(H, W) roughness and metallic in [0, 1] from luminance and saturation (see module);
    ``roughness`` and ``metallic`` are the baselines where there is no evidence."""
    sigma = max(NEIGHBOURHOOD_MIN_TEXELS, NEIGHBOURHOOD_SIGMA * max(luma.shape))
    highlight = _highlights(luma, saturation, sigma)
    base_rough = float(np.clip(roughness, 0.0, 1.0))
    glossy = min(GLOSSY_ROUGHNESS, base_rough)
    rough = base_rough - (base_rough - glossy) * highlight
    base_metal = float(np.clip(metallic, 0.0, 1.0))
    metal = base_metal + (1.0 - base_metal) * _metal_evidence(luma, saturation, highlight, sigma)
    return rough.astype(np.float32), metal.astype(np.float32)


def _highlights(luma: Float, saturation: Float, sigma: float) -> Float:
    """(H, W) specular-highlight evidence in [0, 1]: bright, grey, above the neighbourhood
    (a Gaussian of ``sigma`` texels); measured on lightly smoothed copies, then widened."""
    smooth = _blur(luma, 1.0)  # a highlight is a patch, not one noisy texel
    highlight = (
        _ramp(smooth - _blur(luma, sigma), HIGHLIGHT_MIN_EXCESS, HIGHLIGHT_FULL_EXCESS)
        * _ramp(smooth, HIGHLIGHT_MIN_LUMA, HIGHLIGHT_MIN_LUMA + 0.2)
        * _ramp(-_blur(saturation, 1.0), -HIGHLIGHT_MAX_SATURATION,
                -HIGHLIGHT_MAX_SATURATION + 0.15)
    )
    widened = np.maximum(highlight, _blur(highlight, HIGHLIGHT_SPREAD_TEXELS) * 2.0)
    return np.asarray(widened.clip(0.0, 1.0), dtype=np.float32)


def _metal_evidence(luma: Float, saturation: Float, highlight: Float, sigma: float) -> Float:
    """(H, W) metal evidence in [0, 1]: over a wide neighbourhood (``METAL_SCALE * sigma``)
    the surface is grey, high in contrast and dense with highlights; all three must hold."""
    wide = METAL_SCALE * sigma
    mean = _blur(luma, wide)
    contrast = np.sqrt(np.maximum(_blur(luma * luma, wide) - mean * mean, 0.0))
    return (
        _ramp(-_blur(saturation, wide), -METAL_MAX_SATURATION, -METAL_MAX_SATURATION / 2)
        * _ramp(contrast, METAL_MIN_CONTRAST, 1.5 * METAL_MIN_CONTRAST)
        * _ramp(_blur(highlight, wide), METAL_MIN_HIGHLIGHT, 2 * METAL_MIN_HIGHLIGHT)
    )


def _normal_map(luma: Float) -> ByteArray:
    """(H, W, 3) uint8 tangent-space normals from high-passed luminance taken as height."""
    import cv2

    height = _blur(luma, 0.7)
    height -= _blur(luma, DETAIL_SIGMA)
    # Tangent +X is +u (columns right); +Y is +v, i.e. up the image (rows decrease), so the
    # normal (-dh/du, -dh/dv, 1) is (-dh/dcol, +dh/drow, 1). Sobel's 3x3 weights sum to 8.
    scale = NORMAL_STRENGTH / 8.0
    reflect = cv2.BORDER_REFLECT
    nx: Float = np.asarray(cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3, scale=-scale,
                                     borderType=reflect), dtype=np.float32)
    ny: Float = np.asarray(cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3, scale=scale,
                                     borderType=reflect), dtype=np.float32)
    inv = np.multiply(nx, nx)
    inv += ny * ny
    inv += np.float32(1.0)
    np.sqrt(inv, out=inv)
    np.divide(np.float32(1.0), inv, out=inv)
    nx *= inv
    ny *= inv
    return _merge(*(_to_byte(c, signed=True) for c in (nx, ny, inv)))


def _merge(*channels: ByteArray) -> ByteArray:
    """(H, W, C) uint8 from C (H, W) uint8 planes."""
    import cv2

    return np.asarray(cv2.merge(channels), dtype=np.uint8)


def _blur(image: Float, sigma: float) -> Float:
    """Gaussian blur (sigma in texels) of an (H, W) float32 image, reflecting at the border.

    Wide blurs run on an area-downsampled copy (to a sigma of about 2) and are upsampled
    bilinearly: the same smooth result at a fraction of the cost.
    """
    import cv2

    step = int(sigma // 2) if sigma > 4 else 1
    height, width = image.shape
    if step > 1 and min(height, width) >= 4 * step:
        small = cv2.resize(image, (width // step, height // step), interpolation=cv2.INTER_AREA)
        small = _blur(np.asarray(small, dtype=np.float32), sigma / step)
        out = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        out = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    return np.asarray(out, dtype=np.float32)


def _ramp(x: Float, start: float, end: float) -> Float:
    """0 below ``start``, 1 above ``end``, linear between (one new array, then in place)."""
    out = np.subtract(x, np.float32(start), dtype=np.float32)
    out *= np.float32(1.0 / (end - start))
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _to_byte(x: Float, signed: bool = False) -> ByteArray:
    """[0, 1] floats (or [-1, 1] when ``signed``) to uint8, rounded and saturated above."""
    import cv2

    alpha, beta = (127.5, 127.5) if signed else (255.0, 0.0)
    # |alpha * x + beta| is the value itself for x in range; OpenCV rounds and saturates.
    return np.asarray(cv2.convertScaleAbs(x, alpha=alpha, beta=beta), dtype=np.uint8)
