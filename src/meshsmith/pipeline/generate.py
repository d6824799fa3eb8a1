"""The orchestrator: it reads as the data path.

    preprocess -> reconstruct -> unwrap -> texture -> bake -> postprocess -> export -> cover

Each stage is a short function; progress is reported per named stage and mapped to 0-100.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from meshsmith.engines import get_engine
from meshsmith.engines.base import Reconstruction, ViewInput
from meshsmith.exporters import export, get_exporter
from meshsmith.exporters.compress import CompressionReport, compress_glb
from meshsmith.inputs import prepare_view
from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import is_watertight, orient_outward
from meshsmith.pipeline.decimate import to_face_count
from meshsmith.pipeline.lowpoly import fit_to_surface, reference_surface, smart_low_poly
from meshsmith.pipeline.normalize import center_and_scale
from meshsmith.pipeline.parts import segment_parts
from meshsmith.pipeline.placement import NOT_SIZED, Sizing, place
from meshsmith.spec import DEFAULT_FACES, TaskSpec

T = TypeVar("T")

#: Stage names and their share of the 0-100 progress bar.
STAGES: dict[str, tuple[float, float]] = {
    "preprocess": (0.0, 5.0),
    "reconstruct": (5.0, 58.0),
    "unwrap": (58.0, 62.0),
    "texture": (62.0, 88.0),
    "bake": (88.0, 90.0),
    "postprocess": (90.0, 93.0),
    "export": (93.0, 98.0),
    "cover": (98.0, 100.0),
}

#: The stages of texturing an existing mesh (``TaskSpec.source_mesh``).
RETEXTURE_STAGES: dict[str, tuple[float, float]] = {
    "preprocess": (0.0, 5.0),
    "load": (5.0, 12.0),
    "texture": (12.0, 90.0),
    "export": (90.0, 98.0),
    "cover": (98.0, 100.0),
}

#: Called with (stage name, overall percent in [0, 100]).
ProgressCallback = Callable[[str, float], None]


def ignore_progress(_stage: str, _percent: float) -> None:
    """A progress callback that ignores its reports."""


@dataclass(frozen=True)
class MeshStats:
    """Facts about the delivered model."""

    faces: int
    vertices: int
    watertight: bool
    textured: bool
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]]
    has_uvs: bool = False
    #: Polygons (a quad counts once) and parts, for quad and part outputs.
    polygons: int = 0
    parts: tuple[str, ...] = ()
    #: The real-world height given by ``auto_size`` and where it came from.
    sizing: Sizing = NOT_SIZED


@dataclass(frozen=True)
class Outputs:
    """The files of one run: every path written, the model per format, texture maps by name
    and, per compressed format, how much compression saved."""

    files: list[Path]
    models: dict[str, Path]
    textures: dict[str, Path]
    compression: dict[str, CompressionReport] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerateResult:
    """What one run produced: files, statistics and per-stage wall times (seconds).

    ``models`` maps each format to its model file; ``textures`` maps a map name
    (``base_color``) to its image, when the spec asked for separate texture maps.
    """

    files: list[Path]
    stats: MeshStats
    timings: dict[str, float] = field(default_factory=dict)
    models: dict[str, Path] = field(default_factory=dict)
    textures: dict[str, Path] = field(default_factory=dict)
    compression: dict[str, CompressionReport] = field(default_factory=dict)
    cover: Path | None = None


def generate(spec: TaskSpec, out: Path, progress: ProgressCallback = ignore_progress
             ) -> GenerateResult:
    """Run the whole data path for one task and write the model to ``out`` (or, when the
    spec names a mesh to texture, :func:`retexture` it)."""
    if spec.source_mesh is not None:
        return retexture(spec, out, progress)
    clock = _StageClock(progress, STAGES)
    views = clock.run("preprocess", lambda _: preprocess(spec))
    recon = clock.run("reconstruct", lambda p: reconstruct(spec, views, p))
    shape = clock.run("unwrap", lambda _: unwrap(spec, recon.mesh))
    mesh = clock.run("texture", lambda _: texture(spec, shape, recon))
    mesh = clock.run("bake", lambda _: bake_detail(spec, mesh, recon.detail))
    mesh, sizing = clock.run("postprocess", lambda _: postprocess(spec, mesh))
    return deliver(spec, mesh, sizing, out, clock)


def retexture(spec: TaskSpec, out: Path, progress: ProgressCallback = ignore_progress
              ) -> GenerateResult:
    """Texture ``spec.source_mesh`` from the views: its geometry is delivered unchanged."""
    from meshsmith.pipeline.retexture import load_mesh, texture_existing

    assert spec.source_mesh is not None
    source_path = spec.source_mesh
    clock = _StageClock(progress, RETEXTURE_STAGES)
    views = clock.run("preprocess", lambda _: preprocess(spec))
    source = clock.run("load", lambda _: load_mesh(source_path))
    mesh = clock.run("texture", lambda _: texture_existing(source, views, spec.texture))
    return deliver(spec, mesh, NOT_SIZED, out, clock)


def deliver(spec: TaskSpec, mesh: Mesh, sizing: Sizing, out: Path, clock: _StageClock
            ) -> GenerateResult:
    """The last two stages, export and cover, and the run's result."""
    outputs = clock.run("export", lambda p: write_outputs(spec, mesh, out, p))
    cover = clock.run("cover", lambda _: render_cover(spec, mesh, out))
    files = outputs.files + ([cover] if cover else [])
    return GenerateResult(files=files, stats=mesh_stats(mesh, sizing),
                          timings=clock.timings, models=outputs.models,
                          textures=outputs.textures, compression=outputs.compression,
                          cover=cover)


