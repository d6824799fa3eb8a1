"""Wavefront OBJ writer (+ MTL and texture image beside it), formatted with numpy.

OBJ keeps separate index buffers natively, so faces are written as ``f v/vt/vn`` straight from
``faces`` and ``uv_faces`` with no vertex splitting. Normals are smooth and share the vertex
index. Quads (``Mesh.polygon_ids``) are written as 4-corner ``f`` lines; a quad whose two
triangles disagree on a shared corner's UV (a seam along its diagonal) stays two triangles.
Parts become ``o <name>`` groups (whitespace in names replaced by ``_``).

Files written for ``model.obj``: ``model.obj``, ``model.mtl`` and, when textured,
``model_basecolor.png`` (or ``.jpg``); with PBR maps (unless unlit) also
``model_roughness.png`` and ``model_metallic.png`` (grayscale, ``map_Pr`` / ``map_Pm``) and
``model_normal.png`` (tangent space, OpenGL convention, ``norm``). Vertex colours of
untextured meshes use the common ``v x y z r g b`` extension; metallic/roughness use the
``Pm``/``Pr`` PBR extension lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from meshsmith.exporters._geometry import vertex_normals
from meshsmith.exporters._image import pbr_map_images, write_maps, write_texture
from meshsmith.mesh import Mesh

#: Rows formatted per string operation: bounds the temporary Python objects to a few MB.
CHUNK_ROWS = 65_536
#: Diffuse colour of an untextured, uncoloured model.
UNTEXTURED_KD = (0.8, 0.8, 0.8)
#: MTL keyword per PBR map name (see ``meshsmith.exporters._image.map_path``).
MTL_MAP_KEYWORDS = {"roughness": "map_Pr", "metallic": "map_Pm", "normal": "norm"}


def write_obj(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` to ``path`` (.obj) plus its .mtl and textures; returns every path
    written: the OBJ, the MTL, the base colour, then the roughness, metallic and normal maps."""
    mtl_path = path.with_suffix(".mtl")
    with ThreadPoolExecutor(1) as images:  # PNG encoding (no GIL) beside the text
        pending = images.submit(_write_images, mesh, path)
        with path.open("w", encoding="ascii", newline="\n") as out:
            out.writelines(_obj_lines(mesh, mtl_path.name))
        textures = pending.result()
    mtl_path.write_text(_mtl_text(mesh, textures), encoding="utf-8")
    return [path, mtl_path, *(path.with_name(name) for name in textures.values())]


def _write_images(mesh: Mesh, path: Path) -> dict[str, str]:
    """Write the base colour and the PBR maps beside ``path``; returns MTL keyword -> file
    name, in the order: ``map_Kd``, ``map_Pr``, ``map_Pm``, ``norm``."""
    textures: dict[str, str] = {}
    if mesh.has_texture:
        textures["map_Kd"] = write_texture(mesh.material, path).name
    if mesh.uvs is not None and not mesh.material.unlit:
        maps = write_maps(mesh.material, path, tuple(MTL_MAP_KEYWORDS))
        textures |= {MTL_MAP_KEYWORDS[name]: p.name for name, p in maps.items()}
    return textures


def _mtl_text(mesh: Mesh, textures: dict[str, str]) -> str:
    """The MTL file: Kd/Ka/Ks/Ns, ``Pm``/``Pr``, then one line per texture (``map_Kd``,
    ``map_Pr``, ``map_Pm``, ``norm``) as given in ``textures`` (keyword -> file name)."""
    material = mesh.material
    textured = "map_Kd" in textures or mesh.vertex_colors is not None
    kd = (1.0, 1.0, 1.0) if textured else UNTEXTURED_KD
    metallic, roughness = _scalar_pbr(mesh, textures)
    gloss = 1.0 - roughness
    lines = [
        f"newmtl {_material_name(mesh)}",
        "Kd {:.6f} {:.6f} {:.6f}".format(*kd),
        "Ka 0.000000 0.000000 0.000000",
        "Ks {0:.6f} {0:.6f} {0:.6f}".format(0.5 * gloss),
        f"Ns {gloss * gloss * 1000.0:.6f}",
        "d 1.000000",
        "illum 0" if material.unlit else "illum 2",
        f"Pm {metallic:.6f}",
        f"Pr {roughness:.6f}",
    ]
    lines += [f"{keyword} {name}" for keyword, name in textures.items()]
    return "\n".join(lines) + "\n"


