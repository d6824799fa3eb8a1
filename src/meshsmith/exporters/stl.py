"""Binary STL writer using a numpy structured array (50 bytes per facet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meshsmith.exporters._geometry import face_normals
from meshsmith.mesh import Mesh

#: One binary STL facet: unit normal, three corners (float32 LE) and a zero attribute word.
FACET_DTYPE = np.dtype([("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)), ("attr", "<u2")])
HEADER_SIZE = 80


def write_stl(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as binary STL (84 + 50 * F bytes, model units); returns ``[path]``.

    The 80-byte header never starts with ``solid`` so readers cannot mistake it for ASCII STL.
    Degenerate faces get a zero normal, as the format allows.
    """
    from meshsmith import __version__

    facets = np.zeros(len(mesh.faces), dtype=FACET_DTYPE)
    facets["normal"] = face_normals(mesh.vertices, mesh.faces)
    facets["corners"] = mesh.vertices[mesh.faces]
    header = f"meshsmith {__version__} binary STL".encode("ascii").ljust(HEADER_SIZE, b"\0")
    with path.open("wb") as out:
        out.write(header[:HEADER_SIZE])
        out.write(np.uint32(len(facets)).astype("<u4").tobytes())
        out.write(facets.tobytes())
    return [path]
