"""Smart low-poly: a few thousand faces that keep the silhouette and the sharp features.

    dense surface -> reference (<= REFERENCE_FACES) -> feature-preserving decimation
    -> fit to the reference -> checks

Plain decimation (:func:`~meshsmith.pipeline.decimate.to_face_count`, fast-simplification)
is tuned for hundreds of thousands of faces. At 1,000-20,000 it cuts thin parts and rounds
edges, and on thin structures it can stall above the target. Here:

* **decimation** is MeshLab's quadric edge collapse with its feature options: ``planarquadric``
  (flat regions collapse first, edges between them stay), ``preservenormal`` (no collapse may
  flip a face), ``preservetopology`` (no collapse may pinch the surface) and a triangle-quality
  threshold, so the result stays closed and well shaped;
* **fitting** then moves every vertex, by sparse least squares, so the faces straddle the
  reference surface instead of cutting chords inside it (two-sided: reference samples pull
  on the faces nearest them, each vertex on its nearest reference point, with a Laplacian
  term that keeps the decimated shape's detail). A move that would flip a face is undone.

The reference is kept for baking its detail into a normal map
(:mod:`meshsmith.texturing.normalbake`). Units follow the input mesh.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from meshsmith.errors import UnreachableFaceTargetError
from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import is_watertight, orient_outward

#: The dense surface is first brought to this many faces (fast-simplification): detail
#: finer than that is below what 20,000 faces or a 4096² normal map can show.
REFERENCE_FACES = 200_000
#: Triangle quality floor for collapses (0-1, MeshLab's ``qualitythr``).
QUALITY_THRESHOLD = 0.3
#: Reference samples used by the fit, and the fit's rounds.
FIT_SAMPLES = 100_000
FIT_ROUNDS = 3
#: Weights of the fit: each vertex towards its nearest reference point, and the Laplacian
#: term that keeps the decimated shape's local detail (relative to the sample term).
VERTEX_WEIGHT = 1.0
SMOOTHNESS_WEIGHT = 0.3
#: Barycentric grid (per edge) used to find each sample's nearest face.
_FACE_GRID = 4


def reference_surface(mesh: Mesh) -> Mesh:
    """The dense surface at :data:`REFERENCE_FACES` or fewer faces (closed, outward)."""
    from meshsmith.pipeline.decimate import to_face_count

    if len(mesh.faces) <= REFERENCE_FACES:
        return mesh
    return orient_outward(to_face_count(mesh, REFERENCE_FACES))


def smart_low_poly(reference: Mesh, target: int, seed: int = 0) -> Mesh:
    """``target`` faces (exactly, even) decimated from ``reference`` with its features kept,
    then fitted to it. Raises :class:`UnreachableFaceTargetError` when the surface cannot be
    brought to ``target`` faces and stay closed (e.g. more handles than the count allows)."""
    low = feature_decimate(reference, target)
    return fit_to_surface(low, reference, seed=seed)


def feature_decimate(mesh: Mesh, target: int) -> Mesh:
    """MeshLab's quadric edge collapse to ``target`` faces with planar quadrics, normal and
    topology preservation; the result must be closed and hit ``target`` exactly."""
    import pymeshlab

    meshes = pymeshlab.MeshSet()
    meshes.add_mesh(pymeshlab.Mesh(mesh.vertices.astype(np.float64),
                                   mesh.faces.astype(np.int32)))
    meshes.meshing_decimation_quadric_edge_collapse(
        targetfacenum=target, qualitythr=QUALITY_THRESHOLD, preservenormal=True,
        preservetopology=True, optimalplacement=True, planarquadric=True, autoclean=True)
    result = meshes.current_mesh()
    low = Mesh(vertices=result.vertex_matrix().astype(np.float32),
               faces=result.face_matrix().astype(np.int32))
    if len(low.faces) != target or not is_watertight(low):
        raise UnreachableFaceTargetError(
            f"the surface cannot be brought to {target:,} faces and stay closed (reached "
            f"{len(low.faces):,}); ask for more faces")
    return orient_outward(low)


def fit_to_surface(low: Mesh, reference: Mesh, seed: int = 0,
                   rounds: int = FIT_ROUNDS) -> Mesh:
    """``low`` with its vertices moved to fit ``reference`` (same faces, same topology).

    Each round solves, per coordinate, the sparse least squares
    ``min |A x - P|² + a |x - q|² + s |L x - L x0|²``: ``A`` puts each reference sample ``P``
    on its nearest low-poly face (barycentric weights), ``q`` is each vertex's nearest sample
    and ``L`` the uniform Laplacian of the starting shape ``x0``. Vertices of faces the
    solution would flip keep their previous place.
    """
    samples = _surface_samples(reference, FIT_SAMPLES, seed)
    vertices = low.vertices.astype(np.float64)
    laplacian = _uniform_laplacian(low.faces, len(vertices))
    detail = laplacian @ vertices
    for _ in range(rounds):
        moved = _solve_fit(vertices, low.faces, samples, laplacian, detail)
        vertices = _undo_flips(vertices, moved, low.faces)
    return low.with_(vertices=vertices.astype(np.float32))


def _solve_fit(vertices: NDArray[np.float64], faces: NDArray[np.int32],
               samples: NDArray[np.float64], laplacian: Any,
               detail: NDArray[np.float64]) -> NDArray[np.float64]:
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu
    from scipy.spatial import cKDTree

    n = len(vertices)
    face, bary = _nearest_faces(vertices, faces, samples)
    rows = np.repeat(np.arange(len(samples)), 3)
    a = sp.csr_matrix((bary.ravel(), (rows, faces[face].ravel())), shape=(len(samples), n))
    nearest = samples[cKDTree(samples).query(vertices)[1]]
    lap = laplacian
    system = (a.T @ a + VERTEX_WEIGHT * sp.identity(n) + SMOOTHNESS_WEIGHT * (lap.T @ lap))
    rhs = a.T @ samples + VERTEX_WEIGHT * nearest + SMOOTHNESS_WEIGHT * (lap.T @ detail)
    return np.asarray(splu(sp.csc_matrix(system)).solve(np.asarray(rhs)))


def _nearest_faces(vertices: NDArray[np.float64], faces: NDArray[np.int32],
                   points: NDArray[np.float64]
                   ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """For each point (N, 3): the nearest face (N,) and barycentric weights (N, 3) on it,
    from a grid of :data:`_FACE_GRID` steps per edge over every face."""
    from scipy.spatial import cKDTree

    grid = _barycentric_grid(_FACE_GRID)
    spots = np.einsum("sk,fkd->fsd", grid, vertices[faces]).reshape(-1, 3)
    index = cKDTree(spots).query(points)[1]
    return index // len(grid), grid[index % len(grid)]


def _barycentric_grid(steps: int) -> NDArray[np.float64]:
    ij = [(i, j) for i in range(steps + 1) for j in range(steps + 1 - i)]
    return np.array([(steps - i - j, i, j) for i, j in ij], dtype=np.float64) / steps


def _uniform_laplacian(faces: NDArray[np.int32], n: int) -> Any:
    """(n, n) sparse ``I - D⁻¹ A`` over the mesh's edges."""
    import scipy.sparse as sp

    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]]).astype(np.int64)
    adjacency = sp.csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    adjacency.data[:] = 1.0
    degree = np.maximum(np.asarray(adjacency.sum(axis=1)).ravel(), 1.0)
    return sp.identity(n) - sp.diags(1.0 / degree) @ adjacency


