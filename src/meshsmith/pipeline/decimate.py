"""Reach an exact face count while keeping the surface closed."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from meshsmith._arrays import pair_keys
from meshsmith.errors import UnreachableFaceTargetError
from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import (
    compact,
    drop_degenerate,
    half_edges,
    is_watertight,
    largest_component,
)
from meshsmith.pipeline.repair import make_manifold

_MAX_PASSES = 6
#: fast-simplification's aggressiveness: 9 is about 40% faster than its default 7 with
#: the same distance to the input (mean and 99th percentile) on 6M-face surfaces.
AGGRESSIVENESS = 9


def to_face_count(mesh: Mesh, target: int) -> Mesh:
    """Quadric-decimate (or subdivide, then decimate) to exactly ``target`` faces, keeping
    only the largest connected piece (no floating fragments).

    A closed triangle mesh always has an even face count, so ``target`` must be even.
    Raises :class:`UnreachableFaceTargetError` (10062002) when decimation stalls above the
    target or would open the surface.
    """
    work = mesh
    if len(work.faces) < target:
        work = largest_component(work)
    while len(work.faces) < target:
        work = subdivide(work)
    for _ in range(_MAX_PASSES):
        if len(work.faces) <= target:
            break
        work = _simplify(work, target)
    if len(work.faces) < target:
        work = _refine_to(work, target)
    if len(work.faces) != target:
        raise UnreachableFaceTargetError(
            f"could not reach {target:,} faces with a closed surface (stalled at "
            f"{len(work.faces):,}); ask for more faces, or use smart low-poly, whose "
            "decimation keeps thin parts")
    return work


def subdivide(mesh: Mesh) -> Mesh:
    """Split every triangle into four at its edge midpoints (watertightness is kept)."""
    f = mesh.faces.astype(np.int64)
    edges = np.sort(half_edges(f), axis=1)
    n = len(mesh.vertices)
    unique, inverse = np.unique(pair_keys(edges[:, 0], edges[:, 1], n), return_inverse=True)
    ends = mesh.vertices[np.stack([unique // n, unique % n], axis=1)]
    mids = ends.mean(axis=1).astype(np.float32)
    m = inverse.reshape(3, -1).T + len(mesh.vertices)  # (F, 3): mid of edges 01, 12, 20
    a, b, c = f[:, 0], f[:, 1], f[:, 2]
    faces = np.concatenate([
        np.stack([a, m[:, 0], m[:, 2]], 1), np.stack([m[:, 0], b, m[:, 1]], 1),
        np.stack([m[:, 2], m[:, 1], c], 1), np.stack([m[:, 0], m[:, 1], m[:, 2]], 1),
    ])
    verts = np.concatenate([mesh.vertices, mids])
    return Mesh(vertices=verts, faces=faces.astype(np.int32), material=mesh.material)


def _simplify(mesh: Mesh, target: int) -> Mesh:
    import fast_simplification

    points, faces = fast_simplification.simplify(
        mesh.vertices.astype(np.float32, copy=False), mesh.faces.astype(np.int32, copy=False),
        target_count=target,
        agg=AGGRESSIVENESS,
    )
    out = Mesh(vertices=np.asarray(points, np.float32), faces=np.asarray(faces, np.int32),
               material=mesh.material)
    out = largest_component(make_manifold(drop_degenerate(out)))
    if not is_watertight(out):
        raise UnreachableFaceTargetError(
            "decimation to this face count broke the surface; ask for more faces")
    return out


def _refine_to(mesh: Mesh, target: int) -> Mesh:
    """Split the longest edges until the face count is exactly ``target`` (even deficit)."""
    work = mesh
    while len(work.faces) < target:
        need = (target - len(work.faces)) // 2
        if need == 0:
            break
        work = split_longest_edges(work, need)
    return compact(work)


def split_longest_edges(mesh: Mesh, count: int) -> Mesh:
    """Split up to ``count`` edges at their midpoints; each split adds two faces.

    The longest edges are taken first, and chosen edges share no face, so every face is
    split at most once and the surface stays closed.
    """
    f = mesh.faces.astype(np.int64)
    v = mesh.vertices
    lengths = np.stack([np.linalg.norm(v[f[:, i]] - v[f[:, (i + 1) % 3]], axis=1)
                        for i in range(3)], axis=1)
    pool = np.argsort(-lengths.max(axis=1), kind="stable")[: 8 * count + 8]
    local = np.argmax(lengths[pool], axis=1)
    owners = _edge_owners(f, f[pool, local], f[pool, (local + 1) % 3])
    chosen = _pick_disjoint(owners, count)
    return _apply_splits(mesh, owners[chosen], f[pool[chosen], local[chosen]],
                         f[pool[chosen], (local[chosen] + 1) % 3])


def _edge_keys(a: NDArray[np.int64], b: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """One key per undirected edge (a, b)."""
    return pair_keys(np.minimum(a, b), np.maximum(a, b), n)


def _edge_owners(f: NDArray[np.int64], a: NDArray[np.int64], b: NDArray[np.int64]
                 ) -> NDArray[np.int64]:
    """(K, 2) the two faces that share each edge (a[k], b[k]) of a closed mesh."""
    n = int(f.max()) + 1
    keys = np.concatenate([_edge_keys(f[:, i], f[:, (i + 1) % 3], n) for i in range(3)])
    face_of = np.tile(np.arange(len(f)), 3)
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys[order], _edge_keys(a, b, n))
    return np.stack([face_of[order[pos]], face_of[order[pos + 1]]], axis=1)


def _pick_disjoint(owners: NDArray[np.int64], count: int) -> NDArray[np.int64]:
    """Indices of up to ``count`` rows whose faces are all distinct, in order."""
    used: set[int] = set()
    picked: list[int] = []
    for k, (f0, f1) in enumerate(owners.tolist()):
        if f0 != f1 and f0 not in used and f1 not in used:
            used.update((f0, f1))
            picked.append(k)
            if len(picked) == count:
                break
    return np.asarray(picked, dtype=np.int64)


def _edge_slot(rows: NDArray[np.int64], a: NDArray[np.int64], b: NDArray[np.int64]
               ) -> NDArray[np.int64]:
    """For each face row, the corner ``i`` where edge (row[i], row[i+1]) is {a, b}."""
    hits = []
    for i in range(3):
        p, q = rows[:, i], rows[:, (i + 1) % 3]
        hits.append(((p == a) & (q == b)) | ((p == b) & (q == a)))
    return np.argmax(np.stack(hits, axis=1), axis=1)


def _apply_splits(mesh: Mesh, owners: NDArray[np.int64], a: NDArray[np.int64],
                  b: NDArray[np.int64]) -> Mesh:
    """Insert a midpoint on each edge (a, b) and split both owning faces in two."""
    f = mesh.faces.astype(np.int64).copy()
    mids = len(mesh.vertices) + np.arange(len(a))
    extra = []
    for col in range(2):
        rows = f[owners[:, col]]
        shift = _edge_slot(rows, a, b)
        rolled = np.stack([rows[np.arange(len(rows)), (shift + i) % 3] for i in range(3)], 1)
        f[owners[:, col]] = np.stack([rolled[:, 0], mids, rolled[:, 2]], 1)
        extra.append(np.stack([mids, rolled[:, 1], rolled[:, 2]], 1))
    verts = np.concatenate([mesh.vertices, (mesh.vertices[a] + mesh.vertices[b]) / 2])
    faces = np.concatenate([f, *extra])
    return Mesh(vertices=verts.astype(np.float32), faces=faces.astype(np.int32),
                material=mesh.material)
