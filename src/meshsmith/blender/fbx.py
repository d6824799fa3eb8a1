"""Binary FBX through Blender's own exporter (bpy, run in its own environment).

What the file holds:

* **Quads stay quads**: polygons come from :meth:`Mesh.polygons`, so a quad is written as
  one 4-corner polygon, a lone triangle as a 3-corner one.
* **One object per part**, named from ``part_names`` (one object ``meshsmith`` otherwise),
  all sharing one Phong/PBR material.
* **Axes and units**: Y up, the front facing +Z, 1 unit = 1 metre (``UnitScaleFactor`` 100,
  i.e. centimetres x 100), with the axis conversion baked into the vertices so every object
  has an identity transform - Blender's "FBX All" scaling plus "Apply Transform", the form
  Unity and Unreal import at the right size and orientation. Blender's importer turns it
  back into its own Z-up frame.
* **UVs** per polygon corner (layer ``UVMap``), smooth per-corner normals and no tangents
  (Unity and Unreal compute MikkTSpace tangents on import by default; writing them costs
  2-5 s per million faces); vertex colours (attribute ``Color``, sRGB bytes) for
  untextured meshes that have them.
* **Textures are embedded** in the file: the base colour (PNG or JPEG as the material
  says) on ``DiffuseColor`` and the normal map (PNG, OpenGL convention, through a Normal
  Map node) on ``NormalMap`` - the two slots every FBX reader uses.

Known losses, because FBX materials are Phong-era:

* Metallic and roughness maps are split from glTF's packing into two grey PNGs (each
  multiplied by its constant) and written on FBX's ``ReflectionFactor`` (metallic) and
  ``ShininessExponent`` (roughness) slots. Blender's importer reads them back, but Unity,
  Unreal and Maya ignore those slots: there the model shows the constants or nothing.
* Constant metallic / roughness are stored as ``ReflectionFactor`` and a ``Shininess``
  derived from roughness, which most readers ignore or reinterpret.
* ``Material.unlit`` has no FBX equivalent and is dropped.
* Object names are cut to Blender's 63 bytes and made unique by Blender (``name.001``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from meshsmith._polygons import corner_uv_indices
from meshsmith.blender._runner import run_job
from meshsmith.errors import ExportError
from meshsmith.exporters._image import IMAGE_EXTENSIONS, encode_png, encode_texture
from meshsmith.mesh import ByteArray, FloatArray, Mesh

#: Seconds one export may take (a 1M-face model takes a few).
EXPORT_TIMEOUT = 600.0
#: Base colour of a model with neither texture nor vertex colours (linear RGB, as glTF's).
UNTEXTURED_BASE_COLOR = (0.8, 0.8, 0.8)
DEFAULT_OBJECT_NAME = "meshsmith"


def write_fbx(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as one self-contained binary FBX file (textures embedded); returns
    ``[path]``. Raises :class:`ExportError` when Blender fails and
    :class:`MissingDependencyError` when its environment is not installed."""
    path = Path(path)
    run_job("fbx", lambda: _inputs(mesh, path), error=ExportError, timeout=EXPORT_TIMEOUT)
    return [path]


def _inputs(mesh: Mesh, path: Path) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
    """The worker's arrays (objects, encoded images) and parameters for one export."""
    arrays: dict[str, NDArray[Any]] = {}
    names: list[str] = []
    for name, part in _parts(mesh):
        arrays |= _part_arrays(part, f"p{len(names)}_", colors=not mesh.has_texture)
        names.append(name)
    images = _images(mesh)
    arrays |= {f"image_{slot}": np.frombuffer(data, np.uint8) for slot, (data, _) in images.items()}
    params = {
        "path": str(path.resolve()),
        "stem": path.stem,
        "part_names": names,
        "material_name": mesh.material.name,
        "base_color": _base_color(mesh),
        "metallic": float(mesh.material.metallic),
        "roughness": float(mesh.material.roughness),
        "image_extensions": {slot: ext for slot, (_, ext) in images.items()},
    }
    return arrays, params


def _parts(mesh: Mesh) -> list[tuple[str, Mesh]]:
    """``(name, sub-mesh)`` per non-empty part, or the whole mesh as one part."""
    if not mesh.has_parts or mesh.part_ids is None:
        return [(DEFAULT_OBJECT_NAME, mesh)]
    present = set(np.unique(mesh.part_ids).tolist())
    return [(name, mesh.part(i)) for i, name in enumerate(mesh.part_names) if i in present]


def _part_arrays(mesh: Mesh, prefix: str, colors: bool) -> dict[str, NDArray[Any]]:
    """The worker's arrays for one object: Blender-axis vertices, polygon corners, sizes,
    per-corner UVs and (when ``colors``) vertex colours, each key prefixed."""
    polygons = mesh.polygons()
    sizes = np.where(polygons[:, 3] < 0, 3, 4).astype(np.int32)
    flat = polygons.ravel()
    arrays: dict[str, NDArray[Any]] = {
        "vertices": to_blender_axes(mesh.vertices),
        "corners": flat[flat >= 0].astype(np.int32),
        "sizes": sizes,
    }
    if mesh.uvs is not None:
        arrays["uvs"] = mesh.uvs[corner_uv_indices(mesh)]
    if colors and mesh.vertex_colors is not None:
        arrays["colors"] = mesh.vertex_colors
    return {prefix + key: value for key, value in arrays.items()}


def to_blender_axes(vertices: FloatArray) -> FloatArray:
    """(V, 3) float32 from Meshsmith's axes (+Y up, front +Z) to Blender's (+Z up, front -Y)."""
    x, y, z = vertices[:, 0], vertices[:, 1], vertices[:, 2]
    return np.column_stack([x, -z, y]).astype(np.float32)


def _base_color(mesh: Mesh) -> list[float]:
    """The constant base colour: white under a texture or vertex colours, grey otherwise."""
    if mesh.has_texture or mesh.vertex_colors is not None:
        return [1.0, 1.0, 1.0]
    return list(UNTEXTURED_BASE_COLOR)


def _images(mesh: Mesh) -> dict[str, tuple[bytes, str]]:
    """Encoded image bytes and file extension per material slot the mesh uses (encoded on
    two threads: the encoders release the GIL, and this runs while Blender starts)."""
    material = mesh.material
    if not mesh.has_uvs:
        return {}
    jobs: dict[str, tuple[Callable[[], bytes], str]] = {}
    if material.base_color is not None:
        jobs["basecolor"] = (lambda: encode_texture(material),
                             IMAGE_EXTENSIONS[material.image_format])
    if material.normal_map is not None:
        normal = material.normal_map
        jobs["normal"] = (lambda: _png(normal), "png")
    if material.metallic_roughness is not None:
        packed = material.metallic_roughness
        jobs["metallic"] = (lambda: _png(packed[..., 2] * material.metallic), "png")
        jobs["roughness"] = (lambda: _png(packed[..., 1] * material.roughness), "png")
    with ThreadPoolExecutor(2) as pool:
        encoded = {slot: pool.submit(job) for slot, (job, _) in jobs.items()}
        return {slot: (encoded[slot].result(), ext) for slot, (_, ext) in jobs.items()}


def _png(image: ByteArray | NDArray[np.float32] | NDArray[np.float64]) -> bytes:
    """PNG bytes of an (H, W, 3) or (H, W) image, rounded to uint8."""
    if image.dtype == np.uint8:
        return encode_png(np.asarray(image, dtype=np.uint8))
    return encode_png(np.clip(np.rint(image), 0, 255).astype(np.uint8))
