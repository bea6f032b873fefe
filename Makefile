# Formloom developer commands. Every target works on a fresh machine with Python 3.11, make and git.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUNTIME_STAMP := $(VENV)/.installed
# Where `make run` serves: `make run PORT=8080 HOST=0.0.0.0`.
PORT ?= 5000
HOST ?= 127.0.0.1
URL_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
export FORMLOOM_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test bench lint install clean-instance

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The runtime dependencies only (make run); the dev extra (tests, linters) for make test & co.
$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP) $(RUNTIME_STAMP)

install: $(STAMP)

run: $(RUNTIME_STAMP)
	$(BIN)/formloom init
	$(BIN)/formloom demo --url http://$(URL_HOST):$(PORT)
	$(BIN)/formloom serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check formloom tests benchmarks
	$(BIN)/lint-imports

clean-instance:
	rm -rf instance
