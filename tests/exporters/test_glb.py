"""GLB: Khronos validator clean, and the contents read back with pygltflib (PBR maps, tangents
and parts included)."""

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
from meshsmith.exporters._geometry import vertex_normals
from meshsmith.exporters.glb import vertex_tangents
from meshsmith.mesh import Mesh
from meshsmith.texturing.pbr import pbr_maps

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


def _pbr_mesh(textured_mesh: Mesh, **material: object) -> Mesh:
    """The textured sphere with metallic-roughness and normal maps (estimated by pbr_maps)."""
    mesh = pbr_maps(textured_mesh)
    return mesh.with_(material=dataclasses.replace(mesh.material, **material))


def _image_array(gltf: pygltflib.GLTF2, texture: int) -> tuple[str, np.ndarray]:
    image = gltf.images[gltf.textures[texture].source]
    decoded = Image.open(io.BytesIO(_view_bytes(gltf, image.bufferView)))
    assert decoded.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[image.mimeType]
    return image.mimeType, np.asarray(decoded)


@pytest.mark.parametrize("suffix", [".glb", ".gltf"])
@pytest.mark.parametrize("image_format", ["png", "jpeg"])
def test_all_three_maps_validate_without_errors_or_warnings(
        textured_mesh: Mesh, tmp_path: Path, suffix: str, image_format: str) -> None:
    path = tmp_path / f"model{suffix}"
    export(_pbr_mesh(textured_mesh, image_format=image_format), path)
    report = validate(path)
    assert report["issues"]["numErrors"] == 0, issue_summary(report)
    assert report["issues"]["numWarnings"] == 0, issue_summary(report)
    assert report["info"]["materialCount"] == 1


def test_material_references_three_textures_sharing_one_sampler(
        textured_mesh: Mesh, tmp_path: Path) -> None:
    mesh = _pbr_mesh(textured_mesh, image_format="jpeg")
    _, gltf = export_glb(mesh, tmp_path)
    material = gltf.materials[0]
    pbr = material.pbrMetallicRoughness
    indices = [pbr.baseColorTexture.index, pbr.metallicRoughnessTexture.index,
               material.normalTexture.index]
    assert sorted(indices) == [0, 1, 2] and len(gltf.images) == 3
    assert (pbr.metallicFactor, pbr.roughnessFactor) == (1.0, 1.0)
    assert len(gltf.samplers) == 1 and {t.sampler for t in gltf.textures} == {0}
    mime, base = _image_array(gltf, indices[0])
    assert mime == "image/jpeg" and base.shape == (TEXTURE_SIZE, TEXTURE_SIZE, 3)
    for index, expected in zip(indices[1:], (mesh.material.metallic_roughness,
                                             mesh.material.normal_map), strict=True):
        mime, decoded = _image_array(gltf, index)
        assert mime == "image/png" and expected is not None
        np.testing.assert_array_equal(decoded, expected)


