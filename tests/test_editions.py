"""The student edition and the answer key: no solution reaches students, and the edition still runs.

Static checks run over every chapter in ``book/``. Executing a student edition costs a full
quick-mode run of the chapter, so by default only chapter 0 runs (set
``DIGITLAB_TEST_STUDENT_CHAPTERS=all``, or a list such as ``00,02``, to run more); the static
``solution_only_names`` check covers what usually breaks a student edition in the other chapters.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from digitlab import editions, exercises, grade

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = editions.chapters(BOOK)


def solution_cell(code: str, starter: str | None = "answer = ...  # your code here") -> nbformat.NotebookNode:
    cell = new_code_cell(code, metadata={"tags": ["solution", "hide-input"]})
    if starter is not None:
        cell.metadata["digitlab"] = {"starter": starter}
    return cell


def toy_notebook() -> nbformat.NotebookNode:
    """A tiny chapter: prose, code with an output, one exercise with its check."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Toy\n\nSome prose."),
            new_code_cell(
                "from digitlab.exercises import ch00\nx = 41",
                metadata={"tags": ["keep"]},
                outputs=[nbformat.v4.new_output("stream", text="hello\n")],
                execution_count=3,
            ),
            new_markdown_cell("### Exercise 0.1: count the sevens\n\nStore the number in `answer`."),
            solution_cell("answer = int((y_test == 7).sum())\nsecret_helper = answer * 2"),
            new_code_cell("ch00.sevens.check(answer)"),
        ]
    )
    nb.metadata["colab"] = {"provenance": []}
    return nb


# --- the transformation itself ----------------------------------------------------------------------
def test_student_notebook_replaces_solutions_and_leaves_the_rest():
    original = toy_notebook()
    student = editions.student_notebook(original)
    assert len(student.cells) == len(original.cells)
    cell = student.cells[3]
    assert cell.source == "answer = ...  # your code here"
    assert "digitlab" not in cell.metadata and "tags" not in cell.metadata
    for before, after in zip(original.cells, student.cells, strict=True):
        if before is not original.cells[3]:
            assert after.source == before.source and after.metadata == before.metadata
        if after.cell_type == "code":
            assert after.outputs == [] and after.execution_count is None
    assert student.metadata["digitlab"]["edition"] == "student"
    assert student.metadata["colab"] == original.metadata["colab"]
    assert original.cells[1].outputs, "the original must not be modified"
    assert editions.leaks(original, student) == []


def test_default_starter_defines_what_the_check_needs():
    cell = solution_cell("def f(x, y=2):\n    return x + y\nanswer = f(1)", starter=None)
    text = editions.starter(cell)
    assert text.splitlines()[0] == "# your code here"
    assert "def f(x, y=2):\n    ..." in text and "answer = ..." in text and "x + y" not in text
    markdown = new_markdown_cell("The answer is 42.", metadata={"tags": ["solution"]})
    assert "42" not in editions.starter(markdown)


def test_leaks_catches_a_solution_line_in_metadata_or_prose():
    original = toy_notebook()
    student = editions.student_notebook(original)
    student.cells[0].metadata["note"] = "secret_helper = answer * 2"
    assert editions.leaks(original, student) == ["cell 3: 'secret_helper = answer * 2'"]
    original.cells[2].source += "\n\nFor example `answer = int((y_test == 7).sum())`."
    assert editions.authoring_problems(original) == ["cell 3: 'answer = int((y_test == 7).sum())'"]


def test_trivial_solution_lines_are_not_counted():
    cell = solution_cell(
        "import numpy as np\n\nreturn x\nplt.show()\n)\n# hint\nanswer = np.pi",
        starter="# hint\nanswer = ...",
    )
    nb = new_notebook(cells=[cell])
    assert editions.solution_lines(nb) == [(0, "answer = np.pi")]


def test_solution_only_names_finds_a_later_cell_that_needs_the_solution():
    nb = toy_notebook()
    nb.cells.append(new_code_cell("print(secret_helper + x)"))
    assert editions.solution_only_names(nb) == ["cell 5 uses 'secret_helper', defined only by a solution"]
    nb.cells[-1].source = "secret_helper = 1\nprint(secret_helper)"
    assert editions.solution_only_names(nb) == []


def test_exercises_pairs_prompt_solution_and_check():
    [exercise] = editions.exercises(toy_notebook())
    assert exercise.name == "ch00.sevens" and exercise.cell_index == 3
    assert exercise.prompt.startswith("### Exercise 0.1")
    assert editions.modules_used(toy_notebook()) == ["ch00"]
    with pytest.raises(ValueError, match="ch03"):
        exercises.catalog("../evil")


