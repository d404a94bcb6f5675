"""The exercise API every chapter uses: ``ex.check(answer)``, ``ex.hint()``, ``ex.solution()``.

A chapter's exercises live in ``digitlab.exercises.chNN`` as ``Exercise`` objects. ``check`` never
raises on a student's answer (unless strict mode is on, see below): it prints one friendly
sentence, correct, wrong with a reason, or the wrong type or shape with what was expected.

Three environment variables serve tests and grading (``digitlab.settings`` lists them all):
- ``DIGITLAB_STRICT_EXERCISES=1`` makes ``check`` raise ``AssertionError`` on anything but a correct
  answer, so the answer-key notebooks fail their test if a solution stops being right.
- ``DIGITLAB_GRADE_LOG=path`` appends each check's result as one JSON line to ``path`` (what
  ``digitlab grade`` collects); calls to ``hint()`` and ``solution()`` are logged too.
- ``DIGITLAB_HIDE_SOLUTIONS=1`` makes ``solution()`` say the sketch is hidden (for a class hub).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from digitlab import settings

STRICT_ENV = settings.STRICT_EXERCISES
GRADE_LOG_ENV = settings.GRADE_LOG
HIDE_SOLUTIONS_ENV = settings.HIDE_SOLUTIONS

CORRECT, WRONG, UNANSWERED, ERROR = "correct", "wrong", "unanswered", "error"
_SYMBOL = {CORRECT: "✅ Correct", WRONG: "❌ Not yet", UNANSWERED: "✏️ Not yet answered", ERROR: "❌ Not yet"}


class Wrong(Exception):
    """Raised by a checker to say the answer is wrong; its message is shown to the student."""


class Unanswered(Exception):
    """Raised by a checker when the student's function is still the starter (returns None)."""


@dataclass(frozen=True)
class Result:
    """The outcome of one check: a status (correct, wrong, unanswered, error) and a sentence."""

    exercise: str
    status: str
    message: str
    printed: bool = field(default=False, compare=False, repr=False)

    def __bool__(self) -> bool:
        return self.status == CORRECT

    def _ipython_display_(self) -> None:
        # `ex.check(answer)` as a cell's last line has printed the sentence already: show it once.
        if not self.printed:
            print(self)

    def __str__(self) -> str:
        return f"{_SYMBOL[self.status]}: {self.message}"


def is_unanswered(answer: Any) -> bool:
    """True for the starter placeholders: ``None``, ``...`` and functions that return them."""
    return answer is None or answer is Ellipsis


class Exercise:
    """One exercise: a checker function, a hint and, optionally, a solution sketch.

    The book's own exercises ship no sketch: the answer key keeps them (``grading/sketches.toml`` in
    the repository), and ``solution()`` points to the worked solution in the book instead.

    ``checker(answer)`` returns normally when the answer is right (optionally a message) and raises
    ``Wrong("why")`` when it is not. Any other exception inside the checker, for example from a
    student's function it calls, is reported as a friendly "your code raised ..." sentence.
    """

    def __init__(
        self,
        name: str,
        checker: Callable[[Any], str | None],
        hint: str,
        solution: str = "",
        *,
        correct_message: str = "well done.",
    ):
        if not name or not callable(checker):
            raise ValueError("an Exercise needs a name and a callable checker")
        self.name = name
        self._checker = checker
        self._hint = hint.strip()
        self._solution = solution.strip()
        self._correct_message = correct_message
        self.last: Result | None = None

    def __repr__(self) -> str:
        return f"<Exercise {self.name}: call .check(answer), .hint() or .solution()>"

    @property
    def hint_text(self) -> str:
        """The hint, as ``hint()`` prints it (without logging a request)."""
        return self._hint

    @property
    def solution_text(self) -> str:
        """The solution sketch (empty for the book's own exercises), without logging a request."""
        return self._solution

    def evaluate(self, answer: Any = None) -> Result:
        """Judge ``answer`` and return a ``Result`` without printing anything."""
        if is_unanswered(answer):
            return Result(
                self.name, UNANSWERED, "replace the placeholder with your answer, then run this cell again."
            )
        try:
            message = self._checker(answer)
        except Wrong as e:
            return Result(self.name, WRONG, str(e))
        except Unanswered:
            return Result(
                self.name,
                UNANSWERED,
                "your function still returns None: fill it in, then run this cell again.",
            )
        except Exception as e:  # the student's own code failed inside the check
            text = str(e).strip().splitlines()[0] if str(e).strip() else ""
            return Result(
                self.name, ERROR, f"your code raised {type(e).__name__}{': ' + text if text else ''}."
            )
        return Result(self.name, CORRECT, message or self._correct_message)

    def check(self, answer: Any = None) -> Result:
        """Print whether ``answer`` is right, in one sentence, and return the ``Result``."""
        result = replace(self.evaluate(answer), printed=True)
        self.last = result
        print(result)
        _log(
            {
                "event": "check",
                "exercise": result.exercise,
                "status": result.status,
                "message": result.message,
            }
        )
        if settings.strict_exercises() and not result:
            raise AssertionError(f"exercise {self.name}: {result}")
        return result

    def hint(self) -> None:
        """Print a hint."""
        print(f"💡 Hint: {self._hint}")
        _log({"event": "hint", "exercise": self.name})

    def solution(self) -> None:
        """Print the solution sketch, or where the worked solution is."""
        _log({"event": "solution", "exercise": self.name})
        if settings.hide_solutions():
            print("🔒 The solution is hidden in this course; try the hint, or ask your instructor.")
            return
        if self._solution:
            print(f"💡 Solution: {self._solution}")
        else:
            print(
                "💡 The worked solution is in the book: the collapsed solution cell of this exercise on "
                "the published site. Try the hint first; your instructor may ask you not to look."
            )


