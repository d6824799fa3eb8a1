"""Time every registered exporter, GLB compression and PBR maps at 100k and 1M faces.

    python benchmarks/bench_exports.py [--faces 100000 1000000] [--texture 2048]

The mesh is a closed UV sphere with a noise texture of the given size (incompressible: the
worst case for PNG encoding) plus PBR maps. Prints one markdown table; the target is 3 s
for any format at 1M faces (issue 5).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from meshsmith.exporters import EXPORTERS, export
from meshsmith.exporters.compress import compress_glb
from meshsmith.mesh import Material, Mesh
from meshsmith.texturing.pbr import pbr_maps


def sphere(faces: int, texture: int) -> Mesh:
    """A UV sphere with about ``faces`` triangles, seam UVs and a noise texture."""
    segments = int(np.sqrt(faces / 2))
    rings = max(faces // (2 * segments), 2)
    theta = np.pi * np.arange(1, rings) / rings
    phi = 2 * np.pi * np.arange(segments) / segments
    ring = np.stack([np.outer(np.sin(theta), np.sin(phi)),
                     np.repeat(np.cos(theta)[:, None], segments, axis=1),
                     np.outer(np.sin(theta), np.cos(phi))], axis=2).reshape(-1, 3)
    vertices = np.vstack([[0, 1, 0], ring, [0, -1, 0]]).astype(np.float32)
    faces_, uv_faces = _grid_faces(rings, segments)
    u, v = np.meshgrid(np.arange(segments + 1) / segments, 1 - np.arange(rings + 1) / rings)
    uvs = np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float32)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (texture, texture, 3), dtype=np.uint8)
    mesh = Mesh(vertices, faces_, uvs=uvs, uv_faces=uv_faces,
                material=Material(base_color=image))
    return mesh


def _grid_faces(rings: int, segments: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij")
    i, j = i.ravel(), j.ravel()
    last = 1 + (rings - 1) * segments

    def vid(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        inner = 1 + (r - 1) * segments + c % segments
        return np.where(r == 0, 0, np.where(r == rings, last, inner))

    def uid(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return r * (segments + 1) + c

    corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
    tris_v, tris_uv = [], []
    for a, b, c, keep in ((0, 1, 2, i < rings - 1), (0, 2, 3, i > 0)):
        k = keep
        tris_v.append(np.stack([vid(*[x[k] for x in corners[n]]) for n in (a, b, c)], 1))
        tris_uv.append(np.stack([uid(*[x[k] for x in corners[n]]) for n in (a, b, c)], 1))
    return (np.concatenate(tris_v).astype(np.int32), np.concatenate(tris_uv).astype(np.int32))


def _time(work: object) -> float:
    start = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--texture", type=int, default=2048)
    args = parser.parse_args()
    print(f"machine: {platform.node()} ({platform.machine()}, {_cores()} cores), "
          f"texture {args.texture}² noise PNG + PBR maps\n")
    print("| step | " + " | ".join(f"{f:,} faces" for f in args.faces) + " |")
    print("|---|" + "---|" * len(args.faces))
    rows: dict[str, list[str]] = {}
    for faces in args.faces:
        base = sphere(faces, args.texture)
        rows.setdefault("pbr_maps", []).append(f"{_time(lambda b=base: pbr_maps(b)):.2f} s")
        mesh = pbr_maps(base)
        with tempfile.TemporaryDirectory() as tmp:
            for name, exporter in EXPORTERS.items():
                path = Path(tmp) / f"m{exporter.extension}"
                seconds = _time(lambda m=mesh, p=path, n=name: export(m, p, n))
                rows.setdefault(name, []).append(f"{seconds:.2f} s")
            glb = Path(tmp) / "m.glb"
            for method in ("meshopt", "draco"):
                report = compress_glb(glb, Path(tmp) / f"{method}.glb", method)  # type: ignore[arg-type]
                rows.setdefault(f"glb + {method}", []).append(
                    f"{report.seconds:.2f} s ({report.ratio:.1f}x)")
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


def _cores() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