def _scalar_pbr(mesh: Mesh, textures: dict[str, str]) -> tuple[float, float]:
    """``(Pm, Pr)``: the material's factors, times the map's mean where ``map_Pm`` /
    ``map_Pr`` is written, so readers that ignore the maps still get a fair constant."""
    material = mesh.material
    images = pbr_map_images(material)
    metallic, roughness = float(material.metallic), float(material.roughness)
    if "map_Pm" in textures:
        metallic *= float(images["metallic"].mean()) / 255.0
    if "map_Pr" in textures:
        roughness *= float(images["roughness"].mean()) / 255.0
    return metallic, roughness


def _obj_lines(mesh: Mesh, mtl_name: str) -> Iterator[str]:
    """Yield the OBJ text in chunks: header, v, vt, vn, then faces (grouped by part)."""
    from meshsmith import __version__

    yield f"# meshsmith {__version__}\nmtllib {mtl_name}\n"
    if mesh.part_ids is None:
        yield "o meshsmith\n"
    if mesh.vertex_colors is not None and not mesh.has_texture:
        colors = mesh.vertex_colors.astype(np.float64) / 255.0
        colored = np.column_stack([mesh.vertices.astype(np.float64), colors])
        yield from _format_rows("v %.6f %.6f %.6f %.4f %.4f %.4f\n", colored)
    else:
        yield from _format_rows("v %.6f %.6f %.6f\n", mesh.vertices)
    if mesh.uvs is not None:
        yield from _format_rows("vt %.6f %.6f\n", mesh.uvs)
    yield from _format_rows("vn %.6f %.6f %.6f\n", vertex_normals(mesh.vertices, mesh.faces))
    usemtl = f"usemtl {_material_name(mesh)}\ns 1\n"
    rows = _face_rows(mesh)
    if mesh.part_ids is None:
        yield usemtl
        yield from _face_lines(rows)
        return
    for index, name in enumerate(mesh.part_names):
        part_rows = rows.select(rows.part == index)
        if len(part_rows.order):
            yield f"o {'_'.join(name.split()) or f'part{index}'}\n" + usemtl
            yield from _face_lines(part_rows)


@dataclass(frozen=True)
class _FaceRows:
    """The ``f`` lines to write, as arrays in file order.

    vertices/uvs: (N, 4) int64 0-based corner indices (-1 in column 3 for triangles; ``uvs``
    is ``None`` without UVs). part: (N,) int64 part index (0 without parts). order: (N,) the
    first triangle of each row's polygon, the key rows are sorted by.
    """

    vertices: NDArray[np.int64]
    uvs: NDArray[np.int64] | None
    part: NDArray[np.int64]
    order: NDArray[np.int64]

    def select(self, keep: NDArray[Any]) -> _FaceRows:
        """The rows at ``keep`` (a boolean mask or an index array)."""
        uvs = None if self.uvs is None else self.uvs[keep]
        return _FaceRows(self.vertices[keep], uvs, self.part[keep], self.order[keep])


def _face_rows(mesh: Mesh) -> _FaceRows:
    """Every polygon of ``mesh`` as a row: quads with 4 corners, triangles with 3."""
    first, second = _polygon_triangles(mesh)
    faces = mesh.faces.astype(np.int64)
    uv_faces = None if mesh.uv_faces is None else mesh.uv_faces.astype(np.int64)
    quad = second >= 0
    corners = mesh.polygons().astype(np.int64)
    uv_corners = None
    if uv_faces is not None:
        uv_corners, consistent = _quad_uvs(corners, faces, uv_faces, first, second)
        quad &= consistent
    tri_ids = np.concatenate([first[~quad], second[~quad & (second >= 0)]])
    tri_vertices = np.column_stack([faces[tri_ids], np.full(len(tri_ids), -1)])
    vertices = np.concatenate([corners[quad], tri_vertices])
    uvs = None
    if uv_faces is not None and uv_corners is not None:
        uvs = np.concatenate([uv_corners[quad], np.column_stack([uv_faces[tri_ids],
                                                                 np.full(len(tri_ids), -1)])])
    key = np.concatenate([first[quad], _owner(first, second, len(faces))[tri_ids]])
    part_of = np.zeros(len(faces), np.int64) if mesh.part_ids is None else mesh.part_ids
    rows = _FaceRows(vertices, uvs, part_of[key].astype(np.int64), key)
    return rows.select(np.argsort(key, kind="stable"))


