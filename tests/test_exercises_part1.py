"""The checks of chapters 1 and 2 accept right answers, reject wrong ones, and never crash."""

import numpy as np
import pytest

from digitlab import numpy_nets
from digitlab.exercises import CORRECT, ERROR, UNANSWERED, WRONG, ch01, ch02


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("DIGITLAB_STRICT_EXERCISES", raising=False)


def status(exercise, answer):
    return exercise.evaluate(answer).status


def test_every_exercise_treats_placeholders_as_unanswered():
    for ex in [ch01.and_gate, ch01.sigmoid_derivative, ch01.critical_lr, ch01.stable_softmax,
               ch02.relu_backward, ch02.planted_bug, ch02.deeper_mlp]:
        assert status(ex, None) == UNANSWERED
        assert status(ex, ...) == UNANSWERED
        assert status(ex, lambda *args: None) in (UNANSWERED, WRONG)


def test_and_gate():
    assert status(ch01.and_gate, (np.array([1.0, 1.0]), -1.5)) == CORRECT
    result = ch01.and_gate.evaluate(([1, 1], -0.5))
    assert result.status == WRONG and "OR" in result.message
    assert "pair" in ch01.and_gate.evaluate(3).message
    assert "shape (2,)" in ch01.and_gate.evaluate(([1, 1, 1], 0)).message


def test_sigmoid_derivative():
    def right(z):
        s = numpy_nets.sigmoid(z)
        return s * (1 - s)

    assert status(ch01.sigmoid_derivative, right) == CORRECT
    assert "sigmoid itself" in ch01.sigmoid_derivative.evaluate(numpy_nets.sigmoid).message
    assert status(ch01.sigmoid_derivative, lambda z: numpy_nets.sigmoid(z) * (1 - z)) == WRONG
    assert status(ch01.sigmoid_derivative, 0.25) == WRONG  # not a function
    assert status(ch01.sigmoid_derivative, lambda z: 1 / 0) == ERROR


def test_critical_lr_is_where_gradient_descent_starts_to_diverge():
    critical = ch01.critical_learning_rate()
    x, y = numpy_nets.line_points()
    below = numpy_nets.fit_line(x, y, lr=0.98 * critical, steps=3000)["loss"]
    above = numpy_nets.fit_line(x, y, lr=1.02 * critical, steps=3000)["loss"]
    assert below[-1] < below[0] and above[-1] > above[0]
    assert status(ch01.critical_lr, critical * 1.01) == CORRECT
    assert status(ch01.critical_lr, 0.1) == WRONG
    assert status(ch01.critical_lr, "0.24") == WRONG


def test_stable_softmax():
    def stable(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def naive(z):
        return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)

    assert status(ch01.stable_softmax, stable) == CORRECT
    assert "overflows" in ch01.stable_softmax.evaluate(naive).message
    assert "each row" in ch01.stable_softmax.evaluate(lambda z: np.exp(z) / np.exp(z).sum()).message


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


def test_deeper_mlp(monkeypatch):
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    from digitlab import data

    mnist = data.load_mnist(flatten=True)
    one_layer = numpy_nets.MLP((784, 16, 10))
    assert "1 hidden layer" in ch02.deeper_mlp.evaluate(one_layer).message
    untrained = numpy_nets.MLP((784, 16, 16, 10))
    assert "below" in ch02.deeper_mlp.evaluate(untrained).message
    trained = numpy_nets.MLP((784, 64, 32, 10)).fit(mnist.x_train, mnist.y_train, epochs=2, verbose=False)
    assert status(ch02.deeper_mlp, trained) == CORRECT
    assert status(ch02.deeper_mlp, "model") == WRONG
