"""Hidden tests of chapter 0 (not in the installed package)."""

import numpy as np

from digitlab import data
from digitlab.exercises import as_int


def sevens(answer, rng):
    """A number, the count of 7s in the test set (a value answer: the same for every student)."""
    (_, _), (_, y_test) = data.load_data()
    return [
        ("the number of 7s in the test set", as_int(answer, "a whole number") == int(np.sum(y_test == 7)))
    ]


TESTS = {"ch00.sevens": sevens}
