# Developer entry points; the targets that run code first bootstrap .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test test-fast lint bench clean distclean

up: $(VENV)/.installed
	$(BIN)/casework dev

# Everything, as CI runs it. pytest exit code 5 (no tests collected) is deliberately not
# masked: it fails the target.
test: $(VENV)/.installed
	$(BIN)/pytest -q

# The loop while changing code (under a minute on 2 cores): pure rules and unit tests,
# workflows on the time-skipping server, committed histories replayed. Selected by folder,
# so a new test lands in the fast set by where it lives.
test-fast: $(VENV)/.installed
	$(BIN)/pytest -q tests/unit tests/workflows tests/replay

# mypy: strict on workflows/ and activities/ (pyproject.toml's [tool.mypy]).
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python -m bench.run_all

# The stamp makes a pyproject.toml change reinstall, and nothing else.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,test]'  # dev: what `casework dev` starts
	touch $@

# Keeps .venv and the local dev data (.casework/); distclean removes those too.
clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .casework
