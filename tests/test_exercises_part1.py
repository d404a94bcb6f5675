"""The checks of chapters 1 and 2 accept right answers, reject wrong ones, and never crash.

Right and wrong answers of every exercise are in test_exercise_checks.py; these add placeholders,
non-functions, crashes and the critical learning rate's own derivation.
"""

import numpy as np
import pytest

from digitlab import numpy_nets
from digitlab.exercises import CORRECT, UNANSWERED, WRONG, ch01, ch02


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("DIGITLAB_STRICT_EXERCISES", raising=False)


def status(exercise, answer):
    return exercise.evaluate(answer).status


def test_every_exercise_treats_placeholders_as_unanswered():
    for ex in [
        ch01.and_gate,
        ch01.silu_derivative,
        ch01.critical_lr,
        ch01.stable_softmax,
        ch02.relu_backward,
        ch02.planted_bug,
        ch02.deeper_mlp,
    ]:
        assert status(ex, None) == UNANSWERED
        assert status(ex, ...) == UNANSWERED
        assert status(ex, lambda *args: None) in (UNANSWERED, WRONG)


def test_and_gate():
    assert status(ch01.and_gate, (np.array([1.0, 1.0]), -1.5)) == CORRECT
    result = ch01.and_gate.evaluate(([1, 1], -0.5))
    assert result.status == WRONG and "OR" in result.message
    assert "pair" in ch01.and_gate.evaluate(3).message
    assert "shape (2,)" in ch01.and_gate.evaluate(([1, 1, 1], 0)).message


def test_critical_lr_is_where_gradient_descent_starts_to_diverge():
    critical = ch01.critical_learning_rate()
    x, y = numpy_nets.line_points()
    below = numpy_nets.fit_line(x, y, lr=0.98 * critical, steps=3000)["loss"]
    above = numpy_nets.fit_line(x, y, lr=1.02 * critical, steps=3000)["loss"]
    assert below[-1] < below[0] and above[-1] > above[0]
    assert status(ch01.critical_lr, critical * 1.01) == CORRECT
    assert status(ch01.critical_lr, 0.1) == WRONG
    assert status(ch01.critical_lr, "0.24") == WRONG


def test_relu_backward():
    assert status(ch02.relu_backward, lambda up, z: up * (z > 0)) == CORRECT
    assert "upstream" in ch02.relu_backward.evaluate(lambda up, z: (z > 0) * 1.0).message
    assert status(ch02.relu_backward, lambda up, z: up) == WRONG
    assert "shape" in ch02.relu_backward.evaluate(lambda up, z: up[0]).message


def test_planted_bug():
    class Buggy(numpy_nets.MLP):
        def backward(self, logits, cache, y):
            grads = super().backward(logits, cache, y)
            return {k: g * len(y) for k, g in grads.items()}

    class ChangedForward(numpy_nets.MLP):
        def forward(self, X):
            logits, cache = super().forward(X)
            return logits * 2, cache

    class Honest(numpy_nets.MLP):
        pass

    assert status(ch02.planted_bug, Buggy) == CORRECT
    assert "still passes" in ch02.planted_bug.evaluate(Honest).message
    assert "different loss" in ch02.planted_bug.evaluate(ChangedForward).message
    assert "class derived from" in ch02.planted_bug.evaluate(Buggy((3, 2, 2))).message
