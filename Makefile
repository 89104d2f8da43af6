# The two commands a newcomer runs: `make demo` and `make test`. Both set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SERVICES := tests/services
DBT_DIR := dbt_project
CHECKOV_DIR := $(SERVICES)/checkov
PROVIDER_SCHEMAS_DIR := $(SERVICES)/provider_schemas
DASHBOARD_DIR := dashboard
ML_DIR := ml
# Use the machine's Python 3.11+; never download an interpreter.
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
# Installed packages come compiled to bytecode, so a process does not compile every module it imports
# (where PYTHONDONTWRITEBYTECODE is set, Python never keeps what it compiles: Dagster's definitions
# took 5 s to load instead of 2).
export UV_COMPILE_BYTECODE := 1
# Dagster keeps runs, sensor cursors and logs here (not in the repo's history).
export DAGSTER_HOME ?= $(CURDIR)/.dagster
# Where `make up` serves the Dagster UI.
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
# Where the dashboard is served (Dagster's gold and streaming assets link to it: PLAYGROUND_DASHBOARD_URL).
DASHBOARD_PORT ?= 8501
# The MLflow UI (the order value model's runs and versions), on the local tracking store (PLAYGROUND_MLFLOW).
MLFLOW_PORT ?= 5000
MLFLOW_STORE = $(abspath $(or $(PLAYGROUND_MLFLOW),data/mlflow))
# How make up and make dashboard start their services (dagster_project/up.py).
UP := $(BIN)/python -m dagster_project.up --host $(UI_HOST) --ui-port $(UI_PORT) --dashboard-port $(DASHBOARD_PORT) \
	--mlflow-port $(MLFLOW_PORT) --mlflow-store $(MLFLOW_STORE)

.PHONY: help setup setup-cloud cloud-packages setup-dev setup-dashboard system-deps prepare demo up dashboard test test-unit test-integration test-e2e lint bench clean

help:
	@echo "make demo   - set up, then materialize landing -> bronze -> silver -> gold into ./data (no server, no cloud)"
	@echo "make up     - stream events, trickle products and orders, and run the Dagster UI with sensors and the dashboard"
	@echo "make dashboard - the dashboard alone, on the data make demo left"
	@echo "make setup-cloud - what deploying and running the Azure solutions needs (README: Deploy to Azure)"
	@echo "make test   - set up everything the tests use, then run lint and every test"
	@echo "make test-unit - the fast lane: unit tests only (no process, no server), about a minute"
	@echo "make test-integration, make test-e2e - the other two lanes of make test"
	@echo "make bench  - benchmarks (figures in docs/BENCHMARKS.md)"
	@echo "make clean  - remove ./data, the virtualenv and tool caches"

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The embedded default: the locked runtime dependencies, and dbt (DuckDB) in its own environment.
setup: $(UV)
	@$(UV) sync --quiet --frozen --no-dev --inexact
	@$(UV) sync --quiet --frozen --project $(DBT_DIR) --inexact
	@$(UV) sync --quiet --frozen --project $(ML_DIR) --inexact
	@$(MAKE) --no-print-directory prepare

# What a cloud user needs beyond `make setup` (README: Deploy to Azure): every extra (Azure's clients and
# azure-mgmt-synapse, SQL Server's, Kafka's, PySpark, the bundled Terraform), dbt's Databricks, Spark and
# Synapse adapters, the ML environment's MLflow plugin for Azure Machine Learning, and Microsoft's ODBC Driver 18 for SQL Server that dbt-synapse connects through (with
# the ODBC driver manager it depends on; from Microsoft's repository: the one step beyond PyPI and Debian).
setup-cloud: cloud-packages
	@$(MAKE) --no-print-directory prepare
	dbt_project/install-odbc-driver.sh

cloud-packages: $(UV)
	$(UV) sync --quiet --frozen --all-extras --inexact --no-dev
	$(UV) sync --quiet --frozen --project $(DBT_DIR) --all-extras --inexact
	$(UV) sync --quiet --frozen --project $(ML_DIR) --all-extras --inexact

# Everything the tests use: every extra (dbt's Spark, Databricks and Synapse adapters, the bundled
# Terraform too), dev tools, checkov and the Terraform providers' schemas in environments of their own
# (the schemas' packages are only read, never imported: not compiled), system packages (Java, ODBC, PostgreSQL,
# Node, Chromium) and the Azurite emulator.
setup-dev: $(UV) system-deps cloud-packages
	$(UV) sync --quiet --frozen --all-extras
	$(UV) sync --quiet --frozen --project $(DBT_DIR) --all-extras
	$(UV) sync --quiet --frozen --project $(CHECKOV_DIR)
	UV_COMPILE_BYTECODE=0 $(UV) sync --quiet --frozen --project $(PROVIDER_SCHEMAS_DIR)
	$(UV) sync --quiet --frozen --project $(DASHBOARD_DIR)
	$(UV) sync --quiet --frozen --project $(ML_DIR) --all-extras
	npm ci --prefix $(SERVICES) --no-audit --no-fund --loglevel=error
	@$(MAKE) --no-print-directory prepare

