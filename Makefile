# Genomlysning Barn och unga — run `make help` for the targets.
# Everything runs inside .venv, created by the `venv` target from the exact versions in
# requirements.lock (and kept in step with it and pyproject.toml); `make lock` updates the lock.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha256sum | cut -c1-12)
# `make lock UPGRADE=` adds a new dependency without moving the others to their newest versions.
UPGRADE ?= --upgrade
YEAR ?= 2020
# Optional last day of data (ISO date) after the report year, e.g. CUTOFF=2021-03-31 for the 2021 report's March sample.
CUTOFF ?=
CUTOFF_ARG := $(if $(CUTOFF),--data-cutoff $(CUTOFF),)
export PYDEVD_DISABLE_FILE_VALIDATION=1

.PHONY: help venv lock data report report-builtin test lint format bench bench-scale browser clean clean-all

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "Targets (YEAR=$(YEAR)):\n"} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create .venv and install the exact versions of requirements.lock, the project and its dev tools

lock: ## Update requirements.lock to the newest versions pyproject.toml allows (UPGRADE= keeps the others), and environment.yml with it
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet $(UPGRADE) --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file $(LOCK) pyproject.toml
	PYTHONPATH=src $(BIN)/python -c 'from helpers.provenance import sync_environment; sync_environment()'
	@echo "requirements.lock och environment.yml uppdaterade; kör make test innan de checkas in."

data: venv ## Write the synthetic demo extracts (if data/raw has none) and ingest them
	$(BIN)/genomlysning data

report: venv ## Build the report for YEAR (default 2020) [CUTOFF=ÅÅÅÅ-MM-DD]: data → chapters → audit → HTML + PDF in _book/
	$(BIN)/genomlysning render --year $(YEAR) $(CUTOFF_ARG)

report-builtin: venv ## Like report, but always with the built-in renderer (pandoc + typst), even if Quarto is installed
	$(BIN)/genomlysning render --year $(YEAR) $(CUTOFF_ARG) --renderer builtin

test: venv ## Run all tests: lint, unit tests, bad-input cases, chapters (nbval), reproduction, render
	$(BIN)/ruff check src tests notebooks
	$(BIN)/python -m pytest

lint: venv ## Lint code and notebooks with ruff
	$(BIN)/ruff check src tests notebooks
	$(BIN)/ruff format --check src tests || true

format: venv ## Format code and strip notebook outputs
	$(BIN)/ruff format src tests
	$(BIN)/nbstripout notebooks/*.ipynb

bench: venv ## Print cold and warm render times
	$(BIN)/genomlysning bench --year $(YEAR)

bench-scale: venv ## Ingest and render time and peak memory at 1×, 10× and 100× the demo volume (generated in a temp dir; 100×: one year)
	$(BIN)/python -m helpers.bench_scale

browser: ## Install headless Chromium and poppler-utils for the HTML and PDF tests (Debian, needs root)
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq chromium poppler-utils >/dev/null)

clean: ## Remove build outputs (_build, _book); keeps _publish and data
	rm -rf _build _book

clean-all: clean ## Remove build outputs, processed data, demo extracts and .venv
	rm -rf data/processed/* $(VENV)
	find data/raw -name '*.xlsx' -delete
