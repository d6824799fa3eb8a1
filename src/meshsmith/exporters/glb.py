"""glTF 2.0 writers, binary (.glb) and JSON (.gltf + .bin), built by hand with numpy and json.

Layout: one scene; one named node and mesh per part (``Mesh.part_names``; a single
``meshsmith`` node without parts), each with one triangle primitive (glTF has no quads), all
sharing one PBR metallic-roughness material. Attributes: POSITION, NORMAL (smooth,
area-weighted per original vertex over the whole model, so UV seams and part borders stay
invisible), TEXCOORD_0 (textured meshes only, v flipped to glTF's top-left origin), TANGENT
(when a normal map is written, see :func:`vertex_tangents`) and COLOR_0 (vertex colours of
untextured meshes, converted from sRGB to linear as glTF requires).

Images: the base colour (in ``Material.image_format``) and, unless the material is unlit
(``KHR_materials_unlit`` ignores them), the metallic-roughness and normal maps as PNG; one
texture per image, all through one shared sampler. Everything lives in one binary chunk;
every bufferView and chunk is 4-byte aligned.
"""

from __future__ import annotations

import json
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from meshsmith.exporters._geometry import vertex_normals
from meshsmith.exporters._image import (
    IMAGE_MEDIA_TYPES,
    encode_png,
    encode_texture,
    pbr_map_images,
    srgb_to_linear,
)
from meshsmith.mesh import FloatArray, IntArray, Material, Mesh

GLB_MAGIC = 0x46546C67  # "glTF"
CHUNK_JSON = 0x4E4F534A  # "JSON"
CHUNK_BIN = 0x004E4942  # "BIN\0"
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
FLOAT, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5123, 5125
LINEAR, LINEAR_MIPMAP_LINEAR = 9729, 9987
REPEAT, CLAMP_TO_EDGE = 10497, 33071
TRIANGLES = 4
COMPONENT_TYPES = {
    np.dtype(np.float32): FLOAT,
    np.dtype(np.uint16): UNSIGNED_SHORT,
    np.dtype(np.uint32): UNSIGNED_INT,
}
#: Base colour of a model with neither texture nor vertex colours (linear RGBA).
UNTEXTURED_BASE_COLOR = [0.8, 0.8, 0.8, 1.0]
UNLIT = "KHR_materials_unlit"
#: Texture images are encoded on this many threads while the geometry is packed (OpenCV's
#: and Pillow's encoders release the GIL).
ENCODE_THREADS = 2

Json = dict[str, Any]


class _BinaryBuffer:
    """Collects 4-byte-aligned bufferViews and the accessors that read them."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.length = 0
        self.views: list[Json] = []
        self.accessors: list[Json] = []

    def add_view(self, data: bytes, target: int | None = None) -> int:
        """Append ``data`` as a new bufferView (padded to 4 bytes); returns its index."""
        view: Json = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        pad = -len(data) % 4
        self.parts += [data, b"\0" * pad]
        self.length += len(data) + pad
        self.views.append(view)
        return len(self.views) - 1

    def add_accessor(self, array: NDArray[Any], kind: str, target: int, **extra: Any) -> int:
        """Append a tightly packed (N, C) or (N,) array as an accessor; returns its index."""
        component = COMPONENT_TYPES[array.dtype]
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        accessor: Json = {"bufferView": self.add_view(data, target), "componentType": component}
        accessor |= {"count": len(array), "type": kind, **extra}
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def write_glb(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as a single self-contained .glb file; returns ``[path]``."""
    buffer = _BinaryBuffer()
    gltf = _document(mesh, buffer)
    _write_container(path, gltf, buffer)
    return [path]


