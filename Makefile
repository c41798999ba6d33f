# make run: start the whole hall on http://127.0.0.1:8000   make test: lint and every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
# The UKey agent (联连客户端) the login page offers for download (HALL_UKEY_AGENT_DIST_DIR).
AGENT_WHEEL := build/agent/hall_ukey_agent-1.0.0-py3-none-any.whl

.PHONY: run test lint unit integration chaos bench deps agent clean

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(AGENT_WHEEL): $(wildcard ukey_agent/*.py) deploy/agent_wheel.py | $(PY_STAMP)
	$(PY) -m deploy.agent_wheel

agent: $(AGENT_WHEEL)

deps: $(PY_STAMP) $(NPM_STAMP) $(AGENT_WHEEL)

run: deps
	deploy/sysdeps.sh redis ukey print
	$(PY) -m deploy.run

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy hall_common services gateway deploy ukey_agent bench

# What `make integration` runs; .ci/run's PostgreSQL run takes the service-level suite only (the browser
# suite has already run in make test, and the pages it drives read the same services).
INTEGRATION_TESTS ?= tests/browser tests/integration

test: deps lint
	deploy/sysdeps.sh redis ukey print browser observe
	$(PY) -m pytest -q

unit: $(PY_STAMP)
	deploy/sysdeps.sh ukey print observe
	$(PY) -m pytest -q tests/unit

# The integration suite only, e.g. with HALL_TEST_POSTGRES set to run every service on PostgreSQL. The
# browser tests first, in the order `make test` runs them: they take the demo accounts through their
# first login.
integration: deps
	deploy/sysdeps.sh redis ukey print browser
	$(PY) -m pytest -q $(INTEGRATION_TESTS)

# The chaos run of 1,000 businesses (tests/integration/test_chaos.py; `make test` runs 80). SQLite by
# default; with HALL_TEST_POSTGRES set, every service on its own PostgreSQL database. docs/testing.md.
CHAOS_BUSINESSES ?= 1000
chaos: deps
	deploy/sysdeps.sh redis ukey print
	HALL_CHAOS_BUSINESSES=$(CHAOS_BUSINESSES) $(PY) -m pytest -q tests/integration/test_chaos.py

# Hot paths against the raw libraries in the same run, on a private stack (free ports, temporary var
# directory): prints the table and writes var/bench.json. A missed goal is reported, not a failure.
bench: deps
	deploy/sysdeps.sh redis ukey print bench
	$(PY) -m bench

clean:
	rm -rf var build/agent .pytest_cache .mypy_cache .ruff_cache
