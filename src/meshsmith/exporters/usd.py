"""Universal Scene Description writers: crate (.usd), text (.usda) and ARKit-style USDZ.

Built with usd-core (``pxr``), imported inside the functions that need it.

Stage: ``metersPerUnit = 1``, ``upAxis = Y``, default prim ``/meshsmith`` (an Xform of kind
``component``). It holds one ``UsdGeom.Mesh`` per part (named from ``part_names``, made valid
and unique; ``model`` when the mesh has no parts) and a ``Materials`` scope with one
``UsdPreviewSurface`` material bound to every mesh.

Each mesh writes real polygons from :meth:`Mesh.polygons` (4 corners for quads, 3 for
triangles) in USD's default right-handed (counter-clockwise) orientation, with
``subdivisionScheme = none``, smooth vertex normals (area-weighted, per part), ``extent``,
the UVs as the indexed face-varying primvar ``st`` (whenever the mesh has UVs; USD's ``st``
shares our bottom-left origin) and vertex colours as ``displayColor`` (vertex interpolation,
linear).

Material: ``diffuseColor`` reads the base colour texture (``UsdUVTexture`` fed by a
``UsdPrimvarReader_float2`` whose ``varname`` is the string ``st``); without a texture it
reads ``displayColor`` through a ``UsdPrimvarReader_float3`` (whose fallback is the mean
colour, for viewers such as Quick Look that ignore vertex colours) or is a constant grey.
``metallic``/``roughness`` come from the metallic-roughness map's B/G channels, scaled by the
material's factors as in glTF, or are those constants. The normal map feeds ``normal``
(raw, scale (2, 2, 2, 1), bias (-1, -1, -1, 0)); its OpenGL (+Y) convention is USD's.

Unlit: ``UsdPreviewSurface`` has no unlit mode. An unlit material puts its colour into
``emissiveColor`` and sets ``diffuseColor`` black, ``metallic`` 0, ``roughness`` 1 and
``ior`` 1 (which removes the specular reflection), so lights add nothing; its
metallic-roughness and normal maps are not written.

Textures: the .usd/.usda writers put the images beside the file (``<stem>_basecolor.png``
or ``.jpg``, ``<stem>_metallic_roughness.png``, ``<stem>_normal.png``; data maps are always
PNG) and return them after the path. The .usdz package holds a crate root layer
(``model.usdc``) followed by the images, uncompressed and 64-byte aligned by
``Sdf.ZipFileWriter``, with fixed names inside so the stem never reaches an asset path.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from meshsmith._polygons import corner_uv_indices
from meshsmith.errors import MissingDependencyError
from meshsmith.exporters._geometry import vertex_normals
from meshsmith.exporters._image import encode_png, encode_texture, srgb_to_linear, texture_path
from meshsmith.mesh import Material, Mesh

ROOT = "meshsmith"
SINGLE_MESH = "model"
MATERIALS = "Materials"
PACKAGE_STEM = "model"
#: Linear diffuse colour of a mesh with neither texture nor vertex colours (as the glTF writer).
UNTEXTURED_COLOR = (0.8, 0.8, 0.8)
NORMAL_SCALE = (2.0, 2.0, 2.0, 1.0)
NORMAL_BIAS = (-1.0, -1.0, -1.0, 0.0)
BASE_COLOR, METALLIC_ROUGHNESS, NORMAL = "basecolor", "metallic_roughness", "normal"
INSTALL_HINT = "writing USD needs usd-core: pip install 'usd-core==26.11'"

#: A shader input's value: a constant, or the ``UsdShade.Output`` it is connected to.
Source = Any


@dataclass(frozen=True)
class _Texture:
    """One image the layer refers to: ``name`` relative to the layer, encoded ``data``."""

    name: str
    data: bytes


def write_usd(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as a binary crate layer plus its texture images beside it.

    Returns ``[path, *textures]``.
    """
    return _write_layer(mesh, path, "usdc")


