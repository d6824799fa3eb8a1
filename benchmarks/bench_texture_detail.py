"""How much of a high-resolution photo's detail reaches the texture: standard (2048²) vs
detailed (4096²) textures, projected from the grid-size frame (before 2026-12-03) or from the
photo-resolution frame (now).

    python benchmarks/bench_texture_detail.py

A 2048-px RGBA photo of an ellipse covered by a 3-pixel checker is reconstructed on the 1024
grid. Surface points facing the camera (400k samples, normal z > 0.8) are looked up in the
texture through their UVs and compared with the photo at their projection: PSNR in dB.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import trimesh
from PIL import Image

from meshsmith.camera import Camera
from meshsmith.engines.base import ViewImage
from meshsmith.pipeline import generate as g
from meshsmith.spec import GeometryOptions, TaskSpec, TextureOptions
from meshsmith.texturing import texture_mesh

PHOTO = 2048
GRID = 1024


def checker_photo(path: Path) -> None:
    yy, xx = np.mgrid[:PHOTO, :PHOTO] + 0.5
    mask = np.hypot((xx - PHOTO / 2) / 800, (yy - PHOTO / 2) / 900) < 1
    check = ((xx // 3 + yy // 3) % 2).astype(float)
    rgb = np.stack([200 * check + 30, 120 + 80 * (1 - check), 60 + 150 * (xx / PHOTO)], -1)
    Image.fromarray(np.dstack([np.clip(rgb, 0, 255), np.where(mask, 255, 0)]).astype(
        np.uint8)).save(path)


def sample(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N, 3) bilinear samples at pixel-centre coordinates (remap in rows of 4096)."""
    n, pad = len(x), (-len(x)) % 4096
    xs = np.pad(x, (0, pad)).reshape(-1, 4096).astype(np.float32)
    ys = np.pad(y, (0, pad)).reshape(-1, 4096).astype(np.float32)
    return cv2.remap(image.astype(np.float32), xs, ys, cv2.INTER_LINEAR).reshape(-1, 3)[:n]


def grid_frame(view: ViewImage) -> ViewImage:
    """The same crop at the grid's size, as the texture was projected before."""
    k = GRID / view.camera.size
    rgb = cv2.resize(view.rgb, (GRID, GRID), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(view.mask.astype(np.uint8), (GRID, GRID),
                      interpolation=cv2.INTER_AREA) > 0
    cam = view.camera
    return ViewImage(np.asarray(rgb), np.asarray(mask), Camera(
        cam.slot, GRID, (cam.center[0] * k, cam.center[1] * k), cam.tan_half))


def main() -> None:
    path = Path(tempfile.mkdtemp()) / "checker.png"
    checker_photo(path)
    spec = TaskSpec(views={"front": path}, geometry=GeometryOptions(str(GRID), 200_000))  # type: ignore[arg-type]
    recon = g.reconstruct(spec, g.preprocess(spec), lambda _: None)
    photo = recon.views["front"]
    mesh = g.unwrap(spec, recon.mesh)
    assert mesh.uvs is not None and mesh.uv_faces is not None
    surface = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    points, face = trimesh.sample.sample_surface(surface, 400_000, seed=1)
    front = surface.face_normals[face][:, 2] > 0.8
    points, face = points[front], face[front]
    bary = trimesh.triangles.points_to_barycentric(surface.triangles[face], points)
    uv = np.einsum("nk,nkd->nd", bary, mesh.uvs[mesh.uv_faces[face]])
    col, row, _ = photo.camera.project(points.astype(np.float32))
    truth = sample(photo.rgb, col, row)
    print("| projected from | texture | PSNR vs the photo |\n|---|---|---|")
    for name, view in ((f"grid frame ({GRID} px)", grid_frame(photo)),
                       (f"photo frame ({photo.camera.size} px)", photo)):
        for size in (2048, 4096):
            textured = texture_mesh(mesh, {"front": view}, TextureOptions(size=size, pbr=False))
            assert textured.material.base_color is not None
            got = sample(textured.material.base_color, uv[:, 0] * size - 0.5,
                         (1 - uv[:, 1]) * size - 0.5)
            psnr = 10 * np.log10(255.0**2 / float(((got - truth) ** 2).mean()))
            print(f"| {name} | {size}² | {psnr:.2f} dB |", flush=True)


if __name__ == "__main__":
    main()
