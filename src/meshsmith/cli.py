"""The ``meshsmith`` command line."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from meshsmith import remote_cli
from meshsmith.errors import InputNotFoundError, InvalidViewsError, MeshsmithError
from meshsmith.spec import (
    SLOTS,
    AssetOptions,
    GeometryOptions,
    InputOptions,
    Slot,
    TaskSpec,
    TextureOptions,
)

if TYPE_CHECKING:
    from meshsmith.service.app import Services
    from meshsmith.service.settings import Settings
    from meshsmith.service.store import Store

app = typer.Typer(help="Meshsmith: photos in, textured 3D models out.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
err = Console(stderr=True)
out = Console()

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


@app.command()
def generate(
    images: Annotated[list[Path], typer.Argument(help="1-4 photos: front, back, left, right")],
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the model")],
    views: Annotated[str | None, typer.Option(help="slots of the images, e.g. front,left")] = None,
    resolution: Annotated[str, typer.Option(help="512, 1024, 1536 or 1536pro")] = "1024",
    faces: Annotated[int | None, typer.Option(help="exact face count (even)")] = None,
    no_texture: Annotated[bool, typer.Option("--no-texture", help="geometry only")] = False,
    quad: Annotated[bool, typer.Option("--quad", help="quad remesh (Blender's QuadriFlow); "
                                       "--faces then counts quads, default 10,000")] = False,
    smart_low_poly: Annotated[bool, typer.Option(
        "--smart-low-poly", help="feature-preserving low-poly (1,000-20,000 faces, default "
        "5,000; 500-10,000 quads with --quad) with the detail baked into a normal map")
    ] = False,
    parts: Annotated[bool, typer.Option(
        "--parts", help="split into named parts by shape diameter (geometry only: needs "
        "--no-texture)")] = False,
    fmt: Annotated[str | None, typer.Option("--format", help="overrides OUT's extension")] = None,
    autofix: Annotated[bool, typer.Option(help="white balance, contrast, denoise")] = False,
    preset: Annotated[str, typer.Option(help="object, or portrait: bust framing and "
                                             "left-right symmetry")] = "object",
    texture_size: Annotated[int, typer.Option(help="texture edge in pixels")] = 2048,
    texture_format: Annotated[str, typer.Option(help="png or jpeg")] = "png",
    texture_alignment: Annotated[str, typer.Option(
        help="geometry (blend views smoothly) or original_image (the front photo wins)")
    ] = "geometry",
    orientation: Annotated[str, typer.Option(
        help="default (face +Z squarely) or align_image (as the front photo saw it)")
    ] = "default",
    height: Annotated[float | None, typer.Option(
        help="real height in metres: scales the model (auto size)")] = None,
    category: Annotated[str | None, typer.Option(
        help="auto size from this category's typical height (object, character, ...)")
    ] = None,
    pivot_bottom: Annotated[bool, typer.Option(
        "--pivot-bottom", help="origin at the bottom centre")] = False,
    scale: Annotated[float, typer.Option(help="multiply coordinates last")] = 1.0,
    no_uv: Annotated[bool, typer.Option(
        "--no-uv", help="no UV unwrap for a geometry-only model")] = False,
    compress: Annotated[str | None, typer.Option(help="GLB compression: meshopt or draco")
                        ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Turn photos of one object into a textured 3D model."""
    try:
        asset = AssetOptions(export_uv=not no_uv, orientation=orientation,  # type: ignore[arg-type]
                             auto_size=height is not None or category is not None,
                             real_height_m=height, category=category or "object",
                             pivot_to_center_bottom=pivot_bottom, scale_factor=scale,
                             compress=compress)  # type: ignore[arg-type]
        spec = build_spec(images, output, views, resolution, faces, no_texture, fmt, autofix,
                          texture_size, texture_format, preset, asset, texture_alignment,
                          quad, smart_low_poly, parts)
        run_generate(spec, output, quiet)
    except MeshsmithError as exc:
        _fail(exc)


