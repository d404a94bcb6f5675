# Digit Lab. Two commands matter: `make book` (the full build) and `make test` (what CI runs).
# Every target creates .venv and installs the pinned environment first, only when it is missing or
# requirements.txt / pyproject.toml changed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: help install data book preview test test-unit test-notebooks test-site student answers bench lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)  ## create .venv with the pinned environment (skipped when up to date)

data: $(STAMP)  ## fetch and verify MNIST into the cache ($$DIGITLAB_HOME, default ~/.cache/digitlab)
	$(BIN)/digitlab fetch

# The execution cache keys on notebook code only: clear it when the package or environment changes.
_build/.exec-stamp: $(STAMP) $(shell find src -name '*.py' 2>/dev/null)
	rm -rf _build/.jupyter_cache
	@mkdir -p _build && touch $@

book: data _build/.exec-stamp  ## the full build: execute every chapter, write _build/html
	env -u DIGITLAB_QUICK $(BIN)/jupyter-book build . -W --keep-going 2>&1 | tee _build/book.log

preview: data  ## a fast build in quick mode, written to _build/preview/_build/html
	DIGITLAB_QUICK=1 $(BIN)/jupyter-book build . --path-output _build/preview -W --keep-going

test: data  ## unit tests, then every chapter in quick mode with nbmake
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal tests book --nbmake --nbmake-timeout=600

test-unit: data  ## unit tests only
	$(BIN)/python -m pytest tests

test-notebooks: data  ## chapters only, in quick mode
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal book --nbmake --nbmake-timeout=600

lint: $(STAMP)  ## ruff over the package, tests and notebooks
	$(BIN)/ruff check src tests book

clean:  ## remove build output (keeps .venv and the data cache)
	rm -rf _build .pytest_cache
