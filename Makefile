# The two commands a newcomer runs: `make demo` and `make test`. Both set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SERVICES := tests/services
# Use the machine's Python 3.11+; never download an interpreter.
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: help setup setup-dev system-deps demo test lint bench clean

help:
	@echo "make demo   - set up, then generate the small data set into ./data (no server, no cloud)"
	@echo "make test   - set up everything the tests use, then run lint and every test"
	@echo "make bench  - benchmarks (figures in docs/BENCHMARKS.md)"
	@echo "make clean  - remove ./data, the virtualenv and tool caches"

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The embedded default: the locked runtime dependencies only.
setup: $(UV)
	$(UV) sync --frozen --no-dev --inexact

# Everything the tests use: every extra, dev tools, system packages and the Azurite emulator.
setup-dev: $(UV) system-deps
	$(UV) sync --frozen --all-extras
	npm ci --prefix $(SERVICES) --no-audit --no-fund --loglevel=error

system-deps:
	$(SERVICES)/install-system-deps.sh

demo: setup
	$(BIN)/playground generate all --scale small

test: setup-dev lint
	$(BIN)/pytest

lint: $(UV)
	$(BIN)/ruff check .

bench: setup-dev
	$(BIN)/python -m bench

clean:
	rm -rf data $(VENV) $(TOOLS) $(SERVICES)/node_modules .pytest_cache