def _owner(first: NDArray[np.int64], second: NDArray[np.int64], count: int) -> NDArray[np.int64]:
    """(count,) the first triangle of the polygon each triangle belongs to."""
    owner = np.arange(count, dtype=np.int64)
    pairs = second >= 0
    owner[second[pairs]] = first[pairs]
    return owner


def _polygon_triangles(mesh: Mesh) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(P,) first and second triangle of each polygon, in ``Mesh.polygons()`` order (by first
    triangle); ``second`` is -1 for triangles."""
    count = len(mesh.faces)
    if mesh.polygon_ids is None:
        return np.arange(count, dtype=np.int64), np.full(count, -1, np.int64)
    order = np.argsort(mesh.polygon_ids, kind="stable")
    _, starts, sizes = np.unique(mesh.polygon_ids[order], return_index=True, return_counts=True)
    first = order[starts].astype(np.int64)
    second = np.where(sizes == 2, order[np.minimum(starts + 1, count - 1)], -1).astype(np.int64)
    rank = np.argsort(first, kind="stable")
    return first[rank], second[rank]


def _quad_uvs(corners: NDArray[np.int64], faces: NDArray[np.int64], uv_faces: NDArray[np.int64],
              first: NDArray[np.int64], second: NDArray[np.int64],
              ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """(P, 4) UV index per polygon corner, taken from the triangle corners at the same vertex,
    and (P,) whether every corner's triangles agree on it (false: a UV seam inside a quad)."""
    other = np.where(second >= 0, second, first)
    tri_vertices = np.concatenate([faces[first], faces[other]], axis=1)  # (P, 6)
    tri_uvs = np.concatenate([uv_faces[first], uv_faces[other]], axis=1)
    low = np.full(corners.shape, np.iinfo(np.int64).max, dtype=np.int64)
    high = np.full(corners.shape, -1, dtype=np.int64)
    for k in range(6):  # (P, 4) at a time: no (P, 4, 6) temporaries
        match = corners == tri_vertices[:, k : k + 1]
        uv = np.broadcast_to(tri_uvs[:, k : k + 1], corners.shape)
        low = np.where(match, np.minimum(low, uv), low)
        high = np.where(match, np.maximum(high, uv), high)
    found = high >= 0
    consistent = np.all(~found | (low == high), axis=1)
    return np.where(found, low, -1), consistent


def _face_lines(rows: _FaceRows) -> Iterator[str]:
    """``f v/vt/vn`` (with UVs) or ``f v//vn`` lines, 1-based, 3 or 4 corners, in row order.

    Consecutive rows with the same corner count are formatted together.
    """
    is_quad = rows.vertices[:, 3] >= 0
    breaks = np.flatnonzero(np.diff(is_quad.astype(np.int8))) + 1
    for run in np.split(np.arange(len(is_quad)), breaks):
        if not len(run):
            continue
        width = 4 if is_quad[run[0]] else 3
        v = rows.vertices[run, :width] + 1
        if rows.uvs is not None:
            table = np.stack([v, rows.uvs[run, :width] + 1, v], axis=2).reshape(len(run), -1)
            yield from _format_rows("f" + " %d/%d/%d" * width + "\n", table)
        else:
            table = np.stack([v, v], axis=2).reshape(len(run), -1)
            yield from _format_rows("f" + " %d//%d" * width + "\n", table)


def _material_name(mesh: Mesh) -> str:
    """The material name with whitespace replaced: MTL names end at the first space."""
    return "_".join(mesh.material.name.split()) or "material"


def _format_rows(row_format: str, array: NDArray[Any]) -> Iterator[str]:
    """Format an (N, C) array with one printf-style ``row_format`` per row, chunk by chunk.

    One ``%`` over a whole chunk runs in C, far faster than ``np.savetxt``'s per-row loop.
    """
    for start in range(0, len(array), CHUNK_ROWS):
        chunk = array[start : start + CHUNK_ROWS]
        yield (row_format * len(chunk)) % tuple(chunk.ravel().tolist())