def build_spec(images: list[Path], output: Path, views: str | None, resolution: str,
               faces: int | None, no_texture: bool, fmt: str | None, autofix: bool,
               texture_size: int, texture_format: str, preset: str = "object",
               asset: AssetOptions | None = None, alignment: str = "geometry",
               quad: bool = False, smart_low_poly: bool = False,
               parts: bool = False) -> TaskSpec:
    """Translate command-line options into the one internal task spec."""
    from meshsmith.exporters import format_for_path

    return TaskSpec(
        views=assign_slots(images, views),
        geometry=GeometryOptions(resolution=resolution, faces=faces,  # type: ignore[arg-type]
                                 quad=quad, smart_low_poly=smart_low_poly, parts=parts),
        texture=TextureOptions(enabled=not no_texture, size=texture_size,
                               image_format=texture_format,  # type: ignore[arg-type]
                               alignment=alignment),  # type: ignore[arg-type]
        inputs=InputOptions(autofix=autofix, preset=preset),  # type: ignore[arg-type]
        asset=asset or AssetOptions(),
        output_format=fmt.lower() if fmt else format_for_path(output),
    )


def assign_slots(images: list[Path], views: str | None) -> dict[Slot, Path]:
    """Positional images fill front, back, left, right unless ``--views`` names the slots."""
    slots = [s.strip() for s in views.split(",")] if views else list(SLOTS[: len(images)])
    if len(images) > len(SLOTS):
        raise InvalidViewsError(f"at most {len(SLOTS)} images; got {len(images)}")
    if len(slots) != len(images) or len(set(slots)) != len(slots):
        raise InvalidViewsError(f"--views names {len(slots)} distinct slot(s) for "
                                f"{len(images)} image(s): {views}")
    for path in images:
        if not path.is_file():
            raise InputNotFoundError(f"no such image file: {path}")
    return dict(zip(slots, images, strict=True))  # type: ignore[return-value]


