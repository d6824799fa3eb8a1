"""Run one job of ``_worker.py`` in a fresh process of Blender's own Python.

Arrays travel as ``np.savez`` archives over the pipes (no temporary files); the worker's
reply starts with a marker so that anything Blender prints cannot be mistaken for it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from meshsmith.errors import MeshsmithError, MissingDependencyError

#: Overrides where Blender's Python lives (a venv's ``bin/python`` with ``bpy`` installed).
PYTHON_ENV = "MESHSMITH_BLENDER_PYTHON"
REPO = Path(__file__).resolve().parents[3]
DEFAULT_PYTHON = REPO / ".venv-blender" / "bin" / "python"
SETUP_HINT = "run `make blender` (scripts/setup_blender.sh) to create .venv-blender with bpy"
WORKER = Path(__file__).with_name("_worker.py")
MAGIC = b"MESHSMITH-BLENDER-RESULT\n"  # the same bytes as _worker.MAGIC
STDERR_TAIL = 2000  # characters of the worker's stderr quoted in an error

Arrays = dict[str, NDArray[Any]]


def blender_python() -> Path:
    """The interpreter that runs Blender jobs: ``$MESHSMITH_BLENDER_PYTHON`` or
    ``<repo>/.venv-blender/bin/python``; raises :class:`MissingDependencyError` if absent."""
    configured = os.environ.get(PYTHON_ENV)
    python = Path(configured) if configured else DEFAULT_PYTHON
    if not python.is_file():
        source = f"${PYTHON_ENV}" if configured else "the default location"
        raise MissingDependencyError(
            f"Blender's Python (bpy) was not found at {python} ({source}); {SETUP_HINT}, "
            f"or set {PYTHON_ENV} to a Python 3.11 that has bpy 4.5 installed"
        )
    return python


def run_job(
    job: str,
    inputs: Callable[[], tuple[Mapping[str, NDArray[Any]], Mapping[str, Any]]],
    *,
    error: type[MeshsmithError],
    timeout: float,
) -> tuple[Arrays, dict[str, Any]]:
    """Run ``job`` in a new Blender process; returns its result arrays and JSON result.

    ``inputs()`` builds the job's arrays and JSON parameters. It runs while Blender starts
    (about a second: the interpreter, ``import bpy``, an empty scene), so that preparing
    the data costs no extra wall time. Raises ``error`` (quoting Blender's stderr) when the
    process fails, runs past ``timeout`` seconds, or reports a failure of its own.
    """
    command = [str(blender_python()), "-I", str(WORKER), job]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe) as proc:
        try:
            stdout, stderr = proc.communicate(_archive(*inputs()), timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
            raise error(f"Blender {job} job timed out after {timeout:g} s{_tail(stderr)}") from None
        except BaseException:
            proc.kill()
            raise
    if proc.returncode != 0 and b"No module named 'bpy'" in stderr:
        raise MissingDependencyError(f"{command[0]} has no bpy; {SETUP_HINT}")
    if proc.returncode != 0:
        raise error(f"Blender {job} job failed (exit {proc.returncode}){_tail(stderr)}")
    return _parse_reply(job, stdout, stderr, error)


def _archive(arrays: Mapping[str, NDArray[Any]], params: Mapping[str, Any]) -> bytes:
    """``np.savez`` bytes of ``arrays`` plus ``params`` as UTF-8 JSON in a uint8 array."""
    payload = io.BytesIO()
    encoded = np.frombuffer(json.dumps(dict(params)).encode("utf-8"), dtype=np.uint8)
    contents: dict[str, Any] = {**arrays, "params": encoded}
    np.savez(payload, **contents)
    return payload.getvalue()


def _parse_reply(
    job: str, stdout: bytes, stderr: bytes, error: type[MeshsmithError]
) -> tuple[Arrays, dict[str, Any]]:
    """Split the worker's reply into arrays and its JSON result; raise on a reported error."""
    start = stdout.find(MAGIC)
    if start < 0:
        raise error(f"Blender {job} job sent no result{_tail(stderr)}")
    with np.load(io.BytesIO(stdout[start + len(MAGIC) :]), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    result: dict[str, Any] = json.loads(arrays.pop("result").tobytes().decode("utf-8"))
    if "error" in result:
        raise error(result["error"]["message"] + _tail(stderr, 400))
    return arrays, result


def _tail(stderr: bytes | str | None, limit: int = STDERR_TAIL) -> str:
    """``": <last lines of stderr>"``, or nothing when it is empty."""
    if not stderr:
        return ""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    text = text.strip()
    return f"; Blender said: ...{text[-limit:]}" if len(text) > limit else f"; Blender said: {text}"
