"""Fixture meshes for the exporter tests: a UV sphere with real seams, in several flavours."""

from __future__ import annotations

import numpy as np
import pytest

from meshsmith.mesh import Material, Mesh

TEXTURE_SIZE = 64


def uv_sphere(rings: int = 12, segments: int = 24) -> Mesh:
    """A unit UV sphere: shared (watertight) vertices, UVs split along the seam and at the poles.

    Vertices: 2 poles + (rings - 1) * segments. UVs: a (rings + 1) x (segments + 1) grid, so
    the seam column and each pole have several UV wedges per vertex.
    """
    theta = np.pi * np.arange(1, rings) / rings
    phi = 2 * np.pi * np.arange(segments) / segments
    ring = np.stack(
        [
            np.outer(np.sin(theta), np.sin(phi)),
            np.repeat(np.cos(theta)[:, None], segments, axis=1),
            np.outer(np.sin(theta), np.cos(phi)),
        ],
        axis=2,
    ).reshape(-1, 3)
    vertices = np.vstack([[0.0, 1.0, 0.0], ring, [0.0, -1.0, 0.0]]).astype(np.float32)
    u, v = np.meshgrid(np.arange(segments + 1) / segments, 1 - np.arange(rings + 1) / rings)
    uvs = np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float32)
    faces, uv_faces = _sphere_faces(rings, segments)
    return Mesh(vertices=vertices, faces=faces, uvs=uvs, uv_faces=uv_faces)


def _sphere_faces(rings: int, segments: int) -> tuple[np.ndarray, np.ndarray]:
    """Counter-clockwise (seen from outside) geometry and UV triangles of the UV sphere."""
    last = 1 + (rings - 1) * segments

    def vertex(i: int, j: int) -> int:
        return 0 if i == 0 else last if i == rings else 1 + (i - 1) * segments + j % segments

    faces: list[list[int]] = []
    uv_faces: list[list[int]] = []
    for i in range(rings):
        for j in range(segments):
            quad = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
            triangles = [(0, 1, 2), (0, 2, 3)]
            if i == 0:
                triangles = [(0, 1, 2)]
            elif i == rings - 1:
                triangles = [(0, 2, 3)]
            for tri in triangles:
                faces.append([vertex(*quad[k]) for k in tri])
                uv_faces.append([quad[k][0] * (segments + 1) + quad[k][1] for k in tri])
    return np.array(faces, dtype=np.int32), np.array(uv_faces, dtype=np.int32)


def checker_texture(size: int = TEXTURE_SIZE) -> np.ndarray:
    """(size, size, 3) uint8: an 8x8 checkerboard tinted by a red/green gradient."""
    y, x = np.mgrid[0:size, 0:size]
    checker = ((x // (size // 8) + y // (size // 8)) % 2).astype(np.float64)
    rgb = np.stack([x / size, y / size, 0.3 + 0.5 * checker], axis=2)
    return (rgb * 255).astype(np.uint8)


@pytest.fixture
def textured_mesh() -> Mesh:
    """A UV sphere with a 64x64 PNG checker texture, metallic 0.25, roughness 0.6."""
    material = Material(base_color=checker_texture(), metallic=0.25, roughness=0.6)
    return uv_sphere().with_(material=material)


@pytest.fixture
def jpeg_textured_mesh(textured_mesh: Mesh) -> Mesh:
    """The textured sphere, with its texture encoded as JPEG."""
    material = Material(base_color=textured_mesh.material.base_color, image_format="jpeg")
    return textured_mesh.with_(material=material)


@pytest.fixture
def untextured_mesh() -> Mesh:
    """The sphere's geometry only: no UVs, texture or colours."""
    return uv_sphere().with_(uvs=None, uv_faces=None)


@pytest.fixture
def vertex_colored_mesh(untextured_mesh: Mesh) -> Mesh:
    """The untextured sphere with a colour per vertex derived from its position."""
    colors = ((untextured_mesh.vertices + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    return untextured_mesh.with_(vertex_colors=colors)
