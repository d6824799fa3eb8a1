"""Place the model in the canonical frame: glTF axes, centred, height 1.0."""

from __future__ import annotations

import numpy as np

from meshsmith.mesh import Mesh


def center_and_scale(mesh: Mesh, height: float = 1.0) -> Mesh:
    """Centre the bounding box at the origin and scale so the Y extent equals ``height``.

    vertices: (V, 3) float32 in, (V, 3) float32 out, model units.
    """
    lo, hi = mesh.bounds
    extent = float(hi[1] - lo[1])
    scale = height / extent if extent > 0 else 1.0
    centre = (lo + hi) / 2
    verts = ((mesh.vertices - centre) * scale).astype(np.float32)
    return mesh.with_(vertices=verts)
