"""Test helper: run the Khronos glTF validator (tools/gltf-validator) on a file.

Needs Node.js and the validator's npm package. When they are missing the calling test FAILS
(never skips) with the command to run: ``npm ci --prefix tools/gltf-validator``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

TOOL_DIR = Path(__file__).resolve().parents[2] / "tools" / "gltf-validator"
SCRIPT = TOOL_DIR / "validate.mjs"
INSTALL_HINT = "run `npm ci --prefix tools/gltf-validator` (from the repository root)"


def validate(path: Path) -> dict[str, Any]:
    """The validator's JSON report for ``path`` (a .glb or .gltf file).

    Returns the report even when it lists errors; check ``report["issues"]["numErrors"]``.
    """
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"Node.js is needed for the glTF validator: install it, then {INSTALL_HINT}")
    if not (TOOL_DIR / "node_modules" / "gltf-validator").is_dir():
        pytest.fail(f"the glTF validator is not installed: {INSTALL_HINT}")
    result = subprocess.run(
        [node, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode not in (0, 1):
        pytest.fail(f"the glTF validator could not run on {path}: {result.stderr.strip()}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def issue_summary(report: dict[str, Any]) -> list[str]:
    """One ``SEVERITY CODE pointer: message`` line per reported issue, for assertion messages."""
    severities = {0: "ERROR", 1: "WARNING", 2: "INFO", 3: "HINT"}
    return [
        f"{severities.get(m['severity'], m['severity'])} {m['code']} "
        f"{m.get('pointer', '')}: {m['message']}"
        for m in report["issues"]["messages"]
    ]
