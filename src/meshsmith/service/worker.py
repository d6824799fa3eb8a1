"""The worker: runs one task, by ID, in whatever process the queue gives it.

A worker owns its resources (its own database engine and storage handle, built once per
process), claims the task with a lease, keeps the lease alive from a heartbeat thread while
the pipeline runs, and reports progress and the result through the :class:`Store`. Bad
input fails the task with its error code; nothing a task does can crash the worker.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import uuid
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from meshsmith.errors import MeshsmithError
from meshsmith.service.settings import Settings
from meshsmith.service.storage import Storage, make_storage, task_key
from meshsmith.service.store import Store

log = logging.getLogger("meshsmith.worker")


class TaskLost(Exception):
    """The task is no longer this worker's: cancelled, timed out, or its lease was taken."""


@dataclass(frozen=True)
class WorkerContext:
    store: Store
    storage: Storage
    settings: Settings


@cache
def _context(settings_json: str) -> WorkerContext:
    settings = Settings.model_validate_json(settings_json)
    return WorkerContext(store=Store(settings), storage=make_storage(settings),
                         settings=settings)


def new_worker_id() -> str:
    """A lease owner name: host, process and a random suffix (unique per claim)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_task(task_id: str, settings_json: str, worker_id: str | None = None) -> str:
    """Claim and run one task as ``worker_id`` (default: a new ID for this process); returns
    its outcome (``success``, ``failed``, ``lost`` or ``skipped`` when it was not
    claimable)."""
    ctx = _context(settings_json)
    worker_id = worker_id or new_worker_id()
    if ctx.store.claim(task_id, worker_id) is None:
        return "skipped"
    with Heartbeat(ctx.store, task_id, worker_id, ctx.settings.lease_s) as beat:
        return _run_claimed(ctx, task_id, worker_id, beat)


def _run_claimed(ctx: WorkerContext, task_id: str, worker_id: str, beat: Heartbeat) -> str:
    workdir = ctx.settings.work_dir / task_id
    try:
        outputs, stats = execute(ctx, task_id, workdir, beat)
        if ctx.store.succeed(task_id, worker_id, outputs, stats):
            return "success"
        ctx.storage.delete_prefix(task_key(task_id))
        return "lost"
    except TaskLost:
        return "lost"
    except MeshsmithError as exc:
        ctx.store.fail(task_id, worker_id, exc)
        return "failed"
    except Exception as exc:  # a bug, not bad input: fail the task, keep the worker
        log.exception("task %s failed with an unexpected error", task_id)
        ctx.store.fail(task_id, worker_id, MeshsmithError(
            f"internal error ({type(exc).__name__}); the task was not charged"))
        return "failed"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def execute(ctx: WorkerContext, task_id: str, workdir: Path, beat: Heartbeat
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the pipeline for a claimed task and store its files: (outputs, stats)."""
    from meshsmith.exporters import get_exporter
    from meshsmith.pipeline.generate import generate
    from meshsmith.spec import spec_from_options

    task = ctx.store.get_task(None, task_id)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    spec = spec_from_options(_materialize_views(ctx, task.views, workdir), task.options,
                             source_mesh=_materialize_source(ctx, task.options, workdir))
    spec = replace(spec, cover=True)  # every task gets a preview image
    out = workdir / "out" / f"model{get_exporter(spec.output_format).extension}"
    out.parent.mkdir()
    result = generate(spec, out, beat.report)
    beat.check()
    for path in result.files:
        ctx.storage.put_file(task_key(task_id, path.name), path)
    outputs = {"model": {k: p.name for k, p in result.models.items()},
               "textures": {k: p.name for k, p in result.textures.items()},
               "cover": result.cover.name if result.cover else None,
               "files": [p.name for p in result.files]}
    stats = {"faces": result.stats.faces, "vertices": result.stats.vertices,
             "watertight": result.stats.watertight, "textured": result.stats.textured,
             "uvs": result.stats.has_uvs, "polygons": result.stats.polygons,
             "parts": list(result.stats.parts),
             "size": {"height_m": result.stats.sizing.height_m,
                      "source": result.stats.sizing.source},
             "bounds": [list(corner) for corner in result.stats.bounds],
             "compression": {fmt: {"method": r.method, "original_bytes": r.original_bytes,
                                   "compressed_bytes": r.compressed_bytes}
                             for fmt, r in result.compression.items()},
             "timings_s": {k: round(v, 3) for k, v in result.timings.items()}}
    return outputs, stats


def _materialize_views(ctx: WorkerContext, views: dict[str, str], workdir: Path
                       ) -> dict[Any, Path]:
    uploads = ctx.store.uploads(list(views.values()))
    return {slot: ctx.storage.fetch_to(uploads[uid].storage_key, workdir / f"in_{slot}")
            for slot, uid in views.items()}


def _materialize_source(ctx: WorkerContext, options: dict[str, Any], workdir: Path
                        ) -> Path | None:
    """The mesh a texturing task paints (``options["source_model"]``, a storage key), or
    ``None`` for a task that reconstructs its own."""
    from meshsmith.errors import MeshInputError

    key = options.get("source_model")
    if key is None:
        return None
    try:
        return ctx.storage.fetch_to(key, workdir / f"source{Path(key).suffix}")
    except FileNotFoundError:
        raise MeshInputError("the model to texture is no longer stored (its task's files "
                             "passed their retention)") from None


class Heartbeat:
    """Renews the task's lease from a thread and writes progress at most once a second.

    The pipeline calls :meth:`report` with progress; it raises :class:`TaskLost` once the
    store says the task is no longer ours, which stops the pipeline at its next report.
    (A local pool worker whose server dies is ended by the pool's initializer, see
    :func:`meshsmith.service.queue._exit_with_parent`.)
    """

    def __init__(self, store: Store, task_id: str, worker_id: str, lease_s: float) -> None:
        self._store, self._task_id, self._worker_id = store, task_id, worker_id
        self._renew_every = lease_s / 3
        self._tick = min(1.0, self._renew_every)
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._lock = threading.Lock()
        self._latest: tuple[str, float] | None = None
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, stage: str, percent: float) -> None:
        """A pipeline progress callback."""
        with self._lock:
            self._latest = (stage, percent)
        self.check()

    def check(self) -> None:
        if self._lost.is_set():
            raise TaskLost(self._task_id)

    def _loop(self) -> None:
        since_renew = 0.0
        while not self._stop.wait(self._tick):
            since_renew += self._tick
            with self._lock:
                latest, self._latest = self._latest, None
            if latest is None and since_renew < self._renew_every:
                continue
            since_renew = 0.0
            stage, percent = latest if latest is not None else (None, None)
            try:
                mine = self._store.renew(self._task_id, self._worker_id, stage, percent)
            except Exception:  # the database blipped: keep going, the next tick retries
                log.warning("lease renewal of task %s failed", self._task_id, exc_info=True)
                continue
            if not mine:
                log.warning("task %s is no longer held by %s: cancelled, timed out or its "
                            "lease ran out; stopping", self._task_id, self._worker_id)
                self._lost.set()
