"""What the grader reads and writes: confined submissions, inputs read once, capped outputs, neutral
CSV cells, clear errors for bad input, and hidden tests that pay nothing for trivial answers."""

from __future__ import annotations

import os
from pathlib import Path

import classkit as ck
import nbformat
import numpy as np
import pytest

from digitlab import editions, grade
from digitlab.grading import capture, judge, report, runner


def grade_missing(tmp_path, **kwargs):
    """Grade a class that handed nothing in (no kernel runs)."""
    return grade.grade_class(
        ck.write_source(tmp_path), kwargs.pop("roster"), tmp_path / "r.csv", **ck.MODE, **kwargs
    )


@pytest.mark.parametrize(
    "relative, why",
    [
        ("../outside.ipynb", "no absolute path, no '..'"),
        ("/etc/passwd", "no absolute path"),
        ("subs/link.ipynb", "symlink"),
    ],
)
def test_a_submission_must_be_a_regular_file_inside_the_roster_folder(tmp_path, relative, why):
    roster = ck.write_class(tmp_path, {"ann": ck.submission(ck.WRONG)})
    (tmp_path / "subs" / "link.ipynb").symlink_to(ck.write_source(tmp_path))  # the answer key
    text = roster.read_text(encoding="utf-8").replace("subs/ann.ipynb", relative)
    roster.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=why):
        grade.grade_class(tmp_path / "chapter.ipynb", roster, tmp_path / "r.csv", **ck.MODE)
    assert not (tmp_path / "r.csv").exists()


def test_a_folder_symlink_on_the_way_is_refused_too(tmp_path):
    from digitlab.grading import inputs

    ck.write_class(tmp_path / "real", {"ann": ck.submission(ck.WRONG)})
    (tmp_path / "subs").symlink_to(tmp_path / "real" / "subs")
    with pytest.raises(ValueError, match="symlink"):
        inputs.submission_bytes(tmp_path, Path("subs/ann.ipynb"))
    assert inputs.submission_bytes(tmp_path / "real", Path("subs/ann.ipynb")).startswith(b"{")
    assert inputs.submission_bytes(tmp_path / "real", Path("subs/nobody.ipynb")) is None


def test_clear_errors_for_a_student_edition_a_missing_file_and_an_unknown_exercise(tmp_path):
    roster = ck.write_class(tmp_path, {"ann": None})
    student = tmp_path / "student.ipynb"
    nbformat.write(editions.student_notebook(ck.source_chapter()), student)
    with pytest.raises(ValueError, match="no solution cells .*student edition"):
        grade.grade_class(student, roster, tmp_path / "r.csv", **ck.MODE)
    roster.write_text(roster.read_text(encoding="utf-8").replace("ann,Ann,,", "ann,Ann,subs/typo.ipynb,"))
    with pytest.raises(ValueError, match="ann: no file 'subs/typo.ipynb'"):
        grade_missing(tmp_path, roster=roster)
    roster = ck.write_class(tmp_path, {"ann": None})
    (tmp_path / "p.toml").write_text('[points]\n"ch01.and_gat" = 2\n', encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"names exercise\(s\) \['ch01.and_gat'\] that the chapter does not have"
    ):
        grade_missing(tmp_path, roster=roster, points=tmp_path / "p.toml")


def test_csv_cells_never_start_a_formula(tmp_path):
    names = {"ann": '=HYPERLINK("http://x","y")', "ben": "+1+2", "cho": "-3", "dev": "@SUM(A1)"}
    roster = ck.write_class(tmp_path, dict.fromkeys(names), names)
    (tmp_path / "p.toml").write_text("[manual]\nwhy = 2\n", encoding="utf-8")
    grade_missing(
        tmp_path, roster=roster, points=tmp_path / "p.toml", gradebook=tmp_path / "book.csv", assignment="=A1"
    )
    for path in (tmp_path / "r.csv", tmp_path / "book.csv", tmp_path / "r-manual.csv"):
        for row in ck.read_csv(path):
            for key, value in row.items():
                assert not key.startswith(("=", "+", "-", "@", "\t", "\r")), (path.name, key)
                assert not (value or "").startswith(("=", "+", "-", "@", "\t", "\r")), (path.name, value)
    assert {r["name"] for r in ck.read_csv(tmp_path / "r.csv")} == {"'" + n for n in names.values()}
    assert [report.neutral(t) for t in ("\tx", "\rx", "x=1", 3)] == ["'\tx", "'\rx", "x=1", 3]


def test_feedback_csv_cells_never_start_a_formula(tmp_path):
    sub = tmp_path / "x.ipynb"
    nbformat.write(ck.submission(student="=cmd|' /C calc'!A0"), sub)
    sub.write_text(sub.read_text(encoding="utf-8")[:-20], encoding="utf-8")  # unreadable: no kernel runs
    grade.grade([sub], tmp_path / "f.csv")
    assert [r["student"] for r in ck.read_csv(tmp_path / "f.csv")] == [
        "x"
    ]  # unreadable metadata: the file name
    nb = ck.submission(student="=cmd|' /C calc'!A0")
    nb.cells = []  # nothing to run, but readable metadata
    nbformat.write(nb, sub)
    grade.grade([sub], tmp_path / "f.csv")
    assert {r["student"] for r in ck.read_csv(tmp_path / "f.csv")} == {"'=cmd|' /C calc'!A0"}


def test_an_unreadable_submission_is_not_echoed(tmp_path):
    run = runner.Run(Path("s.ipynb"), "s")
    assert runner.parse_notebook(b'{"cells": [SECRET-OF-THE-FILE', run) is None
    assert run.status == "invalid notebook" and "SECRET" not in run.detail


