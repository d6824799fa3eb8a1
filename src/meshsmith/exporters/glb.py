"""glTF 2.0 writers, binary (.glb) and JSON (.gltf + .bin), built by hand with numpy and json.

Layout: one scene, one node, one mesh with one triangle primitive, one PBR metallic-roughness
material. Attributes: POSITION, NORMAL (smooth, area-weighted per original vertex so UV seams
stay invisible), TEXCOORD_0 (textured meshes only, v flipped to glTF's top-left origin) and
COLOR_0 (vertex colours of untextured meshes, converted from sRGB to linear as glTF requires).
Everything lives in one binary chunk; every bufferView and chunk is 4-byte aligned.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from meshsmith.exporters._geometry import vertex_normals
from meshsmith.exporters._image import IMAGE_MEDIA_TYPES, encode_texture, srgb_to_linear
from meshsmith.mesh import FloatArray, Mesh

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
    primitive = _primitive(mesh, buffer)
    gltf = _document(mesh, buffer, primitive)
    _write_container(path, gltf, buffer)
    return [path]


def write_gltf(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as ``path`` (glTF JSON) and ``<stem>.bin`` beside it, which holds every
    bufferView, the texture image included; returns ``[path, bin]``."""
    buffer = _BinaryBuffer()
    primitive = _primitive(mesh, buffer)
    gltf = _document(mesh, buffer, primitive)
    binary = path.with_suffix(".bin")
    gltf["buffers"][0]["uri"] = binary.name
    path.write_text(json.dumps(gltf, indent=1), encoding="utf-8")
    with binary.open("wb") as out:
        for part in buffer.parts:
            out.write(part)
    return [path, binary]


def _primitive(mesh: Mesh, buffer: _BinaryBuffer) -> Json:
    """Add the vertex and index accessors for ``mesh``; returns the primitive's JSON."""
    textured = mesh.has_texture
    source_mesh = mesh if textured else mesh.with_(uvs=None, uv_faces=None)
    positions, uvs, faces, source = source_mesh.split_by_uv()
    positions = np.asarray(positions, dtype=np.float32)
    normals = vertex_normals(mesh.vertices, mesh.faces)[source]
    attributes = {
        "POSITION": buffer.add_accessor(positions, "VEC3", ARRAY_BUFFER, **_bounds(positions)),
        "NORMAL": buffer.add_accessor(normals, "VEC3", ARRAY_BUFFER),
    }
    if uvs is not None:
        flipped = np.column_stack([uvs[:, 0], 1.0 - uvs[:, 1]]).astype(np.float32)
        attributes["TEXCOORD_0"] = buffer.add_accessor(flipped, "VEC2", ARRAY_BUFFER)
    if mesh.vertex_colors is not None and not textured:
        colors = srgb_to_linear(mesh.vertex_colors[source])
        attributes["COLOR_0"] = buffer.add_accessor(colors, "VEC3", ARRAY_BUFFER)
    indices = buffer.add_accessor(_index_array(faces), "SCALAR", ELEMENT_ARRAY_BUFFER)
    return {"attributes": attributes, "indices": indices, "material": 0, "mode": TRIANGLES}


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


def _document(mesh: Mesh, buffer: _BinaryBuffer, primitive: Json) -> Json:
    """The glTF JSON; adds the texture image to ``buffer`` when the mesh is textured."""
    from meshsmith import __version__

    gltf: Json = {
        "asset": {"version": "2.0", "generator": f"meshsmith {__version__}"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "meshsmith"}],
        "meshes": [{"name": "meshsmith", "primitives": [primitive]}],
        "materials": [_material(mesh)],
    }
    if mesh.has_texture:
        gltf |= _texture(mesh, buffer)
    if mesh.material.unlit:
        gltf["extensionsUsed"] = [UNLIT]
    gltf |= {"accessors": buffer.accessors, "bufferViews": buffer.views}
    gltf["buffers"] = [{"byteLength": buffer.length}]
    return gltf


def _material(mesh: Mesh) -> Json:
    """The PBR material: texture 0 when textured, else a flat (or vertex-colour) base."""
    pbr: Json = {
        "metallicFactor": float(mesh.material.metallic),
        "roughnessFactor": float(mesh.material.roughness),
    }
    if mesh.has_texture:
        pbr["baseColorTexture"] = {"index": 0, "texCoord": 0}
    elif mesh.vertex_colors is None:
        pbr["baseColorFactor"] = UNTEXTURED_BASE_COLOR
    else:
        pbr["baseColorFactor"] = [1.0, 1.0, 1.0, 1.0]
    material: Json = {"name": mesh.material.name, "pbrMetallicRoughness": pbr}
    if mesh.material.unlit:
        material["extensions"] = {UNLIT: {}}
    return material


def _texture(mesh: Mesh, buffer: _BinaryBuffer) -> Json:
    """Embed the base colour image; returns the ``images``, ``samplers`` and ``textures``."""
    material = mesh.material
    view = buffer.add_view(encode_texture(material))
    uvs = mesh.uvs if mesh.uvs is not None else np.zeros((0, 2), np.float32)
    inside = bool(np.all((uvs >= 0.0) & (uvs <= 1.0)))
    wrap = CLAMP_TO_EDGE if inside else REPEAT
    sampler = {"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR, "wrapS": wrap, "wrapT": wrap}
    image = {"bufferView": view, "mimeType": IMAGE_MEDIA_TYPES[material.image_format]}
    return {"images": [image], "samplers": [sampler], "textures": [{"sampler": 0, "source": 0}]}


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
