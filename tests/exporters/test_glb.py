"""GLB: Khronos validator clean, and the contents read back with pygltflib."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
from pathlib import Path

import numpy as np
import pygltflib
import pytest
from PIL import Image

from meshsmith import __version__
from meshsmith.exporters import export
from meshsmith.mesh import Mesh

from .conftest import TEXTURE_SIZE, uv_sphere
from .gltf_validator import issue_summary, validate

COMPONENTS = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def read_accessor(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    """An accessor's data as an (N, C) or (N,) array, read through pygltflib's structures."""
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    dtype = np.dtype(COMPONENTS[accessor.componentType]).newbyteorder("<")
    start = view.byteOffset + (accessor.byteOffset or 0)
    width = WIDTHS[accessor.type]
    data = np.frombuffer(gltf.binary_blob(), dtype, accessor.count * width, start)
    return data.reshape(-1, width) if width > 1 else data


def export_glb(mesh: Mesh, tmp_path: Path) -> tuple[Path, pygltflib.GLTF2]:
    path = tmp_path / "model.glb"
    assert export(mesh, path) == [path]
    return path, pygltflib.GLTF2().load(str(path))


@pytest.mark.parametrize(
    "mesh_fixture",
    ["textured_mesh", "jpeg_textured_mesh", "untextured_mesh", "vertex_colored_mesh"],
)
def test_khronos_validator_reports_no_issues(
    mesh_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    path, _ = export_glb(request.getfixturevalue(mesh_fixture), tmp_path)
    report = validate(path)
    issues = report["issues"]
    assert issues["numErrors"] == 0, issue_summary(report)
    assert issues["numWarnings"] == 0, issue_summary(report)
    assert report["info"]["generator"] == f"meshsmith {__version__}"


@pytest.mark.parametrize("mesh_fixture", ["textured_mesh", "untextured_mesh"])
def test_gltf_with_its_bin_validates_and_matches_the_glb(
        mesh_fixture: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    mesh = request.getfixturevalue(mesh_fixture)
    path = tmp_path / "model.gltf"
    assert export(mesh, path) == [path, tmp_path / "model.bin"]
    report = validate(path)
    assert report["issues"]["numErrors"] == 0, issue_summary(report)
    assert report["issues"]["numWarnings"] == 0, issue_summary(report)
    gltf = pygltflib.GLTF2().load(str(path))
    assert gltf.buffers[0].uri == "model.bin"
    _, glb = export_glb(mesh, tmp_path)
    assert gltf.buffers[0].byteLength == glb.buffers[0].byteLength
    assert len(gltf.accessors) == len(glb.accessors)


def test_large_mesh_uses_32_bit_indices_and_validates(tmp_path: Path) -> None:
    mesh = uv_sphere(rings=200, segments=400)
    assert len(mesh.vertices) > 0xFFFF
    path, gltf = export_glb(mesh.with_(uvs=None, uv_faces=None), tmp_path)
    assert gltf.accessors[gltf.meshes[0].primitives[0].indices].componentType == 5125
    report = validate(path)
    assert report["issues"]["numErrors"] == 0, issue_summary(report)


def test_small_mesh_uses_16_bit_indices(textured_mesh: Mesh, tmp_path: Path) -> None:
    _, gltf = export_glb(textured_mesh, tmp_path)
    indices = gltf.meshes[0].primitives[0].indices
    assert gltf.accessors[indices].componentType == 5123
    _, _, faces, _ = textured_mesh.split_by_uv()
    np.testing.assert_array_equal(read_accessor(gltf, indices).reshape(-1, 3), faces)


def test_container_is_4_byte_aligned(textured_mesh: Mesh, tmp_path: Path) -> None:
    path, gltf = export_glb(textured_mesh, tmp_path)
    data = path.read_bytes()
    magic, version, total = struct.unpack_from("<III", data)
    json_length, json_type = struct.unpack_from("<II", data, 12)
    assert (magic, version, total, json_type) == (0x46546C67, 2, len(data), 0x4E4F534A)
    assert json_length % 4 == 0 and len(data) % 4 == 0
    assert all(view.byteOffset % 4 == 0 for view in gltf.bufferViews)
    json.loads(data[20 : 20 + json_length])


def test_positions_bounds_and_uv_flip(textured_mesh: Mesh, tmp_path: Path) -> None:
    _, gltf = export_glb(textured_mesh, tmp_path)
    attributes = gltf.meshes[0].primitives[0].attributes
    positions, uvs, _, _ = textured_mesh.split_by_uv()
    assert uvs is not None
    read = read_accessor(gltf, attributes.POSITION)
    np.testing.assert_array_equal(read, positions)
    assert gltf.accessors[attributes.POSITION].min == read.min(axis=0).tolist()
    assert gltf.accessors[attributes.POSITION].max == read.max(axis=0).tolist()
    np.testing.assert_allclose(read_accessor(gltf, attributes.TEXCOORD_0)[:, 0], uvs[:, 0])
    np.testing.assert_allclose(read_accessor(gltf, attributes.TEXCOORD_0)[:, 1], 1 - uvs[:, 1])


def test_normals_are_smooth_across_uv_seams(textured_mesh: Mesh, tmp_path: Path) -> None:
    _, gltf = export_glb(textured_mesh, tmp_path)
    normals = read_accessor(gltf, gltf.meshes[0].primitives[0].attributes.NORMAL)
    positions, _, _, source = textured_mesh.split_by_uv()
    assert len(source) > len(np.unique(source)), "the fixture should have UV seams"
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    for original in np.unique(source):
        copies = normals[source == original]
        np.testing.assert_array_equal(copies, np.broadcast_to(copies[0], copies.shape))
    # A unit sphere's smooth normal points (nearly) along the position.
    assert np.einsum("ij,ij->i", normals, positions).min() > 0.99


def test_textured_material_and_embedded_image(textured_mesh: Mesh, tmp_path: Path) -> None:
    _, gltf = export_glb(textured_mesh, tmp_path)
    pbr = gltf.materials[0].pbrMetallicRoughness
    assert (pbr.metallicFactor, pbr.roughnessFactor) == (0.25, 0.6)
    assert pbr.baseColorTexture.index == 0
    sampler = gltf.samplers[gltf.textures[0].sampler]
    assert (sampler.magFilter, sampler.minFilter) == (9729, 9987)
    image = gltf.images[gltf.textures[0].source]
    assert image.mimeType == "image/png"
    decoded = Image.open(io.BytesIO(_view_bytes(gltf, image.bufferView)))
    assert decoded.format == "PNG" and decoded.size == (TEXTURE_SIZE, TEXTURE_SIZE)
    assert textured_mesh.material.base_color is not None
    np.testing.assert_array_equal(np.asarray(decoded), textured_mesh.material.base_color)


def test_unlit_material_declares_khr_materials_unlit_and_validates(
        textured_mesh: Mesh, tmp_path: Path) -> None:
    mesh = textured_mesh.with_(material=dataclasses.replace(textured_mesh.material, unlit=True))
    path, gltf = export_glb(mesh, tmp_path)
    assert gltf.extensionsUsed == ["KHR_materials_unlit"]
    assert gltf.materials[0].extensions == {"KHR_materials_unlit": {}}
    assert gltf.materials[0].pbrMetallicRoughness.baseColorTexture.index == 0
    report = validate(path)
    assert report["issues"]["numErrors"] == 0, issue_summary(report)
    (tmp_path / "lit").mkdir()
    _, lit = export_glb(textured_mesh, tmp_path / "lit")
    assert not lit.extensionsUsed and not lit.materials[0].extensions


def test_jpeg_texture(jpeg_textured_mesh: Mesh, tmp_path: Path) -> None:
    _, gltf = export_glb(jpeg_textured_mesh, tmp_path)
    image = gltf.images[0]
    assert image.mimeType == "image/jpeg"
    decoded = Image.open(io.BytesIO(_view_bytes(gltf, image.bufferView)))
    assert decoded.format == "JPEG" and decoded.size == (TEXTURE_SIZE, TEXTURE_SIZE)


def test_untextured_mesh_has_base_color_factor_only(untextured_mesh: Mesh, tmp_path: Path) -> None:
    _, gltf = export_glb(untextured_mesh, tmp_path)
    primitive = gltf.meshes[0].primitives[0]
    assert primitive.attributes.TEXCOORD_0 is None and primitive.attributes.COLOR_0 is None
    assert not gltf.images and not gltf.textures and not gltf.samplers
    pbr = gltf.materials[0].pbrMetallicRoughness
    assert pbr.baseColorTexture is None and len(pbr.baseColorFactor) == 4


def test_vertex_colors_are_linear_color_0(vertex_colored_mesh: Mesh, tmp_path: Path) -> None:
    _, gltf = export_glb(vertex_colored_mesh, tmp_path)
    colors = read_accessor(gltf, gltf.meshes[0].primitives[0].attributes.COLOR_0)
    assert vertex_colored_mesh.vertex_colors is not None
    srgb = vertex_colored_mesh.vertex_colors / 255.0
    expected = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(colors, expected, atol=1e-6)
    assert gltf.materials[0].pbrMetallicRoughness.baseColorFactor == [1.0, 1.0, 1.0, 1.0]


def _view_bytes(gltf: pygltflib.GLTF2, index: int) -> bytes:
    view = gltf.bufferViews[index]
    return gltf.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]
