# The README's commands. `make test` is what CI runs (see .ci/run).
PYTHON ?= python3

.PHONY: setup test lint typecheck unit bench bench-api validator

setup:
	$(PYTHON) -m pip install -e '.[dev]'

validator:
	@test -d tools/gltf-validator/node_modules || npm ci --prefix tools/gltf-validator --no-audit --no-fund

lint:
	$(PYTHON) -m ruff check src tests benchmarks scripts

typecheck:
	$(PYTHON) -m mypy

unit: validator
	$(PYTHON) -m pytest -n 2 -q

test: lint typecheck unit

bench:
	$(PYTHON) benchmarks/bench_generate.py

bench-api:
	$(PYTHON) benchmarks/bench_api.py
