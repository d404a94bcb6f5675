"""Marks end to end on a synthetic class of 30: right, wrong, partial, crashing, looping and forging.

The class is graded once (two workers, short limits); then the instructor fills the manual column,
one student resubmits and is re-graded with ``merge``, and the gradebook is written for Moodle.
Each forging submission answers like the wrong one and must score exactly what that earns: 0.
"""

from __future__ import annotations

import json
import time

import classkit as ck
import pytest

from digitlab import grade

AND_GATE = 2.0  # the points file below overrides and_gate's default of 1
RIGHT = AND_GATE + 2 + 2
PARTIAL = round(AND_GATE * 2 / 4, 2) + 2 * round(2 * 2 / 3, 2)
LOOP = AND_GATE + 0 + 2  # the loop in exercise 2 is interrupted; exercises 1 and 3 still count
POINTS_TOML = '[points]\n"ch01.and_gate" = 2\n\n[manual]\nwhy_softmax = 3\n'
LOOP_ANSWERS = {**ck.RIGHT, "a2": "while True:\n    pass"}


def the_class() -> tuple[dict, dict[str, float]]:
    """30 submissions by roster id, and the automatic points each should earn."""
    subs, expect = {}, {}
    for sid in ("ann", "ben", "cho", "dev", "eli", "fay", "gus", "hal", "ivy"):
        subs[sid], expect[sid] = ck.submission(ck.RIGHT), RIGHT
    subs["keeper"], expect["keeper"] = ck.submission(ck.RIGHT, edit=ck.edit_checks), RIGHT
    for n in range(1, 6):
        subs[f"w{n}"], expect[f"w{n}"] = ck.submission(ck.WRONG), 0.0
        subs[f"p{n}"], expect[f"p{n}"] = ck.submission(ck.PARTIAL), PARTIAL
    subs["badjson"], expect["badjson"] = '{"cells": [ not json', 0.0
    subs["exiter"], expect["exiter"] = ck.submission(ck.RIGHT, before=["import os\nos._exit(3)"]), 0.0
    subs["raiser"], expect["raiser"] = ck.submission(ck.RIGHT, before=["1 / 0"]), RIGHT
    # One looping student: its cell waits out cell_timeout (8 s of a worker), so more would only cost time.
    subs["loop1"], expect["loop1"] = ck.submission(LOOP_ANSWERS), LOOP
    for sid, nb in ck.forgers().items():
        subs[sid], expect[sid] = nb, 0.0
    return subs, expect


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("course")
    subs, expect = the_class()
    assert len(subs) == 30
    roster = ck.write_class(folder, subs)
    source = ck.write_source(folder)
    (folder / "points.toml").write_text(POINTS_TOML, encoding="utf-8")
    out = folder / "marks" / "results.csv"
    args = dict(
        hidden=ck.HIDDEN,
        points=folder / "points.toml",
        workers=2,
        cell_timeout=8,
        notebook_timeout=60,
        call_timeout=30,
        seed=7,
        **ck.MODE,
    )
    start = time.monotonic()
    runs = grade.grade_class(
        source, roster, out, gradebook=folder / "marks" / "canvas.csv", assignment="Chapter 1", **args
    )
    seconds = time.monotonic() - start
    print(json.dumps({"class": 30, "graded_seconds": round(seconds, 1), "workers": 2}))
    return {
        "folder": folder,
        "roster": roster,
        "source": source,
        "out": out,
        "args": args,
        "runs": {r.student_id: r for r in runs},
        "expect": expect,
        "rows": ck.read_csv(out),
        "seconds": seconds,
    }


@pytest.mark.slow
def test_class_of_30_scores_what_each_answer_earns(graded):
    points = ck.points_by(graded["rows"])
    totals = {sid: round(sum(p.values()), 2) for sid, p in points.items()}
    assert totals == {sid: round(v, 2) for sid, v in graded["expect"].items()}
    assert [r["id"] for r in graded["rows"][::3]] == list(graded["expect"])  # roster order, 3 rows each
    runs = graded["runs"]
    assert runs["badjson"].status == "invalid notebook"
    assert runs["exiter"].status == "kernel died"
    assert runs["raiser"].status == "cell errors" and "ZeroDivisionError" in runs["raiser"].detail
    assert runs["loop1"].status == "cell timeout"
    partial = {r["exercise"]: r for r in graded["rows"] if r["id"] == "p1"}
    assert partial["ch01.and_gate"]["status"] == "partial" and partial["ch01.and_gate"]["parts"] == "2/4"
    assert partial["ch01.stable_softmax"]["message"] == "not right yet: huge logits without overflow."


