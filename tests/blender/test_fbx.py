"""write_fbx: files re-read by Blender's FBX importer (a separate process) and by fbx2json."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.exporters.conftest import TEXTURE_SIZE, checker_texture, uv_sphere

from meshsmith.blender import write_fbx
from meshsmith.blender.fbx import to_blender_axes
from meshsmith.errors import ExportError, MissingDependencyError
from meshsmith.mesh import Material, Mesh

from .conftest import cube, fbx_nodes, fbx_property, raw_fbx, read_fbx

NORMAL_SIZE, MR_SIZE = 32, 16


def _pixels(image: dict[str, Any]) -> np.ndarray:
    """(H, W, 3) uint8 top row first, from the reader's bottom-up RGBA floats in 0..255."""
    width, height = image["size"]
    rgba = np.array(image["pixels"], dtype=np.int64).reshape(height, width, 4)
    return rgba[::-1, :, :3]


def _normal_map() -> np.ndarray:
    y, x = np.mgrid[0:NORMAL_SIZE, 0:NORMAL_SIZE]
    return np.stack([x * 4, y * 4, np.full_like(x, 255)], axis=2).astype(np.uint8)


def _metallic_roughness() -> np.ndarray:
    y, x = np.mgrid[0:MR_SIZE, 0:MR_SIZE]
    return np.stack([np.full_like(x, 255), x * 16, y * 16], axis=2).astype(np.uint8)


@pytest.fixture(scope="module")
def pbr_sphere() -> Mesh:
    """The UV sphere with base colour, normal and metallic-roughness maps."""
    material = Material(base_color=checker_texture(), normal_map=_normal_map(),
                        metallic_roughness=_metallic_roughness(), metallic=1.0, roughness=0.5)
    return uv_sphere().with_(material=material)


@pytest.fixture(scope="module")
def pbr_sphere_read(blender: Path, pbr_sphere: Mesh, tmp_path_factory: pytest.TempPathFactory
                    ) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("fbx") / "sphere.fbx"
    assert write_fbx(pbr_sphere, path) == [path]
    return read_fbx(blender, path)


