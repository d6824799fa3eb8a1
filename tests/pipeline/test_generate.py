"""The orchestrator: stage order, progress reporting and geometry-only output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from meshsmith.pipeline.generate import STAGES, generate
from meshsmith.spec import AssetOptions, GeometryOptions, TaskSpec, TextureOptions


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JPEG of a shaded orange ellipse on a white backdrop."""
    yy, xx = np.mgrid[:320, :320] + 0.5
    r = np.hypot((xx - 160) / 110, (yy - 160) / 80)
    shade = np.clip(1.1 - 0.5 * r, 0, 1)[..., None]
    rgb = np.where((r < 1)[..., None], shade * np.array([240, 140, 40]), 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("in") / "blob.jpg"
    Image.fromarray(rgb).save(path, quality=92)
    return path


def test_reports_every_stage_in_order_with_rising_progress(photo: Path, tmp_path: Path) -> None:
    events: list[tuple[str, float]] = []
    spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 100_000),
                    texture=TextureOptions(size=512))
    result = generate(spec, tmp_path / "out.glb", lambda s, p: events.append((s, p)))
    stages = list(dict.fromkeys(s for s, _ in events))
    assert stages == list(STAGES)
    percents = [p for _, p in events]
    assert percents == sorted(percents) and percents[0] == 0.0 and percents[-1] == 100.0
    assert set(result.timings) == set(STAGES)
    assert result.stats.faces == 100_000 and result.stats.watertight and result.stats.textured


def test_geometry_only_output_without_export_uv_has_no_texture_and_no_uvs(
    photo: Path, tmp_path: Path
) -> None:
    spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 100_000),
                    texture=TextureOptions(enabled=False), output_format="obj",
                    asset=AssetOptions(export_uv=False))
    result = generate(spec, tmp_path / "out.obj")
    assert [p.suffix for p in result.files] == [".obj", ".mtl"]  # no texture image
    assert "\nvt " not in (tmp_path / "out.obj").read_text()
    assert "map_Kd" not in (tmp_path / "out.mtl").read_text()
    assert not result.stats.textured
    assert not result.stats.has_uvs
    mesh = trimesh.load(tmp_path / "out.obj", force="mesh", process=False)
    assert len(mesh.faces) == 100_000


def test_geometry_only_output_with_export_uv_has_uvs_but_no_texture(
    photo: Path, tmp_path: Path
) -> None:
    spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 20_000),
                    texture=TextureOptions(enabled=False), output_format="obj")
    result = generate(spec, tmp_path / "out.obj")
    assert [p.suffix for p in result.files] == [".obj", ".mtl"]
    text = (tmp_path / "out.obj").read_text()
    uvs = np.array([line.split()[1:3] for line in text.splitlines() if line.startswith("vt ")],
                   dtype=float)
    assert len(uvs) >= 20_000 // 2 and uvs.min() >= 0.0 and uvs.max() <= 1.0
    assert result.stats.has_uvs and not result.stats.textured


def test_textured_output_has_uvs_with_or_without_export_uv(photo: Path, tmp_path: Path) -> None:
    for export_uv in (True, False):
        spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 20_000),
                        texture=TextureOptions(size=512), asset=AssetOptions(export_uv=export_uv))
        result = generate(spec, tmp_path / f"uv_{export_uv}.glb")
        assert result.stats.textured and result.stats.has_uvs
        loaded = trimesh.load(tmp_path / f"uv_{export_uv}.glb", force="mesh")
        assert loaded.visual.uv is not None


def test_autofix_option_changes_the_prepared_photo(photo: Path) -> None:
    from meshsmith.pipeline.generate import preprocess
    from meshsmith.spec import InputOptions

    plain = preprocess(TaskSpec(views={"front": photo}))
    fixed = preprocess(TaskSpec(views={"front": photo}, inputs=InputOptions(autofix=True)))
    assert plain["front"].rgb.shape == fixed["front"].rgb.shape
    assert np.abs(plain["front"].rgb.astype(int) - fixed["front"].rgb.astype(int)).mean() > 1.0


def test_same_input_and_options_give_byte_identical_models(photo: Path, tmp_path: Path) -> None:
    spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 100_000),
                    texture=TextureOptions(size=512))
    first = generate(spec, tmp_path / "a.glb").files[0].read_bytes()
    second = generate(spec, tmp_path / "b.glb").files[0].read_bytes()
    assert first == second


def test_reaches_a_low_poly_target_of_2000_faces_and_stays_watertight(photo: Path,
                                                                      tmp_path: Path) -> None:
    spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 2_000),
                    texture=TextureOptions(size=512))
    result = generate(spec, tmp_path / "out.glb")
    assert result.stats.faces == 2_000 and result.stats.watertight
    mesh = trimesh.load(tmp_path / "out.glb", force="mesh", process=False)
    assert len(mesh.faces) == 2_000


def test_pbr_false_writes_an_unlit_material(photo: Path, tmp_path: Path) -> None:
    import pygltflib

    spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 100_000),
                    texture=TextureOptions(size=512, pbr=False))
    generate(spec, tmp_path / "out.glb")
    gltf = pygltflib.GLTF2().load(str(tmp_path / "out.glb"))
    assert gltf.materials[0].extensions == {"KHR_materials_unlit": {}}