def write_usda(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as a text layer plus its texture images beside it.

    Returns ``[path, *textures]``.
    """
    return _write_layer(mesh, path, "usda")


def write_usdz(mesh: Mesh, path: Path) -> list[Path]:
    """Write ``mesh`` as one USDZ package (crate root layer, then textures); returns ``[path]``."""
    _require_usd()
    from pxr import Sdf

    _check_target(path)
    textures = _textures(mesh, PACKAGE_STEM)
    stage = _stage(mesh, textures)
    with tempfile.TemporaryDirectory(prefix="meshsmith-usdz-") as tmp, _usd_errors(path):
        folder = Path(tmp)
        root = folder / f"{PACKAGE_STEM}.usdc"
        _export(stage, root, "usdc")
        images = _write_images(textures.values(), folder)
        with Sdf.ZipFileWriter.CreateNew(str(path)) as writer:  # saved on success only
            for file in (root, *images):
                writer.AddFile(str(file), file.name)
    return [path]


def prim_names(names: Sequence[str]) -> list[str]:
    """Valid, unique prim names for ``names`` (ASCII letters, digits and ``_``).

    Other characters become ``_``, a leading digit gets a ``_`` prefix, an empty name becomes
    ``part``, and repeats (or the reserved ``Materials``) get a ``_2``, ``_3``... suffix.
    """
    taken = {MATERIALS}
    result: list[str] = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "part"
        base = f"_{base}" if base[0].isdigit() else base
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        taken.add(candidate)
        result.append(candidate)
    return result


def _require_usd() -> None:
    try:
        import pxr  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(INSTALL_HINT) from exc


def _write_layer(mesh: Mesh, path: Path, file_format: str) -> list[Path]:
    """Export the stage to ``path`` in ``file_format`` with its textures beside it."""
    _require_usd()
    _check_target(path)
    textures = _textures(mesh, path.stem)
    stage = _stage(mesh, textures)
    with _usd_errors(path):
        _export(stage, path, file_format)
    return [path, *_write_images(textures.values(), path.parent)]


def _check_target(path: Path) -> None:
    """Raise ``OSError`` where usd-core would misbehave: it creates missing folders and
    leaves a temporary file behind when ``path`` is a folder."""
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no such folder: {path.parent}")
    if path.is_dir():
        raise IsADirectoryError(f"is a folder: {path}")


@contextmanager
def _usd_errors(path: Path) -> Iterator[None]:
    """Turn usd-core's ``Tf.ErrorException`` into ``OSError`` (an ``ExportError`` upstream)."""
    from pxr import Tf

    try:
        yield
    except Tf.ErrorException as exc:
        detail = str(exc).strip().splitlines()[-1].strip()
        raise OSError(f"usd-core could not write {path}: {detail}") from exc


def _export(stage: Any, path: Path, file_format: str) -> None:
    """Write the stage's root layer to ``path`` as ``usdc`` or ``usda``."""
    if not stage.GetRootLayer().Export(str(path), args={"format": file_format}):
        raise OSError(f"usd-core could not write {path}")


def _write_images(textures: Iterable[_Texture], folder: Path) -> list[Path]:
    """Write every texture into ``folder``; returns the paths in order."""
    paths = []
    for texture in textures:
        paths.append(folder / texture.name)
        paths[-1].write_bytes(texture.data)
    return paths


def _textures(mesh: Mesh, stem: str) -> dict[str, _Texture]:
    """The images the material uses, by role, named after ``stem`` (only with UVs)."""
    material = mesh.material
    textures: dict[str, _Texture] = {}
    if mesh.uvs is None:
        return textures
    if material.base_color is not None:
        name = texture_path(material, Path(stem)).name
        textures[BASE_COLOR] = _Texture(name, encode_texture(material))
    if material.unlit:
        return textures
    for role, image in ((METALLIC_ROUGHNESS, material.metallic_roughness),
                        (NORMAL, material.normal_map)):
        if image is not None:
            textures[role] = _Texture(f"{stem}_{role}.png", encode_png(image))
    return textures


def _stage(mesh: Mesh, textures: dict[str, _Texture]) -> Any:
    """An in-memory stage: the root Xform, one mesh per part and the bound material."""
    from pxr import Kind, Sdf, Usd, UsdGeom, UsdShade

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageMetersPerUnit(stage, UsdGeom.LinearUnits.meters)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    root = UsdGeom.Xform.Define(stage, Sdf.Path(f"/{ROOT}")).GetPrim()
    stage.SetDefaultPrim(root)
    Usd.ModelAPI(root).SetKind(Kind.Tokens.component)
    UsdGeom.Scope.Define(stage, root.GetPath().AppendChild(MATERIALS))
    material_path = root.GetPath().AppendChild(MATERIALS).AppendChild(
        prim_names([mesh.material.name])[0]
    )
    material = _material(stage, material_path, mesh, textures)
    for name, part in _parts(mesh):
        prim = _define_mesh(stage, root.GetPath().AppendChild(name), part).GetPrim()
        UsdShade.MaterialBindingAPI.Apply(prim).Bind(material)
    return stage


def _parts(mesh: Mesh) -> list[tuple[str, Mesh]]:
    """``(prim name, sub-mesh)`` for every part that has faces, or the whole mesh."""
    if mesh.part_ids is None:
        return [(SINGLE_MESH, mesh)]
    names = prim_names(mesh.part_names)
    present = set(np.unique(mesh.part_ids).tolist())
    return [(name, mesh.part(i)) for i, name in enumerate(names) if i in present]


def _define_mesh(stage: Any, path: Any, mesh: Mesh) -> Any:
    """A ``UsdGeom.Mesh`` with polygons, normals, extent and the ``st``/colour primvars."""
    from pxr import UsdGeom, Vt

    geom = UsdGeom.Mesh.Define(stage, path)
    polygons = mesh.polygons()
    counts = (polygons >= 0).sum(axis=1).astype(np.int32)
    geom.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(_f32(mesh.vertices)))
    geom.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(counts))
    geom.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(_i32(polygons[polygons >= 0])))
    geom.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    normals = vertex_normals(mesh.vertices, mesh.faces)
    geom.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(_f32(normals)))
    geom.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    geom.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(_f32(mesh.bounds)))
    _primvars(geom, mesh)
    return geom


