"""Hidden tests of chapter 2 (not in the installed package)."""

import numpy as np

from digitlab.exercises.ch02 import _reference_early_stop  # Keras' rule, as the public check has it
from digitlab.grading.judge import results_close


def relu_backward(answer, rng):
    """Fresh shapes and values; a gradient that must be zero where z <= 0, including z == 0 exactly."""
    z = rng.normal(size=(int(rng.integers(2, 9)), int(rng.integers(3, 12))))
    upstream = rng.normal(size=z.shape)
    edge = np.array([[-1.0, 0.0, 2.0]])
    edge_up = np.array([[5.0, 5.0, 5.0]])
    results = answer.run([(upstream, z), (edge_up, edge)])
    return [
        ("fresh inputs", results_close(results[:1], [upstream * (z > 0)])),
        ("zero where z <= 0", results_close(results[1:], [edge_up * (edge > 0)])),
    ]


def early_stop(answer, rng):
    """Fresh histories: one that stops early, one that never stops (still improving at the end)."""
    n = int(rng.integers(15, 30))
    t = np.arange(1, n + 1)
    turning = (
        1.5 * np.exp(-t / 5) + 0.004 * (t - int(rng.integers(5, 10))).clip(0) ** 1.5 + rng.normal(0, 0.01, n)
    ).tolist()
    falling = (2.0 * np.exp(-t / 8)).tolist()
    training = (2.0 * np.exp(-t / 6)).tolist()
    patience = int(rng.integers(2, 5))
    calls = [
        ({"loss": training, "val_loss": turning}, patience),
        ({"loss": training, "val_loss": falling}, patience),
    ]
    results = answer.run(calls)
    expect = [_reference_early_stop(turning, patience), _reference_early_stop(falling, patience)]
    first = results_close(results[:1], expect[:1])  # never stopping is right only for the second
    return [
        ("a run that turns", first),
        ("a run that never stops", first and results_close(results[1:], expect[1:])),
    ]


TESTS = {"ch02.relu_backward": relu_backward, "ch02.early_stop": early_stop}