def _asymmetry(path: Path) -> float:
    """Mean distance from the left-right mirrored vertices to the nearest vertex."""
    from scipy.spatial import cKDTree

    vertices = np.asarray(trimesh.load(path, force="mesh", process=False).vertices)
    mirrored = vertices * np.array([-1.0, 1.0, 1.0])
    return float(cKDTree(vertices).query(mirrored)[0].mean())


def test_portrait_preset_makes_a_lopsided_subject_left_right_symmetric(tmp_path: Path) -> None:
    from meshsmith.spec import InputOptions

    yy, xx = np.mgrid[:320, :320] + 0.5
    head = np.hypot((xx - 160) / 60, (yy - 120) / 75) < 1
    arm = (xx > 200) & (xx < 290) & (yy > 170) & (yy < 200)
    rgb = np.where((head | arm)[..., None], np.array([200, 150, 120]), 255).astype(np.uint8)
    photo = tmp_path / "lopsided.png"
    Image.fromarray(rgb).save(photo)
    scores = {}
    for preset in ("object", "portrait"):
        spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 20_000),
                        texture=TextureOptions(enabled=False),
                        inputs=InputOptions(preset=preset))  # type: ignore[arg-type]
        generate(spec, tmp_path / f"{preset}.glb")
        scores[preset] = _asymmetry(tmp_path / f"{preset}.glb")
    assert scores["portrait"] < 0.25 * scores["object"], scores


def test_pbr_output_has_maps_and_a_lit_cover_image(photo: Path, tmp_path: Path) -> None:
    import json

    from PIL import Image

    spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 20_000),
                    texture=TextureOptions(size=512), cover=True, texture_maps=True)
    result = generate(spec, tmp_path / "m.glb")
    assert result.cover == tmp_path / "m_cover.png" and result.cover in result.files
    cover = np.asarray(Image.open(result.cover))
    assert cover.shape == (512, 512, 4)
    assert cover[0, 0, 3] == 0 and 0.05 < (cover[..., 3] > 0).mean() < 0.9
    assert set(result.textures) == {"base_color", "metallic_roughness", "normal"}
    data = (tmp_path / "m.glb").read_bytes()
    length = int.from_bytes(data[12:16], "little")
    material = json.loads(data[20:20 + length])["materials"][0]
    assert "metallicRoughnessTexture" in material["pbrMetallicRoughness"]
    assert "normalTexture" in material


def test_compressed_glb_is_smaller_and_reports_it(photo: Path, tmp_path: Path) -> None:
    spec = TaskSpec(views={"front": photo}, geometry=GeometryOptions("512", 20_000),
                    texture=TextureOptions(enabled=False), asset=AssetOptions(compress="draco"))
    result = generate(spec, tmp_path / "m.glb")
    report = result.compression["glb"]
    assert report.compressed_bytes == (tmp_path / "m.glb").stat().st_size
    assert report.compressed_bytes < report.original_bytes / 2
    assert b"KHR_draco_mesh_compression" in (tmp_path / "m.glb").read_bytes()[:4096]
    assert len(trimesh.load(tmp_path / "m.glb", force="mesh").faces) == 20_000


def test_smart_low_poly_writes_a_valid_glb_with_the_exact_count_and_a_baked_normal_map(
        tmp_path: Path) -> None:
    from tests.exporters.gltf_validator import issue_summary, validate

    duck = Path(__file__).resolve().parents[2] / "examples" / "duck.png"
    spec = TaskSpec(views={"front": duck},
                    geometry=GeometryOptions("512", 1_000, smart_low_poly=True),
                    texture=TextureOptions(size=512))
    result = generate(spec, tmp_path / "low.glb")
    assert result.stats.faces == 1_000 and result.stats.watertight
    report = validate(tmp_path / "low.glb")
    assert report["issues"]["numErrors"] == 0, issue_summary(report)
    gltf = report["info"]
    assert gltf["totalTriangleCount"] == 1_000
    loaded = trimesh.load(tmp_path / "low.glb", force="mesh")
    assert len(loaded.faces) == 1_000
    material = loaded.visual.material
    assert material.normalTexture is not None and material.baseColorTexture is not None
    normals = np.asarray(material.normalTexture.convert("RGB"), dtype=float)
    assert normals[..., 2].mean() > 200 and normals[..., :2].std() > 2  # baked, not flat


def test_smart_low_poly_refuses_a_face_count_outside_its_range_with_code_10021002() -> None:
    from meshsmith.errors import InvalidFaceCountError

    with pytest.raises(InvalidFaceCountError) as caught:
        GeometryOptions("512", 30_000, smart_low_poly=True)
    assert caught.value.code == 10021002
    assert GeometryOptions("512", smart_low_poly=True).face_target == 5_000
    assert GeometryOptions("512", quad=True, smart_low_poly=True).face_target == 10_000


def test_parts_write_one_named_node_per_part_that_together_close_the_surface(
        tmp_path: Path) -> None:
    mug = Path(__file__).resolve().parents[2] / "examples" / "mug.jpg"
    spec = TaskSpec(views={"front": mug}, geometry=GeometryOptions("512", 20_000, parts=True),
                    texture=TextureOptions(enabled=False))
    result = generate(spec, tmp_path / "mug.glb")
    assert len(result.stats.parts) >= 2 and result.stats.parts[0] == "part_01"
    assert result.stats.watertight and result.stats.faces == 20_000
    scene = trimesh.load(tmp_path / "mug.glb", force="scene")
    assert sorted(scene.graph.nodes_geometry) == sorted(result.stats.parts)
    assert sum(len(g.faces) for g in scene.geometry.values()) == 20_000
