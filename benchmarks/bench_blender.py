"""Time the Blender features: FBX export at 100k and 1M faces, QuadriFlow to 10k quads.

    python benchmarks/bench_blender.py [--faces 100000 1000000] [--quads 10000]

Targets: FBX export of 1M triangles (500k quads, 2048^2 texture) <= 3 s; quad remesh to
10k quads <= 15 s. Every call starts a fresh Blender process; that fixed cost (interpreter,
``import bpy``, an empty scene) is reported on its own line and included in the others.
The machine's load average is printed: on a shared machine compare Blender's CPU seconds.
Needs ``make blender``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import trimesh

from meshsmith.blender import blender_python, quad_count, quad_remesh, write_fbx
from meshsmith.exporters._image import encode_texture
from meshsmith.mesh import Material, Mesh

TEXTURE = 2048
T = TypeVar("T")


def quad_sphere(quads: int) -> Mesh:
    """A UV sphere of about ``quads`` quads (2 triangles each, paired by ``polygon_ids``),
    with per-corner UVs and a TEXTURE^2 noise texture. Poles are pinched quads."""
    rings = max(int(np.sqrt(quads / 2)), 2)
    segments = 2 * rings
    theta = np.linspace(0, np.pi, rings + 1)
    phi = np.linspace(0, 2 * np.pi, segments + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    vertices = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=2)
    uvs = np.stack([p / (2 * np.pi), 1 - t / np.pi], axis=2).reshape(-1, 2)
    index = np.arange((rings + 1) * (segments + 1)).reshape(rings + 1, segments + 1)
    a, b = index[:-1, :-1].ravel(), index[1:, :-1].ravel()
    c, d = index[1:, 1:].ravel(), index[:-1, 1:].ravel()
    faces = np.stack([np.column_stack([a, b, c]), np.column_stack([a, c, d])], axis=1)
    faces = faces.reshape(-1, 3).astype(np.int32)
    return Mesh(
        vertices=vertices.reshape(-1, 3).astype(np.float32), faces=faces,
        uvs=uvs.astype(np.float32), uv_faces=faces.copy(),
        polygon_ids=np.repeat(np.arange(len(faces) // 2), 2).astype(np.int32),
        material=Material(base_color=photo_like_texture()),
    )


def photo_like_texture() -> np.ndarray:
    """(TEXTURE, TEXTURE, 3) uint8: gradients, a checker and +-8 noise (PNG-compresses
    roughly like a baked photo texture, unlike pure noise)."""
    y, x = np.mgrid[0:TEXTURE, 0:TEXTURE].astype(np.float32) / TEXTURE
    checker = ((x * 16).astype(int) + (y * 16).astype(int)) % 2
    rgb = np.stack([x * 200, y * 200, 60 + checker * 120], axis=2)
    noise = np.random.default_rng(0).integers(-8, 9, rgb.shape)
    return np.clip(rgb + noise + 20, 0, 255).astype(np.uint8)


def startup_seconds() -> float:
    """A fresh Blender process: start, ``import bpy``, load an empty scene, exit."""
    code = "import bpy; bpy.ops.wm.read_factory_settings(use_empty=True)"
    start = time.perf_counter()
    subprocess.run([str(blender_python()), "-I", "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def timed(label: str, function: Callable[..., T], *args: object) -> T:
    """Run ``function(*args)``; print its wall time and the CPU time of its child processes
    (Blender), which shows how much of the wall time a busy machine added."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = function(*args)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    print(f"| {label} | {wall:.2f} | {cpu:.2f} |", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--quads", type=int, default=10_000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| step | wall (s) | Blender CPU (s) |\n|---|---|---|")
    best = min(startup_seconds() for _ in range(3))
    print(f"| Blender process start + import bpy + empty scene (best of 3) | {best:.2f} | |")
    with tempfile.TemporaryDirectory() as tmp:
        for faces in args.faces:
            mesh = quad_sphere(faces // 2)
            start = time.perf_counter()
            encode_texture(mesh.material)
            print(f"|   of which: encode the {TEXTURE}^2 PNG (main process, overlaps Blender's "
                  f"start) | {time.perf_counter() - start:.2f} | |")
            out = Path(tmp) / f"{faces}.fbx"
            timed(f"write_fbx {len(mesh.faces):,} triangles as quads", write_fbx, mesh, out)
            print(f"| (file size {out.stat().st_size / 2**20:.1f} MiB) | | |")
        for name, source in remesh_sources().items():
            label = f"quad_remesh {name}, {len(source.faces):,} triangles to {args.quads:,} quads"
            remeshed = timed(label, quad_remesh, source, args.quads)
            print(f"| (quads made: {quad_count(remeshed):,}) | | |")


def remesh_sources() -> dict[str, Mesh]:
    """Closed inputs: an icosphere (even triangles) and a welded UV sphere (pole fans)."""
    sphere = trimesh.creation.icosphere(subdivisions=6)
    uv = quad_sphere(50_000).with_(uvs=None, uv_faces=None, polygon_ids=None, material=Material())
    return {
        "icosphere": Mesh(vertices=sphere.vertices.astype(np.float32),
                          faces=sphere.faces.astype(np.int32)),
        "UV sphere": weld(uv),
    }


def weld(mesh: Mesh) -> Mesh:
    """Merge the UV sphere's duplicate seam and pole vertices and drop collapsed triangles,
    so QuadriFlow sees one closed surface."""
    rounded = np.round(mesh.vertices, 6)
    _, first, inverse = np.unique(rounded, axis=0, return_index=True, return_inverse=True)
    faces = inverse.reshape(-1)[mesh.faces].astype(np.int32)
    a, b, c = faces.T
    keep = (a != b) & (b != c) & (a != c)
    return Mesh(vertices=mesh.vertices[first], faces=faces[keep])


if __name__ == "__main__":
    main()
