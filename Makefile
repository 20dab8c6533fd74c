# The README's two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PORT ?= 8000
# Exported: the server and the worker build the links of e-mails from it (SITE_URL's default).
export PORT
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test check lint imports format typecheck migrations-check system-deps bench worker beat messages clean

$(VENV)/bin/uv:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(VENV)/.synced: pyproject.toml uv.lock | $(VENV)/bin/uv
	$(UV) sync --locked --inexact --python $(PY)
	@touch $@

install: $(VENV)/.synced

# Debian packages the tests and PDFs need (Chromium for the browser journeys, Pango for
# WeasyPrint, gettext for translations); installed only when missing.
system-deps:
	@bin/system-deps

run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv -v0 || true
	DEBUG=1 $(PY) manage.py load_strategy
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install system-deps
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv -v0
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The layers of docs/architecture.md (contracts in pyproject.toml).
imports: install
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	DEBUG=1 $(VENV)/bin/mypy .

migrations-check: install
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

check: lint imports typecheck migrations-check test

# Both loops (closed: back to back; open: steady rate) against a floor, on the demo then on a
# département-sized dataset, printed as Markdown with a ✅/❌ per target (bench/README.md).
# Needs PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/clspdr_bench)
# is dropped and recreated. BENCH_ARGS='--scale 0.1' builds a smaller département;
# '--closed-rounds 8 --burst 16 --rate 10 --seconds 1.6 --rounds 3' are the loops' defaults.
bench: install
	$(PY) -m bench.run $(BENCH_ARGS)

worker: install
	$(VENV)/bin/celery -A clspdr worker -l info

beat: install
	$(VENV)/bin/celery -A clspdr beat -l info

messages: install
	DEBUG=1 $(PY) manage.py makemessages -l en --ignore=.venv --ignore=var
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
