# Cryptex: one target per habit. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

.PHONY: install
install: $(PY) ## create .venv and install the workspace with its pinned dev tools
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'

.PHONY: constraints
constraints: ## re-pin constraints.txt from a fresh resolve of pyproject.toml
	rm -rf $(VENV)-pin && python3 -m venv $(VENV)-pin
	$(VENV)-pin/bin/pip install --quiet --upgrade pip
	$(VENV)-pin/bin/pip install --quiet -e '.[dev]'
	{ echo '# Pinned versions of every dependency, for reproducible installs: `make constraints`'; \
	  $(VENV)-pin/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf $(VENV)-pin

.PHONY: test
test: ## run every test tier (unit, integration, e2e)
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: test-slow
test-slow: ## run only the slow tests (crash soak with a hundred kills)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: ## run the pure unit tests only
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

.PHONY: lint
lint: ## ruff lint and format check, mypy --strict, import-linter contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

.PHONY: fmt
fmt: ## format and auto-fix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

.PHONY: bench
bench: ## run the benchmarks (each prints its figures and ends with one JSON line)
	$(PY) bench/engine_core.py
	$(PY) bench/engine_service.py

.PHONY: clean
clean: ## remove caches and build output (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
