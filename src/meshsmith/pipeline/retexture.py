"""Texture an existing mesh from 1-4 photos of the same object.

    load mesh -> frame the photos on it -> texture (UVs, projection, PBR maps) -> restore
    the mesh's own coordinates

The mesh is any triangle mesh (GLB, glTF, OBJ, PLY, STL: a user's, or an earlier task's
model) in glTF axes: +Y up, its front facing +Z, as every Meshsmith model is. Its geometry is
delivered unchanged (same vertices, same faces, same units); only UVs, the texture and the
material are new.

The photos are taken as orthographic views from the front, back, left and right (the
cameras a multi-view task assumes): each view's object is framed so that its height matches
the mesh's height and its centre the mesh's bounding-box centre. A photo that does not show
the same object from that side gives a misplaced texture; the mesh is not deformed to fit it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from meshsmith.camera import Camera
from meshsmith.engines.base import ViewImage, ViewInput
from meshsmith.errors import MeshInputError
from meshsmith.mesh import Mesh
from meshsmith.pipeline.normalize import center_and_scale
from meshsmith.spec import TextureOptions

#: Formats an input mesh may come in (read with trimesh).
MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")
MAX_INPUT_FACES = 2_000_000
#: The framed photos' edge in pixels (at most; smaller crops are not upsampled past this).
FRAME_SIZE = 2048
#: The mesh's height in framed-view units (one unit = half a framed image), and the most
#: of a framed image the object's width may take.
FRAMED_HEIGHT = 1.5
MAX_WIDTH_FILL = 0.95


def load_mesh(path: Path) -> Mesh:
    """The triangles of the mesh file at ``path`` (every face kept, coincident vertices
    merged, scene nodes flattened).

    Raises :class:`MeshInputError` (10033001) for a missing, unreadable, empty, non-finite or
    over-large mesh, or a format other than :data:`MESH_SUFFIXES`.
    """
    import trimesh

    if path.suffix.lower() not in MESH_SUFFIXES:
        raise MeshInputError(f"mesh format {path.suffix or '(none)'} is not supported; send "
                             f"one of {', '.join(MESH_SUFFIXES)}")
    if not path.is_file():
        raise MeshInputError(f"no such mesh file: {path}")
    with tempfile.TemporaryDirectory(prefix="meshsmith-mesh-") as scratch:
        readable = _readable(path, Path(scratch))
        try:
            loaded = trimesh.load(readable, force="mesh", process=False)
        except Exception as exc:  # trimesh raises many types for bad files
            raise MeshInputError(f"the mesh could not be read: {exc}") from exc
    vertices = np.asarray(getattr(loaded, "vertices", np.zeros((0, 3))), np.float32)
    faces = np.asarray(getattr(loaded, "faces", np.zeros((0, 3))), np.int64)
    return _checked(*_welded(vertices, faces))


def _welded(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices at exactly the same place merged (files split them at UV and normal seams);
    every face is kept, even one that quantization made degenerate."""
    if len(vertices) == 0:
        return vertices, faces.astype(np.int32)
    unique, inverse = np.unique(vertices, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)[faces].astype(np.int32)


def _readable(path: Path, scratch: Path) -> Path:
    """``path``, or an uncompressed copy in ``scratch`` when it is a meshopt or Draco GLB
    (which trimesh cannot decode)."""
    from meshsmith.errors import CompressionError
    from meshsmith.exporters.compress import decompress_glb, is_compressed_glb

    if path.suffix.lower() != ".glb" or not is_compressed_glb(path):
        return path
    plain = scratch / "decompressed.glb"
    try:
        decompress_glb(path, plain)
    except CompressionError as exc:
        raise MeshInputError(f"the compressed GLB could not be decoded: {exc.message}") from exc
    return plain


def _checked(vertices: np.ndarray, faces: np.ndarray) -> Mesh:
    if len(faces) == 0 or len(vertices) == 0:
        raise MeshInputError("the mesh has no triangles")
    if len(faces) > MAX_INPUT_FACES:
        raise MeshInputError(f"the mesh has {len(faces):,} faces; at most "
                             f"{MAX_INPUT_FACES:,} can be textured")
    if not np.isfinite(vertices).all():
        raise MeshInputError("the mesh has non-finite vertex coordinates")
    if float(np.ptp(vertices[:, 1])) <= 0:
        raise MeshInputError("the mesh is flat along +Y (no height to frame the photos on)")
    return Mesh(vertices=vertices, faces=faces)


def texture_existing(mesh: Mesh, views: Mapping[str, ViewInput],
                     options: TextureOptions) -> Mesh:
    """``mesh`` with new UVs and a texture projected from ``views`` (same geometry)."""
    from meshsmith.texturing import texture_mesh

    height = framed_height(mesh, views)
    framed = center_and_scale(mesh, height)
    textured = texture_mesh(framed, frame_views(framed, views), options)
    return textured.with_(vertices=mesh.vertices)


def framed_height(mesh: Mesh, views: Mapping[str, ViewInput]) -> float:
    """The mesh's height in framed units: :data:`FRAMED_HEIGHT`, or less where a view's
    object is so wide that it would not fit its square."""
    from meshsmith.inputs.framing import mask_bbox

    height = FRAMED_HEIGHT
    for view in views.values():
        x0, y0, x1, y1 = mask_bbox(view.mask)
        height = min(height, 2 * MAX_WIDTH_FILL * (y1 - y0) / max(x1 - x0, 1))
    return height


def frame_views(framed_mesh: Mesh, views: Mapping[str, ViewInput]) -> dict[str, ViewImage]:
    """Each photo cut to the square in which its object has the mesh's framed height and is
    centred where the mesh's bounding box is (the origin)."""
    from meshsmith.inputs.framing import frame_square, mask_bbox

    lo, hi = framed_mesh.bounds
    height = float(hi[1] - lo[1])
    images: dict[str, ViewImage] = {}
    for slot, view in views.items():
        x0, y0, x1, y1 = mask_bbox(view.mask)
        side = max(1, round(2 * (y1 - y0) / height))  # one framed unit = side / 2 pixels
        square = ((x0 + x1 - side) // 2, (y0 + y1 - side) // 2, side)
        size = min(side, FRAME_SIZE)
        crop = frame_square(view.rgb, view.mask, square, size)
        images[slot] = ViewImage(crop.rgb, crop.mask, Camera(slot, size, (size / 2, size / 2)))
    return images
