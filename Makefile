# guanjia — the two commands: `make run` (embedded demo) and `make test` (everything).
VENV   ?= .venv
PYTHON ?= python3
# Test processes (pytest-xdist): one a core; each has its own SQLite files and PostgreSQL database.
TEST_PROCESSES ?= auto
# The random order's seed (empty: a new one each run).
TEST_SEED ?=
PY      = $(VENV)/bin/python

.PHONY: setup run test lint bench services browser-deps

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

## Run the embedded default: SQLite, in-database broker, demo users and a sample case.
run: setup
	$(VENV)/bin/guanjia run

## Every test, on SQLite and PostgreSQL, with a real Celery worker on Redis and Chromium.
## In random order (pytest-randomly): the run ends with its seed; `make test TEST_SEED=N` replays it.
test: setup services browser-deps
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_PROCESSES) --dist loadgroup --durations=15 \
		-p randomly $(if $(TEST_SEED),--randomly-seed=$(TEST_SEED))

## ruff on the code and the tests, mypy (strict for server/, its migrations, and workers/).
lint: setup
	$(VENV)/bin/ruff check server workers tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict --follow-imports=silent server/migrations/env.py server/migrations/versions/*.py

bench: setup services
	$(PY) bench/http_load.py
	$(PY) bench/engine.py

services:
	bash scripts/ensure-services.sh

browser-deps:
	bash scripts/ensure-browser.sh
