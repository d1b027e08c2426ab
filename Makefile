# The two commands a new user needs: `make run` and `make test`. Both work on a fresh machine
# with only python3, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test test-fast bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

## Import the bundled sample into the built-in sandbox and print the summary.
run: $(STAMP_RUN)
	@$(BIN)/skills-import run samples/skills.csv samples/skills.xlsx; rc=$$?; \
	if [ $$rc -eq 1 ]; then \
	  echo; \
	  echo "Exit code 1 is expected here: the sample holds deliberately bad rows (and a user the sandbox"; \
	  echo "does not know) to show how they are rejected. The good rows were imported; the report folder"; \
	  echo "above lists every row, and rejects.csv holds the bad ones ready to fix and feed back."; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

## Lint, type-check, look for dead code (vulture) and test.
test: $(STAMP_TEST)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/vulture
	$(BIN)/python -m pytest

## The quick lane while working: the same checks, without the tests marked slow. CI runs `test`.
test-fast: $(STAMP_TEST)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/vulture
	$(BIN)/python -m pytest -m "not slow"

## Benchmarks (numbers go to BENCHMARKS.md).
bench: $(STAMP_TEST)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) reports .sandbox .mypy_cache .pytest_cache .ruff_cache
