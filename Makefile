# Two commands do everything on a fresh clone:
#   make train   create .venv, install, train the paper's CNN on the built-in simulated ramp
#   make test    create .venv if needed, run the test suite
# GPU users: `make TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" train`
# (or any torch >= 2.2 you like); the default pin takes the CPU build already on the dev machines.
PYTHON ?= python3.11
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= configs/cnn.yaml

.PHONY: train test test-slow lint env

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check $(TORCH)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

train: env
	$(BIN)/python train.py fit --config $(CONFIG)

test: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

test-slow: env
	$(BIN)/python -m pytest -q -m slow

# Sweeps on a real PostgreSQL server (docs/sweeps.md); needs `apt-get install -y postgresql`, else skips.
.PHONY: test-postgres
test-postgres: env
	$(BIN)/python -m pytest -q -rs -m postgres tests/test_postgres.py

lint: env
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
