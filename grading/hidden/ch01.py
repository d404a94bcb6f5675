"""Hidden tests of chapter 1. Not in the installed package: only the instructor's grader reads them.

Each test returns ``(part, passed)`` pairs; inputs come from ``rng``, seeded per grading run.
"""

import numpy as np

from digitlab import numpy_nets
from digitlab.exercises import Wrong, as_array, as_number
from digitlab.exercises.ch01 import critical_learning_rate
from digitlab.grading.judge import results_close


def and_gate(answer, rng):
    """Each of the four inputs is one part: the perceptron must output AND's truth table.

    A perceptron with one output for all four inputs is wrong, not partly right."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Wrong("expected a pair (w, b).")
    w, b = as_array(answer[0], (2,), "w"), as_number(answer[1], "b")
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    out = numpy_nets.step(inputs @ w + b).astype(int)
    if len(set(out.tolist())) == 1:  # a constant output earns nothing, though it is right on some inputs
        raise Wrong("the perceptron gives the same output for every input.")
    return [(f"output for {tuple(map(int, x))}", int(o) == int(x.all())) for x, o in zip(inputs, out)]


def _silu_grad(z):
    s = numpy_nets.sigmoid(z)
    return s + z * s * (1 - s)


def silu_derivative(answer, rng):
    """Fresh inputs, large inputs (slope 0 far left, 1 far right), and a 2-D batch.

    The large inputs count only for a function right on fresh inputs (a step is right on them)."""
    z = rng.uniform(-8, 8, size=int(rng.integers(20, 60)))
    big = np.array([-60.0, -30.0, 30.0, 60.0])
    grid = rng.normal(0, 3, size=(4, 7))
    with np.errstate(over="ignore"):
        expect = [_silu_grad(v) for v in (z, big, grid)]
    results = answer.run([(z,), (big,), (grid,)])
    fresh = results_close(results[:1], expect[:1])  # the large inputs count only with right values
    return [
        ("values on fresh inputs", fresh),
        ("large inputs give a slope near 0 or 1", fresh and results_close(results[1:2], expect[1:2])),
        ("works on a 2-D array", results_close(results[2:], expect[2:])),
    ]


def critical_lr(answer, rng):
    """Within 3% of the analytical value."""
    lr = as_number(answer, "a learning rate")
    return [("within 3% of 2 / λmax", abs(lr - critical_learning_rate()) <= 0.03 * critical_learning_rate())]


def stable_softmax(answer, rng):
    """Fresh logits, huge logits (overflow), and a 3-D batch normalised over the last axis.

    The huge logits count only for a function right on fresh ones (a one-hot is right on them)."""
    small = rng.normal(0, 2, size=(int(rng.integers(3, 9)), 10))
    huge = rng.normal(0, 1, size=(3, 5)) * 500 + 800
    huge = np.vstack([huge, -huge])  # rows far below the others' maximum: a global shift gives 0 / 0
    batch = rng.normal(0, 1, size=(2, 3, 4))
    calls = [small, huge, batch]
    with np.errstate(all="ignore"):
        expect = [numpy_nets.softmax(v) for v in calls]
    results = answer.run([(v,) for v in calls])
    fresh = results_close(results[:1], expect[:1])  # a one-hot is right on huge logits only
    return [
        ("rows of fresh logits", fresh),
        ("huge logits without overflow", fresh and results_close(results[1:2], expect[1:2])),
        ("the last axis of a 3-D batch", results_close(results[2:], expect[2:])),
    ]


TESTS = {
    "ch01.and_gate": and_gate,
    "ch01.silu_derivative": silu_derivative,
    "ch01.critical_lr": critical_lr,
    "ch01.stable_softmax": stable_softmax,
}
