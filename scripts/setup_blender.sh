#!/usr/bin/env bash
# Create Blender's own Python environment (bpy, the Blender-as-a-module wheel) for the FBX
# exporter and the quad remesher (src/meshsmith/blender/).
#
# bpy pins numpy==1.26.4 and only works when it is the first thing a process imports, so it
# cannot share the main environment (numpy 2, OpenCV 5, pymeshlab, coacd). Meshsmith talks
# to it through a subprocess instead.
#
# Idempotent: does nothing when the environment already holds the pinned bpy.
# Usage: scripts/setup_blender.sh [VENV_DIR]    (default: <repo>/.venv-blender)
# Env:   PYTHON (default python3; must be Python 3.11, bpy 4.5 ships cp311 wheels only)
set -euo pipefail

BPY_VERSION="4.5.15"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-$REPO/.venv-blender}"
PYTHON="${PYTHON:-python3}"

installed() {
    "$VENV/bin/python" -c \
        "import importlib.metadata as m, sys; sys.exit(m.version('bpy') != '$BPY_VERSION')" \
        2>/dev/null
}

if [ -x "$VENV/bin/python" ] && installed; then
    echo "bpy $BPY_VERSION already installed in $VENV"
    exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "bpy $BPY_VERSION needs Python 3.11; set PYTHON=python3.11" >&2
    exit 1
fi

start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "bpy==$BPY_VERSION"
"$VENV/bin/python" -c "import bpy; print('bpy', bpy.app.version_string, 'ready in $VENV')"
echo "installed in $(( $(date +%s) - start )) s"