def preprocess(spec: TaskSpec) -> dict[str, ViewInput]:
    """Decode and check every view, optionally auto-fix it, find its foreground, and apply
    the input preset (portrait: bust framing and symmetry)."""
    prepared: dict[str, tuple[NDArray[np.uint8], NDArray[np.bool_]]] = {}
    for slot, path in spec.ordered_views:
        view = prepare_view(path, autofix=spec.inputs.autofix)
        prepared[slot] = (view.rgb, view.mask)
    if spec.inputs.preset == "portrait":
        from meshsmith.inputs.portrait import portrait_views

        prepared = portrait_views(prepared)
    return {slot: ViewInput(slot=slot, rgb=rgb, mask=mask)
            for slot, (rgb, mask) in prepared.items()}


def reconstruct(spec: TaskSpec, views: Mapping[str, ViewInput],
                progress: Callable[[float], None]) -> Reconstruction:
    """Run the engine, then reach the requested face count (exact triangles, quads, or a
    smart low-poly mesh fitted to the dense surface, which is kept for the bake), then split
    it into parts if asked."""
    geometry = spec.geometry
    share = 0.6 if geometry.quad or geometry.smart_low_poly else 0.8
    recon = get_engine(spec.engine).reconstruct(views, geometry, lambda f: progress(share * f))
    if geometry.smart_low_poly:
        reference = reference_surface(recon.mesh)
        recon = replace(recon, mesh=low_poly(spec, reference), detail=reference)
    else:
        recon = decimate_and_see(spec, recon)
    if geometry.parts:
        recon = replace(recon, mesh=segment_parts(recon.mesh))
    progress(1.0)
    return recon


def decimate_and_see(spec: TaskSpec, recon: Reconstruction) -> Reconstruction:
    """:func:`topology` on the engine's dense surface; meanwhile, for a textured triangle
    model, a forked child ray casts the views' visibility depth maps from that surface
    (a triangle decimation stays far within the depth test's tolerance of it)."""
    if not spec.texture.enabled or spec.geometry.quad:
        return replace(recon, mesh=topology(spec, recon.mesh))
    from meshsmith._fork import Background
    from meshsmith.texturing.bake import depth_maps

    cameras = {slot: view.camera for slot, view in recon.views.items()}
    with Background(partial(depth_maps, recon.mesh, cameras)) as seeing:
        mesh = topology(spec, recon.mesh)
        depths = seeing.result()
    return replace(recon, mesh=mesh, depths=depths)


def topology(spec: TaskSpec, dense: Mesh) -> Mesh:
    """``dense`` at the exact triangle count, then remeshed into quads if asked."""
    mesh = orient_outward(to_face_count(dense, triangle_target(spec)))
    if not spec.geometry.quad:
        return mesh
    from meshsmith.blender.remesh import quad_remesh

    return quad_remesh(mesh, spec.geometry.face_target, seed=spec.geometry.seed or 0)


def low_poly(spec: TaskSpec, reference: Mesh) -> Mesh:
    """Smart low-poly from the reference surface: feature-preserving decimation (or a quad
    remesh) to the face target, fitted to the reference."""
    if not spec.geometry.quad:
        return smart_low_poly(reference, spec.geometry.face_target)
    return fit_to_surface(topology(spec, reference), reference)


#: A quad remesh starts from this many triangles per requested quad: enough detail for
#: QuadriFlow, few enough that it stays quick.
QUAD_INPUT_TRIANGLES_PER_QUAD = 8


def triangle_target(spec: TaskSpec) -> int:
    """The exact triangle count the engine's surface is brought to before any remesh."""
    geometry = spec.geometry
    if not geometry.quad:
        return geometry.face_target
    wanted = geometry.face_target * QUAD_INPUT_TRIANGLES_PER_QUAD
    return min(wanted - wanted % 2, DEFAULT_FACES[geometry.resolution])