def _images_by_socket(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (material,) = report["materials"]
    by_name = {image["name"]: image for image in report["images"]}
    return {socket: by_name[name] for socket, name in material["images"].items()}


def test_cube_of_six_quads_stays_six_quads(blender: Path, tmp_path: Path) -> None:
    path = tmp_path / "cube.fbx"
    write_fbx(cube(), path)
    (obj,) = read_fbx(blender, path)["objects"]
    assert obj["polygon_sizes"] == [4] * 6
    assert obj["vertex_count"] == 8
    (indices,) = fbx_nodes(raw_fbx(blender, path), "PolygonVertexIndex")
    assert sum(1 for i in indices[1][0] if i < 0) == 6  # FBX ends each polygon with ~index


def test_quads_and_lone_triangles_mix(blender: Path, tmp_path: Path) -> None:
    box = cube()
    ids = box.polygon_ids.copy()
    ids[:2] = [100, 101]  # the first quad's two triangles become separate triangles
    path = tmp_path / "mixed.fbx"
    write_fbx(box.with_(polygon_ids=ids), path)
    (obj,) = read_fbx(blender, path)["objects"]
    assert Counter(obj["polygon_sizes"]) == {4: 5, 3: 2}


def test_bounds_match_after_axis_conversion(blender: Path, tmp_path: Path) -> None:
    box = cube(offset=(0.5, -1.0, 2.0), size=(1.0, 2.0, 3.0))  # +Y up, front +Z, metres
    path = tmp_path / "box.fbx"
    write_fbx(box, path)
    (obj,) = read_fbx(blender, path)["objects"]
    # Ours: x in [0.5, 1.5], y (up) in [-1, 1], z (front) in [2, 5]. Blender: +Z up, front -Y.
    np.testing.assert_allclose(obj["bounds"], [[0.5, -5.0, -1.0], [1.5, -2.0, 1.0]], atol=1e-5)


def test_file_is_y_up_metres_with_our_coordinates(blender: Path, tmp_path: Path) -> None:
    box = cube(offset=(0.5, -1.0, 2.0), size=(1.0, 2.0, 3.0))
    path = tmp_path / "box.fbx"
    write_fbx(box, path)
    tree = raw_fbx(blender, path)
    assert fbx_property(tree, "UpAxis") == 1 and fbx_property(tree, "UpAxisSign") == 1
    assert fbx_property(tree, "FrontAxis") == 2 and fbx_property(tree, "FrontAxisSign") == 1
    assert fbx_property(tree, "UnitScaleFactor") == 100.0  # 1 unit = 100 cm
    (vertices,) = fbx_nodes(tree, "Vertices")
    written = np.array(vertices[1][0]).reshape(-1, 3)
    np.testing.assert_allclose(np.unique(written, axis=0), np.unique(box.vertices, axis=0),
                               atol=1e-6)
    for model in fbx_nodes(tree, "Model"):  # identity transforms: nothing for readers to undo
        for node in fbx_nodes(model[3], "P"):
            if node[1][0] in ("Lcl Rotation", "Lcl Translation"):
                assert node[1][4:7] == [0.0, 0.0, 0.0]
            if node[1][0] == "Lcl Scaling":
                assert node[1][4:7] == [1.0, 1.0, 1.0]


def test_textured_sphere_keeps_per_corner_uvs(pbr_sphere: Mesh,
                                              pbr_sphere_read: dict[str, Any]) -> None:
    (obj,) = pbr_sphere_read["objects"]
    assert obj["uv_layers"] == ["UVMap"]
    assert len(obj["corner_uvs"]) == 3 * len(pbr_sphere.faces)
    ours = np.hstack([to_blender_axes(pbr_sphere.vertices)[pbr_sphere.faces.ravel()],
                      pbr_sphere.uvs[pbr_sphere.uv_faces.ravel()]])
    read = np.hstack([obj["corners"], obj["corner_uvs"]])
    gaps = np.abs(read[:, None, :] - ours[None, :, :]).max(axis=2)  # corner x corner
    assert gaps.min(axis=1).max() < 1e-5  # every corner read is one of ours...
    assert gaps.min(axis=0).max() < 1e-5  # ...and every one of ours was read


def test_base_color_texture_is_embedded_at_full_size(pbr_sphere_read: dict[str, Any]) -> None:
    image = _images_by_socket(pbr_sphere_read)["Base Color"]
    assert image["packed"] and image["packed_bytes"] > 0
    assert image["size"] == [TEXTURE_SIZE, TEXTURE_SIZE]
    assert image["file_format"] == "PNG" and image["colorspace"] == "sRGB"
    np.testing.assert_array_equal(_pixels(image), checker_texture())


def test_normal_map_goes_through_a_normal_map_node(pbr_sphere_read: dict[str, Any]) -> None:
    (material,) = pbr_sphere_read["materials"]
    assert ["TEX_IMAGE", "Color", "NORMAL_MAP", "Color"] in material["links"]
    assert ["NORMAL_MAP", "Normal", "BSDF_PRINCIPLED", "Normal"] in material["links"]
    image = _images_by_socket(pbr_sphere_read)["Color"]  # the Normal Map node's input
    assert image["packed"] and image["size"] == [NORMAL_SIZE, NORMAL_SIZE]
    assert image["colorspace"] == "Non-Color"
    np.testing.assert_array_equal(_pixels(image), _normal_map())


def test_metallic_and_roughness_maps_are_split_from_the_packing(
    pbr_sphere_read: dict[str, Any],
) -> None:
    images = _images_by_socket(pbr_sphere_read)
    packed = _metallic_roughness().astype(np.float64)
    metallic, roughness = _pixels(images["Metallic"]), _pixels(images["Roughness"])
    np.testing.assert_array_equal(metallic[..., 0], packed[..., 2])  # metallic factor 1.0
    np.testing.assert_array_equal(roughness[..., 0], np.rint(packed[..., 1] * 0.5))
    assert images["Metallic"]["packed"] and images["Roughness"]["packed"]


def test_jpeg_texture_stays_jpeg(blender: Path, tmp_path: Path) -> None:
    material = Material(base_color=checker_texture(), image_format="jpeg")
    path = tmp_path / "jpeg.fbx"
    write_fbx(uv_sphere().with_(material=material), path)
    image = _images_by_socket(read_fbx(blender, path))["Base Color"]
    assert image["file_format"] == "JPEG" and image["packed"]
    assert image["size"] == [TEXTURE_SIZE, TEXTURE_SIZE]


def test_constant_metallic_and_roughness_round_trip(blender: Path, tmp_path: Path) -> None:
    path = tmp_path / "plain.fbx"
    write_fbx(cube().with_(material=Material(metallic=0.25, roughness=0.6)), path)
    report = read_fbx(blender, path)
    (material,) = report["materials"]
    assert material["constants"]["Metallic"] == pytest.approx(0.25, abs=1e-4)
    assert material["constants"]["Roughness"] == pytest.approx(0.6, abs=1e-3)
    assert report["images"] == []


def test_parts_become_separate_named_objects(blender: Path, tmp_path: Path) -> None:
    first, second = cube(), cube(offset=(3.0, 0.0, 0.0))
    mesh = Mesh(
        vertices=np.vstack([first.vertices, second.vertices]),
        faces=np.vstack([first.faces, second.faces + 8]),
        polygon_ids=np.concatenate([first.polygon_ids, second.polygon_ids + 6]),
        part_ids=np.repeat([0, 1], 12).astype(np.int32),
        part_names=("body", "wheel"),
    )
    path = tmp_path / "parts.fbx"
    write_fbx(mesh, path)
    objects = {obj["name"]: obj for obj in read_fbx(blender, path)["objects"]}
    assert set(objects) == {"body", "wheel"}
    assert objects["body"]["polygon_sizes"] == objects["wheel"]["polygon_sizes"] == [4] * 6
    assert objects["wheel"]["bounds"][0][0] == pytest.approx(3.0)
    assert objects["body"]["bounds"][1][0] == pytest.approx(1.0)


def test_vertex_colors_of_untextured_mesh(blender: Path, tmp_path: Path) -> None:
    box = cube()
    colors = (np.arange(24).reshape(8, 3) * 10).astype(np.uint8)
    path = tmp_path / "colors.fbx"
    write_fbx(box.with_(vertex_colors=colors), path)
    (obj,) = read_fbx(blender, path)["objects"]
    assert obj["color_attributes"]
    by_position = {tuple(np.round(p, 4)): c for p, c in
                   zip(to_blender_axes(box.vertices), colors, strict=True)}
    for corner, color in zip(obj["corners"], obj["corner_colors"], strict=True):
        expected = by_position[tuple(np.round(corner, 4))]
        np.testing.assert_allclose(np.array(color) * 255, expected, atol=1.0)


def test_blender_failure_becomes_export_error(blender: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="Blender fbx job failed"):
        write_fbx(cube(), tmp_path / "missing-dir" / "cube.fbx")


def test_missing_blender_env_says_how_to_install(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHSMITH_BLENDER_PYTHON", str(tmp_path / "no-python"))
    with pytest.raises(MissingDependencyError, match="make blender"):
        write_fbx(cube(), tmp_path / "cube.fbx")


def test_quads_keep_their_corner_uvs(blender: Path, tmp_path: Path) -> None:
    box = cube()
    polygons = box.polygons()  # each quad gets its own UV square in a 6 x 1 atlas
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    atlas = np.array([6, 1], np.float32)
    uvs = np.vstack([(square + np.array([i, 0])) / atlas for i in range(6)]).astype(np.float32)
    corner_of = {(q, v): 4 * q + k for q, quad in enumerate(polygons) for k, v in enumerate(quad)}
    uv_faces = np.array([[corner_of[(i // 2, v)] for v in tri] for i, tri in enumerate(box.faces)])
    mesh = box.with_(uvs=uvs, uv_faces=uv_faces.astype(np.int32),
                     material=Material(base_color=checker_texture()))
    path = tmp_path / "uv-cube.fbx"
    write_fbx(mesh, path)
    (obj,) = read_fbx(blender, path)["objects"]
    assert obj["polygon_sizes"] == [4] * 6
    positions = to_blender_axes(box.vertices)
    expected = sorted(
        sorted(tuple(np.round(np.hstack([positions[v], uvs[4 * q + k]]).astype(float), 4) + 0.0)
               for k, v in enumerate(quad))
        for q, quad in enumerate(polygons)
    )
    corners = np.round(np.hstack([obj["corners"], obj["corner_uvs"]]), 4) + 0.0
    read = sorted(sorted(tuple(c) for c in corners[4 * p : 4 * p + 4]) for p in range(6))
    assert read == expected
