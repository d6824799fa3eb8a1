"""Orientation, real-world sizing, pivot and scale factor on real meshes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from meshsmith.errors import InvalidRequestError
from meshsmith.mesh import Mesh
from meshsmith.pipeline.placement import (
    face_front,
    pivot_to_center_bottom,
    place,
    scale,
    sizing_for,
    to_height,
)
from meshsmith.spec import CATEGORY_HEIGHTS_M, AssetOptions


def _box(size: tuple[float, float, float], yaw_degrees: float = 0.0) -> Mesh:
    box = trimesh.creation.box(size)
    box.apply_transform(trimesh.transformations.rotation_matrix(np.radians(yaw_degrees),
                                                                [0, 1, 0]))
    box.apply_translation([0.2, 0.1, -0.3])
    return Mesh(box.vertices.astype(np.float32), box.faces.astype(np.int32))


def _extent(mesh: Mesh) -> np.ndarray:
    lo, hi = mesh.bounds
    return hi - lo


@pytest.mark.parametrize("yaw", [20.0, -35.0, 40.0])
def test_default_orientation_squares_a_box_photographed_at_an_angle(yaw: float) -> None:
    turned = face_front(_box((1.0, 0.5, 0.3), yaw))
    np.testing.assert_allclose(_extent(turned), [1.0, 0.5, 0.3], atol=1e-4)


def test_default_orientation_keeps_the_side_nearest_the_camera_as_front() -> None:
    # turned 60 degrees, the long side is nearer to facing +X: 30 degrees back is the
    # smaller turn, so the long side ends up along Z
    np.testing.assert_allclose(_extent(face_front(_box((1.0, 0.5, 0.3), 60.0))),
                               [0.3, 0.5, 1.0], atol=1e-4)


def test_default_orientation_leaves_round_footprints_alone() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3)
    mesh = Mesh(sphere.vertices.astype(np.float32), sphere.faces.astype(np.int32))
    np.testing.assert_array_equal(face_front(mesh).vertices, mesh.vertices)


def test_align_image_keeps_the_model_as_the_camera_saw_it() -> None:
    mesh = _box((1.0, 0.5, 0.3), 30.0)
    placed, _ = place(mesh, AssetOptions(orientation="align_image"))
    np.testing.assert_array_equal(placed.vertices, mesh.vertices)
    turned, _ = place(mesh, AssetOptions(orientation="default"))
    assert not np.allclose(turned.vertices, mesh.vertices)


def test_auto_size_uses_the_height_hint_and_says_so() -> None:
    sized, sizing = place(_box((1.0, 0.5, 0.3)), AssetOptions(auto_size=True, real_height_m=1.8))
    assert sizing.height_m == 1.8 and sizing.source == "real_height_m"
    assert _extent(sized)[1] == pytest.approx(1.8, rel=1e-5)
    np.testing.assert_allclose(_extent(sized), np.array([2.0, 1.0, 0.6]) * 1.8, rtol=1e-5)


def test_auto_size_without_a_hint_uses_the_category_default() -> None:
    sized, sizing = place(_box((1.0, 0.5, 0.3)),
                          AssetOptions(auto_size=True, category="character"))
    assert sizing.source == "category:character"
    assert _extent(sized)[1] == pytest.approx(CATEGORY_HEIGHTS_M["character"], rel=1e-5)


def test_without_auto_size_the_model_is_not_sized() -> None:
    mesh = _box((1.0, 0.5, 0.3))
    placed, sizing = place(mesh, AssetOptions(orientation="align_image"))
    assert sizing.height_m is None and sizing.source == "none"
    np.testing.assert_array_equal(placed.vertices, mesh.vertices)
    assert sizing_for(AssetOptions(real_height_m=2.0)).height_m is None


def test_pivot_to_center_bottom_puts_the_origin_under_the_model() -> None:
    moved = pivot_to_center_bottom(_box((1.0, 0.5, 0.3)))
    lo, hi = moved.bounds
    assert lo[1] == pytest.approx(0.0, abs=1e-6)
    assert (lo[0] + hi[0]) / 2 == pytest.approx(0.0, abs=1e-6)
    assert (lo[2] + hi[2]) / 2 == pytest.approx(0.0, abs=1e-6)


def test_scale_factor_applies_after_sizing() -> None:
    options = AssetOptions(auto_size=True, real_height_m=2.0, scale_factor=100.0,
                           pivot_to_center_bottom=True)
    placed, _ = place(_box((1.0, 0.5, 0.3)), options)
    assert _extent(placed)[1] == pytest.approx(200.0, rel=1e-5)
    assert placed.bounds[0][1] == pytest.approx(0.0, abs=1e-3)


def test_to_height_and_scale_keep_faces_and_uvs() -> None:
    mesh = _box((1.0, 0.5, 0.3))
    mesh = mesh.with_(uvs=np.zeros((1, 2), np.float32),
                      uv_faces=np.zeros_like(mesh.faces))
    out = scale(to_height(mesh, 3.0), 0.5)
    assert out.faces is mesh.faces and out.uvs is mesh.uvs
    assert _extent(out)[1] == pytest.approx(1.5, rel=1e-5)


@pytest.mark.parametrize("changes", [
    {"orientation": "upside_down"}, {"real_height_m": 0.0}, {"category": "spaceship"},
    {"scale_factor": 0.0}, {"compress": "zip"},
])
def test_bad_asset_options_are_rejected_with_code_10020001(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError) as info:
        AssetOptions(**changes)  # type: ignore[arg-type]
    assert info.value.code == 10020001


def test_generated_model_reports_its_real_world_size(tmp_path: Path) -> None:
    from meshsmith.pipeline.generate import generate
    from meshsmith.spec import GeometryOptions, TaskSpec, TextureOptions

    photo = Path(__file__).parents[2] / "examples"
    front = sorted(photo.glob("*.png"))[0]
    spec = TaskSpec(views={"front": front}, geometry=GeometryOptions("512", 10_000),
                    texture=TextureOptions(enabled=False),
                    asset=AssetOptions(auto_size=True, real_height_m=0.42,
                                       pivot_to_center_bottom=True))
    result = generate(spec, tmp_path / "sized.glb")
    loaded = trimesh.load(tmp_path / "sized.glb", force="mesh")
    assert loaded.extents[1] == pytest.approx(0.42, rel=1e-4)
    assert loaded.bounds[0][1] == pytest.approx(0.0, abs=1e-4)
    assert result.stats.sizing.source == "real_height_m"
