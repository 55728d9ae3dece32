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

.PHONY: install browser demo serve migrate test test-sqlite test-postgres lint format typecheck bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced

# The console tests drive Debian's Chromium (Playwright never downloads a browser of its own), with a
# Chinese font so that screenshots show the zh-CN pages.
CHROMIUM ?= /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
browser:
	@{ test -x $(CHROMIUM) && test -f $(CJK_FONT); } || { \
		echo "installing Debian's chromium and a Chinese font for the console tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends chromium fonts-wqy-zenhei >/dev/null; }

demo: install
	$(BIN)/forecourt demo

serve: install
	$(BIN)/forecourt serve

migrate: install
	$(BIN)/forecourt migrate

test: lint typecheck test-sqlite test-postgres

test-sqlite: install browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db sqlite

test-postgres: install browser
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
