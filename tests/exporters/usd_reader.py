"""An independent USD reader for the tests: opens .usd/.usda/.usdz with usd-core's own stage
API (not the writer's code) and summarises what a viewer would see."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np


def read_usd_summary(path: Path) -> dict[str, Any]:
    """Summarise the file at ``path``.

    Keys: ``faces`` (triangle-equivalent count: an n-gon counts n - 2), ``polygons``,
    ``bounds`` ((2, 3) list, world space, from the points), ``has_uvs`` (any mesh has an
    ``st`` primvar with values) and ``texture_size`` ((width, height) of the image behind the
    first mesh's colour input, or ``None``).
    """
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(path))
    assert stage is not None, f"usd-core could not open {path}"
    meshes = [UsdGeom.Mesh(prim) for prim in stage.Traverse() if prim.IsA(UsdGeom.Mesh)]
    assert meshes, f"no UsdGeom.Mesh in {path}"
    counts = np.concatenate([np.asarray(m.GetFaceVertexCountsAttr().Get()) for m in meshes])
    points = np.concatenate([_world_points(m) for m in meshes])
    return {
        "faces": int((counts - 2).sum()),
        "polygons": len(counts),
        "bounds": [points.min(axis=0).tolist(), points.max(axis=0).tolist()],
        "has_uvs": any(_has_st(m) for m in meshes),
        "texture_size": color_texture_size(meshes[0].GetPrim()),
    }


def _world_points(mesh: Any) -> np.ndarray:
    """(N, 3) float64 points of ``mesh`` in world space."""
    from pxr import Usd

    points = np.asarray(mesh.GetPointsAttr().Get(), dtype=np.float64)
    matrix = np.asarray(mesh.ComputeLocalToWorldTransform(Usd.TimeCode.Default()))
    return points @ matrix[:3, :3] + matrix[3, :3]  # USD matrices act on row vectors


def _has_st(mesh: Any) -> bool:
    from pxr import UsdGeom

    primvar = UsdGeom.PrimvarsAPI(mesh.GetPrim()).GetPrimvar("st")
    return bool(primvar) and primvar.HasValue() and len(primvar.Get()) > 0


def color_shader(prim: Any) -> Any:
    """The shader behind the colour (``diffuseColor``, else ``emissiveColor``) of the
    ``UsdPreviewSurface`` bound to ``prim``, or ``None`` when that colour is a constant."""
    from pxr import UsdShade

    surface = bound_surface(prim)
    for name in ("diffuseColor", "emissiveColor"):
        put = surface.GetInput(name)
        if put and put.HasConnectedSource():
            return UsdShade.Shader(put.GetConnectedSources()[0][0].source.GetPrim())
    return None


def bound_surface(prim: Any) -> Any:
    """The surface shader of the material bound to ``prim``."""
    from pxr import UsdShade

    material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    assert material, f"no material bound to {prim.GetPath()}"
    surface = material.ComputeSurfaceSource()[0]
    assert surface, f"material {material.GetPath()} has no surface shader"
    return surface


def texture_bytes(shader: Any) -> bytes:
    """The bytes of a ``UsdUVTexture``'s file, resolved by usd-core (inside a .usdz too)."""
    from pxr import Ar

    asset = shader.GetInput("file").Get()
    assert asset.resolvedPath, f"{asset.path} does not resolve"
    opened = Ar.GetResolver().OpenAsset(Ar.ResolvedPath(asset.resolvedPath))
    assert opened is not None, f"cannot open {asset.resolvedPath}"
    return bytes(opened.GetBuffer())


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def color_texture_size(prim: Any) -> tuple[int, int] | None:
    shader = color_shader(prim)
    if shader is None or shader.GetIdAttr().Get() != "UsdUVTexture":
        return None
    return image_size(texture_bytes(shader))
