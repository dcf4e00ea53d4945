# kerasinit: `make demo` sets up and runs the main job; `make test` sets up and runs every check.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kerasinit-installed

.PHONY: setup demo test lint typecheck unit docs bench clean

# CPU torch first (a plain `torch` would pull several GB of CUDA wheels), then the extras.
# keras-hub goes in without its deps: its tensorflow-text requirement would add the full
# `tensorflow` wheel next to tensorflow-cpu; pyproject's `test` extra carries what it imports.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,parity,porting,test]'
	$(BIN)/python -m pip install -q --no-deps 'tf_keras==2.21.*'
	$(BIN)/python -m pip install -q --no-deps 'keras-hub==0.32.*'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python examples/demo.py
	$(BIN)/kerasinit parity --quick

lint: setup
	$(BIN)/ruff check kerasinit tests benchmarks scripts examples

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest -q tests kerasinit --doctest-modules

test: lint typecheck unit

docs: setup
	$(BIN)/python scripts/gen_docs.py
	$(BIN)/python -m mkdocs build --strict

bench: setup
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_rng.py

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .mypy_cache .ruff_cache