def _undo_flips(before: NDArray[np.float64], after: NDArray[np.float64],
                faces: NDArray[np.int32]) -> NDArray[np.float64]:
    """``after``, with the vertices of faces whose normal turned over put back (repeated
    until no face is flipped)."""
    result = after.copy()
    for _ in range(10):
        flipped = np.einsum("ij,ij->i", _cross(before, faces), _cross(result, faces)) <= 0
        if not flipped.any():
            break
        back = np.unique(faces[flipped])
        result[back] = before[back]
    return result


def _cross(vertices: NDArray[np.float64], faces: NDArray[np.int32]) -> NDArray[np.float64]:
    tri = vertices[faces]
    return np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])


def _surface_samples(mesh: Mesh, count: int, seed: int) -> NDArray[np.float64]:
    """(count, 3) points spread uniformly by area over ``mesh`` (seeded, reproducible)."""
    vertices = mesh.vertices.astype(np.float64)
    area = np.linalg.norm(_cross(vertices, mesh.faces), axis=1)
    tri = vertices[mesh.faces]
    rng = np.random.default_rng(seed)
    face = rng.choice(len(tri), size=count, p=area / area.sum())
    u, v = rng.random(count), rng.random(count)
    outside = u + v > 1
    u[outside], v[outside] = 1 - u[outside], 1 - v[outside]
    t = tri[face]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