# Dagster reads dbt's manifest (never parses the project at import): prepared here, and by every
# set-up, so a changed model is seen after `make setup`; with the settings the runs give dbt, so
# their dbt steps parse only what changed. Dagster's instance too: its settings, and its storage made
# before any run (two runs creating it at once corrupt it). The project's own modules compiled, as the
# packages are. The manifest and the instance are made again only when what they come from changed
# (7 s of each `make up` otherwise).
MANIFEST := $(DBT_DIR)/target/manifest.json
DBT_PROJECT := $(shell find $(DBT_DIR)/models $(DBT_DIR)/macros) $(DBT_DIR)/dbt_project.yml \
	$(DBT_DIR)/profiles.yml $(DBT_DIR)/uv.lock dagster_project/transform/dbt_cli.py

prepare: $(MANIFEST) $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/python -m compileall -q packages/generators/playground dagster_project >/dev/null
	@$(BIN)/python -c 'from dagster_project.environment import install; install()'  # README's commands: the instance

$(MANIFEST): $(DBT_PROJECT)
	@$(BIN)/python -m dagster_project.transform.dbt_cli parse

$(DAGSTER_HOME)/dagster.yaml: dagster_instance.yaml dagster_project/instance.py uv.lock
	@$(BIN)/python -m dagster_project.instance $(DAGSTER_HOME) >/dev/null

# The dashboard's own environment (Streamlit), from dashboard/pyproject.toml.
setup-dashboard: $(UV)
	@$(UV) sync --quiet --frozen --project $(DASHBOARD_DIR)

system-deps:
	$(SERVICES)/install-system-deps.sh

# The main job, headless: landing (the generators), bronze, silver, gold and streaming, then a summary.
demo: setup
	@$(BIN)/python -m dagster_project.demo

# Data keeps arriving and the sensors ingest it: open http://$(UI_HOST):$(UI_PORT). The terminal says where
# everything is and a line a minute of what the runs did; every service logs to .dagster/logs/up-<time>/.
# One Ctrl-C stops them all, Dagster first, a line each (dagster_project/up.py).
up: setup setup-dashboard
	@$(UP)

# Two workers (tests/conftest.py groups the tests): much of the suite waits on processes it started.
test: setup-dev lint
	$(BIN)/pytest -n 2 --dist loadgroup

# The lanes `make test` runs together. The fast one: unit tests (no process, no server: tests/conftest.py
# refuses either), a fifth of each property test's examples.
test-unit: setup-dev
	PLAYGROUND_TEST_LANE=unit $(BIN)/pytest -m unit

test-integration: setup-dev
	$(BIN)/pytest -m integration

test-e2e: setup-dev
	$(BIN)/pytest -m e2e

# SQLFluff lints the models as dbt renders them (dbt_project/.sqlfluff), each incremental model in both its
# shapes: the full build and the incremental one. Offline: the warehouse it names is a throwaway file.
lint: $(UV)
	$(BIN)/ruff check .
	$(BIN)/mypy
	@scratch=$$(mktemp -d) && trap 'rm -rf $$scratch' EXIT && cd $(DBT_DIR) && \
	for shape in .sqlfluff .sqlfluff-incremental; do \
		echo "sqlfluff lint models --config $$shape"; \
		PLAYGROUND_WAREHOUSE=$$scratch/lint.duckdb .venv/bin/sqlfluff lint models --config $$shape \
			--disable-progress-bar --nocolor --quiet || exit 1; \
	done

# What the platform made, in the browser: gold and the streaming outputs (run `make demo` first).
dashboard: setup setup-dashboard
	@$(UP) --dashboard-only

bench: setup-dev
	$(BIN)/python -m bench

clean:
	rm -rf data .dagster $(VENV) $(TOOLS) $(SERVICES)/node_modules .pytest_cache \
		$(DBT_DIR)/.venv $(DBT_DIR)/target $(DBT_DIR)/logs $(ML_DIR)/.venv $(CHECKOV_DIR)/.venv $(PROVIDER_SCHEMAS_DIR)/.venv $(DASHBOARD_DIR)/.venv