def _log(record: dict) -> None:
    """Append ``record`` (an event of one exercise) as a JSON line to the grade log, if one is set."""
    path = settings.grade_log()
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({**record, "time": time.time()}) + "\n")


# --- helpers that checkers use to say what was expected -------------------------------------------
def describe(value: Any) -> str:
    """A short description of a value for error messages: its type, and shape for arrays."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"a {type(value).__name__} of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def as_number(answer: Any, what: str = "a number") -> float:
    """Return ``answer`` as a float, or raise ``Wrong`` saying a number was expected."""
    if isinstance(answer, bool):
        raise Wrong(f"expected {what}, got a bool.")
    if hasattr(answer, "item") and getattr(answer, "size", 1) == 1:
        answer = answer.item()
    if not isinstance(answer, (int, float, np.integer, np.floating)):
        raise Wrong(f"expected {what}, got {describe(answer)}.")
    if not np.isfinite(answer):
        raise Wrong(f"expected {what}, got {answer}.")
    return float(answer)


def as_int(answer: Any, what: str = "a whole number") -> int:
    """Return ``answer`` as an int, or raise ``Wrong``."""
    value = as_number(answer, what)
    if value != int(value):
        raise Wrong(f"expected {what}, got {value}.")
    return int(value)


def as_array(answer: Any, shape: tuple | None = None, what: str = "an array") -> np.ndarray:
    """Return ``answer`` as a NumPy array (from lists or tensors too) with ``shape``, or raise ``Wrong``."""
    if hasattr(answer, "detach"):  # torch tensor
        answer = answer.detach().cpu().numpy()
    elif hasattr(answer, "numpy") and not isinstance(answer, np.ndarray):  # tf tensor
        answer = answer.numpy()
    try:
        array = np.asarray(answer)
    except Exception:
        raise Wrong(f"expected {what}, got {describe(answer)}.") from None
    if array.dtype == object:
        raise Wrong(f"expected {what} of numbers, got {describe(answer)}.")
    if shape is not None and array.shape != tuple(shape):
        raise Wrong(f"expected {what} of shape {tuple(shape)}, got shape {array.shape}.")
    return array


def as_callable(answer: Any, what: str = "a function") -> Callable:
    """Return ``answer`` if it can be called, or raise ``Wrong``."""
    if not callable(answer):
        raise Wrong(f"expected {what}, got {describe(answer)}.")
    return answer


def call(fn: Any, *args: Any, what: str = "your function") -> Any:
    """Call a student's function; a ``None`` result means it is still the starter."""
    result = as_callable(fn, what)(*args)
    if is_unanswered(result):
        raise Unanswered()
    return result


def close(
    answer: float, expected: float, rtol: float = 1e-3, atol: float = 1e-6, what: str = "value"
) -> None:
    """Raise ``Wrong`` unless ``answer`` is close to ``expected`` (without giving the value away)."""
    if not np.isclose(answer, expected, rtol=rtol, atol=atol):
        direction = "too large" if answer > expected else "too small"
        raise Wrong(f"your {what} ({answer:.6g}) is {direction}.")


@contextlib.contextmanager
def forbidden(module: Any, name: str, why: str) -> Iterator[Any]:
    """Within the block, calling ``module.name`` raises ``Wrong(why)``; yields the real function.

    For "write it yourself" exercises whose answer the package (or a library) already provides: a
    student's function that calls it fails with ``why`` instead of passing. Compare the answer itself
    with the yielded function to catch ``answer = module.name``.
    """
    real = getattr(module, name)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Wrong(why)

    setattr(module, name, refuse)
    try:
        yield real
    finally:
        setattr(module, name, real)