def run_generate(spec: TaskSpec, output: Path, quiet: bool) -> None:
    """Run the pipeline with a progress bar per stage and print a summary."""
    from meshsmith.pipeline.generate import RETEXTURE_STAGES, STAGES, generate

    stages = STAGES if spec.source_mesh is None else RETEXTURE_STAGES
    start = time.perf_counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    with Progress(TextColumn("{task.description:<12}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=err, disable=quiet or not err.is_terminal, transient=False,
                  auto_refresh=False) as bars:  # redrawn per report: no refresh thread, so
        # the engine may fork its meshing processes (see surface.mesh_processes)
        tasks = {s: bars.add_task(s, total=hi - lo, start=False) for s, (lo, hi) in
                 stages.items()}
        result = generate(spec, output, _progress_updater(bars, tasks, stages))
    s = result.stats
    polygons = f" ({s.polygons:,} polygons)" if s.polygons != s.faces else ""
    out.print(f"wrote {', '.join(str(p) for p in result.files)}: {s.faces:,} faces{polygons}, "
              f"{s.vertices:,} vertices, watertight={s.watertight}, textured={s.textured}, "
              f"{time.perf_counter() - start:.1f} s")
    if s.sizing.height_m is not None:
        out.print(f"sized to {s.sizing.height_m:g} m tall (from {s.sizing.source})")
    for fmt, report in result.compression.items():
        out.print(f"{fmt} compressed with {report.method}: {report.original_bytes:,} -> "
                  f"{report.compressed_bytes:,} bytes ({report.ratio:.1f}x smaller)")


@app.command()
def texture(
    mesh: Annotated[Path, typer.Argument(help="the mesh to texture: glb, gltf, obj, ply or stl "
                                         "(+Y up, front facing +Z)")],
    images: Annotated[list[Path], typer.Argument(help="1-4 photos: front, back, left, right")],
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the model")],
    views: Annotated[str | None, typer.Option(help="slots of the images, e.g. front,left")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="overrides OUT's extension")] = None,
    texture_size: Annotated[int, typer.Option(help="texture edge in pixels")] = 2048,
    texture_format: Annotated[str, typer.Option(help="png or jpeg")] = "png",
    texture_alignment: Annotated[str, typer.Option(
        help="geometry (blend views smoothly) or original_image (the front photo wins)")
    ] = "geometry",
    no_pbr: Annotated[bool, typer.Option("--no-pbr", help="an unlit material, no PBR maps")
                      ] = False,
    autofix: Annotated[bool, typer.Option(help="white balance, contrast, denoise")] = False,
    compress: Annotated[str | None, typer.Option(help="GLB compression: meshopt or draco")
                        ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Texture an existing mesh from photos of the object; its geometry is kept as is."""
    from meshsmith.exporters import format_for_path

    try:
        spec = TaskSpec(
            views=assign_slots(images, views), source_mesh=mesh,
            texture=TextureOptions(size=texture_size, pbr=not no_pbr,
                                   image_format=texture_format,  # type: ignore[arg-type]
                                   alignment=texture_alignment),  # type: ignore[arg-type]
            inputs=InputOptions(autofix=autofix),
            asset=AssetOptions(compress=compress),  # type: ignore[arg-type]
            output_format=fmt.lower() if fmt else format_for_path(output))
        run_generate(spec, output, quiet)
    except MeshsmithError as exc:
        _fail(exc)


def _progress_updater(bars: Progress, tasks: dict[str, TaskID],
                      stages: Mapping[str, tuple[float, float]]
                      ) -> Callable[[str, float], None]:
    def update(stage: str, percent: float) -> None:
        lo, _ = stages[stage]
        bars.start_task(tasks[stage])
        bars.update(tasks[stage], completed=percent - lo, refresh=True)

    return update


@app.command()
def formats() -> None:
    """List the output formats (from the exporter registry)."""
    from meshsmith.exporters import EXPORTERS

    table = Table("format", "extension", "media type", "texture", "description")
    for e in EXPORTERS.values():
        table.add_row(e.name, e.extension, e.media_type, "yes" if e.textured else "no",
                      e.description)
    out.print(table)


@app.command()
def engines() -> None:
    """List the reconstruction engines (from the engine registry)."""
    from meshsmith.engines import ENGINES

    table = Table("engine", "device", "weights", "description")
    for e in ENGINES.values():
        table.add_row(e.name, e.device, "yes" if e.needs_weights else "no", e.description)
    out.print(table)


DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="database and files (MESHSMITH_DATA_DIR)", show_default=False)]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind [127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port [8000]")] = None,
    data_dir: DataDirOption = None,
    workers: Annotated[int | None, typer.Option(help="worker processes [CPU cores]")] = None,
) -> None:
    """Run the HTTP API with its worker pool (SQLite + local disk by default)."""
    import logging

    import uvicorn

    from meshsmith.service.app import create_app

    settings = _settings(host=host, port=port, data_dir=data_dir, workers=workers)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    api = create_app(settings)
    _preflight(api.state.services)
    cmd = f"meshsmith keys create --data-dir {settings.data_dir} --name NAME --credits 1000"
    out.print(f"Meshsmith API on {settings.base_url()}  (docs: {settings.base_url()}/docs)",
              highlight=False)
    if settings.queue == "local":
        out.print(f"data in {settings.data_dir.resolve()}; {settings.workers} worker "
                  "process(es)", highlight=False)
    else:
        out.print("scale-out: tasks go to Celery; run `meshsmith worker` processes",
                  highlight=False)
    out.print(f"create an API key with: {cmd}", highlight=False, soft_wrap=True)
    uvicorn.run(api, host=settings.host, port=settings.port,
                log_level="warning", timeout_graceful_shutdown=5)


def _preflight(services: Services) -> None:
    """Validate the database, storage and broker before serving; exit 1 with the reason."""
    from meshsmith.service.checks import preflight

    settings = services.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        preflight(services.store, services.storage, services.queue, settings.auto_migrate)
    except MeshsmithError as exc:
        _fail(exc)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(
        help="tasks at once (pool processes) [MESHSMITH_WORKERS: CPU cores]")] = None,
    engines: Annotated[str | None, typer.Option(
        help="comma-separated engines whose queues (<prefix>.<engine>) to consume [all]")
    ] = None,
) -> None:
    """Run a Celery worker (MESHSMITH_QUEUE=celery): it runs tasks sent by the API."""
    import logging

    from meshsmith.engines import ENGINES
    from meshsmith.errors import UnknownEngineError
    from meshsmith.service.celery_queue import run_worker

    settings = _settings(workers=concurrency)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s[%(process)d] %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    names = [e.strip() for e in engines.split(",")] if engines else list(ENGINES)
    try:
        if settings.queue != "celery":
            raise _config_error("meshsmith worker needs MESHSMITH_QUEUE=celery and "
                                "MESHSMITH_BROKER_URL; the embedded queue runs in `serve`")
        if unknown := sorted(set(names) - set(ENGINES)):
            raise UnknownEngineError(f"unknown engine {unknown[0]!r}; known: {', '.join(ENGINES)}")
        run_worker(settings, names, settings.workers)
    except MeshsmithError as exc:
        _fail(exc)


def _config_error(message: str) -> MeshsmithError:
    from meshsmith.errors import ConfigurationError

    return ConfigurationError(message)


db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None) -> None:
    """Migrate the database (MESHSMITH_DATABASE_URL) to the newest schema revision."""
    from meshsmith.service.db import schema_revisions

    store = _store(data_dir)
    current, _ = schema_revisions(store.engine)
    out.print(f"database schema at revision {current}", highlight=False)


@db_app.command("current")
def db_current(data_dir: DataDirOption = None) -> None:
    """Print the database's schema revision and the newest one; exit 1 if it is behind."""
    from meshsmith.service.db import make_engine, schema_revisions

    engine = make_engine(_settings(data_dir=data_dir).db_url)
    current, newest = schema_revisions(engine)
    engine.dispose()
    out.print(f"current {current or 'none'}; newest {newest}", highlight=False)
    if current != newest:
        raise typer.Exit(EXIT_FAILED)


keys_app = typer.Typer(help="Manage API keys and their credits.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="who the key is for")],
    credits: Annotated[int, typer.Option(min=0, help="starting credits")] = 0,
    data_dir: DataDirOption = None,
    max_concurrency: Annotated[int | None, typer.Option(
        min=1, help="queued + running tasks allowed [10]")] = None,
    rate_limit: Annotated[int | None, typer.Option(
        min=1, help="requests per minute [600]")] = None,
) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    store = _store(data_dir)
    key, raw = store.create_key(name, credits, max_concurrency, rate_limit)
    err.print(f"created key {key.id} ({name}) with {credits} credits; "
              "store it now, it is not shown again:", highlight=False)
    out.print(raw, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(data_dir: DataDirOption = None) -> None:
    """List keys (public ID, name, credits), never the keys themselves."""
    table = Table(Column("id", no_wrap=True, min_width=20),  # whole: it is Hitem3D's client_id
                  "name", "key", "credits", "max concurrency", "rate/min", "created")
    for k in _store(data_dir).list_keys():
        table.add_row(k.id, k.name, k.key_hint + "…", str(k.credits),
                      str(k.max_concurrency or "default"), str(k.rate_limit_per_min or "default"),
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(k.created_at)))
    out.print(table)


@keys_app.command("credit")
def keys_credit(key_id: Annotated[str, typer.Argument(help="the key's public ID")],
                amount: Annotated[int, typer.Argument(help="credits to add")],
                data_dir: DataDirOption = None) -> None:
    """Add credits to a key."""
    try:
        balance = _store(data_dir).add_credits(key_id, amount)
    except MeshsmithError as exc:
        _fail(exc)
    out.print(f"{key_id}: {balance} credits", highlight=False)


remote_cli.register(app)  # submit, tasks, balance: a server through meshsmith.client


def _settings(**flags: object) -> Settings:
    from pydantic import ValidationError

    from meshsmith.service.settings import load_settings

    try:
        return load_settings(**flags)
    except ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "settings"
            err.print(f"invalid setting {where}: {e['msg']}", highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _store(data_dir: Path | None) -> Store:
    from meshsmith.service.store import Store

    settings = _settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings)
    store.migrate()
    return store


def _fail(exc: MeshsmithError) -> NoReturn:
    from meshsmith.errors import InputImageError, InvalidRequestError

    err.print(f"error {exc.code}: {exc.message}", highlight=False, markup=False,
              soft_wrap=True)
    bad_input = isinstance(exc, InputImageError | InvalidRequestError)
    raise typer.Exit(EXIT_BAD_INPUT if bad_input else EXIT_FAILED)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
