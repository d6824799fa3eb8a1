# The README's commands. `make test` is what CI runs (see .ci/run).
PYTHON ?= python3

.PHONY: setup test lint typecheck unit unit-postgres bench bench-api validator tools blender

setup:
	$(PYTHON) -m pip install -e '.[dev]'
	@$(MAKE) tools blender

# Blender as a Python module (bpy 4.5 LTS) in its own venv, .venv-blender: it pins numpy 1.26
# and must be the first import of its process, so FBX export and quad remeshing run there.
blender:
	@PYTHON=$(PYTHON) scripts/setup_blender.sh

validator:
	@test -d tools/gltf-validator/node_modules || npm ci --prefix tools/gltf-validator --no-audit --no-fund

lint:
	$(PYTHON) -m ruff check src tests benchmarks scripts

typecheck:
	$(PYTHON) -m mypy

# Node tools under tools/: the glTF validator (tests), gltfpack (meshopt) and glTF Transform
# (Draco), installed from their lock files.
tools: validator
	@test -d tools/gltfpack/node_modules || npm ci --prefix tools/gltfpack --no-audit --no-fund
	@test -d tools/gltf-transform/node_modules || npm ci --prefix tools/gltf-transform --no-audit --no-fund

unit: tools blender
	$(PYTHON) -m pytest -n 2 -q

test: lint typecheck unit unit-postgres

# The API suites again, every server on a throwaway PostgreSQL database: the second
# configuration of the API tests (issue 7).
unit-postgres: tools blender
	MESHSMITH_TEST_DATABASE=postgresql $(PYTHON) -m pytest -n 2 -q tests/service/api

bench:
	$(PYTHON) benchmarks/bench_generate.py

bench-api:
	$(PYTHON) benchmarks/bench_api.py
