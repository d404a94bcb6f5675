"""Exercises of chapter 2, "The multilayer perceptron"."""

from __future__ import annotations

import numpy as np

from digitlab import data, numpy_nets, runtime
from digitlab.exercises.core import Exercise, Wrong, as_array, call, describe

# Exercise 2.3 compares a second hidden layer with the chapter's one-hidden-layer network at the same
# budget: the chapter's split (``data.load_mnist(flatten=True, validation=VALIDATION)``) and epochs
# (``runtime.epochs(**REFERENCE_EPOCHS)``), graded on the validation split; the test set stays unused.
VALIDATION = 0.1
REFERENCE_EPOCHS = {"full": 10, "quick": 3}
DEEPER_FULL, DEEPER_QUICK = 0.97, 0.80  # validation accuracy a second hidden layer should reach


def _check_relu_backward(answer) -> str:
    rng = np.random.default_rng(2)
    z, upstream = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    out = as_array(
        call(answer, upstream.copy(), z.copy(), what="relu_backward"),
        z.shape,
        "an array shaped like z (the gradient with respect to z)",
    )
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
    buggy, reference = (
        answer((6, 5, 3), seed=0, dtype=np.float64),
        numpy_nets.MLP((6, 5, 3), seed=0, dtype=np.float64),
    )
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
    if not isinstance(answer, numpy_nets.MLP):
        raise Wrong(f"expected a trained numpy_nets.MLP, got {describe(answer)}.")
    hidden, outputs = len(answer.sizes) - 2, answer.sizes[-1]
    if answer.sizes[0] != 784:
        raise Wrong(f"the network must take 784 inputs (a flattened image), not {answer.sizes[0]}.")
    if hidden < 2:
        raise Wrong(f"your network has {max(hidden, 0)} hidden layer(s); add a second one.")
    if outputs != 10:
        raise Wrong(f"the output layer must have 10 units, one per digit, not {outputs}.")
    epochs, budget = len(answer.history_.get("loss", [])), runtime.epochs(**REFERENCE_EPOCHS)
    if epochs != budget:
        raise Wrong(
            f"your network trained for {epochs} epoch(s) and numpy_mlp for {budget}: give both the same "
            "budget (epochs=np_epochs), or the comparison says nothing about the extra layer."
        )
    split = data.load_mnist(flatten=True, validation=VALIDATION)
    accuracy = answer.score(split.x_val, split.y_val)
    monitored = answer.history_.get("val_accuracy", [])
    if not monitored:
        raise Wrong(
            "pass validation=(x_val, y_val) to fit, as for numpy_mlp, so that the run is monitored on "
            "the validation split."
        )
    if not np.isclose(monitored[-1], accuracy):
        if np.isclose(monitored[-1], answer.score(split.x_test, split.y_test)):
            raise Wrong(
                "your run was monitored on the test set; monitor on (x_val, y_val) and keep the test "
                "set for the end."
            )
        raise Wrong("your run was monitored on another split; use the chapter's (x_val, y_val).")
    floor = runtime.expected_accuracy(full=DEEPER_FULL, quick=DEEPER_QUICK)
    if accuracy < floor:
        raise Wrong(
            f"validation accuracy {accuracy:.2%} is below {floor:.0%}: check the learning rate and "
            "train it like numpy_mlp."
        )
    return f"{hidden} hidden layers, validation accuracy {accuracy:.2%} after {epochs} epochs, numpy_mlp's budget."


relu_backward = Exercise(
    "ch02.relu_backward",
    _check_relu_backward,
    hint="relu(z) = max(z, 0) has slope 1 where z > 0 and 0 elsewhere; the chain rule multiplies "
    "the upstream gradient by that slope, element by element.",
)

planted_bug = Exercise(
    "ch02.planted_bug",
    _check_planted_bug,
    hint="Subclass `numpy_nets.MLP`, override `backward`, call `super().backward(...)` and then "
    "damage one gradient, for example forget the 1/n of the mean or transpose a term.",
)

deeper_mlp = Exercise(
    "ch02.deeper_mlp",
    _check_deeper,
    hint="`numpy_nets.MLP` takes the list of layer widths: put two hidden widths between 784 and "
    "10, then copy numpy_mlp's `fit` call (x_fit, y_fit, np_epochs, the same lr, momentum, batch size, "
    "decay and validation=(x_val, y_val)).",
)


# --- 2.4: early stopping by hand, on the validation loss ----------------------------------------------
def _reference_early_stop(val_loss, patience: int) -> tuple[int, int]:
    """Keras' EarlyStopping: the epoch training stops after, and the best epoch (both counted from 1)."""
    best, best_epoch = np.inf, 0
    for epoch, loss in enumerate(val_loss, start=1):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(val_loss), best_epoch


def _toy_history(rng: np.random.Generator, epochs: int = 30) -> dict[str, list[float]]:
    """A training loss that keeps falling and a noisy validation loss that turns and rises."""
    t = np.arange(1, epochs + 1)
    loss = 2.0 * np.exp(-t / 6) + 0.01
    val = 1.5 * np.exp(-t / 5) + 0.004 * (t - int(rng.integers(8, 14))).clip(0) ** 1.5 + 0.3
    return {"loss": loss.tolist(), "val_loss": (val + rng.normal(0, 0.02, epochs)).tolist()}


def _check_early_stop(answer) -> str:
    rng = np.random.default_rng(24)  # seeded: a failure can be reproduced
    for patience in (2, 3, 5):
        history = _toy_history(rng)
        got = call(answer, history, patience, what="early_stop(history, patience)")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Wrong("return a pair (stopped_after, best_epoch) of epoch numbers.")
        got = tuple(int(v) for v in got)
        expected = _reference_early_stop(history["val_loss"], patience)
        if got == expected:
            continue
        if got == _reference_early_stop(history["loss"], patience):
            raise Wrong("that follows the training loss, which never turns: watch history['val_loss'].")
        if got == (expected[0] - 1, expected[1] - 1):
            raise Wrong("count epochs from 1, as Keras prints them (the first epoch is epoch 1).")
        if got[1] == int(np.argmin(history["val_loss"])) + 1 and got[1] != expected[1]:
            raise Wrong(
                "the best epoch is the best one seen before stopping; the lowest loss of the whole history "
                "lies in epochs that early stopping never trains."
            )
        raise Wrong(
            f"with patience {patience} you stopped after epoch {got[0]} (best {got[1]}); training stops "
            "once `patience` epochs in a row have not beaten the best validation loss so far."
        )
    return "you stop where Keras' EarlyStopping(monitor='val_loss') does, and keep the best epoch seen."


early_stop = Exercise(
    "ch02.early_stop",
    _check_early_stop,
    hint="Keep the best validation loss so far and its epoch; at each epoch, a lower loss becomes the new "
    "best, otherwise stop when `epoch - best_epoch >= patience`. If it never stops, it stopped after the "
    "last epoch.",
)
