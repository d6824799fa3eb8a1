"""Compressed GLB: meshopt (gltfpack) and Draco (glTF Transform) outputs are smaller, clean
under the Khronos validator, declare their extension, keep the texture bytes and node names,
and decode through independent readers to the same triangles, positions and UVs within the
quantization step: DracoPy and trimesh for Draco, glTF Transform's decoders for meshopt.

The tools come from ``make tools``; without them (or without Node.js) these tests FAIL with
the install command, as the validator tests do.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial import cKDTree

from meshsmith.errors import CompressionError
from meshsmith.exporters._image import encode_texture
from meshsmith.exporters.compress import (
    CompressionReport,
    Method,
    compress_glb,
    tool_path,
)
from meshsmith.exporters.glb import write_glb, write_gltf
from meshsmith.mesh import Material, Mesh

from .conftest import checker_texture, uv_sphere
from .gltf_validator import issue_summary, validate
from .readers import decode_with_gltf_transform

METHODS: tuple[Method, ...] = ("meshopt", "draco")
EXTENSIONS = {"meshopt": "EXT_meshopt_compression", "draco": "KHR_draco_mesh_compression"}
#: Half a 14-bit step over the sphere's 2 m box is 6.1e-5 m; half a 12-bit UV step is 1.2e-4.
POSITION_TOLERANCE = 2e-4
UV_TOLERANCE = 5e-4
PART_NAMES = ("head", "body", "legs")


def read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    """The JSON chunk (parsed) and the BIN chunk of a GLB, read by hand."""
    data = path.read_bytes()
    magic, _, total = struct.unpack_from("<III", data)
    assert magic == 0x46546C67 and total == len(data)
    json_length, _ = struct.unpack_from("<II", data, 12)
    gltf = json.loads(data[20 : 20 + json_length])
    bin_start = 20 + json_length + 8
    return gltf, data[bin_start:]


def view_bytes(gltf: dict[str, Any], binary: bytes, index: int) -> bytes:
    view = gltf["bufferViews"][index]
    assert view["buffer"] == 0 and "extensions" not in view
    start = view.get("byteOffset", 0)
    return binary[start : start + view["byteLength"]]


def canonical_triangles(triangles: np.ndarray) -> np.ndarray:
    """Triangles rotated to start at their smallest index (winding kept), rows sorted."""
    triangles = np.asarray(triangles, dtype=np.int64)
    shift = triangles.argmin(axis=1)
    rows = np.arange(len(triangles))[:, None]
    rotated = triangles[rows, (shift[:, None] + np.arange(3)) % 3]
    return rotated[np.lexsort(rotated.T[::-1])]


def assert_same_surface(
    mesh: Mesh, positions: np.ndarray, gltf_uvs: np.ndarray, triangles: np.ndarray
) -> None:
    """Every decoded vertex lies within the quantization step of one written vertex (position
    and UV, glTF's flipped v undone) and the triangles name the same vertices, same winding."""
    expected_positions, expected_uvs, expected_faces, _ = mesh.split_by_uv()
    assert expected_uvs is not None
    uvs = np.column_stack([gltf_uvs[:, 0], 1.0 - gltf_uvs[:, 1]])
    tree = cKDTree(np.hstack([expected_positions, expected_uvs]))
    _, nearest = tree.query(np.hstack([positions, uvs]))
    assert np.abs(positions - expected_positions[nearest]).max() < POSITION_TOLERANCE
    assert np.abs(uvs - expected_uvs[nearest]).max() < UV_TOLERANCE
    assert len(triangles) == len(expected_faces)
    np.testing.assert_array_equal(
        canonical_triangles(nearest[np.asarray(triangles)]), canonical_triangles(expected_faces)
    )


@pytest.fixture(scope="module")
def sphere() -> Mesh:
    """A textured UV sphere of 19,800 triangles (100 rings x 100 segments)."""
    material = Material(base_color=checker_texture(), metallic=0.25, roughness=0.6)
    return uv_sphere(rings=100, segments=100).with_(material=material)


@pytest.fixture(scope="module")
def source_glb(sphere: Mesh, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("source") / "sphere.glb"
    write_glb(sphere, path)
    return path


Compressed = tuple[Method, Path, CompressionReport]


@pytest.fixture(scope="module", params=METHODS)
def compressed(
    request: pytest.FixtureRequest, source_glb: Path, tmp_path_factory: pytest.TempPathFactory
) -> Compressed:
    """(method, compressed sphere GLB, its report), once per method."""
    target = tmp_path_factory.mktemp(request.param) / "sphere.glb"
    return request.param, target, compress_glb(source_glb, target, request.param)


@pytest.fixture(scope="module")
def parts_glb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three named nodes (head, body, legs), each an icosphere of 1280 triangles, 3 m apart,
    written by trimesh (the GLB writer has one node)."""
    import trimesh

    scene = trimesh.Scene()
    for index, name in enumerate(PART_NAMES):
        part = trimesh.creation.icosphere(subdivisions=3)
        part.apply_translation([3.0 * index, 0.0, 0.0])
        scene.add_geometry(part, node_name=name, geom_name=f"{name}_mesh")
    path = tmp_path_factory.mktemp("parts") / "parts.glb"
    scene.export(path)
    return path


def test_compressed_glb_is_smaller_and_reports_both_sizes(
    compressed: Compressed, source_glb: Path
) -> None:
    method, path, report = compressed
    assert report.method == method
    assert report.original_bytes == source_glb.stat().st_size
    assert report.compressed_bytes == path.stat().st_size
    assert report.ratio == report.original_bytes / report.compressed_bytes
    assert report.ratio > 3.0, report
    assert report.seconds > 0.0


def test_compressed_glb_passes_the_khronos_validator(compressed: Compressed) -> None:
    report = validate(compressed[1])
    assert report["issues"]["numErrors"] == 0, issue_summary(report)


def test_compressed_glb_requires_its_extension(compressed: Compressed) -> None:
    method, path, _ = compressed
    gltf, _ = read_glb(path)
    assert EXTENSIONS[method] in gltf["extensionsUsed"]
    assert EXTENSIONS[method] in gltf["extensionsRequired"]


def test_meshopt_output_quantizes_positions_but_keeps_float_uvs(
    source_glb: Path, tmp_path: Path
) -> None:
    target = tmp_path / "meshopt.glb"
    compress_glb(source_glb, target, "meshopt")
    gltf, _ = read_glb(target)
    assert "KHR_mesh_quantization" in gltf["extensionsRequired"]
    assert "KHR_texture_transform" not in gltf["extensionsUsed"]
    attributes = gltf["meshes"][0]["primitives"][0]["attributes"]
    assert gltf["accessors"][attributes["POSITION"]]["componentType"] == 5123  # uint16
    assert gltf["accessors"][attributes["TEXCOORD_0"]]["componentType"] == 5126  # float


def test_compressed_glb_keeps_the_texture_image_byte_for_byte(
    compressed: Compressed, sphere: Mesh
) -> None:
    gltf, binary = read_glb(compressed[1])
    (image,) = gltf["images"]
    assert image["mimeType"] == "image/png"
    assert view_bytes(gltf, binary, image["bufferView"]) == encode_texture(sphere.material)


def test_meshopt_output_decodes_to_the_same_surface(
    source_glb: Path, sphere: Mesh, tmp_path: Path
) -> None:
    target = tmp_path / "meshopt.glb"
    compress_glb(source_glb, target, "meshopt")
    decoded = decode_with_gltf_transform(target)
    assert "EXT_meshopt_compression" in decoded["extensionsUsed"]
    (primitive,) = decoded["primitives"]
    assert primitive["node"] == "meshsmith"
    assert primitive["texture"]["mimeType"] == "image/png"
    assert primitive["texture"]["bytes"] == len(encode_texture(sphere.material))
    assert_same_surface(
        sphere,
        np.array(primitive["positions"]),
        np.array(primitive["texcoords"]),
        np.array(primitive["triangles"]),
    )


def test_draco_output_decodes_with_dracopy_to_the_same_surface(
    source_glb: Path, sphere: Mesh, tmp_path: Path
) -> None:
    import DracoPy

    target = tmp_path / "draco.glb"
    compress_glb(source_glb, target, "draco")
    gltf, binary = read_glb(target)
    assert gltf["nodes"] == [{"name": "meshsmith", "mesh": 0}]  # no transform to undo
    (primitive,) = gltf["meshes"][0]["primitives"]
    draco = primitive["extensions"]["KHR_draco_mesh_compression"]
    decoded = DracoPy.decode(view_bytes(gltf, binary, draco["bufferView"]))
    attribute = decoded.get_attribute_by_unique_id
    assert_same_surface(
        sphere,
        np.asarray(attribute(draco["attributes"]["POSITION"])["data"]),
        np.asarray(attribute(draco["attributes"]["TEXCOORD_0"])["data"]),
        np.asarray(decoded.faces),
    )


def test_trimesh_loads_the_draco_output_with_its_texture(
    source_glb: Path, sphere: Mesh, tmp_path: Path
) -> None:
    import trimesh

    target = tmp_path / "draco.glb"
    compress_glb(source_glb, target, "draco")
    loaded = trimesh.load(target, force="mesh", process=False)
    assert len(loaded.faces) == len(sphere.faces)
    image = loaded.visual.material.baseColorTexture
    assert image.size == (64, 64)


@pytest.mark.parametrize("method", METHODS)
def test_named_part_nodes_survive_compression(
    method: Method, parts_glb: Path, tmp_path: Path
) -> None:
    target = tmp_path / "parts.glb"
    compress_glb(parts_glb, target, method)
    primitives = decode_with_gltf_transform(target)["primitives"]
    assert sorted(p["node"] for p in primitives) == sorted(PART_NAMES)
    for primitive in primitives:
        index = PART_NAMES.index(primitive["node"])
        centre = np.array(primitive["positions"]).mean(axis=0)
        np.testing.assert_allclose(centre, [3.0 * index, 0.0, 0.0], atol=1e-3)
        assert len(primitive["triangles"]) == 1280


def test_compressing_in_place_replaces_the_file(source_glb: Path, tmp_path: Path) -> None:
    path = tmp_path / "model.glb"
    shutil.copyfile(source_glb, path)
    report = compress_glb(path, path, "draco")
    assert path.stat().st_size == report.compressed_bytes < report.original_bytes
    assert "KHR_draco_mesh_compression" in read_glb(path)[0]["extensionsRequired"]
    assert [p.name for p in tmp_path.iterdir()] == ["model.glb"]


@pytest.mark.parametrize("method", METHODS)
def test_corrupt_glb_raises_compression_error_with_the_tools_message(
    method: Method, source_glb: Path, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.glb"
    corrupt.write_bytes(source_glb.read_bytes()[:1000])  # valid header, truncated chunks
    target = tmp_path / "out.glb"
    with pytest.raises(CompressionError, match=r"failed \(exit \d+\): \S") as caught:
        compress_glb(corrupt, target, method)
    assert caught.value.code == 10061001
    assert [p.name for p in tmp_path.iterdir()] == ["corrupt.glb"]  # no partial output


@pytest.mark.parametrize("method", METHODS)
def test_missing_tool_raises_with_the_install_command(
    method: Method, source_glb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHSMITH_TOOLS_DIR", str(tmp_path / "empty"))
    with pytest.raises(CompressionError, match="is not installed") as caught:
        compress_glb(source_glb, tmp_path / "out.glb", method)
    tool = {"meshopt": "gltfpack", "draco": "gltf-transform"}[method]
    assert f"npm ci --prefix {tmp_path / 'empty' / tool}" in caught.value.message
    assert not (tmp_path / "out.glb").exists()


def test_missing_tool_hint_names_make_tools_for_the_repository_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MESHSMITH_TOOLS_DIR", raising=False)
    with pytest.raises(CompressionError, match=r"`make tools` \(or `npm ci --prefix tools/nope`\)"):
        tool_path("nope")


def test_missing_node_raises_compression_error(
    source_glb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no node on it
    with pytest.raises(CompressionError, match=r"Node\.js .* is needed to run gltfpack"):
        compress_glb(source_glb, tmp_path / "out.glb", "meshopt")


def test_gltf_input_and_non_glb_output_are_refused(
    sphere: Mesh, source_glb: Path, tmp_path: Path
) -> None:
    gltf_path = tmp_path / "sphere.gltf"
    write_gltf(sphere, gltf_path)
    with pytest.raises(CompressionError, match="is not a GLB file"):
        compress_glb(gltf_path, tmp_path / "out.glb", "draco")
    with pytest.raises(CompressionError, match=r"must be a \.glb file"):
        compress_glb(source_glb, tmp_path / "out.gltf", "meshopt")


def test_missing_input_and_unknown_method_raise_compression_error(
    source_glb: Path, tmp_path: Path
) -> None:
    with pytest.raises(CompressionError, match="cannot read the GLB"):
        compress_glb(tmp_path / "absent.glb", tmp_path / "out.glb", "draco")
    with pytest.raises(CompressionError, match="unknown compression method 'zstd'"):
        compress_glb(source_glb, tmp_path / "out.glb", "zstd")  # type: ignore[arg-type]
