"""The remote commands: ``submit``, ``tasks list|show|cancel|download`` and ``balance``,
which drive a Meshsmith server through :mod:`meshsmith.client`. :func:`register` adds them
to the ``meshsmith`` app. Exit codes: 0 ok; 2 bad input or an API 4xx (one line on stderr,
``error <code>: <message>``); 1 a failed task or a server that stays unreachable."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from meshsmith.errors import AuthenticationError, MeshsmithError

if TYPE_CHECKING:
    from meshsmith.client import Client, TaskProgress

err = Console(stderr=True)
out = Console()

ServerOption = Annotated[str, typer.Option(
    "--server", envvar="MESHSMITH_URL", help="the server's base URL")]
KeyOption = Annotated[str | None, typer.Option(
    "--key", envvar="MESHSMITH_API_KEY", help="API key (tsk_...)", show_default=False)]
DEFAULT_URL = "http://127.0.0.1:8000"

tasks_app = typer.Typer(help="List, show, cancel and download tasks on a server.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the remote commands to the ``meshsmith`` app."""
    app.command()(submit)
    app.command()(balance)
    app.add_typer(tasks_app, name="tasks")


@contextmanager
def _client(server: str, key: str | None) -> Iterator[Client]:
    """A client for the command; every Meshsmith error becomes the exit code and line."""
    from meshsmith.client import Client

    try:
        if not key:
            raise AuthenticationError("no API key: pass --key or set MESHSMITH_API_KEY")
        with Client(server, key) as client:
            yield client
    except MeshsmithError as exc:
        _fail(exc)


