# tongban — two commands on a fresh machine: `make demo` runs the platform, `make test` passes the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export TONGBAN_VAR_DIR ?= $(CURDIR)/var

.PHONY: demo test lint typecheck check assets messages clean venv

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) is needed (set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.base: $(BIN)/python requirements/base.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements/base.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.test: $(VENV)/.base requirements/test.txt
	$(BIN)/pip install --quiet -r requirements/test.txt
	touch $@

assets:
	scripts/build-assets

messages: $(VENV)/.base
	$(BIN)/python scripts/compile-messages

## demo: install, migrate, load sample data, start web + worker on http://$(HOST):$(PORT)
demo: $(VENV)/.base assets messages
	scripts/ensure-fonts || true
	TONGBAN_DEBUG=true $(BIN)/tongban migrate --no-input -v0
	TONGBAN_DEBUG=true $(BIN)/tongban demo_data
	TONGBAN_DEBUG=true $(BIN)/tongban collectstatic --no-input -v0
	TONGBAN_DEBUG=true HOST=$(HOST) PORT=$(PORT) scripts/run-demo

## test: install test tools, build assets, run the whole suite (DATABASE_URL selects PostgreSQL)
test: $(VENV)/.test assets messages
	scripts/ensure-chromium
	scripts/ensure-fonts
	TONGBAN_TESTING=true $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(VENV)/.test
	TONGBAN_TESTING=true $(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) build node_modules var .pytest_cache .mypy_cache .ruff_cache