def test_normal_map_brings_unit_tangents_along_u(textured_mesh: Mesh, tmp_path: Path) -> None:
    _, gltf = export_glb(_pbr_mesh(textured_mesh), tmp_path)
    attributes = gltf.meshes[0].primitives[0].attributes
    accessor = gltf.accessors[attributes.TANGENT]
    assert (accessor.type, accessor.componentType) == ("VEC4", 5126)
    tangents = read_accessor(gltf, attributes.TANGENT)
    normals = read_accessor(gltf, attributes.NORMAL)
    positions = read_accessor(gltf, attributes.POSITION)
    np.testing.assert_allclose(np.linalg.norm(tangents[:, :3], axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.einsum("ij,ij->i", tangents[:, :3], normals), 0.0, atol=1e-6)
    # On the UV sphere u grows with the angle phi around +Y (x = sin phi, z = cos phi), so the
    # tangent is (cos phi, 0, -sin phi) and +v (the bitangent) points to the north pole: w = +1.
    ring = np.abs(positions[:, 1]) < 0.9
    phi = np.arctan2(positions[ring, 0], positions[ring, 2])
    expected = np.column_stack([np.cos(phi), np.zeros_like(phi), -np.sin(phi)])
    assert np.einsum("ij,ij->i", tangents[ring, :3], expected).min() > 0.98
    assert (tangents[:, 3] == 1.0).all()


def test_mirrored_uvs_flip_the_tangent_handedness() -> None:
    mesh = uv_sphere()
    assert mesh.uvs is not None
    positions, uvs, faces, source = mesh.with_(uvs=mesh.uvs * [-1.0, 1.0]).split_by_uv()
    assert uvs is not None
    normals = vertex_normals(mesh.vertices, mesh.faces)[source]
    tangents = vertex_tangents(positions, normals, uvs, faces)
    assert (tangents[:, 3] == -1.0).all()


def test_vertices_without_a_uv_gradient_get_a_perpendicular_unit_tangent() -> None:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    normals = np.tile(np.array([[0, 0, 1]], dtype=np.float32), (3, 1))
    faces = np.array([[0, 1, 2]], dtype=np.int32)
    flat = vertex_tangents(positions, normals, np.zeros((3, 2), np.float32), faces)
    np.testing.assert_allclose(np.linalg.norm(flat[:, :3], axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(flat[:, 2], 0.0, atol=1e-6)
    uvs = np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)
    np.testing.assert_allclose(vertex_tangents(positions, normals, uvs, faces),
                               [[1, 0, 0, 1]] * 3, atol=1e-6)


def test_unlit_material_writes_no_pbr_maps_or_tangents(
        textured_mesh: Mesh, tmp_path: Path) -> None:
    path, gltf = export_glb(_pbr_mesh(textured_mesh, unlit=True), tmp_path)
    material = gltf.materials[0]
    assert material.normalTexture is None
    assert material.pbrMetallicRoughness.metallicRoughnessTexture is None
    assert len(gltf.images) == 1 and gltf.meshes[0].primitives[0].attributes.TANGENT is None
    report = validate(path)
    assert report["issues"]["numErrors"] == 0, issue_summary(report)
    assert report["issues"]["numWarnings"] == 0, issue_summary(report)


def _two_part_sphere(mesh: Mesh) -> Mesh:
    """The sphere split into a northern and a southern part by face centroid height."""
    north = mesh.vertices[mesh.faces].mean(axis=1)[:, 1] > 0
    return mesh.with_(part_ids=np.where(north, 0, 1).astype(np.int32),
                      part_names=("north cap", "south"))


def test_parts_become_named_nodes_and_meshes_sharing_the_material(
        textured_mesh: Mesh, tmp_path: Path) -> None:
    mesh = _two_part_sphere(_pbr_mesh(textured_mesh))
    path, gltf = export_glb(mesh, tmp_path)
    report = validate(path)
    assert report["issues"]["numErrors"] == 0, issue_summary(report)
    assert report["issues"]["numWarnings"] == 0, issue_summary(report)
    assert [n.name for n in gltf.nodes] == ["north cap", "south"]
    assert [m.name for m in gltf.meshes] == ["north cap", "south"]
    assert gltf.scenes[0].nodes == [0, 1] and [n.mesh for n in gltf.nodes] == [0, 1]
    assert len(gltf.materials) == 1
    for index, gltf_mesh in enumerate(gltf.meshes):
        primitive = gltf_mesh.primitives[0]
        assert primitive.material == 0 and primitive.attributes.TANGENT is not None
        triangles = read_accessor(gltf, primitive.indices).reshape(-1, 3)
        positions = read_accessor(gltf, primitive.attributes.POSITION)
        part = mesh.part(index)
        assert len(triangles) == len(part.faces)
        np.testing.assert_allclose(np.sort(positions[triangles].reshape(-1, 9), axis=0),
                                   np.sort(part.vertices[part.faces].reshape(-1, 9), axis=0))


def test_parts_share_normals_along_their_border(textured_mesh: Mesh, tmp_path: Path) -> None:
    mesh = _two_part_sphere(textured_mesh)
    _, gltf = export_glb(mesh, tmp_path)
    whole = vertex_normals(mesh.vertices, mesh.faces)
    for gltf_mesh in gltf.meshes:
        attributes = gltf_mesh.primitives[0].attributes
        positions = read_accessor(gltf, attributes.POSITION)
        normals = read_accessor(gltf, attributes.NORMAL)
        # Every sphere vertex has a distinct position: find each one's original vertex.
        original = np.argmin(
            np.linalg.norm(positions[:, None, :] - mesh.vertices[None, :, :], axis=2), axis=1)
        np.testing.assert_array_equal(positions, mesh.vertices[original])
        np.testing.assert_allclose(normals, whole[original], atol=1e-6)
