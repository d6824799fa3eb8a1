"""The ONE in-memory mesh type that every step and exporter works on.

Geometry and texture coordinates have separate index buffers (as in OBJ): ``faces`` indexes
``vertices`` and keeps the surface watertight, while ``uv_faces`` indexes ``uvs`` and may split
along seams. Exporters that need one index buffer (glTF, PLY) split vertices themselves.

Axes follow glTF: +Y up, the front of the object faces +Z. Units are metres once sized;
the engine emits a model centred at the origin with height 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
IntArray = NDArray[np.int32]
ByteArray = NDArray[np.uint8]


@dataclass(frozen=True)
class Material:
    """A PBR metallic-roughness material.

    ``base_color``: (H, W, 3) uint8 sRGB texture, or ``None`` for an untextured model.
    ``image_format``: how exporters encode textures.
    """

    base_color: ByteArray | None = None
    metallic: float = 0.0
    roughness: float = 0.8
    image_format: Literal["png", "jpeg"] = "png"
    name: str = "meshsmith_material"
    #: Shown without lighting (glTF ``KHR_materials_unlit``): the colour is final.
    unlit: bool = False
    #: (H, W, 3) uint8 linear, glTF's packing: G = roughness, B = metallic (R unused, 255).
    #: When set it multiplies ``metallic`` / ``roughness`` (so those are usually 1.0).
    metallic_roughness: ByteArray | None = None
    #: (H, W, 3) uint8 tangent-space normal map, OpenGL convention (+Y up, as glTF).
    normal_map: ByteArray | None = None

    @property
    def has_pbr_maps(self) -> bool:
        """Whether the metallic-roughness or normal map is present."""
        return self.metallic_roughness is not None or self.normal_map is not None


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh with optional UVs, texture and vertex colours.

    vertices: (V, 3) float32, metres (model units before sizing), glTF axes.
    faces: (F, 3) int32 indices into ``vertices``, counter-clockwise seen from outside.
    uvs: (T, 2) float32 in [0, 1], origin at the image's bottom-left (glTF flips on export).
    uv_faces: (F, 3) int32 indices into ``uvs``, one row per face, or ``None``.
    vertex_colors: (V, 3) uint8 sRGB, or ``None``.
    polygon_ids: (F,) int32 or ``None``. Faces sharing an id form one polygon: a quad is two
        triangles that share an edge. ``None`` means every triangle is its own polygon.
    part_ids: (F,) int32 index into ``part_names`` for each face, or ``None`` for one part.
    part_names: one unique name per part (exporters write one named mesh/node per part).
    """

    vertices: FloatArray
    faces: IntArray
    uvs: FloatArray | None = None
    uv_faces: IntArray | None = None
    vertex_colors: ByteArray | None = None
    material: Material = field(default_factory=Material)
    polygon_ids: IntArray | None = None
    part_ids: IntArray | None = None
    part_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_shape(self.vertices, 3, "vertices")
        _require_shape(self.faces, 3, "faces")
        if (self.uvs is None) != (self.uv_faces is None):
            raise ValueError("uvs and uv_faces must be given together")
        if self.uv_faces is not None and len(self.uv_faces) != len(self.faces):
            raise ValueError("uv_faces must have one row per face")
        if self.vertex_colors is not None and len(self.vertex_colors) != len(self.vertices):
            raise ValueError("vertex_colors must have one row per vertex")
        for name in ("polygon_ids", "part_ids"):
            ids = getattr(self, name)
            if ids is not None and ids.shape != (len(self.faces),):
                raise ValueError(f"{name} must have shape ({len(self.faces)},); got {ids.shape}")
        if (self.part_ids is None) != (not self.part_names):
            raise ValueError("part_ids and part_names must be given together")
        if self.part_ids is not None and len(self.part_ids) and (
            self.part_ids.min() < 0 or self.part_ids.max() >= len(self.part_names)
        ):
            raise ValueError("part_ids must index part_names")

    @property
    def has_uvs(self) -> bool:
        return self.uvs is not None

    @property
    def has_texture(self) -> bool:
        return self.material.base_color is not None and self.uvs is not None

    @property
    def bounds(self) -> FloatArray:
        """(2, 3) float32: the min and max corners."""
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    @property
    def has_quads(self) -> bool:
        return self.polygon_ids is not None

    @property
    def has_parts(self) -> bool:
        return self.part_ids is not None

    def polygons(self) -> IntArray:
        """(P, 4) int32 vertex indices, counter-clockwise; triangles end with -1.

        Quads come from ``polygon_ids`` (two triangles sharing an edge); polygons are in order
        of their first triangle. Without ``polygon_ids`` every triangle is returned padded.
        """
        from meshsmith._polygons import merge_polygons

        return merge_polygons(self.faces, self.polygon_ids)

    def part(self, index: int) -> Mesh:
        """Part ``index`` alone, as a mesh that keeps only the vertices its faces use."""
        from meshsmith._polygons import submesh

        if self.part_ids is None:
            raise ValueError("the mesh has no parts")
        return submesh(self, self.part_ids == index)

    def with_(self, **changes: object) -> Mesh:
        """A copy with the given fields replaced (the mesh itself is immutable)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def split_by_uv(self) -> tuple[FloatArray, FloatArray | None, IntArray, NDArray[np.int64]]:
        """One index buffer for formats that need it.

        Returns ``(positions (N, 3), uvs (N, 2) or None, faces (F, 3), source (N,))`` where
        ``source[i]`` is the index of the original vertex behind output vertex ``i``.
        """
        if self.uvs is None or self.uv_faces is None:
            src = np.arange(len(self.vertices), dtype=np.int64)
            return self.vertices, None, self.faces.astype(np.int32), src
        keys = self.faces.ravel().astype(np.int64) * len(self.uvs) + self.uv_faces.ravel()
        unique, inverse = np.unique(keys, return_inverse=True)
        vert, uv = np.divmod(unique, len(self.uvs))
        faces = inverse.reshape(-1, 3).astype(np.int32)
        return self.vertices[vert], self.uvs[uv], faces, vert


def _require_shape(array: np.ndarray, width: int, name: str) -> None:
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}); got {array.shape}")
