"""Time smart low-poly and part segmentation, and measure how closely low-poly follows the
dense surface compared with plain decimation to the same count.

    python benchmarks/bench_lowpoly.py [--resolution 1024] [--faces 1000 5000 20000]

For each example photo the geometric engine's dense surface is built once (not timed), then:

* ``smart low-poly`` = reference (200k faces) + feature-preserving decimation + fit, timed
  end to end from the dense surface, plus the normal-map bake at 2048² on the result;
* ``plain`` = the default face-target path (fast-simplification) to the same count;
* the two-sided nearest-sample distance of each to the reference (mean and 99th
  percentile, per mille of the bounding-box diagonal, 200k samples a side; identical
  surfaces measure about 1.0 / 2.5 at this sample count: the floor);
* ``parts`` = segmentation of the 100k-face model.

Target (issue 5): smart low-poly <= 20 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from meshsmith.engines import get_engine
from meshsmith.mesh import Mesh
from meshsmith.pipeline.decimate import to_face_count
from meshsmith.pipeline.generate import preprocess
from meshsmith.pipeline.lowpoly import reference_surface, smart_low_poly
from meshsmith.pipeline.parts import segment_parts
from meshsmith.spec import GeometryOptions, TaskSpec
from meshsmith.texturing import unwrap_mesh
from meshsmith.texturing.normalbake import bake_normal_map

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "duck (1 view)": {"front": ROOT / "examples" / "duck.png"},
    "mug (1 view)": {"front": ROOT / "examples" / "mug.jpg"},
    "robot (4 views)": {s: ROOT / "examples" / "robot" / f"{s}.png"
                        for s in ("front", "back", "left", "right")},
}


def dense_surface(views: dict[str, Path], resolution: str) -> Mesh:
    spec = TaskSpec(views=views, geometry=GeometryOptions(resolution))  # type: ignore[arg-type]
    engine = get_engine("geometric")
    return engine.reconstruct(preprocess(spec), spec.geometry, lambda _: None).mesh


def distance(a: Mesh, b: Mesh, count: int = 200_000) -> tuple[float, float]:
    pa = trimesh.sample.sample_surface(trimesh.Trimesh(a.vertices, a.faces), count, seed=1)[0]
    pb = trimesh.sample.sample_surface(trimesh.Trimesh(b.vertices, b.faces), count, seed=2)[0]
    d = np.concatenate([cKDTree(pb).query(pa)[0], cKDTree(pa).query(pb)[0]])
    diag = float(np.linalg.norm(np.ptp(b.vertices, axis=0)))
    return 1e3 * float(d.mean()) / diag, 1e3 * float(np.percentile(d, 99)) / diag


def timed(work):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def run_case(name: str, views: dict[str, Path], resolution: str, counts: list[int]) -> None:
    dense = dense_surface(views, resolution)
    reference, ref_s = timed(lambda: reference_surface(dense))
    for faces in counts:
        low, low_s = timed(lambda f=faces: smart_low_poly(reference, f))  # type: ignore[misc]
        _, bake_s = timed(lambda m=low: bake_normal_map(unwrap_mesh(m, 2048), reference, 2048))
        try:
            plain = distance(to_face_count(dense, faces), reference)
            plain_text = f"{plain[0]:.2f} / {plain[1]:.2f}"
        except Exception as exc:  # plain decimation can stall above the count
            plain_text = f"fails ({type(exc).__name__})"
        smart = distance(low, reference)
        print(f"| {name} | {faces:,} | {ref_s + low_s:.1f} s | {bake_s:.1f} s | "
              f"{plain_text} | {smart[0]:.2f} / {smart[1]:.2f} |", flush=True)
    model = to_face_count(dense, 100_000)
    parts, parts_s = timed(lambda: segment_parts(model))
    print(f"| {name} | parts of 100,000 faces | {parts_s:.1f} s | | "
          f"{len(parts.part_names)} parts | |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resolution", default="1024")
    parser.add_argument("--faces", type=int, nargs="+", default=[1_000, 5_000, 20_000])
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, "
          f"resolution {args.resolution}")
    print("| case | faces | smart low-poly (reference + decimate + fit) | bake 2048² | "
          "plain: mean / p99 ‰ | smart: mean / p99 ‰ |")
    print("|---|---|---|---|---|---|")
    for name, views in CASES.items():
        run_case(name, views, args.resolution, args.faces)


if __name__ == "__main__":
    main()
