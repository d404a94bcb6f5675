"""The exercise API (digitlab.exercises.core) and chapter 0's checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitlab import data
from digitlab.exercises import (
    CORRECT,
    ERROR,
    UNANSWERED,
    WRONG,
    Exercise,
    Wrong,
    as_array,
    as_int,
    as_number,
    call,
    ch00,
    close,
)


def is_three(answer):
    if as_int(answer) != 3:
        raise Wrong("that is not three.")


def doubles(fn):
    if call(fn, 2) != 4:
        raise Wrong("f(2) should be 4.")


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.delenv("DIGITLAB_STRICT_EXERCISES", raising=False)
    monkeypatch.delenv("DIGITLAB_GRADE_LOG", raising=False)


three = Exercise("t.three", is_three, hint="count", solution="3")
double = Exercise("t.double", doubles, hint="x * 2", solution="lambda x: 2 * x")


@pytest.mark.parametrize(
    ("exercise", "answer", "status", "fragment"),
    [
        (three, 3, CORRECT, "well done"),
        (three, np.int64(3), CORRECT, "well done"),
        (three, 4, WRONG, "not three"),
        (three, "3", WRONG, "expected a whole number, got a str"),
        (three, 2.5, WRONG, "whole number"),
        (three, True, WRONG, "bool"),
        (three, None, UNANSWERED, "placeholder"),
        (three, ..., UNANSWERED, "placeholder"),
        (double, lambda x: 2 * x, CORRECT, "well done"),
        (double, lambda x: x + 1, WRONG, "f(2) should be 4"),
        (double, lambda x: None, UNANSWERED, "returns None"),
        (double, lambda x: 1 / 0, ERROR, "ZeroDivisionError"),
        (double, 42, WRONG, "expected your function, got a int"),
    ],
)
def test_evaluate_answers_in_one_sentence(exercise, answer, status, fragment):
    result = exercise.evaluate(answer)
    assert result.status == status
    assert fragment in result.message
    assert "\n" not in str(result) and bool(result) == (status == CORRECT)


def test_check_prints_and_never_raises_when_lenient(lenient, capsys):
    assert three.check(3)
    assert not three.check(object())
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✅ Correct") and out[1].startswith("❌ Not yet")
    assert three.last.status == WRONG


def test_strict_mode_raises_on_anything_but_correct(monkeypatch):
    monkeypatch.setenv("DIGITLAB_STRICT_EXERCISES", "1")
    three.check(3)
    with pytest.raises(AssertionError, match="t.three"):
        three.check(None)


def test_grade_log_records_each_check(lenient, monkeypatch, tmp_path):
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv("DIGITLAB_GRADE_LOG", str(log))
    three.check(3)
    three.check(5)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    checks = [r for r in records if r.get("event", "check") == "check"]
    assert [(r["exercise"], r["status"]) for r in checks] == [("t.three", CORRECT), ("t.three", WRONG)]


def test_hint_and_solution_print(lenient, capsys):
    three.hint()
    three.solution()
    out = capsys.readouterr().out
    assert "Hint: count" in out and "3" in out


def test_value_helpers_explain_what_was_expected():
    assert as_number(np.float32(0.5)) == 0.5
    with pytest.raises(Wrong, match="got a list"):
        as_number([1, 2])
    with pytest.raises(Wrong, match="nan"):
        as_number(float("nan"))
    with pytest.raises(Wrong, match=r"shape \(2, 2\), got shape \(3,\)"):
        as_array([1, 2, 3], (2, 2))
    with pytest.raises(Wrong, match="of numbers"):
        as_array([{}, 1])
    assert as_array([[1, 2], [3, 4]], (2, 2)).sum() == 10
    close(1.0, 1.0005)
    with pytest.raises(Wrong, match="too large"):
        close(2.0, 1.0, what="mean")


def test_exercise_needs_a_checker():
    with pytest.raises(ValueError, match="checker"):
        Exercise("x", None, hint="", solution="")


# --- chapter 0 ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist():
    return data.load_data()


def test_ch00_sevens(mnist):
    (_, y_train), (_, y_test) = mnist
    assert ch00.sevens.evaluate(int((y_test == 7).sum())).status == CORRECT
    assert "training set" in ch00.sevens.evaluate(int((y_train == 7).sum())).message
    assert ch00.sevens.evaluate(1000).status == WRONG
    assert ch00.sevens.evaluate("seven").status == WRONG


def test_ch00_pixel_std(mnist):
    (x_train, _), _ = mnist
    assert ch00.pixel_std.evaluate((x_train / 255.0).std()).status == CORRECT
    assert "divide by 255" in ch00.pixel_std.evaluate(x_train.std()).message
    assert ch00.pixel_std.evaluate(0.2).status == WRONG
    assert ch00.pixel_std.evaluate(np.zeros(3)).status == WRONG


def test_ch00_average_three(mnist):
    (x_train, y_train), _ = mnist
    right = (x_train[y_train == 3] / 255.0).mean(axis=0)
    assert ch00.average_three.evaluate(right).status == CORRECT
    assert "all digits" in ch00.average_three.evaluate((x_train / 255.0).mean(axis=0)).message
    assert "above 1" in ch00.average_three.evaluate(right * 255).message
    assert "28x28" in ch00.average_three.evaluate(np.zeros((28, 27))).message


def test_check_result_is_shown_once_in_a_notebook(lenient, capsys):
    result = three.check(3)
    result._ipython_display_()  # what Jupyter calls for a cell's last value
    assert capsys.readouterr().out.count("Correct") == 1
    fresh = three.evaluate(3)
    fresh._ipython_display_()
    assert capsys.readouterr().out.count("Correct") == 1
