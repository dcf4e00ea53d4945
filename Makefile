# kerasinit: `make demo` sets up and runs the main job; `make test` sets up and runs every check.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kerasinit-installed

.PHONY: setup demo test lint typecheck typing unit docs bench dist test-torch-matrix clean

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
	$(BIN)/python setup.py -q build_ext --inplace  # rebuild the C kernels if their sources changed
	$(BIN)/python -m pytest -q tests kerasinit --doctest-modules

test: lint typecheck unit

docs: setup
	$(BIN)/python scripts/gen_docs.py
	$(BIN)/python -m mkdocs build --strict

bench: setup
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_rng.py

# Wheel + sdist into dist/ (the sdist carries tests/, its tests run: docs/install.md).
dist: setup
	$(BIN)/python -m pip install -q build
	$(BIN)/python -m build --no-isolation --outdir dist .

# The core tests (no TensorFlow/JAX: those tests skip) on the oldest torch kerasinit declares and
# the newest installable here, each in its own venv (.venv-torch-X). Not part of `make test`:
# torch's Linux x86-64 wheels on PyPI are CUDA builds that pull several GB of CUDA libraries.
# Where PyTorch's CPU wheel index is reachable, CPU builds are much smaller:
#   make test-torch-matrix TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple"
TORCH_MATRIX ?= 2.5.1 2.14.1
TORCH_PIP_ARGS ?=
test-torch-matrix:
	set -e; for v in $(TORCH_MATRIX); do \
	  $(PY) -m venv .venv-torch-$$v; \
	  .venv-torch-$$v/bin/python -m pip install -q $(TORCH_PIP_ARGS) "torch==$$v"; \
	  .venv-torch-$$v/bin/python -m pip install -q "numpy<2.3" pytest hypothesis scipy h5py; \
	  .venv-torch-$$v/bin/python -m pip install -q --no-deps -e .; \
	  echo "== torch $$v"; \
	  .venv-torch-$$v/bin/python -c "import torch; print('torch', torch.__version__)"; \
	  .venv-torch-$$v/bin/python -m pytest -q tests -p no:cacheprovider; \
	done

clean:
	rm -rf $(VENV) .venv-torch-* build dist site *.egg-info .pytest_cache .mypy_cache .ruff_cache
