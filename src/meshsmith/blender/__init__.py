"""Blender (bpy) features: an FBX exporter that keeps quads, parts and textures, and
QuadriFlow quad remeshing.

bpy lives in its own environment (``.venv-blender``, made by ``make blender``): it pins
numpy 1.26 and must be the first native library its process loads, so it cannot share
Meshsmith's. Each call runs one job in a fresh Blender process (about a second to start);
see :mod:`meshsmith.blender._runner`. Importing this package starts nothing.
"""

from __future__ import annotations

from meshsmith.blender._runner import PYTHON_ENV, blender_python, run_job
from meshsmith.blender.fbx import write_fbx
from meshsmith.blender.remesh import quad_count, quad_remesh

__all__ = ["PYTHON_ENV", "blender_python", "quad_count", "quad_remesh", "run_job", "write_fbx"]
