"""Exercises for every chapter: ``from digitlab.exercises import ch00`` then ``ch00.<name>.check(answer)``.

The shared machinery lives in ``digitlab.exercises.core``; each chapter's exercises in ``chNN``.
"""

from digitlab.exercises.core import (
    CORRECT,
    ERROR,
    UNANSWERED,
    WRONG,
    Exercise,
    Result,
    Unanswered,
    Wrong,
    as_array,
    as_callable,
    as_int,
    as_number,
    call,
    close,
    describe,
    forbidden,
)

__all__ = [
    "CORRECT", "ERROR", "UNANSWERED", "WRONG", "Exercise", "Result", "Unanswered", "Wrong",
    "as_array", "as_callable", "as_int", "as_number", "call", "close", "describe", "forbidden",
]