def _primvars(geom: Any, mesh: Mesh) -> None:
    """``st`` (indexed, face-varying) from the UVs and ``displayColor`` from vertex colours."""
    from pxr import Sdf, UsdGeom, Vt

    if mesh.uvs is not None:
        st = UsdGeom.PrimvarsAPI(geom.GetPrim()).CreatePrimvar(
            "st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.faceVarying
        )
        st.Set(Vt.Vec2fArray.FromNumpy(_f32(mesh.uvs)))
        st.SetIndices(Vt.IntArray.FromNumpy(corner_uv_indices(mesh)))
    if mesh.vertex_colors is not None:
        colors = geom.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex)
        colors.Set(Vt.Vec3fArray.FromNumpy(_f32(srgb_to_linear(mesh.vertex_colors))))


def _f32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


def _i32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.int32)


@dataclass(frozen=True)
class _Shading:
    """Where the material's shaders go: the stage, the material's path, the ``st`` reader's
    output (``None`` without textures) and the wrap mode (``clamp`` or ``repeat``)."""

    stage: Any
    path: Any
    st: Any
    wrap: str

    def shader(self, name: str, shader_id: str) -> Any:
        """Define the shader ``name`` under the material with ``info:id = shader_id``."""
        from pxr import UsdShade

        shader = UsdShade.Shader.Define(self.stage, self.path.AppendChild(name))
        shader.CreateIdAttr(shader_id)
        return shader

    def texture(self, name: str, texture: _Texture, raw: bool) -> Any:
        """A ``UsdUVTexture`` reading ``texture`` at ``st``, as data (raw) or sRGB colour."""
        from pxr import Sdf

        shader = self.shader(name, "UsdUVTexture")
        _set(shader, "file", Sdf.ValueTypeNames.Asset, Sdf.AssetPath(f"./{texture.name}"))
        shader.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(self.st)
        _set(shader, "sourceColorSpace", Sdf.ValueTypeNames.Token, "raw" if raw else "sRGB")
        for wrap in ("wrapS", "wrapT"):
            _set(shader, wrap, Sdf.ValueTypeNames.Token, self.wrap)
        return shader


