"""Extract a watertight triangle surface from an implicit field without a dense volume.

The field is sampled on a coarse lattice first; only blocks whose coarse samples come near
the surface are sampled at full resolution and meshed with marching cubes (in two forked
processes where that is safe; the parts come back in block order either way). Blocks share
their boundary planes, and only vertices on those planes are welded, so the result equals
a whole-volume run while memory stays bounded by one block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import NDArray

from meshsmith._fork import fork_workers, forked_map
from meshsmith.engines.geometric.field import Axes, Field
from meshsmith.errors import ReconstructionError

BLOCK = 32          # fine cells per block edge
COARSE = 4          # fine cells per coarse cell
LIPSCHITZ = 1.6     # bound on |grad f| for the silhouette fields
_EPS = np.float32(1e-4)
_COARSE_SLAB = 48     # coarse x-samples evaluated at once
_CHUNK = 32           # blocks meshed per job
#: Marching cubes runs in up to this many forked processes (see :func:`mesh_processes`): it
#: holds the GIL, so threads would not help. Service workers are threaded or daemonic and
#: mesh in their own process, in parallel with other tasks instead.
MESH_PROCESSES = 2


@dataclass(frozen=True)
class Lattice:
    """A regular grid of sample points.

    origin: (3,) world position of index (0, 0, 0); step: world units between samples;
    shape: points per axis, (nx, ny, nz).
    """

    origin: NDArray[np.float64]
    step: float
    shape: tuple[int, int, int]

    def axes(self, start: NDArray[np.int64], shape: tuple[int, ...], stride: int = 1
             ) -> Axes:
        """World coordinates along x, y and z of a sub-grid: three (n_a,) float32 arrays."""
        x, y, z = ((start[a] + np.arange(shape[a]) * stride) * self.step + self.origin[a]
                   for a in range(3))
        return x.astype(np.float32), y.astype(np.float32), z.astype(np.float32)


def fine_lattice(lo: NDArray[np.float64], hi: NDArray[np.float64], n: int) -> Lattice:
    """A lattice over [lo, hi] whose longest side has ``n`` cells, padded to whole blocks."""
    step = float((hi - lo).max()) / n
    cells = np.ceil((hi - lo) / step).astype(np.int64) + 2
    cells = ((cells + BLOCK - 1) // BLOCK) * BLOCK
    center = (lo + hi) / 2
    origin = center - cells * step / 2
    return Lattice(origin=origin, step=step, shape=tuple(int(c) + 1 for c in cells))  # type: ignore[arg-type]


def extract(field: Field, lattice: Lattice,
            progress: Callable[[float], None] | None = None
            ) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Mesh the zero level set of ``field`` on ``lattice``.

    Returns ``(vertices (V, 3) float32 world units, faces (F, 3) int32)``, with faces
    wound so normals point out of the positive (inside) region.
    """
    coarse = _coarse_values(field, lattice)
    blocks = list(_active_blocks(coarse, lattice.step))
    if not blocks:
        raise ReconstructionError("the silhouettes do not enclose any volume")
    chunks = [blocks[i:i + _CHUNK] for i in range(0, len(blocks), _CHUNK)]
    parts: list[tuple[NDArray[np.float64], NDArray[np.int32]]] = []
    for meshed in _map_chunks(field, lattice, chunks):  # in block order: deterministic
        parts.extend(meshed)
        if progress is not None:
            progress(len(parts) / len(blocks))
    return _weld_seams(parts, lattice)


def _map_chunks(field: Field, lattice: Lattice, chunks: list[list[NDArray[np.int64]]]
                ) -> Iterator[list[tuple[NDArray[np.float64], NDArray[np.int32]]]]:
    """Mesh each chunk of blocks, in order: in :func:`mesh_processes` forked children when
    there are any, else here."""
    processes = mesh_processes(len(chunks))
    if processes <= 1:
        return (_mesh_blocks(field, lattice, chunk) for chunk in chunks)
    return forked_map(partial(_mesh_blocks, field, lattice), chunks, processes)


