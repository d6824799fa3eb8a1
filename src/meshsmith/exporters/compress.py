"""Compressed GLB output: meshopt (``EXT_meshopt_compression``) or Draco
(``KHR_draco_mesh_compression``), made by Node.js tools from the repository's ``tools/``.

* ``meshopt`` runs gltfpack (npm ``gltfpack``, WebAssembly) with
  ``-cc -kn -km -ce ext -vtf -vc 12``: meshopt-compressed buffers, node names kept (one named
  node per part, each holding its mesh through an unnamed child node; gltfpack drops mesh
  names), material names kept. gltfpack quantizes: positions to 14-bit integers
  (``KHR_mesh_quantization``, required; the dequantizing scale and offset sit on that child
  node), normals to 8 bits and vertex colours to 12 bits (linear colour would band at 8).
  Texture coordinates stay float (``-vtf``): quantized ones need ``KHR_texture_transform``,
  which a loader may ignore without notice, and save under 1 % of the file.
* ``draco`` runs glTF Transform (npm ``@gltf-transform/cli``) ``draco``: edgebreaker coding,
  positions quantized to 14 bits, normals 10, texture coordinates 12, colours 12. Node, mesh
  and material names stay. trimesh reads these files (through DracoPy); it cannot read meshopt.

Both keep the texture images byte for byte (no KTX2 or WebP conversion). GLB only: a .gltf
input or output is refused. The output is written beside ``target`` under a temporary name
and renamed into place, so a failed run leaves no partial file.

Tools are looked up in ``<tools>/<name>/node_modules/.bin/<name>``, where ``<tools>`` is the
``MESHSMITH_TOOLS_DIR`` environment variable or the repository's ``tools/`` folder; install
them with ``make tools``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from meshsmith.errors import CompressionError

__all__ = ["METHODS", "CompressionReport", "Method", "compress_glb", "tool_path", "tools_dir"]

Method = Literal["meshopt", "draco"]
#: The Node.js tool (its folder under ``tools/`` and its command name) per method.
METHODS: dict[str, str] = {"meshopt": "gltfpack", "draco": "gltf-transform"}
TOOLS_ENV = "MESHSMITH_TOOLS_DIR"
GLB_MAGIC = b"glTF"
#: Default limit for one tool run; a 2M-face GLB takes a few seconds.
TIMEOUT_S = 300.0
STDERR_TAIL = 2000

GLTFPACK_ARGS = ("-cc", "-kn", "-km", "-ce", "ext", "-vtf", "-vc", "12")
DRACO_ARGS = ("--quantize-color", "12")


@dataclass(frozen=True)
class CompressionReport:
    """What one compression did: byte sizes of the input and output GLB, wall seconds."""

    method: Method
    original_bytes: int
    compressed_bytes: int
    seconds: float

    @property
    def ratio(self) -> float:
        """How many times smaller the output is (``original / compressed``, > 1 is smaller)."""
        return self.original_bytes / self.compressed_bytes


def tools_dir() -> Path:
    """The folder holding one sub-folder per Node.js tool: ``$MESHSMITH_TOOLS_DIR`` when set,
    else the repository's ``tools/``."""
    override = os.environ.get(TOOLS_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "tools"


def tool_path(name: str) -> Path:
    """The installed command ``name`` (``<tools>/<name>/node_modules/.bin/<name>``).

    Raises :class:`CompressionError` with the command that installs it when it is missing.
    """
    path = tools_dir() / name / "node_modules" / ".bin" / name
    if not path.exists():
        raise CompressionError(
            f"the compressor {name} is not installed (no {path}): {_install_hint(name)}"
        )
    return path


def compress_glb(
    source: Path, target: Path, method: Method, *, timeout_s: float = TIMEOUT_S
) -> CompressionReport:
    """Write a compressed copy of the GLB ``source`` to ``target`` (may be ``source``).

    ``method`` is ``"meshopt"`` (gltfpack) or ``"draco"`` (glTF Transform). Raises
    :class:`CompressionError` for an unknown method, a non-GLB input or output name, a missing
    Node.js or tool, a tool that fails or runs past ``timeout_s`` seconds.
    """
    tool = METHODS.get(method)
    if tool is None:
        raise CompressionError(
            f"unknown compression method {method!r}; use one of {', '.join(METHODS)}"
        )
    original_bytes = _check_glb(source, target)
    runner = [_node(tool), str(tool_path(tool).resolve())]
    start = time.perf_counter()
    try:
        with _scratch_glb(target) as scratch:
            _run(tool, [*runner, *_arguments(method, source, scratch)], timeout_s)
            compressed_bytes = _move_output(tool, scratch, target)
    except OSError as exc:
        raise CompressionError(f"could not write the compressed GLB {target}: {exc}") from exc
    return CompressionReport(method, original_bytes, compressed_bytes, time.perf_counter() - start)


def decompress_glb(source: Path, target: Path, *, timeout_s: float = TIMEOUT_S) -> None:
    """Write an uncompressed copy of the (meshopt- or Draco-compressed) GLB ``source`` to
    ``target``, with glTF Transform (``tools/gltf-transform/decompress.mjs``). Raises
    :class:`CompressionError` when Node.js or the tool is missing or the file is bad."""
    tool_path("gltf-transform")  # installed (raises with the install command otherwise)
    script = tools_dir() / "gltf-transform" / "decompress.mjs"
    _check_glb(source, target)
    with _scratch_glb(target) as scratch:
        _run("gltf-transform", [_node("gltf-transform"), str(script.resolve()), str(source),
                                str(scratch)], timeout_s)
        _move_output("gltf-transform", scratch, target)


def is_compressed_glb(path: Path) -> bool:
    """Whether the GLB at ``path`` requires meshopt or Draco decoding (reads its JSON)."""
    import json
    import struct

    with path.open("rb") as handle:
        header = handle.read(20)
        if len(header) < 20 or header[:4] != GLB_MAGIC:
            return False
        length = struct.unpack("<I", header[12:16])[0]
        document = json.loads(handle.read(length))
    required = set(document.get("extensionsRequired", []))
    return bool(required & {"EXT_meshopt_compression", "KHR_draco_mesh_compression"})


def _install_hint(name: str) -> str:
    default = Path(__file__).resolve().parents[3] / "tools"
    if tools_dir() == default:
        return f"run `make tools` (or `npm ci --prefix tools/{name}`) in the repository root"
    return f"run `npm ci --prefix {tools_dir() / name}` (${TOOLS_ENV} is set)"


def _node(tool: str) -> str:
    node = shutil.which("node")
    if node is None:
        raise CompressionError(
            f"Node.js (`node` on PATH) is needed to run {tool}: install "
            f"Node.js >= 18, then {_install_hint(tool)}"
        )
    return node


def _check_glb(source: Path, target: Path) -> int:
    """Refuse non-GLB names and inputs; returns the input's size in bytes."""
    if target.suffix.lower() != ".glb":
        raise CompressionError(f"compressed output must be a .glb file, not {target.name!r}")
    try:
        with source.open("rb") as handle:
            magic = handle.read(4)
        size = source.stat().st_size
    except OSError as exc:
        raise CompressionError(f"cannot read the GLB to compress {source}: {exc}") from exc
    if magic != GLB_MAGIC:
        raise CompressionError(f"{source} is not a GLB file (only .glb can be compressed)")
    return size


def _arguments(method: str, source: Path, output: Path) -> list[str]:
    if method == "meshopt":
        return ["-i", str(source), "-o", str(output), *GLTFPACK_ARGS]
    return ["draco", str(source), str(output), *DRACO_ARGS]


@contextmanager
def _scratch_glb(target: Path) -> Iterator[Path]:
    """A temporary ``.glb`` path beside ``target``, removed on exit if it still exists."""
    handle, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".glb", dir=target.parent)
    os.close(handle)
    scratch = Path(name)
    try:
        yield scratch
    finally:
        scratch.unlink(missing_ok=True)


def _move_output(tool: str, scratch: Path, target: Path) -> int:
    """Check the tool wrote a GLB at ``scratch``, rename it to ``target``; returns its size."""
    with scratch.open("rb") as out:
        if out.read(4) != GLB_MAGIC:
            raise CompressionError(f"{tool} exited cleanly but wrote no GLB")
    size = scratch.stat().st_size
    os.replace(scratch, target)
    return size


def _run(tool: str, command: list[str], timeout_s: float) -> None:
    """Run ``command``; a non-zero exit, a timeout or a failed start -> CompressionError."""
    try:
        result = subprocess.run(
            command,
            check=False,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        raise CompressionError(f"{tool} ran past {timeout_s:g} s and was stopped") from exc
    except OSError as exc:  # the command could not be started at all
        raise CompressionError(f"could not start {tool}: {exc}") from exc
    if result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip())[-STDERR_TAIL:]
        raise CompressionError(f"{tool} failed (exit {result.returncode}): {output}")
