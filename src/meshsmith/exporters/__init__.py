"""The exporter registry: every output format Meshsmith can write.

:data:`EXPORTERS` drives everything format-related: the ``/formats`` endpoint, the CLI's
``meshsmith formats``, request validation and the round-trip tests all read it. Registering a
format here is all it takes to offer it (and to have it tested).

Importing this package does no work beyond building the small dict: each writer imports its
heavy libraries (Pillow) inside its functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meshsmith.errors import ExportError, UnsupportedFormatError
from meshsmith.exporters.glb import write_glb, write_gltf
from meshsmith.exporters.obj import write_obj
from meshsmith.exporters.ply import write_ply
from meshsmith.exporters.stl import write_stl
from meshsmith.exporters.threemf import write_3mf
from meshsmith.exporters.usd import write_usd, write_usda, write_usdz
from meshsmith.mesh import Mesh


def write_fbx(mesh: Mesh, path: Path) -> list[Path]:
    """FBX through Blender (:func:`meshsmith.blender.fbx.write_fbx`), imported on use: that
    module reads this package's image helpers."""
    from meshsmith.blender.fbx import write_fbx as write

    return write(mesh, path)


__all__ = ["EXPORTERS", "Exporter", "export", "format_for_path", "get_exporter"]


@dataclass(frozen=True)
class Exporter:
    """One output format.

    ``write(mesh, path)`` writes ``path`` plus any sidecar files (MTL, texture image) beside
    it and returns every path written, ``path`` first.
    """

    name: str
    extension: str
    media_type: str
    description: str
    textured: bool
    write: Callable[[Mesh, Path], list[Path]]


_ALL = (
    Exporter(
        name="glb",
        extension=".glb",
        media_type="model/gltf-binary",
        description="glTF 2.0 binary: PBR material and embedded texture in one file",
        textured=True,
        write=write_glb,
    ),
    Exporter(
        name="gltf",
        extension=".gltf",
        media_type="model/gltf+json",
        description="glTF 2.0 JSON with one .bin beside it (geometry and texture)",
        textured=True,
        write=write_gltf,
    ),
    Exporter(
        name="obj",
        extension=".obj",
        media_type="model/obj",
        description="Wavefront OBJ with an MTL file and the texture image beside it",
        textured=True,
        write=write_obj,
    ),
    Exporter(
        name="stl",
        extension=".stl",
        media_type="model/stl",
        description="Binary STL: geometry only, for 3D printing",
        textured=False,
        write=write_stl,
    ),
    Exporter(
        name="ply",
        extension=".ply",
        media_type="application/x-ply",
        description="Binary PLY with per-vertex colours (sampled from the texture if needed)",
        textured=False,
        write=write_ply,
    ),
    Exporter(
        name="3mf",
        extension=".3mf",
        media_type="model/3mf",
        description="3MF for 3D printing: geometry in millimetres, +Z up, one object per part",
        textured=False,
        write=write_3mf,
    ),
    Exporter(
        name="usd",
        extension=".usd",
        media_type="model/vnd.usd",
        description="USD binary crate with a UsdPreviewSurface material; textures beside it",
        textured=True,
        write=write_usd,
    ),
    Exporter(
        name="usda",
        extension=".usda",
        media_type="model/vnd.usda",
        description="USD text layer with a UsdPreviewSurface material; textures beside it",
        textured=True,
        write=write_usda,
    ),
    Exporter(
        name="usdz",
        extension=".usdz",
        media_type="model/vnd.usdz+zip",
        description="USDZ package for AR Quick Look: geometry and textures in one file",
        textured=True,
        write=write_usdz,
    ),
    Exporter(
        name="fbx",
        extension=".fbx",
        media_type="application/octet-stream",
        description="Autodesk FBX (binary, via Blender): quads, named parts, embedded textures",
        textured=True,
        write=write_fbx,
    ),
)

#: Every output format by name, in the order they are listed to users.
EXPORTERS: dict[str, Exporter] = {exporter.name: exporter for exporter in _ALL}


def get_exporter(fmt: str) -> Exporter:
    """The exporter registered as ``fmt``; raises :class:`UnsupportedFormatError` otherwise."""
    try:
        return EXPORTERS[fmt]
    except KeyError:
        raise UnsupportedFormatError(
            f"unsupported output format {fmt!r}; supported: {', '.join(sorted(EXPORTERS))}"
        ) from None


def format_for_path(path: Path) -> str:
    """The format name for ``path``'s extension (case-insensitive), e.g. ``model.GLB`` -> glb."""
    suffix = path.suffix.lower()
    for exporter in EXPORTERS.values():
        if exporter.extension == suffix:
            return exporter.name
    supported = ", ".join(sorted(e.extension for e in EXPORTERS.values()))
    raise UnsupportedFormatError(
        f"cannot tell the output format from {path.name!r}; use one of {supported}"
    )


def export(mesh: Mesh, path: Path, fmt: str | None = None) -> list[Path]:
    """Write ``mesh`` to ``path`` as ``fmt`` (default: from the extension).

    Returns every path written, ``path`` first. Raises :class:`UnsupportedFormatError` for an
    unknown format and :class:`ExportError` for an empty or non-finite mesh or a failed write.
    """
    exporter = get_exporter(fmt if fmt is not None else format_for_path(path))
    if len(mesh.faces) == 0:
        raise ExportError(f"cannot export an empty mesh to {exporter.name}")
    if not np.isfinite(mesh.vertices).all():
        raise ExportError(f"cannot export a mesh with NaN or infinite vertices to {exporter.name}")
    try:
        return exporter.write(mesh, path)
    except OSError as exc:
        raise ExportError(f"could not write {exporter.name} file {path}: {exc}") from exc