@pytest.mark.slow
def test_forgers_gain_nothing(graded):
    """Patching the package, writing records (at once and from hooks), editing checks, identity, snooping."""
    points = ck.points_by(graded["rows"])
    for sid in ck.forgers():
        assert sum(points[sid].values()) == 0, sid
    assert sum(points["keeper"].values()) == RIGHT  # deleted and rewritten checks are restored
    text = graded["out"].read_text(encoding="utf-8")
    assert "forger" not in text and "patched" not in text
    impostor = [r for r in graded["rows"] if r["id"] == "impostor"]
    assert {r["name"] for r in impostor} == {"Impostor"}  # the roster decides, not the metadata
    assert sum(points["ann"].values()) == RIGHT


@pytest.mark.slow
def test_manual_column_merge_and_gradebooks(graded):
    folder, out = graded["folder"], graded["out"]
    canvas = ck.read_csv(folder / "marks" / "canvas.csv")
    assert list(canvas[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 1"]
    assert (
        canvas[0]["Student"] == "Points Possible" and canvas[0]["Chapter 1"] == "9"
    )  # 6 automatic + 3 manual
    assert {r["SIS User ID"]: r["Chapter 1"] for r in canvas[1:]}["ann"] == "6"
    manual_path = folder / "marks" / "results-manual.csv"
    manual = ck.read_csv(manual_path)
    assert list(manual[0]) == ["id", "name", "why_softmax"] and len(manual) == 30
    for row in manual:
        row["why_softmax"] = {"ann": "3", "w1": "2"}.get(row["id"], "")
    with manual_path.open("w", encoding="utf-8", newline="") as f:
        import csv

        writer = csv.DictWriter(f, fieldnames=list(manual[0]))
        writer.writeheader()
        writer.writerows(manual)
    import nbformat

    nbformat.write(ck.submission(ck.RIGHT), folder / "subs" / "w1.ipynb")  # w1 resubmits
    before = [r for r in ck.read_csv(out) if r["id"] != "w1"]
    runs = grade.grade_class(
        graded["source"],
        graded["roster"],
        out,
        merge=["w1"],
        fmt="moodle",
        gradebook=folder / "marks" / "moodle.csv",
        assignment="Chapter 1",
        **graded["args"],
    )
    assert [r.student_id for r in runs] == ["w1"]
    after = ck.read_csv(out)
    assert [r for r in after if r["id"] != "w1"] == before
    assert sum(ck.points_by(after)["w1"].values()) == RIGHT
    moodle = {r["ID number"]: r for r in ck.read_csv(folder / "marks" / "moodle.csv")}
    assert list(next(iter(moodle.values()))) == ["ID number", "Email address", "Full name", "Chapter 1"]
    assert (
        moodle["ann"]["Chapter 1"] == "9"
        and moodle["w1"]["Chapter 1"] == "8"
        and moodle["w2"]["Chapter 1"] == "0"
    )
    assert moodle["ann"]["Email address"] == "ann@example.edu"
    summary = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| ann | Ann | 6 | 3 | 9 | 9 |" in summary and "`--seed 7` repeats their inputs" in summary


@pytest.mark.slow
def test_real_chapter_1_answer_key_and_blank_student_edition(tmp_path):
    """The real chapter: its answer key earns every point, its untouched student edition none."""
    from digitlab import editions

    chapter = ck.ROOT / "book" / "01-perceptron.ipynb"
    roster = ck.write_class(
        tmp_path,
        {
            "key": editions.answer_notebook(editions.read(chapter)),
            "blank": editions.student_notebook(editions.read(chapter)),
        },
    )
    out = tmp_path / "results.csv"
    grade.grade_class(
        chapter, roster, out, hidden=ck.HIDDEN, workers=2, cell_timeout=300, notebook_timeout=600, **ck.MODE
    )
    rows = ck.read_csv(out)
    assert {r["exercise"] for r in rows} == {
        "ch01.and_gate",
        "ch01.silu_derivative",
        "ch01.critical_lr",
        "ch01.stable_softmax",
    }
    assert {r["status"] for r in rows if r["id"] == "key"} == {"correct"}
    assert sum(ck.points_by(rows)["key"].values()) == 1 + 2 + 3 + 2
    assert {r["status"] for r in rows if r["id"] == "blank"} == {"unanswered"}
