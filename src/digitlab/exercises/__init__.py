"""Exercises for every chapter: ``from digitlab.exercises import ch00`` then ``ch00.<name>.check(answer)``.

The shared machinery lives in ``digitlab.exercises.core``; each chapter's exercises in ``chNN``.
``catalog("ch03")`` lists a chapter's exercises (for the answer key and the grader).
"""

import importlib
import re

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
    "catalog",
    "CORRECT",
    "ERROR",
    "UNANSWERED",
    "WRONG",
    "Exercise",
    "Result",
    "Unanswered",
    "Wrong",
    "as_array",
    "as_callable",
    "as_int",
    "as_number",
    "call",
    "close",
    "describe",
    "forbidden",
]


def catalog(module: str) -> dict[str, dict[str, str]]:
    """The exercises of ``digitlab.exercises.<module>``: ``{attribute: {"name", "hint", "solution"}}``.

    Empty when there is no such chapter module. Importing one is cheap: chapter modules import
    frameworks inside their checkers only.
    """
    if not isinstance(module, str) or not re.fullmatch(r"ch\d+[a-z]?", module):
        raise ValueError(f"module must look like 'ch03' or 'ch04b', got {module!r}")
    name = f"{__name__}.{module}"
    try:
        chapter = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        return {}
    return {
        attr: {"name": ex.name, "hint": ex.hint_text, "solution": ex.solution_text}
        for attr, ex in vars(chapter).items()
        if isinstance(ex, Exercise)
    }
