"""Make a closed triangle mesh 2-manifold again after decimation.

Quadric decimation can fold two nearby sheets onto one edge (an edge shared by four faces)
or pinch two fans onto one vertex. Bad edges lose their faces and the holes are closed with
fans; pinched vertices are split, one copy per fan.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from meshsmith._arrays import argsort_ints, isin_ints, pair_keys
from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import compact, half_edges

_MAX_ROUNDS = 8


def make_manifold(mesh: Mesh) -> Mesh:
    """Remove non-manifold edges (refilling the holes) and split pinched vertices."""
    work = mesh
    twins = half_edge_twins(work.faces)
    for _ in range(_MAX_ROUNDS):
        bad = _faces_without_twins(twins)
        if not bad.any():
            break
        work = fill_holes(_drop_until_simple(compact(work.with_(faces=work.faces[~bad]))))
        twins = half_edge_twins(work.faces)
    return _split_pinched(work, twins)


def half_edge_twins(faces: NDArray[np.integer]) -> NDArray[np.int64]:
    """(3F,) for each half-edge (numbered as :func:`half_edges` lists them) the index of
    its opposite half-edge, or -1 where its edge is not shared by exactly two faces wound
    opposite ways (a boundary, a fold of three or more faces, or a flipped neighbour).

    One sort of the undirected edge keys puts the two half-edges of an edge side by side.
    """
    d = half_edges(faces)
    twins = np.full(len(d), -1, dtype=np.int64)
    if len(d) == 0:
        return twins
    lo, hi = d.min(axis=1), d.max(axis=1)
    keys = pair_keys(lo, hi, int(hi.max()) + 1)
    order = argsort_ints(keys)
    ordered = keys[order]
    start = np.concatenate([[True], ordered[1:] != ordered[:-1], [True]])
    first = np.nonzero(start[:-1])[0]
    pairs = first[(np.diff(np.nonzero(start)[0]) == 2)]
    a, b = order[pairs], order[pairs + 1]
    ok = (d[a, 0] < d[a, 1]) != (d[b, 0] < d[b, 1])
    twins[a[ok]], twins[b[ok]] = b[ok], a[ok]
    return twins


def _faces_without_twins(twins: NDArray[np.int64]) -> NDArray[np.bool_]:
    """(F,) faces with a half-edge that has no twin."""
    return np.asarray((twins < 0).reshape(3, -1).any(axis=0))


def _boundary_half_edges(faces: NDArray[np.int32]) -> NDArray[np.int64]:
    """(B, 2) directed edges without a twin: on the surfaces this module builds (every fold
    and flipped pair already removed), exactly the edges of one face, the holes' rims."""
    return half_edges(faces)[half_edge_twins(faces) < 0]


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
    """Give each separate face fan around a vertex its own copy of that vertex.

    The first fan of a vertex keeps its index; every further fan gets a copy appended to
    the vertex array. A mesh without pinched vertices is returned as it is.
    """
    return _split_pinched(mesh, half_edge_twins(mesh.faces))


def _split_pinched(mesh: Mesh, twins: NDArray[np.int64]) -> Mesh:
    corner_v = mesh.faces.astype(np.int64).T.ravel()  # corner k*F + i is vertex faces[i, k]
    fan = fan_labels(twins)
    roots = np.nonzero(fan == np.arange(len(fan)))[0]
    order = np.argsort(corner_v[roots], kind="stable")
    roots, root_v = roots[order], corner_v[roots[order]]
    extra = np.concatenate([[False], root_v[1:] == root_v[:-1]])
    if not extra.any():
        return mesh
    index = np.empty(len(fan), dtype=np.int64)
    index[roots] = np.where(extra, len(mesh.vertices) + np.cumsum(extra) - 1, root_v)
    verts = np.concatenate([mesh.vertices, mesh.vertices[root_v[extra]]])
    faces = index[fan].reshape(3, -1).T.astype(np.int32)
    return Mesh(vertices=verts, faces=faces, material=mesh.material)


def fan_labels(twins: NDArray[np.int64]) -> NDArray[np.int64]:
    """(3F,) for each corner (corner ``k*F + i`` is ``faces[i, k]``) the smallest corner
    index of its fan: the corners of one vertex joined across shared edges.

    ``twins`` comes from :func:`half_edge_twins`. Half-edge ``k*F + i`` leaves corner
    ``k*F + i``; across its twin lies the next corner around the same vertex. A fan is a
    cycle (at a boundary, a path) of those links, labelled by doubling the links each round
    until no label changes (about log2 of the largest valence rounds).
    """
    nf = len(twins) // 3
    ids = np.arange(len(twins))
    linked = twins >= 0
    succ = ids.copy()
    succ[linked] = ((twins[linked] // nf + 1) % 3) * nf + twins[linked] % nf
    pred = ids.copy()
    pred[succ[linked]] = ids[linked]
    label = ids
    while True:
        new = np.minimum(label, np.minimum(label[succ], label[pred]))
        if np.array_equal(new, label):
            return label
        label, succ, pred = new, succ[succ], pred[pred]