def write_gltf(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as ``path`` (glTF JSON) and ``<stem>.bin`` beside it, which holds every
    bufferView, the texture image included; returns ``[path, bin]``."""
    buffer = _BinaryBuffer()
    gltf = _document(mesh, buffer)
    binary = path.with_suffix(".bin")
    gltf["buffers"][0]["uri"] = binary.name
    path.write_text(json.dumps(gltf, indent=1), encoding="utf-8")
    with binary.open("wb") as out:
        for part in buffer.parts:
            out.write(part)
    return [path, binary]


def _primitive(mesh: Mesh, normals: FloatArray, slots: dict[str, int],
               buffer: _BinaryBuffer) -> Json:
    """Add the vertex and index accessors for ``mesh``; returns the primitive's JSON.

    normals: (V, 3) float32 unit normals of ``mesh.vertices``. slots: the material's texture
    indices by map name (see :func:`_texture_slots`): UVs are written when any texture is,
    tangents when the normal map is, vertex colours unless the base colour is a texture.
    """
    source_mesh = mesh if slots else mesh.with_(uvs=None, uv_faces=None)
    positions, uvs, faces, source = source_mesh.split_by_uv()
    positions = np.asarray(positions, dtype=np.float32)
    split_normals = normals[source]
    attributes = {
        "POSITION": buffer.add_accessor(positions, "VEC3", ARRAY_BUFFER, **_bounds(positions)),
        "NORMAL": buffer.add_accessor(split_normals, "VEC3", ARRAY_BUFFER),
    }
    if uvs is not None:
        flipped = np.column_stack([uvs[:, 0], 1.0 - uvs[:, 1]]).astype(np.float32)
        attributes["TEXCOORD_0"] = buffer.add_accessor(flipped, "VEC2", ARRAY_BUFFER)
        if "normal" in slots:
            tangents = vertex_tangents(positions, split_normals, uvs, faces)
            attributes["TANGENT"] = buffer.add_accessor(tangents, "VEC4", ARRAY_BUFFER)
    if mesh.vertex_colors is not None and "base_color" not in slots:
        colors = srgb_to_linear(mesh.vertex_colors[source])
        attributes["COLOR_0"] = buffer.add_accessor(colors, "VEC3", ARRAY_BUFFER)
    indices = buffer.add_accessor(_index_array(faces), "SCALAR", ELEMENT_ARRAY_BUFFER)
    return {"attributes": attributes, "indices": indices, "material": 0, "mode": TRIANGLES}


def vertex_tangents(positions: FloatArray, normals: FloatArray, uvs: FloatArray,
                    faces: IntArray) -> FloatArray:
    """(N, 4) float32 glTF tangents: unit xyz along +u, w = +-1 the bitangent's handedness.

    positions/normals: (N, 3) float32 (unit normals); uvs: (N, 2) float32 in the mesh's
    convention (origin bottom-left, so the bitangent points along +v, up the image, which is
    the OpenGL normal-map convention glTF uses); faces: (F, 3) indices into them.
    Per-triangle tangents and bitangents (Lengyel's method) are summed per vertex, then made
    orthogonal to the normal (Gram-Schmidt); ``w`` is the sign of
    ``dot(cross(n, t), bitangent)``. This is the standard accumulation, close to but not
    bit-exact with MikkTSpace. Vertices without a usable UV gradient get any unit tangent
    perpendicular to the normal.
    """
    p = positions[faces].astype(np.float64)  # (F, 3, 3)
    t = uvs[faces].astype(np.float64)  # (F, 3, 2)
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    d1, d2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    inv = np.divide(1.0, det, out=np.zeros_like(det), where=np.abs(det) > 1e-20)[:, None]
    face_t = (e1 * d2[:, 1:] - e2 * d1[:, 1:]) * inv
    face_b = (e2 * d1[:, :1] - e1 * d2[:, :1]) * inv
    tangent = _sum_per_vertex(face_t, faces, len(positions))
    bitangent = _sum_per_vertex(face_b, faces, len(positions))
    n = normals.astype(np.float64)
    tangent -= n * np.einsum("ij,ij->i", n, tangent)[:, None]
    length = np.linalg.norm(tangent, axis=1, keepdims=True)
    usable = length[:, 0] > 1e-12
    tangent = np.where(usable[:, None], tangent / np.where(usable, length[:, 0], 1.0)[:, None],
                       _any_perpendicular(n))
    sign = np.where(np.einsum("ij,ij->i", np.cross(n, tangent), bitangent) < 0.0, -1.0, 1.0)
    return np.column_stack([tangent, sign]).astype(np.float32)


def _sum_per_vertex(per_face: NDArray[np.float64], faces: IntArray,
                    count: int) -> NDArray[np.float64]:
    """(count, 3) sums of (F, 3) per-face vectors over each vertex's faces."""
    corners = faces.ravel()
    return np.stack(
        [np.bincount(corners, np.repeat(per_face[:, k], 3), count) for k in range(3)], axis=1
    )


def _any_perpendicular(normals: NDArray[np.float64]) -> NDArray[np.float64]:
    """(N, 3) unit vectors perpendicular to (N, 3) unit ``normals``."""
    axis = np.where(np.abs(normals[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    perpendicular: NDArray[np.float64] = np.cross(normals, axis)
    length = np.linalg.norm(perpendicular, axis=1, keepdims=True)
    return perpendicular / np.where(length > 0, length, 1.0)


def _bounds(positions: FloatArray) -> Json:
    """Accessor ``min``/``max`` as exact float32 values (the validator compares exactly)."""
    return {
        "min": [float(x) for x in positions.min(axis=0)],
        "max": [float(x) for x in positions.max(axis=0)],
    }


def _index_array(faces: NDArray[np.int32]) -> NDArray[np.unsignedinteger[Any]]:
    """Flattened (3F,) indices: uint16 when every index fits below the restart value 65535."""
    flat = faces.ravel()
    if flat.size and int(flat.max()) < 0xFFFF:
        return flat.astype(np.uint16)
    return flat.astype(np.uint32)


def _document(mesh: Mesh, buffer: _BinaryBuffer) -> Json:
    """The glTF JSON; adds geometry and the texture images to ``buffer``."""
    from meshsmith import __version__

    slots = _texture_slots(mesh)
    with ThreadPoolExecutor(max_workers=ENCODE_THREADS) as pool:
        encoded = [pool.submit(_encode_image, mesh.material, name) for name in slots]
        meshes = _meshes(mesh, slots, buffer)  # packed while the images encode
        images = [job.result() for job in encoded]
    gltf: Json = {
        "asset": {"version": "2.0", "generator": f"meshsmith {__version__}"},
        "scene": 0,
        "scenes": [{"nodes": list(range(len(meshes)))}],
        "nodes": [{"mesh": i, "name": m["name"]} for i, m in enumerate(meshes)],
        "meshes": meshes,
        "materials": [_material(mesh, slots)],
    }
    if slots:
        gltf |= _textures(mesh, images, buffer)
    if mesh.material.unlit:
        gltf["extensionsUsed"] = [UNLIT]
    gltf |= {"accessors": buffer.accessors, "bufferViews": buffer.views}
    gltf["buffers"] = [{"byteLength": buffer.length}]
    return gltf


def _meshes(mesh: Mesh, slots: dict[str, int], buffer: _BinaryBuffer) -> list[Json]:
    """One named glTF mesh per part that has faces (one ``meshsmith`` mesh without parts).

    Normals are computed on the whole model and carried into each part, so parts that share
    vertices stay smooth across their border.
    """
    normals = vertex_normals(mesh.vertices, mesh.faces)
    if mesh.part_ids is None:
        return [{"name": "meshsmith", "primitives": [_primitive(mesh, normals, slots, buffer)]}]
    meshes: list[Json] = []
    for index, name in enumerate(mesh.part_names):
        keep = mesh.part_ids == index
        if not keep.any():
            continue
        part = mesh.part(index)
        used = np.unique(mesh.faces[keep])  # the vertices Mesh.part keeps, in its order
        primitive = _primitive(part, normals[used], slots, buffer)
        meshes.append({"name": name, "primitives": [primitive]})
    return meshes


def _texture_slots(mesh: Mesh) -> dict[str, int]:
    """Texture index per map name (``base_color``, ``metallic_roughness``, ``normal``) for the
    maps this export writes: none without UVs; no PBR maps on an unlit material."""
    material = mesh.material
    if mesh.uvs is None:
        return {}
    names = ["base_color"] if material.base_color is not None else []
    if not material.unlit:
        names += [n for n in ("metallic_roughness", "normal") if n in pbr_map_images(material)]
    return {name: i for i, name in enumerate(names)}


def _material(mesh: Mesh, slots: dict[str, int]) -> Json:
    """The PBR material: texture references per ``slots``, else a flat (or vertex-colour) base."""
    pbr: Json = {
        "metallicFactor": float(mesh.material.metallic),
        "roughnessFactor": float(mesh.material.roughness),
    }
    if "base_color" in slots:
        pbr["baseColorTexture"] = {"index": slots["base_color"], "texCoord": 0}
    elif mesh.vertex_colors is None:
        pbr["baseColorFactor"] = UNTEXTURED_BASE_COLOR
    else:
        pbr["baseColorFactor"] = [1.0, 1.0, 1.0, 1.0]
    if "metallic_roughness" in slots:
        pbr["metallicRoughnessTexture"] = {"index": slots["metallic_roughness"], "texCoord": 0}
    material: Json = {"name": mesh.material.name, "pbrMetallicRoughness": pbr}
    if "normal" in slots:
        material["normalTexture"] = {"index": slots["normal"], "texCoord": 0}
    if mesh.material.unlit:
        material["extensions"] = {UNLIT: {}}
    return material


def _encode_image(material: Material, name: str) -> tuple[bytes, str]:
    """One texture slot's image as ``(bytes, media type)``: the base colour in its own
    format, every other map as PNG."""
    if name == "base_color":
        return encode_texture(material), IMAGE_MEDIA_TYPES[material.image_format]
    return encode_png(pbr_map_images(material)[name]), IMAGE_MEDIA_TYPES["png"]


def _textures(mesh: Mesh, encoded: list[tuple[bytes, str]], buffer: _BinaryBuffer) -> Json:
    """Embed the encoded images, one per texture slot in slot order; returns the
    ``images``, ``samplers`` (one, shared) and ``textures``."""
    images = [{"bufferView": buffer.add_view(data), "mimeType": mime} for data, mime in encoded]
    uvs = mesh.uvs if mesh.uvs is not None else np.zeros((0, 2), np.float32)
    inside = bool(np.all((uvs >= 0.0) & (uvs <= 1.0)))
    wrap = CLAMP_TO_EDGE if inside else REPEAT
    sampler = {"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR, "wrapS": wrap, "wrapT": wrap}
    textures = [{"sampler": 0, "source": i} for i in range(len(images))]
    return {"images": images, "samplers": [sampler], "textures": textures}


def _write_container(path: Path, gltf: Json, buffer: _BinaryBuffer) -> None:
    """Write the 12-byte GLB header, the space-padded JSON chunk and the BIN chunk."""
    text = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + buffer.length
    with path.open("wb") as out:
        out.write(struct.pack("<III", GLB_MAGIC, 2, total))
        out.write(struct.pack("<II", len(text), CHUNK_JSON) + text)
        out.write(struct.pack("<II", buffer.length, CHUNK_BIN))
        for part in buffer.parts:
            out.write(part)
