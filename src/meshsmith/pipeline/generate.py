"""The orchestrator: it reads as the data path.

    preprocess -> reconstruct -> texture -> postprocess -> export

Each stage is a short function; progress is reported per named stage and mapped to 0-100.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from meshsmith.engines import get_engine
from meshsmith.engines.base import Reconstruction, ViewInput
from meshsmith.exporters import export, get_exporter
from meshsmith.inputs import prepare_view
from meshsmith.mesh import Mesh
from meshsmith.pipeline.clean import is_watertight, orient_outward
from meshsmith.pipeline.decimate import to_face_count
from meshsmith.pipeline.normalize import center_and_scale
from meshsmith.spec import TaskSpec

T = TypeVar("T")

#: Stage names and their share of the 0-100 progress bar.
STAGES: dict[str, tuple[float, float]] = {
    "preprocess": (0.0, 5.0),
    "reconstruct": (5.0, 60.0),
    "texture": (60.0, 90.0),
    "postprocess": (90.0, 93.0),
    "export": (93.0, 100.0),
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


@dataclass(frozen=True)
class Outputs:
    """The files of one run: every path written, the model per format, texture maps by name."""

    files: list[Path]
    models: dict[str, Path]
    textures: dict[str, Path]


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


def generate(spec: TaskSpec, out: Path, progress: ProgressCallback = ignore_progress
             ) -> GenerateResult:
    """Run the whole data path for one task and write the model to ``out``."""
    clock = _StageClock(progress)
    views = clock.run("preprocess", lambda _: preprocess(spec))
    recon = clock.run("reconstruct", lambda p: reconstruct(spec, views, p))
    mesh = clock.run("texture", lambda _: texture(spec, recon))
    mesh = clock.run("postprocess", lambda _: postprocess(mesh))
    outputs = clock.run("export", lambda p: write_outputs(spec, mesh, out, p))
    return GenerateResult(files=outputs.files, stats=mesh_stats(mesh), timings=clock.timings,
                          models=outputs.models, textures=outputs.textures)


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
    """Run the engine, then reach the requested face count."""
    engine = get_engine(spec.engine)
    recon = engine.reconstruct(views, spec.geometry, lambda f: progress(0.8 * f))
    mesh = orient_outward(to_face_count(recon.mesh, spec.geometry.face_target))
    progress(1.0)
    return Reconstruction(mesh=mesh, views=recon.views)


def texture(spec: TaskSpec, recon: Reconstruction) -> Mesh:
    """Project the views into a texture, unless the task is geometry only."""
    if not spec.texture.enabled:
        return recon.mesh
    from meshsmith.texturing import texture_mesh

    return texture_mesh(recon.mesh, recon.views, spec.texture)


def postprocess(mesh: Mesh) -> Mesh:
    """Canonical placement: +Y up, facing +Z, centred, height 1.0."""
    return center_and_scale(mesh)


def write_outputs(spec: TaskSpec, mesh: Mesh, out: Path,
                  progress: Callable[[float], None] = lambda _: None) -> Outputs:
    """Write the model in every requested format (``out`` for the first, same stem for the
    rest) and, if asked, the texture maps beside it."""
    files: list[Path] = []
    models: dict[str, Path] = {}
    for i, fmt in enumerate(spec.output_formats):
        path = out if i == 0 else out.with_suffix(get_exporter(fmt).extension)
        written = export(mesh, path, fmt)
        models[fmt] = written[0]
        files += [p for p in written if p not in files]
        progress((i + 1) / len(spec.output_formats))
    textures = write_texture_maps(mesh, out, files) if spec.texture_maps else {}
    files += [p for p in textures.values() if p not in files]
    return Outputs(files=files, models=models, textures=textures)


def write_texture_maps(mesh: Mesh, out: Path, written: list[Path]) -> dict[str, Path]:
    """The texture maps of ``mesh`` as image files beside ``out`` (the same file an OBJ
    export names, reused when it is among ``written``); none if untextured."""
    from meshsmith.exporters._image import texture_path, write_texture

    material = mesh.material
    if material.base_color is None:
        return {}
    path = texture_path(material, out)
    return {"base_color": path if path in written else write_texture(material, out)}


def mesh_stats(mesh: Mesh) -> MeshStats:
    lo, hi = mesh.bounds
    return MeshStats(
        faces=len(mesh.faces),
        vertices=len(mesh.vertices),
        watertight=is_watertight(mesh),
        textured=mesh.has_texture,
        bounds=(tuple(float(x) for x in lo), tuple(float(x) for x in hi)),  # type: ignore[arg-type]
    )


class _StageClock:
    """Runs stages in order, timing each and mapping its fraction onto 0-100."""

    def __init__(self, progress: ProgressCallback) -> None:
        self._progress = progress
        self.timings: dict[str, float] = {}

    def run(self, stage: str, work: Callable[[Callable[[float], None]], T]) -> T:
        lo, hi = STAGES[stage]
        self._progress(stage, lo)
        start = time.perf_counter()
        result = work(lambda f: self._progress(stage, lo + (hi - lo) * min(max(f, 0.0), 1.0)))
        self.timings[stage] = time.perf_counter() - start
        self._progress(stage, hi)
        return result
