"""Independent readers, one per registered format, for the registry's round-trip test.

Each reader re-opens a written file with a library other than Meshsmith's writer and
returns a :class:`Summary` in Meshsmith's frame (glTF axes, model units), so one test can
compare every format with the mesh that was exported. A format registered in
:data:`meshsmith.exporters.EXPORTERS` without a reader here fails the registry test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from .usd_reader import read_usd_summary


@dataclass(frozen=True)
class Summary:
    """faces: triangle count (a quad counts as two); bounds: (2, 3) min/max corners;
    texture_size: (width, height) of the base colour image, or None."""

    faces: int
    bounds: np.ndarray
    has_uvs: bool
    texture_size: tuple[int, int] | None


def _trimesh_summary(path: Path) -> Summary:
    loaded = trimesh.load(path, force="mesh", process=False)
    visual = loaded.visual
    textured = visual.kind == "texture" and getattr(visual, "uv", None) is not None
    size = _texture_size(visual.material) if textured else None
    if textured:
        assert len(visual.uv) == len(loaded.vertices)
    return Summary(len(loaded.faces), np.asarray(loaded.bounds), textured, size)


def _texture_size(material: Any) -> tuple[int, int] | None:
    image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
    return None if image is None else tuple(image.size)  # type: ignore[return-value]


def _threemf_summary(path: Path) -> Summary:
    """trimesh's 3MF reader (lxml); millimetres with +Z up mapped back to glTF metres."""
    loaded = trimesh.load(path, force="mesh", process=False)
    v = np.asarray(loaded.vertices, dtype=np.float64) / 1000.0
    v = np.column_stack([v[:, 0], v[:, 2], -v[:, 1]])
    return Summary(len(loaded.faces), np.stack([v.min(axis=0), v.max(axis=0)]), False, None)


def _usd_summary(path: Path) -> Summary:
    """usd-core's own stage API (see :mod:`tests.exporters.usd_reader`)."""
    s = read_usd_summary(path)
    return Summary(s["faces"], np.asarray(s["bounds"]), s["has_uvs"], s["texture_size"])


def _fbx_summary(path: Path) -> Summary:
    """Blender's own FBX importer in its separate environment (tests/blender/fbx_reader.py);
    Blender's Z-up world mapped back to glTF's Y-up."""
    from tests.blender.conftest import read_fbx

    from meshsmith.blender import blender_python

    found = read_fbx(blender_python(), path)
    objects = found["objects"]
    faces = sum(size - 2 for obj in objects for size in obj["polygon_sizes"])
    lo = np.min([obj["bounds"][0] for obj in objects], axis=0)
    hi = np.max([obj["bounds"][1] for obj in objects], axis=0)
    bounds = np.array([[lo[0], lo[2], -hi[1]], [hi[0], hi[2], -lo[1]]])
    has_uvs = all(obj["uv_layers"] for obj in objects)
    sizes = {image["name"]: tuple(image["size"]) for image in found["images"]}
    base = [m["images"].get("Base Color") for m in found["materials"]]
    size = next((sizes[name] for name in base if name in sizes), None)
    return Summary(faces, bounds, has_uvs, size)


#: glTF Transform's meshopt/Draco decoder (node); trimesh cannot read meshopt GLBs.
DECODER = Path(__file__).resolve().parents[2] / "tools" / "gltf-transform" / "decode.mjs"


def decode_with_gltf_transform(path: Path) -> dict[str, Any]:
    """tools/gltf-transform/decode.mjs's report: one entry per primitive, world positions."""
    node = shutil.which("node")
    assert node is not None, "Node.js is needed: install it, then run `make tools`"
    result = subprocess.run(
        [node, str(DECODER), str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


READERS: dict[str, Callable[[Path], Summary]] = {
    "glb": _trimesh_summary,
    "gltf": _trimesh_summary,
    "obj": _trimesh_summary,
    "stl": _trimesh_summary,
    "ply": _trimesh_summary,
    "3mf": _threemf_summary,
    "usd": _usd_summary,
    "usda": _usd_summary,
    "usdz": _usd_summary,
    "fbx": _fbx_summary,
}
