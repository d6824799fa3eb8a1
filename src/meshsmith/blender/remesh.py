"""Quad remeshing with QuadriFlow, through Blender (bpy, run in its own environment).

QuadriFlow (Huang et al. 2018, as built into Blender) rebuilds the whole surface as a
field-aligned quad mesh. It needs a closed, manifold surface with consistently oriented
faces; anything else fails with :class:`RemeshError`. The result has no UVs: the caller
textures it again. It takes seconds (about 5-15 s for 10k quads on two cores).
"""

from __future__ import annotations

import logging

import numpy as np

from meshsmith.blender._runner import run_job
from meshsmith.errors import InvalidFaceCountError, RemeshError
from meshsmith.mesh import IntArray, Mesh

logger = logging.getLogger(__name__)

#: Seconds one remesh may take.
REMESH_TIMEOUT = 600.0
#: Fewest quads QuadriFlow is asked for (below this it produces degenerate shapes).
MIN_QUADS = 8


def quad_remesh(mesh: Mesh, faces: int = 10_000, *, seed: int = 0) -> Mesh:
    """A quad-dominant remesh of ``mesh`` with about ``faces`` QUADS (Tripo's meaning of a
    quad model's face count), so about twice as many triangles.

    Returns a new mesh: vertices (N, 3) float32 in the input's axes and units, faces (F, 3)
    int32 with ``polygon_ids`` pairing each quad's two triangles ((a, b, c, d) ->
    (a, b, c), (a, c, d)); no UVs, colours, parts or texture. ``seed`` fixes QuadriFlow's
    randomness. See :func:`quad_count` for the quads actually produced (usually within a
    few percent of ``faces``). Raises :class:`RemeshError` when QuadriFlow cannot remesh the
    surface (open, non-manifold or inconsistently oriented input).
    """
    if faces < MIN_QUADS:
        raise InvalidFaceCountError(f"a quad remesh needs at least {MIN_QUADS} faces; got {faces}")
    if len(mesh.faces) == 0 or not np.isfinite(mesh.vertices).all():
        raise RemeshError("cannot quad-remesh an empty mesh or one with non-finite vertices")
    centre, scale = _working_frame(mesh)
    working = ((mesh.vertices.astype(np.float64) - centre) * scale).astype(np.float32)
    arrays = {"vertices": working, "faces": mesh.faces.astype(np.int32)}
    params = {"faces": int(faces), "seed": int(seed)}
    result, _ = run_job(
        "quadriflow", lambda: (arrays, params), error=RemeshError, timeout=REMESH_TIMEOUT
    )
    triangles, polygon_ids = triangulate_polygons(result["corners"], result["sizes"])
    vertices = result["vertices"].astype(np.float64) / scale + centre
    remeshed = Mesh(vertices=vertices.astype(np.float32), faces=triangles,
                    polygon_ids=polygon_ids)
    logger.info("quad remesh: %d quads asked, %d made", faces, quad_count(remeshed))
    return remeshed


#: The bounding-box diagonal the surface is scaled to for QuadriFlow. Blender refuses a
#: mesh with any edge shorter than 1e-4 in every axis as "non-manifold"; a dense model one
#: unit tall has such edges, which are fine at this scale.
WORKING_DIAGONAL = 1000.0


def _working_frame(mesh: Mesh) -> tuple[np.ndarray, float]:
    """(centre (3,), scale) that map the mesh to a box of diagonal :data:`WORKING_DIAGONAL`."""
    lo, hi = mesh.bounds.astype(np.float64)
    diagonal = float(np.linalg.norm(hi - lo))
    return (lo + hi) / 2, WORKING_DIAGONAL / diagonal if diagonal > 0 else 1.0


def triangulate_polygons(corners: IntArray, sizes: IntArray) -> tuple[IntArray, IntArray]:
    """Triangles (F, 3) int32 and polygon ids (F,) int32 from polygons given as runs of
    ``sizes`` (P,) corners in ``corners`` (L,). Quads split along their first diagonal and
    keep one id; larger polygons become fans whose triangles each get their own id.
    """
    counts = np.maximum(sizes.astype(np.int64) - 2, 0)
    owner = np.repeat(np.arange(len(sizes)), counts)  # the polygon of each triangle
    first = (np.cumsum(counts) - counts)[owner]  # the polygon's first triangle
    within = np.arange(len(owner)) - first
    base = (np.cumsum(sizes.astype(np.int64)) - sizes)[owner]
    triangles = np.column_stack(
        [corners[base], corners[base + within + 1], corners[base + within + 2]]
    ).astype(np.int32)
    group = np.where(sizes[owner] == 4, first, np.arange(len(owner)))
    polygon_ids = np.unique(group, return_inverse=True)[1].astype(np.int32)
    return triangles, polygon_ids


def quad_count(mesh: Mesh) -> int:
    """How many polygons of ``mesh`` are quads."""
    return int((mesh.polygons()[:, 3] >= 0).sum())