def unwrap(spec: TaskSpec, mesh: Mesh) -> Mesh:
    """UV charts in the geometry stage (``export_uv``); skipped otherwise, and texturing
    then makes its own."""
    if not spec.asset.export_uv:
        return mesh
    from meshsmith.texturing import unwrap_mesh

    return unwrap_mesh(mesh, spec.texture.size)


def texture(spec: TaskSpec, mesh: Mesh, recon: Reconstruction) -> Mesh:
    """Project the reconstruction's views into a texture, unless the task is geometry
    only."""
    if not spec.texture.enabled:
        return mesh
    from meshsmith.texturing import texture_mesh

    return texture_mesh(mesh, recon.views, spec.texture, recon.depths)


def bake_detail(spec: TaskSpec, mesh: Mesh, detail: Mesh | None) -> Mesh:
    """Bake the dense surface's normals into the normal map of a low-poly model with UVs
    and a lit material (an unlit one ignores normal maps)."""
    if detail is None or not mesh.has_uvs or mesh.material.unlit:
        return mesh
    from meshsmith.texturing.normalbake import bake_normal_map

    return bake_normal_map(mesh, detail, spec.texture.size)


def postprocess(spec: TaskSpec, mesh: Mesh) -> tuple[Mesh, Sizing]:
    """Canonical frame (+Y up, centred, height 1.0), then the asset placement options:
    orientation, real-world size, pivot and scale factor."""
    return place(center_and_scale(mesh), spec.asset)


def write_outputs(spec: TaskSpec, mesh: Mesh, out: Path,
                  progress: Callable[[float], None] = lambda _: None) -> Outputs:
    """Write the model in every requested format (``out`` for the first, same stem for the
    rest) and, if asked, the texture maps beside it."""
    files: list[Path] = []
    models: dict[str, Path] = {}
    compression: dict[str, CompressionReport] = {}
    for i, fmt in enumerate(spec.output_formats):
        path = out if i == 0 else out.with_suffix(get_exporter(fmt).extension)
        written = export(mesh, path, fmt)
        if fmt == "glb" and spec.asset.compress is not None:
            compression[fmt] = compress_glb(path, path, spec.asset.compress)
        models[fmt] = written[0]
        files += [p for p in written if p not in files]
        progress((i + 1) / len(spec.output_formats))
    textures = write_texture_maps(mesh, out, files) if spec.texture_maps else {}
    files += [p for p in textures.values() if p not in files]
    return Outputs(files=files, models=models, textures=textures, compression=compression)


def render_cover(spec: TaskSpec, mesh: Mesh, out: Path) -> Path | None:
    """The preview PNG beside ``out`` (``<stem>_cover.png``), when the spec asks for one."""
    if not spec.cover:
        return None
    from meshsmith.cover import write_cover

    return write_cover(mesh, out.with_name(f"{out.stem}_cover.png"))


def write_texture_maps(mesh: Mesh, out: Path, written: list[Path]) -> dict[str, Path]:
    """The texture maps of ``mesh`` as image files beside ``out``: ``base_color`` and, for
    PBR, ``metallic_roughness`` and ``normal`` (files an OBJ export already wrote under the
    same names are reused); none if untextured."""
    from meshsmith.exporters._image import map_path, texture_path, write_maps, write_texture

    material = mesh.material
    if material.base_color is None:
        return {}
    path = texture_path(material, out)
    maps = {"base_color": path if path in written else write_texture(material, out)}
    names = ("metallic_roughness", "normal")
    reused = {n: map_path(out, n) for n in names if map_path(out, n) in written}
    return maps | reused | write_maps(material, out, tuple(n for n in names if n not in reused))


def mesh_stats(mesh: Mesh, sizing: Sizing | None = None) -> MeshStats:
    lo, hi = mesh.bounds
    return MeshStats(
        faces=len(mesh.faces),
        vertices=len(mesh.vertices),
        watertight=is_watertight(mesh),
        textured=mesh.has_texture,
        bounds=(tuple(float(x) for x in lo), tuple(float(x) for x in hi)),  # type: ignore[arg-type]
        has_uvs=mesh.has_uvs,
        polygons=len(mesh.polygons()) if mesh.has_quads else len(mesh.faces),
        parts=mesh.part_names,
        sizing=sizing or NOT_SIZED,
    )


class _StageClock:
    """Runs stages in order, timing each and mapping its fraction onto 0-100."""

    def __init__(self, progress: ProgressCallback,
                 stages: Mapping[str, tuple[float, float]]) -> None:
        self._progress = progress
        self._stages = stages
        self.timings: dict[str, float] = {}

    def run(self, stage: str, work: Callable[[Callable[[float], None]], T]) -> T:
        lo, hi = self._stages[stage]
        self._progress(stage, lo)
        start = time.perf_counter()
        result = work(lambda f: self._progress(stage, lo + (hi - lo) * min(max(f, 0.0), 1.0)))
        self.timings[stage] = time.perf_counter() - start
        self._progress(stage, hi)
        return result
