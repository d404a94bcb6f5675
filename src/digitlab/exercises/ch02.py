"""Exercises of chapter 2, "The multilayer perceptron"."""

from __future__ import annotations

import numpy as np

from digitlab import data, numpy_nets, runtime
from digitlab.exercises.core import Exercise, Wrong, as_array, as_callable, call, describe

# What a second hidden layer should reach on the test set (a short training is enough).
DEEPER_FULL, DEEPER_QUICK = 0.97, 0.80


def _check_relu_backward(answer) -> str:
    rng = np.random.default_rng(2)
    z, upstream = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    out = as_array(call(answer, upstream.copy(), z.copy(), what="relu_backward"), z.shape,
                   "an array shaped like z (the gradient with respect to z)")
    expected = upstream * (z > 0)
    if np.allclose(out, (z > 0).astype(float)):
        raise Wrong("that is ReLU's derivative alone; multiply it by the upstream gradient (chain rule).")
    if np.allclose(out, upstream * np.maximum(z, 0)):
        raise Wrong("you multiplied by relu(z); the chain rule needs relu'(z), which is 1 or 0.")
    if not np.allclose(out, expected):
        raise Wrong("the gradient should pass through unchanged where z > 0 and be 0 elsewhere.")
    return "ReLU's backward pass is a gate: gradients flow where the unit was active, nowhere else."


def _check_planted_bug(answer) -> str:
    if not (isinstance(answer, type) and issubclass(answer, numpy_nets.MLP)):
        raise Wrong(f"expected a class derived from numpy_nets.MLP, got {describe(answer)}.")
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(5, 6)), rng.integers(0, 3, size=5)
    buggy, reference = answer((6, 5, 3), seed=0, dtype=np.float64), numpy_nets.MLP((6, 5, 3), seed=0, dtype=np.float64)
    if buggy.params.keys() != reference.params.keys():
        raise Wrong("keep the parameters as MLP creates them (W1, b1, W2, b2); plant the bug in backward.")
    for name, value in reference.params.items():
        buggy.params[name] = value.copy()
    if not np.isclose(buggy.loss(X, y), reference.loss(X, y)):
        raise Wrong("your class computes a different loss: leave forward alone and change backward only.")
    error = numpy_nets.gradient_check(buggy, X, y)
    if error < 1e-6:
        raise Wrong(f"the gradient check still passes (relative error {error:.1e}): backward is still right.")
    return f"the gradient check caught it: relative error {error:.2g}, far above 1e-6."


def _check_deeper(answer) -> str:
    floor = runtime.expected_accuracy(full=DEEPER_FULL, quick=DEEPER_QUICK)
    mnist = data.load_mnist(flatten=True)
    if isinstance(answer, numpy_nets.MLP):
        hidden, outputs = len(answer.sizes) - 2, answer.sizes[-1]
        if answer.sizes[0] != 784:
            raise Wrong(f"the network must take 784 inputs (a flattened image), not {answer.sizes[0]}.")
        predict = answer.predict
    elif hasattr(answer, "layers") and hasattr(answer, "predict"):  # a Keras model
        dense = [layer for layer in answer.layers if type(layer).__name__ == "Dense"]
        hidden, outputs = len(dense) - 1, dense[-1].units if dense else 0
        def predict(x):
            return np.argmax(answer.predict(x.reshape(-1, 28, 28), verbose=0), axis=1)
    else:
        raise Wrong(f"expected a trained numpy_nets.MLP (or a Keras model), got {describe(answer)}.")
    if hidden < 2:
        raise Wrong(f"your network has {max(hidden, 0)} hidden layer(s); add a second one.")
    if outputs != 10:
        raise Wrong(f"the output layer must have 10 units, one per digit, not {outputs}.")
    as_callable(predict)
    accuracy = float(np.mean(predict(mnist.x_test) == mnist.y_test))
    if accuracy < floor:
        raise Wrong(f"test accuracy {accuracy:.2%} is below {floor:.0%}: train it longer or check the learning rate.")
    return f"{hidden} hidden layers, test accuracy {accuracy:.2%}."


relu_backward = Exercise(
    "ch02.relu_backward", _check_relu_backward,
    hint="relu(z) = max(z, 0) has slope 1 where z > 0 and 0 elsewhere; the chain rule multiplies "
    "the upstream gradient by that slope, element by element.",
)

planted_bug = Exercise(
    "ch02.planted_bug", _check_planted_bug,
    hint="Subclass `numpy_nets.MLP`, override `backward`, call `super().backward(...)` and then "
    "damage one gradient, for example forget the 1/n of the mean or transpose a term.",
)

deeper_mlp = Exercise(
    "ch02.deeper_mlp", _check_deeper,
    hint="`numpy_nets.MLP` takes the list of layer widths: put two hidden widths between 784 and "
    "10, then call `fit` as in the chapter.",
)
