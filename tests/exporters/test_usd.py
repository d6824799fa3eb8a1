"""USD writers: crate/text layers with sidecar textures, USDZ packages that pass usd-core's
validators. Every file is re-opened with usd-core's stage API (``usd_reader``)."""

from __future__ import annotations

import io
import itertools
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from PIL import Image

from meshsmith.errors import MissingDependencyError
from meshsmith.exporters.usd import (
    prim_names,
    write_usd,
    write_usda,
    write_usdz,
)
from meshsmith.mesh import Material, Mesh

from .conftest import TEXTURE_SIZE, checker_texture
from .usd_reader import (
    bound_surface,
    color_shader,
    image_size,
    read_usd_summary,
    texture_bytes,
)

Writer = Callable[[Mesh, Path], list[Path]]
WRITERS: dict[str, Writer] = {".usd": write_usd, ".usda": write_usda, ".usdz": write_usdz}
FIXTURES = ["textured_mesh", "untextured_mesh", "vertex_colored_mesh"]

# A unit cube: corners 0-3 at z = -0.5, 4-7 at z = +0.5; quads counter-clockwise from outside.
CUBE_VERTICES = np.array(
    [[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
     [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], dtype=np.float32
) * 0.5
CUBE_QUADS = [[4, 5, 6, 7], [1, 0, 3, 2], [5, 1, 2, 6], [0, 4, 7, 3], [7, 6, 2, 3], [0, 1, 5, 4]]


def cube(with_uvs: bool = True) -> Mesh:
    """6 quads as 12 triangles with ``polygon_ids``; odd faces use the other diagonal. Each
    quad has its own four UVs, so a corner paired with the wrong UV is detectable."""
    faces, uv_faces = [], []
    for k, quad in enumerate(CUBE_QUADS):
        split = [(0, 1, 2), (0, 2, 3)] if k % 2 == 0 else [(1, 2, 3), (1, 3, 0)]
        faces += [[quad[i] for i in tri] for tri in split]
        uv_faces += [[4 * k + i for i in tri] for tri in split]
    corner = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32) * 0.12
    uvs = np.vstack([corner + np.float32([0.15 * k, 0.05]) for k in range(6)]).astype(np.float32)
    mesh = Mesh(
        vertices=CUBE_VERTICES,
        faces=np.array(faces, dtype=np.int32),
        polygon_ids=np.repeat(np.arange(6, dtype=np.int32), 2),
    )
    if not with_uvs:
        return mesh
    material = Material(base_color=checker_texture())
    return mesh.with_(uvs=uvs, uv_faces=np.array(uv_faces, dtype=np.int32), material=material)


def quad_sphere(sphere: Mesh, segments: int = 24) -> Mesh:
    """The fixture sphere with its body rows paired into quads: triangle fans at the poles,
    quads between (the fixture emits each body quad as two consecutive triangles)."""
    count = len(sphere.faces)
    ids = np.arange(count)
    body = np.arange(segments, count - segments)
    ids[body] = segments + (body - segments) // 2
    ids[count - segments:] = ids[count - segments - 1] + 1 + np.arange(segments)
    return sphere.with_(polygon_ids=ids.astype(np.int32))


def two_parts(mesh: Mesh) -> Mesh:
    """``mesh`` split by the sign of each face's centroid x into two named parts, plus a third
    name that no face uses."""
    part_ids = (mesh.vertices[mesh.faces].mean(axis=1)[:, 0] > 0).astype(np.int32)
    return mesh.with_(part_ids=part_ids, part_names=("left arm", "2nd", "unused"))


def pbr_mesh(textured: Mesh, image_format: Literal["png", "jpeg"] = "png") -> Mesh:
    """The textured sphere with 32x16 metallic-roughness and 16x8 normal maps."""
    mr = np.zeros((16, 32, 3), np.uint8)
    mr[..., 1], mr[..., 2] = 180, 60
    normal = np.full((8, 16, 3), (128, 128, 255), np.uint8)
    material = Material(
        base_color=checker_texture(), metallic=0.5, roughness=0.9,
        metallic_roughness=mr, normal_map=normal, image_format=image_format,
    )
    return textured.with_(material=material)


#: Stages opened by the current test. A prim does not keep its stage alive, so the helpers
#: that return prims park the stage here until the test ends.
_OPEN_STAGES: list[Any] = []


@pytest.fixture(autouse=True)
def _close_stages() -> Iterator[None]:
    yield
    _OPEN_STAGES.clear()


def open_stage(path: Path) -> Any:
    from pxr import Usd

    stage = Usd.Stage.Open(str(path))
    assert stage is not None
    _OPEN_STAGES.append(stage)
    return stage


def meshes(stage: Any) -> list[Any]:
    from pxr import UsdGeom

    return [UsdGeom.Mesh(prim) for prim in stage.Traverse() if prim.IsA(UsdGeom.Mesh)]


def only_mesh(path: Path) -> Any:
    found = meshes(open_stage(path))
    assert len(found) == 1
    return found[0]


def source_of(shader: Any, name: str) -> tuple[Any, str]:
    """The shader and output name connected to input ``name`` of ``shader``."""
    from pxr import UsdShade

    put = shader.GetInput(name)
    assert put and put.HasConnectedSource(), f"{name} is not connected"
    info = put.GetConnectedSources()[0][0]
    return UsdShade.Shader(info.source.GetPrim()), info.sourceName


def corners(mesh: Any) -> list[list[int]]:
    """The polygons of a ``UsdGeom.Mesh`` as lists of point indices."""
    counts = list(mesh.GetFaceVertexCountsAttr().Get())
    flat = list(mesh.GetFaceVertexIndicesAttr().Get())
    starts = np.cumsum([0, *counts])
    return [flat[a:b] for a, b in itertools.pairwise(starts)]


def corner_uvs(mesh: Any) -> np.ndarray:
    """(C, 2) float64: the ``st`` value at every face-vertex, expanded from its indices."""
    from pxr import UsdGeom

    primvar = UsdGeom.PrimvarsAPI(mesh.GetPrim()).GetPrimvar("st")
    assert primvar.GetInterpolation() == UsdGeom.Tokens.faceVarying
    assert primvar.IsIndexed()
    return np.asarray(primvar.ComputeFlattened(), dtype=np.float64)


def validation_issues(path: Path) -> list[str]:
    """Every error and warning from all of usd-core's registered validators."""
    from pxr import UsdValidation

    registry = UsdValidation.ValidationRegistry()
    context = UsdValidation.ValidationContext(metadata=registry.GetAllValidatorMetadata())
    issues = context.Validate(open_stage(path))
    serious = (UsdValidation.ValidationErrorType.Error, UsdValidation.ValidationErrorType.Warn)
    return [f"{e.GetName()}: {e.GetMessage()}" for e in issues if e.GetType() in serious]


# --- files and containers ------------------------------------------------------------------


def test_usda_is_text_and_usd_is_crate(textured_mesh: Mesh, tmp_path: Path) -> None:
    write_usda(textured_mesh, tmp_path / "a.usda")
    write_usd(textured_mesh, tmp_path / "b.usd")
    assert (tmp_path / "a.usda").read_text(encoding="utf-8").startswith("#usda 1.0")
    assert (tmp_path / "b.usd").read_bytes()[:8] == b"PXR-USDC"


def test_layers_return_their_textures_beside_them(textured_mesh: Mesh, tmp_path: Path) -> None:
    for suffix, writer in ((".usd", write_usd), (".usda", write_usda)):
        path = tmp_path / f"chair{suffix}"
        assert writer(textured_mesh, path) == [path, tmp_path / "chair_basecolor.png"]
        with Image.open(tmp_path / "chair_basecolor.png") as image:
            assert image.size == (TEXTURE_SIZE, TEXTURE_SIZE)
            assert image.format == "PNG"
        resolved = only_texture_path(path)
        assert Path(resolved) == tmp_path / "chair_basecolor.png"


def only_texture_path(path: Path) -> str:
    shader = color_shader(only_mesh(path).GetPrim())
    return str(shader.GetInput("file").Get().resolvedPath)


def test_usdz_holds_its_textures(textured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "chair.usdz"
    assert write_usdz(pbr_mesh(textured_mesh, "jpeg"), path) == [path]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chair.usdz"]
    with zipfile.ZipFile(path) as package:
        infos = package.infolist()
        names = [info.filename for info in infos]
        assert names[0].endswith(".usdc")
        assert package.read(names[0])[:8] == b"PXR-USDC"
        assert {n.rsplit(".", 1)[1] for n in names[1:]} == {"jpg", "png"}
        assert len(names) == 4
        assert all(info.compress_type == zipfile.ZIP_STORED for info in infos)
        with path.open("rb") as raw:  # usdz requires 64-byte aligned file data
            for info in infos:
                raw.seek(info.header_offset + 26)
                name_len, extra_len = np.frombuffer(raw.read(4), "<u2")
                assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0
    resolved = only_texture_path(path)
    assert resolved.startswith(str(path)) and "[" in resolved  # inside the package
    data = texture_bytes(color_shader(only_mesh(path).GetPrim()))
    assert Image.open(io.BytesIO(data)).format == "JPEG"


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_stage_metadata_and_default_prim(
    suffix: str, untextured_mesh: Mesh, tmp_path: Path
) -> None:
    from pxr import UsdGeom

    path = tmp_path / f"model{suffix}"
    WRITERS[suffix](untextured_mesh, path)
    stage = open_stage(path)
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    root = stage.GetDefaultPrim()
    assert root and root.IsA(UsdGeom.Xform)
    assert [m.GetPrim().GetParent() for m in meshes(stage)] == [root]
    assert meshes(stage)[0].GetPrim().GetName() == "model"


# --- geometry ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", list(WRITERS))
@pytest.mark.parametrize("mesh_fixture", FIXTURES)
def test_summary_matches_the_mesh(
    suffix: str, mesh_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    mesh: Mesh = request.getfixturevalue(mesh_fixture)
    path = tmp_path / f"model{suffix}"
    WRITERS[suffix](mesh, path)
    summary = read_usd_summary(path)
    assert summary["faces"] == summary["polygons"] == len(mesh.faces)
    np.testing.assert_allclose(summary["bounds"], mesh.bounds, atol=1e-6)
    assert summary["has_uvs"] == mesh.has_uvs
    expected_size = (TEXTURE_SIZE, TEXTURE_SIZE) if mesh.has_texture else None
    assert summary["texture_size"] == expected_size
    usd_mesh = only_mesh(path)
    assert len(usd_mesh.GetPointsAttr().Get()) == len(mesh.vertices)
    np.testing.assert_allclose(np.asarray(usd_mesh.GetExtentAttr().Get()), mesh.bounds)


def test_quads_stay_quads_with_outward_winding(tmp_path: Path) -> None:
    from pxr import UsdGeom

    path = tmp_path / "cube.usda"
    write_usda(cube(), path)
    summary = read_usd_summary(path)
    assert (summary["faces"], summary["polygons"]) == (12, 6)
    usd_mesh = only_mesh(path)
    assert usd_mesh.GetSubdivisionSchemeAttr().Get() == UsdGeom.Tokens.none
    assert usd_mesh.GetOrientationAttr().Get() == UsdGeom.Tokens.rightHanded
    points = np.asarray(usd_mesh.GetPointsAttr().Get(), dtype=np.float64)
    polygons = corners(usd_mesh)
    assert [len(p) for p in polygons] == [4] * 6
    for polygon, quad in zip(polygons, CUBE_QUADS, strict=True):
        assert _same_cycle(polygon, quad)
        ring = points[polygon]
        newell = np.cross(ring, np.roll(ring, -1, axis=0)).sum(axis=0)
        assert newell @ ring.mean(axis=0) > 0  # counter-clockwise seen from outside


def test_triangles_and_quads_mix(textured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "ball.usdz"
    write_usdz(quad_sphere(textured_mesh), path)
    sizes = [len(p) for p in corners(only_mesh(path))]
    assert sizes == [3] * 24 + [4] * 240 + [3] * 24
    summary = read_usd_summary(path)
    assert (summary["faces"], summary["polygons"]) == (len(textured_mesh.faces), 288)


def _same_cycle(a: list[int], b: list[int]) -> bool:
    return any(a == b[k:] + b[:k] for k in range(len(b)))


def test_normals_are_unit_and_point_outward(untextured_mesh: Mesh, tmp_path: Path) -> None:
    from pxr import UsdGeom

    path = tmp_path / "ball.usd"
    write_usd(untextured_mesh, path)
    usd_mesh = only_mesh(path)
    assert usd_mesh.GetNormalsInterpolation() == UsdGeom.Tokens.vertex
    normals = np.asarray(usd_mesh.GetNormalsAttr().Get(), dtype=np.float64)
    points = np.asarray(usd_mesh.GetPointsAttr().Get(), dtype=np.float64)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert (np.einsum("ij,ij->i", normals, points) > 0.9).all()  # a unit sphere


@pytest.mark.parametrize("build", ["cube", "sphere", "quad_sphere"])
def test_uvs_follow_the_polygon_corners(
    build: str, textured_mesh: Mesh, tmp_path: Path
) -> None:
    builds = {"cube": cube(), "sphere": textured_mesh, "quad_sphere": quad_sphere(textured_mesh)}
    mesh = builds[build]
    assert mesh.uvs is not None and mesh.uv_faces is not None
    allowed = {
        (int(v), tuple(np.round(mesh.uvs[t].astype(np.float64), 6).tolist()))
        for v, t in zip(mesh.faces.ravel(), mesh.uv_faces.ravel(), strict=True)
    }
    path = tmp_path / "model.usd"
    write_usd(mesh, path)
    usd_mesh = only_mesh(path)
    flat = [v for polygon in corners(usd_mesh) for v in polygon]
    uvs = corner_uvs(usd_mesh)
    assert len(uvs) == len(flat)
    written = {(v, tuple(np.round(uv, 6).tolist())) for v, uv in zip(flat, uvs, strict=True)}
    assert written == allowed


def test_untextured_mesh_has_no_uvs_and_no_texture(untextured_mesh: Mesh, tmp_path: Path) -> None:
    from pxr import UsdGeom

    path = tmp_path / "ball.usda"
    assert write_usda(untextured_mesh, path) == [path]
    prim = only_mesh(path).GetPrim()
    assert not UsdGeom.PrimvarsAPI(prim).HasPrimvar("st")
    surface = bound_surface(prim)
    assert surface.GetIdAttr().Get() == "UsdPreviewSurface"
    assert tuple(surface.GetInput("diffuseColor").Get()) == pytest.approx((0.8, 0.8, 0.8))
    assert surface.GetInput("metallic").Get() == 0.0
    assert surface.GetInput("roughness").Get() == pytest.approx(0.8)


# --- material ------------------------------------------------------------------------------


def test_base_color_texture_is_wired_through_st(textured_mesh: Mesh, tmp_path: Path) -> None:
    from pxr import Sdf

    path = tmp_path / "ball.usda"
    write_usda(textured_mesh, path)
    surface = bound_surface(only_mesh(path).GetPrim())
    texture, output = source_of(surface, "diffuseColor")
    assert (texture.GetIdAttr().Get(), output) == ("UsdUVTexture", "rgb")
    assert texture.GetInput("sourceColorSpace").Get() == "sRGB"
    reader, _ = source_of(texture, "st")
    assert reader.GetIdAttr().Get() == "UsdPrimvarReader_float2"
    varname = reader.GetInput("varname")
    assert varname.GetTypeName() == Sdf.ValueTypeNames.String
    assert varname.Get() == "st"
    assert surface.GetInput("metallic").Get() == pytest.approx(0.25)
    assert surface.GetInput("roughness").Get() == pytest.approx(0.6)
    assert not surface.GetInput("normal")


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_pbr_maps_feed_metallic_roughness_and_normal(
    suffix: str, textured_mesh: Mesh, tmp_path: Path
) -> None:
    path = tmp_path / f"ball{suffix}"
    written = WRITERS[suffix](pbr_mesh(textured_mesh), path)
    if suffix != ".usdz":
        assert [p.name for p in written] == [
            path.name, "ball_basecolor.png", "ball_metallic_roughness.png", "ball_normal.png"
        ]
    surface = bound_surface(only_mesh(path).GetPrim())
    metal, metal_out = source_of(surface, "metallic")
    rough, rough_out = source_of(surface, "roughness")
    assert metal.GetPath() == rough.GetPath()
    assert (metal_out, rough_out) == ("b", "g")
    assert metal.GetInput("sourceColorSpace").Get() == "raw"
    assert tuple(metal.GetInput("scale").Get()) == pytest.approx((1.0, 0.9, 0.5, 1.0))
    assert image_size(texture_bytes(metal)) == (32, 16)
    normal, normal_out = source_of(surface, "normal")
    assert (normal.GetIdAttr().Get(), normal_out) == ("UsdUVTexture", "rgb")
    assert normal.GetInput("sourceColorSpace").Get() == "raw"
    assert tuple(normal.GetInput("scale").Get()) == (2.0, 2.0, 2.0, 1.0)
    assert tuple(normal.GetInput("bias").Get()) == (-1.0, -1.0, -1.0, 0.0)
    assert image_size(texture_bytes(normal)) == (16, 8)
    assert Image.open(io.BytesIO(texture_bytes(normal))).getpixel((3, 3)) == (128, 128, 255)


def test_vertex_colours_become_display_color(vertex_colored_mesh: Mesh, tmp_path: Path) -> None:
    from pxr import UsdGeom

    path = tmp_path / "ball.usd"
    write_usd(vertex_colored_mesh, path)
    usd_mesh = only_mesh(path)
    primvar = usd_mesh.GetDisplayColorPrimvar()
    assert primvar.GetInterpolation() == UsdGeom.Tokens.vertex
    assert vertex_colored_mesh.vertex_colors is not None
    srgb = vertex_colored_mesh.vertex_colors / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(np.asarray(primvar.Get()), linear, atol=1e-6)
    reader, output = source_of(bound_surface(usd_mesh.GetPrim()), "diffuseColor")
    assert (reader.GetIdAttr().Get(), output) == ("UsdPrimvarReader_float3", "result")
    assert reader.GetInput("varname").Get() == "displayColor"
    assert tuple(reader.GetInput("fallback").Get()) == pytest.approx(linear.mean(axis=0))


def test_unlit_colour_is_emitted_not_lit(textured_mesh: Mesh, tmp_path: Path) -> None:
    path = tmp_path / "ball.usda"
    unlit = Material(base_color=checker_texture(), unlit=True, normal_map=checker_texture())
    written = write_usda(textured_mesh.with_(material=unlit), path)
    assert [p.name for p in written] == ["ball.usda", "ball_basecolor.png"]
    surface = bound_surface(only_mesh(path).GetPrim())
    texture, _ = source_of(surface, "emissiveColor")
    assert texture.GetIdAttr().Get() == "UsdUVTexture"
    assert tuple(surface.GetInput("diffuseColor").Get()) == (0.0, 0.0, 0.0)
    assert surface.GetInput("ior").Get() == 1.0
    assert read_usd_summary(path)["texture_size"] == (TEXTURE_SIZE, TEXTURE_SIZE)


# --- parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_one_named_mesh_per_part(suffix: str, textured_mesh: Mesh, tmp_path: Path) -> None:
    mesh = two_parts(textured_mesh)
    path = tmp_path / f"ball{suffix}"
    WRITERS[suffix](mesh, path)
    found = {m.GetPrim().GetName(): m for m in meshes(open_stage(path))}
    assert sorted(found) == ["_2nd", "left_arm"]
    assert mesh.part_ids is not None
    for index, name in enumerate(["left_arm", "_2nd"]):
        assert len(corners(found[name])) == int((mesh.part_ids == index).sum())
        assert bound_surface(found[name].GetPrim()).GetIdAttr().Get() == "UsdPreviewSurface"
    summary = read_usd_summary(path)
    assert summary["faces"] == len(mesh.faces)
    np.testing.assert_allclose(summary["bounds"], mesh.bounds, atol=1e-6)


def test_prim_names_are_valid_and_unique() -> None:
    from pxr import Sdf

    names = prim_names(["arm", "arm", "left arm", "", "3d", "Materials", "ärm"])
    assert names == ["arm", "arm_2", "left_arm", "part", "_3d", "Materials_2", "_rm"]
    assert all(Sdf.Path.IsValidIdentifier(name) for name in names)


# --- validation ----------------------------------------------------------------------------


def _validation_cases(request: pytest.FixtureRequest) -> dict[str, Mesh]:
    textured: Mesh = request.getfixturevalue("textured_mesh")
    cases = {name: request.getfixturevalue(name) for name in FIXTURES}
    cases |= {"pbr": pbr_mesh(textured), "cube": cube(), "parts": two_parts(textured)}
    cases["quad_parts"] = two_parts(quad_sphere(textured))
    cases["unlit"] = textured.with_(material=Material(base_color=checker_texture(), unlit=True))
    cases["jpeg"] = request.getfixturevalue("jpeg_textured_mesh")
    return cases


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_every_validator_passes(
    suffix: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    for name, mesh in _validation_cases(request).items():
        path = tmp_path / f"{name}{suffix}"
        WRITERS[suffix](mesh, path)
        assert validation_issues(path) == [], name


def test_validators_do_report_a_broken_package(textured_mesh: Mesh, tmp_path: Path) -> None:
    """The harness above can fail: a package whose texture is missing is reported."""
    good = tmp_path / "good.usdz"
    write_usdz(textured_mesh, good)
    broken = tmp_path / "broken.usdz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist()[:1]:  # the root layer only
            target.writestr(info, source.read(info))
    issues = validation_issues(broken)
    assert any(issue.startswith("UnresolvableDependency") for issue in issues), issues
    assert all("basecolor" in issue for issue in issues), issues


@pytest.mark.parametrize("mesh_fixture", [*FIXTURES, "jpeg_textured_mesh"])
def test_usdz_keeps_to_arkit_rules(
    mesh_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The rules of usd-core's retired ARKit compliance checker: allowed prim types, shaders
    by ``Usd*`` id with single valid connections, a crate root layer, png/jpg assets only."""
    from pxr import UsdShade

    path = tmp_path / "model.usdz"
    write_usdz(request.getfixturevalue(mesh_fixture), path)
    stage = open_stage(path)
    allowed = {"Xform", "Scope", "Mesh", "Material", "Shader"}
    assert {prim.GetTypeName() for prim in stage.Traverse()} <= allowed
    for prim in stage.Traverse():
        if prim.IsA(UsdShade.Shader):
            shader = UsdShade.Shader(prim)
            assert shader.GetImplementationSource() == UsdShade.Tokens.id
            assert shader.GetIdAttr().Get().startswith("Usd")
            for put in shader.GetInputs():
                sources = put.GetConnectedSources()[0]
                assert len(sources) <= 1
                assert all(s.source.GetPrim().IsValid() for s in sources)
    assert stage.GetRootLayer().GetFileFormat().formatId == "usdz"
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
    assert names[0].endswith(".usdc")
    assert all(n.endswith((".png", ".jpg")) for n in names[1:])


def test_missing_usd_core_is_a_clear_error(
    untextured_mesh: Mesh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pxr", None)
    with pytest.raises(MissingDependencyError, match="usd-core"):
        write_usdz(untextured_mesh, tmp_path / "model.usdz")
    assert not (tmp_path / "model.usdz").exists()


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_missing_folder_or_folder_path_is_an_os_error(
    suffix: str, untextured_mesh: Mesh, tmp_path: Path
) -> None:
    """usd-core itself would create the folder, or leave a temporary file beside a folder."""
    with pytest.raises(FileNotFoundError):
        WRITERS[suffix](untextured_mesh, tmp_path / "missing" / f"model{suffix}")
    (tmp_path / f"model{suffix}").mkdir()
    with pytest.raises(IsADirectoryError):
        WRITERS[suffix](untextured_mesh, tmp_path / f"model{suffix}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"model{suffix}"]


def test_failed_package_is_an_os_error_and_leaves_nothing(
    textured_mesh: Mesh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import meshsmith.exporters.usd as usd

    monkeypatch.setattr(usd, "_write_images", lambda textures, folder: [folder / "gone.png"])
    with pytest.raises(OSError, match=r"gone\.png"):
        write_usdz(textured_mesh, tmp_path / "model.usdz")
    assert list(tmp_path.iterdir()) == []
