# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint schema bench-ingest clean

# Development and tests: Beacon's settings default to production (no fallbacks); DEBUG=true
# turns on the embedded defaults (SQLite and a filesystem broker under var/).
run test lint schema: export DEBUG ?= true

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## Set up (venv, migrations, demo app, periodic tasks) and start web + worker + beat.
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py beacon_setup --demo
	$(VENV)/bin/honcho start -f Procfile

## Set up and run the whole test suite (SQLite by default; DATABASE_URL for PostgreSQL).
test: $(STAMP)
	scripts/test-tools.sh
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

## Regenerate the committed OpenAPI reference (docs/openapi.yaml).
schema: $(STAMP)
	$(PY) manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn

bench-ingest: $(STAMP)
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) var
