"""Texturing an existing mesh: the geometry is kept, the photo lands where it belongs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from meshsmith.errors import InvalidRequestError, MeshInputError
from meshsmith.pipeline.generate import RETEXTURE_STAGES, generate
from meshsmith.pipeline.retexture import load_mesh
from meshsmith.spec import GeometryOptions, TaskSpec, TextureOptions

RED, BLUE = (220, 30, 30), (30, 60, 220)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A front photo (RGBA) of a 2:3 block: red upper half, blue lower half."""
    rgba = np.zeros((600, 500, 4), np.uint8)
    rgba[100:300, 150:350, :3] = RED
    rgba[300:400, 150:350, :3] = BLUE
    rgba[400:500, 150:350, :3] = BLUE
    rgba[100:500, 150:350, 3] = 255
    path = tmp_path_factory.mktemp("photo") / "front.png"
    Image.fromarray(rgba).save(path)
    return path


def _block(tmp: Path, scale: float, offset: tuple[float, float, float]) -> Path:
    """The block as a GLB in other units and elsewhere: 2 wide, 4 tall, 1 deep, x scale."""
    box = trimesh.creation.box(extents=(2.0, 4.0, 1.0)).subdivide().subdivide()
    box.apply_scale(scale)
    box.apply_translation(offset)
    path = tmp / f"block_{scale:g}.glb"
    box.export(path)
    return path


@pytest.mark.parametrize(("scale", "offset"), [(1.0, (0, 0, 0)), (250.0, (40, 900, -3))])
def test_keeps_the_geometry_and_projects_the_photo_onto_its_front(
        photo: Path, tmp_path: Path, scale: float, offset: tuple[float, float, float]) -> None:
    source = _block(tmp_path, scale, offset)
    spec = TaskSpec(views={"front": photo}, source_mesh=source,
                    texture=TextureOptions(size=512, pbr=False))
    events: list[str] = []
    result = generate(spec, tmp_path / "out.glb", lambda stage, _: events.append(stage))
    assert list(dict.fromkeys(events)) == list(RETEXTURE_STAGES)
    before = load_mesh(source)
    out = trimesh.load(tmp_path / "out.glb", force="mesh")
    assert np.allclose(out.bounds, [before.vertices.min(0), before.vertices.max(0)], atol=1e-3)
    assert result.stats.faces == len(before.faces) and result.stats.textured
    colours = _front_colours(out)
    height = (np.asarray(out.vertices)[:, 1] - offset[1]) / scale
    top, bottom = _front_faces(out, height > 0.4), _front_faces(out, height < -0.4)
    assert np.abs(colours[top] - RED).max(axis=1).mean() < 40
    assert np.abs(colours[bottom] - BLUE).max(axis=1).mean() < 40


def _front_faces(mesh: trimesh.Trimesh, vertex_mask: np.ndarray) -> np.ndarray:
    facing = mesh.face_normals[:, 2] > 0.9
    return facing & vertex_mask[mesh.faces].all(axis=1)


def _front_colours(mesh: trimesh.Trimesh) -> np.ndarray:
    """(F, 3) texture colour at each face's UV centroid."""
    image = np.asarray(mesh.visual.material.baseColorTexture.convert("RGB"), dtype=float)
    uv = mesh.visual.uv[mesh.faces].mean(axis=1)
    cols = np.clip((uv[:, 0] * image.shape[1]).astype(int), 0, image.shape[1] - 1)
    rows = np.clip(((1 - uv[:, 1]) * image.shape[0]).astype(int), 0, image.shape[0] - 1)
    return image[rows, cols]


def test_refuses_a_mesh_format_it_cannot_read_with_code_10033001(tmp_path: Path) -> None:
    path = tmp_path / "model.fbx"
    path.write_bytes(b"Kaydara FBX Binary  \x00")
    with pytest.raises(MeshInputError) as caught:
        load_mesh(path)
    assert caught.value.code == 10033001 and ".fbx" in caught.value.message


def test_refuses_a_file_without_triangles_with_code_10033001(tmp_path: Path) -> None:
    path = tmp_path / "points.ply"
    trimesh.PointCloud(np.random.default_rng(0).random((50, 3))).export(path)
    with pytest.raises(MeshInputError, match="no triangles"):
        load_mesh(path)


def test_shape_options_do_not_apply_to_an_existing_mesh(photo: Path) -> None:
    with pytest.raises(InvalidRequestError, match="do not apply"):
        TaskSpec(views={"front": photo}, source_mesh=Path("m.glb"),
                 geometry=GeometryOptions(faces=20_000))
    with pytest.raises(InvalidRequestError, match="texture on"):
        TaskSpec(views={"front": photo}, source_mesh=Path("m.glb"),
                 texture=TextureOptions(enabled=False))


@pytest.mark.parametrize("method", ["meshopt", "draco"])
def test_reads_a_compressed_glb_as_the_same_mesh(tmp_path: Path, method: str) -> None:
    from meshsmith.exporters.compress import compress_glb

    plain = _block(tmp_path, 1.0, (0, 0, 0))
    packed = tmp_path / f"{method}.glb"
    compress_glb(plain, packed, method)  # type: ignore[arg-type]
    a, b = load_mesh(plain), load_mesh(packed)
    assert len(a.faces) == len(b.faces)
    assert np.allclose(a.vertices.min(0), b.vertices.min(0), atol=1e-3)
    assert np.allclose(a.vertices.max(0), b.vertices.max(0), atol=1e-3)


def test_a_texturing_spec_survives_its_stored_options(photo: Path) -> None:
    from meshsmith.spec import spec_from_options, spec_to_options

    spec = TaskSpec(views={"front": photo}, source_mesh=Path("m.glb"))
    again = spec_from_options({"front": photo}, spec_to_options(spec), source_mesh=Path("m.glb"))
    assert again.source_mesh == Path("m.glb") and again.texture == spec.texture
