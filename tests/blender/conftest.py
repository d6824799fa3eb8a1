"""The Blender environment for these tests, and two independent readers of FBX files.

Without ``.venv-blender`` every test that needs it FAILS and says how to install it, unless
``MESHSMITH_SKIP_BLENDER=1`` turns that into a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meshsmith.errors import MissingDependencyError
from meshsmith.mesh import Mesh

READER = Path(__file__).with_name("fbx_reader.py")
SKIP_ENV = "MESHSMITH_SKIP_BLENDER"


@pytest.fixture(scope="session")
def blender() -> Path:
    """Blender's Python; fails (or skips with ``MESHSMITH_SKIP_BLENDER=1``) when absent."""
    from meshsmith.blender import blender_python

    try:
        return blender_python()
    except MissingDependencyError as exc:
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(f"Blender environment absent ({SKIP_ENV}=1): {exc.message}")
        pytest.fail(f"{exc.message}. Set {SKIP_ENV}=1 to skip these tests instead.")


def read_fbx(blender: Path, path: Path) -> dict[str, Any]:
    """What Blender's FBX importer finds in ``path`` (see fbx_reader.py)."""
    report = path.with_suffix(".report.json")
    proc = subprocess.run(
        [str(blender), "-I", str(READER), str(path), str(report)],
        capture_output=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    return json.loads(report.read_text(encoding="utf-8"))


def raw_fbx(blender: Path, path: Path) -> list[Any]:
    """The raw FBX node tree, parsed by ``fbx2json.py`` (a stand-alone pure-Python binary FBX
    parser shipped with Blender's add-on) under this interpreter, not Blender's importer."""
    root = blender.absolute().parent.parent  # the venv (not resolved: bin/python is a link)
    found = sorted(root.glob("lib/python3*/site-packages/bpy/*/scripts/addons_core/"
                             "io_scene_fbx/fbx2json.py"))
    assert found, f"fbx2json.py not found under {root}"
    subprocess.run([sys.executable, str(found[-1]), str(path)], check=True, capture_output=True,
                   timeout=120)
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def fbx_nodes(tree: list[Any], name: str) -> list[list[Any]]:
    """Every node called ``name`` anywhere in a fbx2json tree (``[name, data, types, kids]``)."""
    found = []
    for node in tree:
        if node[0] == name:
            found.append(node)
        found += fbx_nodes(node[3], name)
    return found


def fbx_property(tree: list[Any], name: str) -> Any:
    """The value of the first ``Properties70`` entry called ``name``."""
    for node in fbx_nodes(tree, "P"):
        if node[1][0] == name:
            return node[1][4]
    raise KeyError(name)


def cube(offset: tuple[float, float, float] = (0.0, 0.0, 0.0),
         size: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Mesh:
    """A box of 6 quads (12 triangles paired by ``polygon_ids``), counter-clockwise outward."""
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], np.float32)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))], np.int32)
    vertices = corners * np.float32(size) + np.float32(offset)
    pairs = np.repeat(np.arange(6), 2).astype(np.int32)
    return Mesh(vertices=vertices, faces=faces, polygon_ids=pairs)
