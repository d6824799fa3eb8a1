"""3MF (3D Manufacturing Format) writer for 3D printing, built with zipfile and numpy.

The package holds ``[Content_Types].xml``, ``_rels/.rels`` and ``3D/3dmodel.model`` (3MF
core specification 1.3). Units are millimetres, as slicers expect: model coordinates in
metres are multiplied by 1000. Axes follow 3MF (+Z up), so glTF's (x, y, z) becomes
(x, -z, y) and the model stands on the build plate with its front toward -Y. Each part is
its own ``<object>`` named after it, placed by one ``<item>`` each; the surface keeps its
winding (counter-clockwise seen from outside, as 3MF requires). Colour is not written:
3MF here is geometry for printing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from meshsmith.mesh import Mesh

CORE_NS = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
MODEL_PATH = "3D/3dmodel.model"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="model" '
    'ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Target="/{MODEL_PATH}" Id="rel0" '
    'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>'
)
MM_PER_M = 1000.0


def write_3mf(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as a 3MF package at ``path`` (millimetres, +Z up); returns ``[path]``."""
    parts = [mesh.part(i) for i in range(len(mesh.part_names))] if mesh.has_parts else [mesh]
    names = list(mesh.part_names) or ["meshsmith"]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        with z.open(MODEL_PATH, "w", force_zip64=True) as out:
            _write_model(out, parts, names)
    return [path]


def _write_model(out: object, parts: list[Mesh], names: list[str]) -> None:
    """Stream the model XML: one ``<object>`` per part, then the build items."""
    write = out.write  # type: ignore[attr-defined]
    write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    write(f'<model unit="millimeter" xml:lang="en-US" xmlns="{CORE_NS}">'.encode())
    write(b'<metadata name="Application">meshsmith</metadata><resources>')
    for i, (part, name) in enumerate(zip(parts, names, strict=True), start=1):
        write(f'<object id="{i}" type="model" name={quoteattr(name)}><mesh><vertices>'.encode())
        write(_vertex_xml(part))
        write(b"</vertices><triangles>")
        write(_triangle_xml(part))
        write(b"</triangles></mesh></object>")
    write(b"</resources><build>")
    write("".join(f'<item objectid="{i}"/>' for i in range(1, len(parts) + 1)).encode())
    write(b"</build></model>")


def _vertex_xml(mesh: Mesh) -> bytes:
    """``<vertex x= y= z=/>`` for every vertex, in millimetres with 3MF's +Z up."""
    v = mesh.vertices.astype(np.float64) * MM_PER_M
    xyz = np.column_stack([v[:, 0], -v[:, 2], v[:, 1]]).ravel()
    return (('<vertex x="%.5g" y="%.5g" z="%.5g"/>' * len(v)) % tuple(xyz.tolist())).encode()


def _triangle_xml(mesh: Mesh) -> bytes:
    """``<triangle v1= v2= v3=/>`` for every face."""
    flat = mesh.faces.ravel().tolist()
    return (('<triangle v1="%d" v2="%d" v3="%d"/>' * len(mesh.faces)) % tuple(flat)).encode()