def _material(stage: Any, path: Any, mesh: Mesh, textures: dict[str, _Texture]) -> Any:
    """The ``UsdPreviewSurface`` material at ``path`` (see the module docstring)."""
    from pxr import Gf, Sdf, UsdShade

    material = UsdShade.Material.Define(stage, path)
    shading = _Shading(stage, path, None, _wrap_mode(mesh))
    if textures:
        shading = _Shading(stage, path, _st_reader(shading), shading.wrap)
    surface = shading.shader("PreviewSurface", "UsdPreviewSurface")
    material.CreateSurfaceOutput().ConnectToSource(
        surface.CreateOutput("surface", Sdf.ValueTypeNames.Token)
    )
    color = _color_source(shading, mesh, textures.get(BASE_COLOR))
    if mesh.material.unlit:
        _connect(surface, "emissiveColor", Sdf.ValueTypeNames.Color3f, color)
        _connect(surface, "diffuseColor", Sdf.ValueTypeNames.Color3f, Gf.Vec3f(0.0))
        _connect(surface, "metallic", Sdf.ValueTypeNames.Float, 0.0)
        _connect(surface, "roughness", Sdf.ValueTypeNames.Float, 1.0)
        _connect(surface, "ior", Sdf.ValueTypeNames.Float, 1.0)
        return material
    _connect(surface, "diffuseColor", Sdf.ValueTypeNames.Color3f, color)
    _metallic_roughness(shading, surface, mesh.material, textures.get(METALLIC_ROUGHNESS))
    if NORMAL in textures:
        normal = shading.texture("NormalTexture", textures[NORMAL], raw=True)
        _set(normal, "scale", Sdf.ValueTypeNames.Float4, Gf.Vec4f(*NORMAL_SCALE))
        _set(normal, "bias", Sdf.ValueTypeNames.Float4, Gf.Vec4f(*NORMAL_BIAS))
        rgb = normal.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
        _connect(surface, "normal", Sdf.ValueTypeNames.Normal3f, rgb)
    return material


def _wrap_mode(mesh: Mesh) -> str:
    """``clamp`` when every UV lies in [0, 1] (as the glTF writer), else ``repeat``."""
    uvs = mesh.uvs if mesh.uvs is not None else np.zeros((0, 2), np.float32)
    return "clamp" if bool(np.all((uvs >= 0.0) & (uvs <= 1.0))) else "repeat"


def _metallic_roughness(
    shading: _Shading, surface: Any, material: Material, texture: _Texture | None
) -> None:
    """Metallic (B) and roughness (G) from the map, scaled by the factors, or the constants."""
    from pxr import Gf, Sdf

    if texture is None:
        _connect(surface, "metallic", Sdf.ValueTypeNames.Float, float(material.metallic))
        _connect(surface, "roughness", Sdf.ValueTypeNames.Float, float(material.roughness))
        return
    shader = shading.texture("MetallicRoughnessTexture", texture, raw=True)
    scale = Gf.Vec4f(1.0, float(material.roughness), float(material.metallic), 1.0)
    _set(shader, "scale", Sdf.ValueTypeNames.Float4, scale)
    metallic = shader.CreateOutput("b", Sdf.ValueTypeNames.Float)
    roughness = shader.CreateOutput("g", Sdf.ValueTypeNames.Float)
    _connect(surface, "metallic", Sdf.ValueTypeNames.Float, metallic)
    _connect(surface, "roughness", Sdf.ValueTypeNames.Float, roughness)


def _color_source(shading: _Shading, mesh: Mesh, texture: _Texture | None) -> Source:
    """What drives the colour: the base colour texture, ``displayColor`` or constant grey."""
    from pxr import Gf, Sdf

    if texture is not None:
        shader = shading.texture("BaseColorTexture", texture, raw=False)
        return shader.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    if mesh.vertex_colors is None:
        return Gf.Vec3f(*UNTEXTURED_COLOR)
    reader = shading.shader("ColorReader", "UsdPrimvarReader_float3")
    _set(reader, "varname", Sdf.ValueTypeNames.String, "displayColor")
    mean = srgb_to_linear(mesh.vertex_colors).mean(axis=0)
    _set(reader, "fallback", Sdf.ValueTypeNames.Float3, Gf.Vec3f(*map(float, mean)))
    return reader.CreateOutput("result", Sdf.ValueTypeNames.Float3)


def _st_reader(shading: _Shading) -> Any:
    """The ``UsdPrimvarReader_float2`` reading ``st``; returns its ``result`` output."""
    from pxr import Sdf

    reader = shading.shader("StReader", "UsdPrimvarReader_float2")
    _set(reader, "varname", Sdf.ValueTypeNames.String, "st")
    return reader.CreateOutput("result", Sdf.ValueTypeNames.Float2)


def _set(shader: Any, name: str, value_type: Any, value: object) -> None:
    shader.CreateInput(name, value_type).Set(value)


def _connect(shader: Any, name: str, value_type: Any, source: Source) -> None:
    """Connect input ``name`` to ``source`` when it is an output, else set it as a constant."""
    from pxr import UsdShade

    put = shader.CreateInput(name, value_type)
    if isinstance(source, UsdShade.Output):
        put.ConnectToSource(source)
    else:
        put.Set(source)
