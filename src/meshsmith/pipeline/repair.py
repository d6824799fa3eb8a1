"""Make a closed triangle mesh 2-manifold again after decimation.

Quadric decimation can fold two nearby sheets onto one edge (an edge shared by four faces)
or pinch two fans onto one vertex. Bad edges lose their faces and the holes are closed with
fans; pinched vertices are split, one copy per fan.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from meshsmith._arrays import isin_ints, pair_keys
from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import compact, half_edges

_MAX_ROUNDS = 8


def make_manifold(mesh: Mesh) -> Mesh:
    """Remove non-manifold edges (refilling the holes) and split pinched vertices."""
    work = mesh
    for _ in range(_MAX_ROUNDS):
        bad = _faces_on_bad_edges(work.faces)
        if not bad.any():
            break
        work = fill_holes(_drop_until_simple(compact(work.with_(faces=work.faces[~bad]))))
    return split_pinched_vertices(work)


def _faces_on_bad_edges(faces: NDArray[np.int32]) -> NDArray[np.bool_]:
    """(F,) faces with a half-edge that repeats (an edge of more than two faces, or two
    faces wound the same way) or has no opposite half-edge."""
    directed = half_edges(faces)
    n = int(directed.max()) + 1
    keys = pair_keys(directed[:, 0], directed[:, 1], n)
    reverse = pair_keys(directed[:, 1], directed[:, 0], n)
    order = np.argsort(keys)
    ordered = keys[order]
    repeat = np.zeros(len(keys), dtype=bool)
    same = ordered[1:] == ordered[:-1]
    repeat[order[1:][same]] = True
    repeat[order[:-1][same]] = True
    pos = np.clip(np.searchsorted(ordered, reverse), 0, len(keys) - 1)
    lonely = ordered[pos] != reverse
    return np.asarray((repeat | lonely).reshape(3, -1).any(axis=0))


def _boundary_half_edges(faces: NDArray[np.int32]) -> NDArray[np.int64]:
    """(B, 2) directed edges that have no opposite half-edge."""
    directed = half_edges(faces)
    n = int(directed.max()) + 1
    key = pair_keys(directed[:, 0], directed[:, 1], n)
    return directed[~isin_ints(pair_keys(directed[:, 1], directed[:, 0], n), key)]


def _drop_until_simple(mesh: Mesh) -> Mesh:
    """Remove faces at boundary vertices with more than one hole passing through them."""
    work = mesh
    for _ in range(_MAX_ROUNDS):
        b = _boundary_half_edges(work.faces)
        if len(b) == 0:
            return work
        starts = np.bincount(b[:, 0], minlength=len(work.vertices))
        bad_v = np.nonzero(starts > 1)[0]
        if len(bad_v) == 0:
            return work
        drop = isin_ints(work.faces.ravel(), bad_v).reshape(-1, 3).any(axis=1)
        work = compact(work.with_(faces=work.faces[~drop]))
    return work


def fill_holes(mesh: Mesh) -> Mesh:
    """Close every simple boundary loop with a fan around its centroid."""
    b = _boundary_half_edges(mesh.faces)
    if len(b) == 0:
        return mesh
    succ = dict(zip(b[:, 1].tolist(), b[:, 0].tolist(), strict=True))  # walk reversed
    verts = [mesh.vertices]
    faces = [mesh.faces.astype(np.int64)]
    next_id = len(mesh.vertices)
    seen: set[int] = set()
    for start in list(succ):
        if start in seen:
            continue
        loop = _walk(succ, start, seen)
        centre = mesh.vertices[loop].mean(axis=0, keepdims=True)
        ring = np.asarray(loop, dtype=np.int64)
        faces.append(np.stack([ring, np.roll(ring, -1), np.full_like(ring, next_id)], 1))
        verts.append(centre)
        next_id += 1
    return Mesh(vertices=np.concatenate(verts).astype(np.float32),
                faces=np.concatenate(faces).astype(np.int32), material=mesh.material)


def _walk(succ: dict[int, int], start: int, seen: set[int]) -> list[int]:
    loop = [start]
    seen.add(start)
    v = succ[start]
    while v != start:
        loop.append(v)
        seen.add(v)
        v = succ[v]
    return loop


def split_pinched_vertices(mesh: Mesh) -> Mesh:
    """Give each separate face fan around a vertex its own copy of that vertex."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = mesh.faces.astype(np.int64)
    nf = len(f)
    corner_v = f.T.ravel()  # corner k*nf + i is vertex f[i, k]
    corner = np.arange(3 * nf)
    # two corners of one vertex are in one fan when their faces share an edge at it
    nxt = f[:, [1, 2, 0]].T.ravel()
    prv = f[:, [2, 0, 1]].T.ravel()
    n = int(f.max()) + 1
    key_out = corner_v * n + nxt
    key_in = corner_v * n + prv
    order = np.argsort(key_in)
    pos = np.searchsorted(key_in[order], key_out)
    pos = np.clip(pos, 0, len(order) - 1)
    match = key_in[order][pos] == key_out
    a, b = corner[match], order[pos[match]]
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(3 * nf, 3 * nf))
    _, fan = connected_components(graph, directed=False)
    uniq, inverse = np.unique(pair_keys(fan, corner_v, n), return_inverse=True)
    if len(uniq) == len(mesh.vertices):
        return mesh
    faces = inverse.reshape(3, nf).T.astype(np.int32)
    return Mesh(vertices=mesh.vertices[uniq % n], faces=faces, material=mesh.material)