def test_every_input_is_checked_again_before_results_are_written(tmp_path):
    """In the unprotected mode a submission can still reach the roster: the grader then writes nothing."""
    roster = ck.write_class(
        tmp_path,
        {
            "ann": ck.submission(
                ck.WRONG, before=[f"open({str(tmp_path / 'roster.csv')!r}, 'a').write('zed,Zed,\\n')"]
            )
        },
    )
    with pytest.raises(ValueError, match="roster.csv' changed while the class was being graded"):
        grade.grade_class(
            ck.write_source(tmp_path), roster, tmp_path / "r.csv", isolate="process", unprotected=True,
            cell_timeout=20, notebook_timeout=60,
        )  # fmt: skip
    assert not (tmp_path / "r.csv").exists()
    from digitlab.grading import inputs

    found = inputs.Inputs()
    (tmp_path / "h").mkdir()
    found.folder(tmp_path / "h")
    found.verify()
    (tmp_path / "h" / "planted.py").write_text("TESTS = {}")
    with pytest.raises(ValueError, match="changed while"):
        found.verify()


def test_outputs_are_capped_per_cell_and_per_notebook(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("print('x' * 3_000_000)"),
            nbformat.v4.new_code_cell("print('after')"),
        ]
    )
    run = runner.Run(Path("s.ipynb"), "s")
    runner.execute(nb, tmp_path, dict(os.environ), run, 30, 60, tmp_path / "stderr")
    first = nb.cells[0].outputs
    assert sum(len(o.get("text", "")) for o in first) < runner.CELL_BYTES and first[-1]["text"] == runner.CUT
    assert nb.cells[1].outputs[0]["text"] == "after\n"


BASELINES = {
    "zeros": lambda *a: np.zeros_like(np.asarray(a[0], dtype=float)),
    "ones": lambda *a: np.ones_like(np.asarray(a[0], dtype=float)),
    "identity": lambda *a: a[0],
    "step": lambda *a: (np.asarray(a[0]) > 0).astype(float),
    "sign": lambda *a: np.sign(a[0]),
    "one-hot": lambda *a: np.eye(np.shape(a[0])[-1])[np.argmax(a[0], axis=-1)] if np.ndim(a[0]) else 1.0,
    "constant": lambda *a: 0.5,
}
VALUES = [
    0,
    1,
    0.5,
    -1.0,
    np.zeros(2),
    np.ones(10),
    (np.zeros(2), 0.0),
    (np.ones(2), 1.0),
    (np.zeros(2), -1.0),
]


def test_trivial_answers_earn_nothing_from_any_hidden_test():
    """Constants, zeros, identity, step, sign and one-hot: as functions and as values, 0 credit each."""
    tests = judge.load_hidden(ck.HIDDEN)
    paying = []
    for exercise in sorted(tests):
        for name, fn in BASELINES.items():
            answer = capture.Function(name)
            answer.run = lambda calls, fn=fn: [_call(fn, args) for args in calls]
            verdict = judge.judge(exercise, answer, "", tests, 3, answer.run)
            if verdict.score > 0:
                paying.append((exercise, name, verdict.parts))
        for value in VALUES:
            verdict = judge.judge(exercise, value, "", tests, 3, lambda calls: [])
            if verdict.score > 0:
                paying.append((exercise, repr(value), verdict.parts))
    assert paying == []


def _call(fn, args):
    from digitlab.grading.sandbox import Raised

    try:
        return fn(*args)
    except Exception as e:
        return Raised(f"{type(e).__name__}: {e}")


def test_marks_withhold_a_public_checks_direction_hint():
    """A value judged by its public check: the mark says wrong, not which way (no bisecting by resubmitting)."""
    from digitlab.exercises import ch00

    assert "too large" in ch00.pixel_std.evaluate(0.9).message  # the book's own check gives the direction
    for value in (0.9, 0.01):
        verdict = judge.judge("ch00.pixel_std", value, "", {}, 3, lambda calls: [])
        assert verdict.status == "wrong" and "too" not in verdict.message, verdict.message


def test_the_grader_takes_only_outputs_from_a_jailed_run(tmp_path):
    """The result file is the submission's to forge: sources stay the grader's, bad files are refused."""
    import json

    from digitlab.grading import confine

    def taken(result):
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell("answer = 1"), nbformat.v4.new_markdown_cell("x")]
        )
        line = confine.MARKER + json.dumps(result).encode()
        (tmp_path / "result.json").write_bytes(b"noise printed by the submission\n" + line + b"\n")
        run = runner.Run(Path("s.ipynb"), "s")
        confine._take_result(tmp_path / "result.json", nb, run)
        return nb, run

    out = {"output_type": "stream", "name": "stdout", "text": "hi"}
    forged = {"source": "import os", "outputs": [out, "junk"], "execution_count": 3}
    nb, run = taken({"status": "ok", "detail": "", "cells": [forged, {"source": "y"}]})
    assert nb.cells[0].source == "answer = 1" and nb.cells[0].outputs == [out] and nb.cells[1].source == "x"
    assert run.status == "ok" and nb.cells[0].execution_count == 3
    for bad in (
        {"status": "ok", "cells": [forged]},
        {"status": "perfect", "cells": [forged, {}]},
        {"cells": 1},
    ):
        nb, run = taken(bad)
        assert run.status == "kernel died" and nb.cells[0].outputs == [], bad