def mesh_processes(chunks: int) -> int:
    """How many processes mesh the blocks: up to :data:`MESH_PROCESSES` where forking is
    safe (:func:`~meshsmith._fork.fork_workers`), never more than the chunks."""
    return min(fork_workers(MESH_PROCESSES), chunks)


def _mesh_blocks(field: Field, lattice: Lattice, chunk: list[NDArray[np.int64]]
                 ) -> list[tuple[NDArray[np.float64], NDArray[np.int32]]]:
    return [_mesh_block(field, lattice, block) for block in chunk]


def _coarse_values(field: Field, lattice: Lattice) -> NDArray[np.float32]:
    """The field on every COARSE-th lattice point, evaluated in x-slabs to bound memory."""
    shape = tuple((s - 1) // COARSE + 1 for s in lattice.shape)
    x, y, z = lattice.axes(np.zeros(3, dtype=np.int64), shape, COARSE)
    out = np.empty(shape, dtype=np.float32)
    for start in range(0, shape[0], _COARSE_SLAB):
        out[start:start + _COARSE_SLAB] = field.grid((x[start:start + _COARSE_SLAB], y, z))
    return out


def _active_blocks(coarse: NDArray[np.float32], step: float) -> Iterator[NDArray[np.int64]]:
    """Block indices (in blocks) whose coarse samples may straddle the surface."""
    k = BLOCK // COARSE
    margin = LIPSCHITZ * COARSE * step * np.sqrt(3.0)
    counts = [(s - 1) // k for s in coarse.shape]
    for bx in range(counts[0]):
        for by in range(counts[1]):
            for bz in range(counts[2]):
                sub = coarse[bx * k:(bx + 1) * k + 1, by * k:(by + 1) * k + 1,
                             bz * k:(bz + 1) * k + 1]
                if sub.min() < margin and sub.max() > -margin:
                    yield np.array([bx, by, bz], dtype=np.int64)


def _mesh_block(field: Field, lattice: Lattice, block: NDArray[np.int64]
                ) -> tuple[NDArray[np.float64], NDArray[np.int32]]:
    from skimage.measure import marching_cubes

    start = block * BLOCK
    shape = (BLOCK + 1,) * 3
    values = field.grid(lattice.axes(start, shape))
    values[np.abs(values) < _EPS] = _EPS
    if values.min() > 0 or values.max() < 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int32)
    verts, faces, _, _ = marching_cubes(  # type: ignore[no-untyped-call]
        values, level=0.0, allow_degenerate=False
    )
    return verts + start, faces[:, ::-1].astype(np.int32)


def _first_of_equal_rows(rows: NDArray[np.float64]) -> NDArray[np.int64]:
    """For each row of (N, 3), the index of the first row exactly equal to it."""
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new_group = np.concatenate([[True], (ordered[1:] != ordered[:-1]).any(axis=1)])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(rows)), 0))
    first = np.empty(len(rows), dtype=np.int64)
    first[order] = order[group_start]
    return first


def _weld_seams(parts: list[tuple[NDArray[np.float64], NDArray[np.int32]]],
                lattice: Lattice) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Join block meshes, merging only vertices that lie on a block boundary plane."""
    offsets = np.cumsum([0] + [len(v) for v, _ in parts])
    verts = np.concatenate([v for v, _ in parts])
    faces = np.concatenate([f + o for (_, f), o in zip(parts, offsets[:-1], strict=True)])
    on_seam = np.any(np.mod(verts, BLOCK) == 0, axis=1)
    remap = np.arange(len(verts))
    seam_idx = np.nonzero(on_seam)[0]
    remap[seam_idx] = seam_idx[_first_of_equal_rows(verts[seam_idx])]
    representative = remap == np.arange(len(remap))  # each welded group keeps its first
    new_index = np.cumsum(representative) - 1
    world = lattice.origin + verts[representative] * lattice.step
    return world.astype(np.float32), new_index[remap[faces]].astype(np.int32)
