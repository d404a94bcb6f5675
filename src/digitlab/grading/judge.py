"""Judge captured answers in the grader's process, with hidden tests kept outside the package.

A hidden-test folder (the repository's ``grading/hidden/``, never installed) holds one module per
chapter with a ``TESTS`` dict: ``{"ch01.stable_softmax": test}``. ``test(answer, rng)`` returns a
list of ``(part, passed)`` pairs; the share of parts passed is the exercise's partial credit. It may
raise ``digitlab.exercises.Wrong("why")`` for an answer of the wrong kind. ``rng`` is seeded per
grading run, so the inputs are fresh each time and ship nowhere. A function answer arrives as a
``capture.Function`` whose ``run(calls)`` calls it in the sandbox. An exercise without a hidden test
is judged by its public check on the captured value (values only, never a function), or left to
the instructor ("manual").
"""

from __future__ import annotations

import importlib
import os
import re
import types
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab.exercises import core
from digitlab.grading import capture

STATUSES = ("correct", "partial", "wrong", "unanswered", "error", "manual", "not run")


@dataclass
class Verdict:
    """The grader's judgement of one exercise: a status, the share of credit and a sentence."""

    exercise: str
    status: str
    score: float
    message: str
    parts: str = ""


def load_hidden(folder: str | os.PathLike | None, inputs=None) -> dict[str, Callable]:
    """Every hidden test in ``folder/*.py``, by exercise name (empty for None).

    Each module is read once (through ``inputs``, an ``inputs.Inputs``, when given: hashed, checked
    again before results are written) and run from those bytes; symlinks are skipped.
    """
    if folder is None:
        return {}
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"hidden must be a folder of hidden-test modules, got {str(folder)!r}")
    tests: dict[str, Callable] = {}
    if inputs is None:
        from digitlab.grading.inputs import Inputs

        inputs = Inputs()
    for path in inputs.folder(folder):
        code = compile(inputs.read(path), str(path), "exec")
        module = types.ModuleType(f"digitlab_hidden_{path.stem}")
        module.__file__ = str(path)
        exec(code, module.__dict__)
        found = getattr(module, "TESTS", None)
        if not isinstance(found, dict):
            raise ValueError(f"hidden test module {path.name} has no TESTS dict")
        tests.update(found)
    return tests


def judge(
    exercise: str,
    value,
    error: str,
    tests: dict[str, Callable],
    seed: int,
    run_function: Callable[[list], list],
) -> Verdict:
    """The verdict on one captured answer (``error`` says why none was captured)."""
    if error:
        return Verdict(exercise, "not run", 0.0, error)
    if value is None:
        return Verdict(exercise, "unanswered", 0.0, "the answer is still the placeholder.")
    returned = []
    if isinstance(value, capture.Function):
        value.run = lambda calls: returned.extend(run_function(calls)) or returned[-len(calls) :]
    test = tests.get(exercise)
    if test is not None:
        verdict = _hidden(exercise, value, test, seed)
        if returned and all(r is None for r in returned):  # the starter: a function that returns None
            return Verdict(exercise, "unanswered", 0.0, "the function still returns None.")
        return verdict
    if isinstance(value, (capture.Function, capture.Opaque)):
        return Verdict(exercise, "manual", 0.0, f"no hidden test for {value!r}: grade it by hand.")
    return _public(exercise, value)


def _hidden(exercise: str, value, test: Callable, seed: int) -> Verdict:
    rng = np.random.default_rng([seed, zlib.crc32(exercise.encode())])
    try:
        parts = list(test(value, rng))
    except core.Wrong as e:
        return Verdict(exercise, "wrong", 0.0, str(e))
    except Exception as e:  # a malformed answer that the test did not foresee
        return Verdict(
            exercise, "error", 0.0, f"the hidden test could not use the answer ({type(e).__name__}: {e})."
        )
    if not parts:
        raise ValueError(f"the hidden test of {exercise} returned no parts")
    passed = [label for label, ok in parts if ok]
    failed = [label for label, ok in parts if not ok]
    score = len(passed) / len(parts)
    status = "correct" if not failed else "partial" if passed else "wrong"
    message = "all parts pass." if not failed else "not right yet: " + "; ".join(failed) + "."
    return Verdict(exercise, status, score, message, f"{len(passed)}/{len(parts)}")


def _public(exercise: str, value) -> Verdict:
    module, _, attr = exercise.partition(".")
    try:
        checker = getattr(importlib.import_module(f"digitlab.exercises.{module}"), attr)
    except (ImportError, AttributeError):
        return Verdict(exercise, "manual", 0.0, "no check is known for this exercise: grade it by hand.")
    result = checker.evaluate(value)
    score = 1.0 if result.status == core.CORRECT else 0.0
    return Verdict(exercise, result.status, score, withhold_direction(result.message), f"{int(score)}/1")


DIRECTION = re.compile(r"\b(?:is )?too (?:large|small|big|high|low)\b")


def withhold_direction(message: str) -> str:
    """A public check's message without its "too large" / "too small" hint (marks give no bisection)."""
    return DIRECTION.sub("is not right", message)


def results_close(results: list, expected: list, atol: float = 1e-6) -> bool:
    """True when every sandboxed result is an array close to the expected one (helper for tests)."""
    from digitlab.grading.sandbox import Raised

    for got, want in zip(results, expected, strict=True):
        if isinstance(got, Raised):
            return False
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return False
        if got.shape != np.shape(want) or not np.allclose(got, want, atol=atol):
            return False
    return True