def _fail(exc: MeshsmithError) -> NoReturn:
    from meshsmith.client import ApiError, TaskFailedError
    from meshsmith.errors import InputImageError, InvalidRequestError, TaskStateError

    err.print(f"error {exc.code}: {exc.message}", highlight=False, markup=False,
              soft_wrap=True)
    client_side = (InputImageError, InvalidRequestError, TaskStateError, AuthenticationError)
    bad_input = ((isinstance(exc, ApiError) and 400 <= exc.status < 500)
                 or (isinstance(exc, client_side) and not isinstance(exc, TaskFailedError)))
    raise typer.Exit(2 if bad_input else 1)


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Callable[[TaskProgress], None]]:
    """A rich progress bar that shows the task's stage; yields the ``on_progress`` callback."""
    with Progress(TextColumn("{task.description:<12}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=err, disable=quiet or not err.is_terminal) as bars:
        bar = bars.add_task("queued", total=100)

        def update(p: TaskProgress) -> None:
            bars.update(bar, completed=p.progress, description=p.stage or p.status)

        yield update


def submit(
    images: Annotated[list[Path], typer.Argument(help="1-4 photos: front, back, left, right")],
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the model")],
    views: Annotated[str | None, typer.Option(help="slots of the images, e.g. front,left")] = None,
    resolution: Annotated[str, typer.Option(help="512, 1024, 1536 or 1536pro")] = "1024",
    faces: Annotated[int | None, typer.Option(help="exact face count (even)")] = None,
    no_texture: Annotated[bool, typer.Option("--no-texture", help="geometry only")] = False,
    quad: Annotated[bool, typer.Option("--quad", help="quad remesh; --faces counts quads")
                    ] = False,
    smart_low_poly: Annotated[bool, typer.Option(
        "--smart-low-poly", help="feature-preserving low-poly with a baked normal map")
    ] = False,
    parts: Annotated[bool, typer.Option("--parts", help="named parts (needs --no-texture)")
                     ] = False,
    no_pbr: Annotated[bool, typer.Option("--no-pbr", help="an unlit material")] = False,
    fmt: Annotated[str | None, typer.Option("--format", help="overrides OUT's extension")] = None,
    texture_size: Annotated[int, typer.Option(help="texture edge in pixels")] = 2048,
    texture_format: Annotated[str, typer.Option(help="png or jpeg")] = "png",
    autofix: Annotated[bool, typer.Option(help="white balance, contrast, denoise")] = False,
    engine: Annotated[str, typer.Option(help="an engine of the server")] = "geometric",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    server: ServerOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Generate a model on a Meshsmith server: upload, wait (with a progress bar) and
    download it to OUT; prints the credits spent."""
    fmt = (fmt or output.suffix.lstrip(".")).lower()
    options = {"resolution": resolution, "texture": not no_texture, "pbr": not no_pbr,
               "texture_size": texture_size, "texture_format": texture_format,
               "autofix": autofix, "engine": engine, "quad": quad,
               "smart_low_poly": smart_low_poly, "parts": parts}
    slots = [v.strip() for v in views.split(",")] if views else None
    with _client(server, key) as client, _progress_bar(quiet) as on_progress:
        task = client.generate(images, output.parent, (fmt,), views=slots,
                               on_progress=on_progress,
                               **options, **({"faces": faces} if faces else {}))
    model = task.files[0].replace(output)
    stats = task.data.get("stats") or {}
    out.print(f"wrote {', '.join(str(p) for p in (model, *task.files[1:]))}: task {task.id}, "
              f"{stats.get('faces', 0):,} faces; {task.charged} credits spent", highlight=False)


def balance(server: ServerOption = DEFAULT_URL, key: KeyOption = None) -> None:
    """Show the key's credits on the server."""
    with _client(server, key) as client:
        b = client.balance()
    out.print(f"{b.balance} credits available, {b.frozen} frozen, {b.spent} spent",
              highlight=False)


@tasks_app.command("list")
def tasks_list(
    status: Annotated[str | None, typer.Option(help="only tasks of this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="at most this many")] = 20,
    server: ServerOption = DEFAULT_URL, key: KeyOption = None,
) -> None:
    """This key's tasks, newest first."""
    with _client(server, key) as client:
        page = client.list_tasks(status, limit)
    table = Table(Column("task", no_wrap=True, min_width=36), "status", "%", "created")
    for t in page.items:  # whole IDs at 80 columns: they are what the other commands take
        created = str(t.data.get("created_at") or "")[:16].replace("T", " ")
        table.add_row(t.id, t.status, str(t.progress), created)
    out.print(table)
    out.print(f"{len(page.items)} of {page.total} task(s)", highlight=False)


TaskArg = Annotated[str, typer.Argument(help="the task ID")]


@tasks_app.command("show")
def tasks_show(task_id: TaskArg, server: ServerOption = DEFAULT_URL,
               key: KeyOption = None) -> None:
    """A task as JSON (status, progress, cost, error, signed download links)."""
    with _client(server, key) as client:
        task = client.get_task(task_id)
    out.print(_json(task.data), highlight=False, markup=False, soft_wrap=True)


@tasks_app.command("cancel")
def tasks_cancel(task_id: TaskArg, server: ServerOption = DEFAULT_URL,
                 key: KeyOption = None) -> None:
    """Cancel a queued or running task; its credits are released."""
    with _client(server, key) as client:
        task = client.cancel(task_id)
    out.print(f"task {task.id} {task.status}; {task.cost} credits released", highlight=False)


@tasks_app.command("download")
def tasks_download(
    task_id: TaskArg,
    directory: Annotated[Path, typer.Option("-d", "--dir", help="where to write")] = Path("."),
    fmt: Annotated[list[str] | None, typer.Option(
        "--format", help="model format(s) to fetch [all the task has]")] = None,
    server: ServerOption = DEFAULT_URL, key: KeyOption = None,
) -> None:
    """Download a successful task's model (and the files it needs) into a folder."""
    with _client(server, key) as client:
        paths = client.download(task_id, directory, fmt or None)
    out.print("\n".join(str(p) for p in paths), highlight=False, soft_wrap=True)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2)