def test_write_edition_swaps_the_folder_in_whole(tmp_path):
    book = tmp_path / "book"
    (book / "images").mkdir(parents=True)
    (book / "images" / "a.svg").write_text("<svg/>")
    (book / "instructors.md").write_text("# For instructors")
    nbformat.write(toy_notebook(), book / "00-toy.ipynb")
    out = tmp_path / "_build" / "student"
    out.mkdir(parents=True)
    (out / "stale.ipynb").write_text("{}")
    assert editions.write_edition("student", book, out) == out
    assert sorted(p.name for p in out.iterdir()) == ["00-toy.ipynb", "images"]
    assert editions.check_student_edition(book, out) == []
    assert [p.name for p in out.parent.iterdir()] == ["student"], "no temporary folder left behind"
    key = editions.write_edition("answers", book, tmp_path / "answers")
    key_nb = editions.read(key / "00-toy.ipynb")
    assert key_nb.cells[3].metadata["tags"] == ["solution"]
    assert "secret_helper = answer * 2" in (key / "ANSWERS.md").read_text()
    assert (key / "instructors.md").exists()  # the answer key keeps the guide; the student edition does not
    with pytest.raises(ValueError, match="kind"):
        editions.write_edition("teacher", book, out)
    with pytest.raises(FileNotFoundError):
        editions.write_edition("student", tmp_path / "nowhere", out)


# --- every chapter of the book --------------------------------------------------------------------
@pytest.fixture(scope="module")
def student_edition(tmp_path_factory) -> Path:
    """The student edition of the whole book, written once by the real command."""
    from digitlab import cli

    out = tmp_path_factory.mktemp("editions") / "student"
    assert cli.main(["student", "--book", str(BOOK), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_no_solution_line_reaches_the_student_edition(chapter, student_edition):
    original = editions.read(chapter)
    student_text = (student_edition / chapter.name).read_text(encoding="utf-8")
    student = editions.read(student_edition / chapter.name)
    shared = set(editions.authoring_problems(original))  # reported by the next test
    assert [p for p in editions.leaks(original, student) if p not in shared] == []
    assert '"solution"' not in student_text
    assert all("digitlab" not in c.metadata for c in student.cells), "solution metadata left behind"
    assert all(not c.get("outputs") for c in student.cells)
    kept = [c for c in original.cells if not editions.is_solution(c)]
    assert [c.source for c in kept] == [
        c.source for c, o in zip(student.cells, original.cells, strict=True) if not editions.is_solution(o)
    ]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_solutions_are_distinct_from_the_chapter(chapter):
    """A solution line the chapter also writes elsewhere reaches students: an authoring problem."""
    shared = editions.authoring_problems(editions.read(chapter))
    assert shared == [], (
        f"{chapter.name}: these solution lines also appear outside the solution cells, so the student "
        "edition shows them: put shared scaffolding in the starter (metadata digitlab.starter) or "
        "write the solution without repeating the chapter's code:\n  " + "\n  ".join(shared)
    )


NUMBERED = [p for p in CHAPTERS if re.match(r"\d\d-", p.name)]  # not pages such as results.ipynb


@pytest.mark.parametrize("chapter", NUMBERED, ids=[p.stem for p in NUMBERED])
def test_every_exercise_follows_the_convention(chapter):
    nb = editions.read(chapter)
    found = editions.exercises(nb)
    assert found, f"{chapter.name} has no exercise (no cell tagged 'solution')"
    names = [e.name for e in found]
    assert len(set(names)) == len(names), f"an exercise is checked twice: {names}"
    assert all(re.fullmatch(r"ch\d+[a-z]?\.\w+", n) for n in names), (
        f"a solution has no check after it: {names}"
    )
    assert sorted(names) == sorted(grade.expected_exercises(nb)), (
        "the notebook's exercises and those defined in digitlab.exercises differ"
    )
    for e in found:
        assert "hide-input" in nb.cells[e.cell_index].metadata["tags"], f"{e.name}: not collapsed in HTML"
    assert editions.solution_only_names(nb) == []


def _chapters_to_run() -> list[Path]:
    wanted = os.environ.get("DIGITLAB_TEST_STUDENT_CHAPTERS", "00")
    if wanted == "all":
        return CHAPTERS
    prefixes = [w.strip() for w in wanted.split(",") if w.strip()]
    return [p for p in CHAPTERS if any(p.name.startswith(f"{w}-") for w in prefixes)]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", _chapters_to_run(), ids=lambda p: p.stem)
def test_student_edition_runs_and_reports_not_yet_answered(chapter, student_edition):
    run = grade.run_submission(student_edition / chapter.name, cell_timeout=300, notebook_timeout=600)
    assert run.status == "ok", f"the student edition of {chapter.name} fails: {run.detail}"
    statuses = {e["exercise"]: e["status"] for e in run.events if e["event"] == "check"}
    assert statuses == {name: "unanswered" for name in run.expected}
    print(json.dumps({"chapter": chapter.stem, "seconds": run.seconds}))


def test_instructors_page_lists_every_exercise(monkeypatch):
    page = (BOOK / "instructors.md").read_text(encoding="utf-8")
    code = re.search(r"```\{code-cell\} ipython3\n(?::[^\n]*\n)*\n?(.*?)```", page, flags=re.S).group(1)
    monkeypatch.chdir(BOOK)  # where the build runs the page
    namespace: dict = {}
    exec(compile(code.rsplit("\n", 2)[0], "instructors.md", "exec"), namespace)  # all but the display
    table = namespace["table"]
    assert list(table["exercise"]) == [e.name for p in CHAPTERS for e in editions.exercises(editions.read(p))]
    assert "" not in set(table["prompt"])
