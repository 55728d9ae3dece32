# Forecourt. `make demo` runs the product, `make test` runs every check. Both install what they
# need on a machine with only Python 3.11+ and make: uv (pinned) into .tools/, then the locked
# dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo serve migrate test test-sqlite test-postgres lint format typecheck bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced

demo: install
	$(BIN)/forecourt demo

serve: install
	$(BIN)/forecourt serve

migrate: install
	$(BIN)/forecourt migrate

test: lint typecheck test-sqlite test-postgres

test-sqlite: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db sqlite

test-postgres: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db postgres

lint: install
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/ruff check src tests bench migrations

format: install
	$(BIN)/ruff format src tests bench migrations
	$(BIN)/ruff check --fix src tests bench migrations

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .mypy_cache .ruff_cache
