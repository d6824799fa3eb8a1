"""Wavefront OBJ writer (+ MTL and texture image beside it), formatted with numpy.

OBJ keeps separate index buffers natively, so faces are written as ``f v/vt/vn`` straight from
``faces`` and ``uv_faces`` with no vertex splitting. Normals are smooth and share the vertex
index. Files written for ``model.obj``: ``model.obj``, ``model.mtl`` and, when textured,
``model_basecolor.png`` (or ``.jpg``). Vertex colours of untextured meshes use the common
``v x y z r g b`` extension; metallic/roughness use the ``Pm``/``Pr`` PBR extension lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from meshsmith.exporters._geometry import vertex_normals
from meshsmith.exporters._image import write_texture
from meshsmith.mesh import Mesh

#: Rows formatted per string operation: bounds the temporary Python objects to a few MB.
CHUNK_ROWS = 65_536
#: Diffuse colour of an untextured, uncoloured model.
UNTEXTURED_KD = (0.8, 0.8, 0.8)


def write_obj(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` to ``path`` (.obj) plus its .mtl and texture; returns every path written."""
    mtl_path = path.with_suffix(".mtl")
    written = [path, mtl_path]
    texture_name = None
    if mesh.has_texture:
        image_path = write_texture(mesh.material, path)
        texture_name = image_path.name
        written.append(image_path)
    mtl_path.write_text(_mtl_text(mesh, texture_name), encoding="utf-8")
    with path.open("w", encoding="ascii", newline="\n") as out:
        out.writelines(_obj_lines(mesh, mtl_path.name))
    return written


def _mtl_text(mesh: Mesh, texture_name: str | None) -> str:
    """The MTL file: Kd/Ka/Ks/Ns, ``Pm``/``Pr`` and ``map_Kd`` when textured."""
    material = mesh.material
    kd = (1.0, 1.0, 1.0) if texture_name or mesh.vertex_colors is not None else UNTEXTURED_KD
    gloss = 1.0 - float(material.roughness)
    lines = [
        f"newmtl {_material_name(mesh)}",
        "Kd {:.6f} {:.6f} {:.6f}".format(*kd),
        "Ka 0.000000 0.000000 0.000000",
        "Ks {0:.6f} {0:.6f} {0:.6f}".format(0.5 * gloss),
        f"Ns {gloss * gloss * 1000.0:.6f}",
        "d 1.000000",
        "illum 0" if material.unlit else "illum 2",
        f"Pm {float(material.metallic):.6f}",
        f"Pr {float(material.roughness):.6f}",
    ]
    if texture_name:
        lines.append(f"map_Kd {texture_name}")
    return "\n".join(lines) + "\n"


def _obj_lines(mesh: Mesh, mtl_name: str) -> Iterator[str]:
    """Yield the OBJ text in chunks: header, v, vt, vn, then faces."""
    from meshsmith import __version__

    yield f"# meshsmith {__version__}\nmtllib {mtl_name}\no meshsmith\n"
    if mesh.vertex_colors is not None and not mesh.has_texture:
        colors = mesh.vertex_colors.astype(np.float64) / 255.0
        rows = np.column_stack([mesh.vertices.astype(np.float64), colors])
        yield from _format_rows("v %.6f %.6f %.6f %.4f %.4f %.4f\n", rows)
    else:
        yield from _format_rows("v %.6f %.6f %.6f\n", mesh.vertices)
    if mesh.uvs is not None:
        yield from _format_rows("vt %.6f %.6f\n", mesh.uvs)
    yield from _format_rows("vn %.6f %.6f %.6f\n", vertex_normals(mesh.vertices, mesh.faces))
    yield f"usemtl {_material_name(mesh)}\ns 1\n"
    yield from _face_lines(mesh)


def _face_lines(mesh: Mesh) -> Iterator[str]:
    """``f v/vt/vn`` (with UVs) or ``f v//vn`` lines, 1-based."""
    faces = mesh.faces.astype(np.int64) + 1
    if mesh.uv_faces is not None:
        uv_faces = mesh.uv_faces.astype(np.int64) + 1
        rows = np.stack([faces, uv_faces, faces], axis=2).reshape(-1, 9)
        yield from _format_rows("f %d/%d/%d %d/%d/%d %d/%d/%d\n", rows)
    else:
        rows = np.stack([faces, faces], axis=2).reshape(-1, 6)
        yield from _format_rows("f %d//%d %d//%d %d//%d\n", rows)


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
