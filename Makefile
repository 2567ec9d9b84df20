PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/invoiceflow demo

# The browser tests drive Debian's chromium: machines reach package registries only, so
# Playwright never downloads a browser of its own. Installing it takes root and apt; without
# them (and without chromium) those tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 && exit 0; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "chromium is missing and this user cannot apt-get install it: the browser tests will skip"; \
	  exit 0; \
	fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-cache show chromium >/dev/null 2>&1 || apt-get update -qq; \
	apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# The suites run on SQLite, then the ones that touch the store again on PostgreSQL (see
# tests/conftest.py); tests that start PostgreSQL servers of their own run in the first pass.
POSTGRES_SUITES := tests/store tests/queues tests/engine tests/functions tests/pipeline tests/api

test: $(STAMP) browser lint
	$(BIN)/pytest
	INVOICEFLOW_TEST_DATABASE=postgres $(BIN)/pytest $(POSTGRES_SUITES)

lint: $(STAMP)
	$(BIN)/ruff check invoiceflow tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/queues.py
	$(BIN)/python bench/digitize.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/fairness.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
