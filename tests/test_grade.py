"""The autograder on a batch of tiny synthetic submissions (not whole chapters, to keep it quick).

One batch, graded once: all correct, all wrong, one that crashes early, one that deletes the files
of its folder, one that kills its kernel, and a file that is not a notebook. Two short runs check
the limits: a loop interrupted at the per-cell limit (later checks still count), and a loop that
ignores interrupts, killed at the per-notebook limit.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from digitlab import cli, grade

SETUP = "from digitlab.exercises import ch00\nfrom digitlab import data\n(x_train, y_train), (x_test, y_test) = data.load_data()"
SEVENS = "ch00.sevens.check(int((y_test == 7).sum()))"
STD = "ch00.pixel_std.check((x_train / 255.0).std())"
THREE = "ch00.average_three.check((x_train[y_train == 3] / 255.0).mean(axis=0))"
EXERCISES = ["ch00.sevens", "ch00.pixel_std", "ch00.average_three"]
CELL_LIMIT, NOTEBOOK_LIMIT = 60, 180  # generous: the machine may be busy


def write_notebook(path: Path, *cells: str, student: str | None = None, setup: bool = True) -> Path:
    nb = new_notebook(cells=[new_code_cell(c) for c in ([SETUP] if setup else []) + list(cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if student:
        nb.metadata["student"] = student
    nbformat.write(nb, path)
    return path


@pytest.fixture
def batch(tmp_path_factory):
    """Grade the synthetic class once; return the folder, the runs, the CSV rows and the summary."""
    folder = tmp_path_factory.mktemp("submissions")
    write_notebook(folder / "alice.ipynb", SEVENS, STD, THREE, student="Alice Liddell")
    write_notebook(
        folder / "bob.ipynb",
        "ch00.sevens.check(int((y_train == 7).sum()))",
        "ch00.pixel_std.check('0.3')",
        "ch00.average_three.check(x_train.mean(axis=0) / 255.0)",
    )
    write_notebook(folder / "carol.ipynb", "1 / 0", SEVENS, "ch00.pixel_std.check(undefined_name)")
    write_notebook(
        folder / "erin.ipynb",
        "import os\nfor name in os.listdir('.'):\n    os.remove(name)\nassert not os.listdir('.')",
        "ch00.sevens.hint()\nch00.sevens.solution()",
        SEVENS,
    )
    write_notebook(folder / "frank.ipynb", "import os\nos._exit(3)", SEVENS)
    (folder / "gina.ipynb").write_text('{"cells": [ this is not json', encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    private_tmp = folder.parent / "tmp"  # the grader's temporary folders go here, to be counted
    private_tmp.mkdir()
    out = folder.parent / "report" / "class.csv"
    start = time.monotonic()
    saved, tempfile.tempdir = tempfile.tempdir, str(private_tmp)
    try:
        runs = grade.grade([folder], out, cell_timeout=CELL_LIMIT, notebook_timeout=NOTEBOOK_LIMIT)
    finally:
        tempfile.tempdir = saved
    seconds = time.monotonic() - start
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {
        "folder": folder,
        "before": before,
        "runs": {r.student: r for r in runs},
        "rows": rows,
        "summary": out.with_suffix(".md").read_text(encoding="utf-8"),
        "seconds": seconds,
        "temp_left": list(private_tmp.iterdir()),
    }


@pytest.mark.slow
def test_a_class_batch(batch):
    """One test for the whole batch, so that parallel workers never grade it twice."""
    check_one_row_per_student_and_exercise(batch)
    check_all_correct_and_all_wrong(batch)
    check_a_crashing_cell_does_not_hide_later_checks(batch)
    check_a_notebook_that_deletes_its_folder_harms_nothing(batch)
    check_a_dead_kernel_and_a_malformed_file_are_reported(batch)
    check_summary_gives_pass_rates_and_troubled_runs(batch)


def statuses(batch, student: str) -> dict[str, str]:
    return {r["exercise"]: r["status"] for r in batch["rows"] if r["student"] == student}


def check_one_row_per_student_and_exercise(batch):
    assert len(batch["rows"]) == 6 * len(EXERCISES)
    assert list(batch["rows"][0]) == list(grade.COLUMNS)
    assert sorted(batch["runs"]) == ["Alice Liddell", "bob", "carol", "erin", "frank", "gina"]
    print(json.dumps({"graded": 6, "seconds": round(batch["seconds"], 1)}))


def check_all_correct_and_all_wrong(batch):
    assert statuses(batch, "Alice Liddell") == dict.fromkeys(EXERCISES, "correct")
    assert batch["runs"]["Alice Liddell"].status == "ok"
    assert statuses(batch, "bob") == dict.fromkeys(EXERCISES, "wrong")
    messages = [r["message"] for r in batch["rows"] if r["student"] == "bob"]
    assert "training set" in messages[0] and "got a str" in messages[1] and "all digits" in messages[2]


def check_a_crashing_cell_does_not_hide_later_checks(batch):
    assert statuses(batch, "carol") == {
        "ch00.sevens": "correct",
        "ch00.pixel_std": "not run",
        "ch00.average_three": "not run",
    }
    run = batch["runs"]["carol"]
    assert run.status == "cell errors"
    assert "ZeroDivisionError" in run.detail and "NameError" in run.detail


@pytest.mark.slow
def test_an_infinite_loop_is_interrupted_at_the_cell_limit(tmp_path):
    # The check after the loop is cheap (a wrong type needs no data), so a 5 s limit is safe.
    path = write_notebook(
        tmp_path / "dave.ipynb",
        "while True:\n    pass",
        "from digitlab.exercises import ch00\nch00.sevens.check('seven')",
        setup=False,
    )
    run = grade.run_submission(path, cell_timeout=5, notebook_timeout=60)
    assert run.status == "cell timeout" and "cell(s) 0 hit the 5 s cell limit" in run.detail
    assert [(e["exercise"], e["status"]) for e in run.events] == [("ch00.sevens", "wrong")]


def check_a_notebook_that_deletes_its_folder_harms_nothing(batch):
    assert statuses(batch, "erin")["ch00.sevens"] == "correct"
    assert {p.name: p.read_bytes() for p in batch["folder"].iterdir()} == batch["before"]
    row = next(r for r in batch["rows"] if r["student"] == "erin" and r["exercise"] == "ch00.sevens")
    assert row["hints"] == "1" and row["solution_viewed"] == "1"
    assert batch["temp_left"] == [], "temporary copies and logs must be removed"


def check_a_dead_kernel_and_a_malformed_file_are_reported(batch):
    assert batch["runs"]["frank"].status == "kernel died"
    assert statuses(batch, "frank") == dict.fromkeys(EXERCISES, "not run")
    gina = batch["runs"]["gina"]
    assert gina.status == "invalid notebook" and "JSON" in gina.detail
    assert statuses(batch, "gina") == dict.fromkeys(EXERCISES, "not run")


def check_summary_gives_pass_rates_and_troubled_runs(batch):
    summary = batch["summary"]
    # sevens: alice, carol and erin pass; the other two exercises only alice
    assert "| `ch00.sevens` | 3/6 | 50% |" in summary
    assert "| `ch00.pixel_std` | 1/6 | 17% |" in summary
    assert "| Alice Liddell | ✅ | ✅ | ✅ | 3/3 | ok |" in summary
    assert "| bob | ❌ | ❌ | ❌ | 0/3 | ok |" in summary
    assert "**gina** (`gina.ipynb`): invalid notebook" in summary


@pytest.mark.slow
def test_the_notebook_limit_kills_a_loop_that_ignores_interrupts(tmp_path):
    path = write_notebook(
        tmp_path / "stubborn.ipynb",
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        SEVENS,
    )
    start = time.monotonic()
    run = grade.run_submission(path, cell_timeout=3, notebook_timeout=8)
    assert run.status == "notebook timeout" and "8 s notebook limit" in run.detail
    assert time.monotonic() - start < 40
    assert run.events == []
    assert grade.rows_of(run, ["ch00.sevens"])[0]["status"] == "not run"


# --- pieces that need no kernel -------------------------------------------------------------------
def test_student_names_prefer_metadata_then_unique_file_names(tmp_path):
    for who in ("ann", "ben"):
        (tmp_path / who).mkdir()
        write_notebook(tmp_path / who / "ch00.ipynb")
    write_notebook(tmp_path / "cleo.ipynb", student="Cleo")
    write_notebook(tmp_path / "dan.ipynb")
    paths = grade.find_submissions([tmp_path])
    names = grade.student_names(paths)
    assert sorted(names.values()) == ["Cleo", "ann/ch00", "ben/ch00", "dan"]


def test_read_log_skips_malformed_lines(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"exercise": "ch00.sevens", "status": "correct", "message": "ok"}\nnot json\n'
        '{"exercise": 3}\n{"exercise": "ch00.sevens", "status": "bogus"}\n'
        '{"event": "hint", "exercise": "ch00.sevens"}\n'
    )
    events = grade.read_log(log)
    assert [e["event"] for e in events] == ["check", "hint"]
    assert grade.read_log(tmp_path / "missing.jsonl") == []


def test_bad_arguments_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such submission"):
        grade.find_submissions([tmp_path / "nope"])
    with pytest.raises(FileNotFoundError, match="no submissions"):
        grade.find_submissions([tmp_path])
    with pytest.raises(ValueError, match="csv"):
        grade.grade([tmp_path], tmp_path / "report.txt")
    with pytest.raises(ValueError, match="cell_timeout"):
        grade.run_submission(tmp_path / "x.ipynb", cell_timeout=0)


def test_cli_grades_a_malformed_notebook_without_a_kernel(tmp_path, capsys):
    (tmp_path / "zed.ipynb").write_text("nope", encoding="utf-8")
    out = tmp_path / "r.csv"
    assert cli.main(["grade", str(tmp_path / "zed.ipynb"), "--out", str(out)]) == 0
    assert "graded 1 submission" in capsys.readouterr().out
    assert out.read_text().startswith("student,submission,exercise")
    assert "invalid notebook" in out.with_suffix(".md").read_text()
    assert cli.main(["grade", str(tmp_path / "none.ipynb"), "--out", str(out)]) == 2
