"""Exercises of chapter 3, "A convolutional network in Keras"."""

from __future__ import annotations

import numpy as np

from digitlab import data, runtime
from digitlab.exercises.core import Exercise, Wrong, as_array, as_callable, as_int, call, describe


def _check_one_hot(answer) -> str:
    array = as_array(answer, (100, 10), "an array of one-hot rows")
    labels = data.load_mnist(channels="last").y_test[:100]
    if not np.isin(array, (0, 1)).all():
        raise Wrong("every entry of a one-hot vector is 0 or 1; yours holds other values.")
    if not (array.sum(1) == 1).all():
        raise Wrong("each row must hold exactly one 1, at the position of its digit.")
    if not (array.argmax(1) == labels).all():
        bad = int(np.flatnonzero(array.argmax(1) != labels)[0])
        raise Wrong(
            f"row {bad} has its 1 at position {int(array[bad].argmax())}, but label {bad} is {labels[bad]}."
        )
    return "row i has a single 1, in column y_test[i]: that is what to_categorical returns."


def _stack_shape_of(side: int) -> tuple[int, int, int]:
    """The reference: 5x5 valid convolution, 2x2 pooling, then a stride-2 'same' convolution with 32 filters."""
    side = side - 5 + 1
    side = (side - 2) // 2 + 1
    side = -(-side // 2)
    return side, side, 32


def _check_stack_shape(answer) -> str:
    fn = as_callable(answer, "a function stack_shape(side)")
    for side in (28, 32, 29):
        got = call(fn, side, what=f"stack_shape({side})")
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Wrong(f"expected a tuple (height, width, channels), got {describe(got)}.")
        height, width, channels = (as_int(v, "whole numbers (height, width, channels)") for v in got)
        expected = _stack_shape_of(side)
        if side != 28 and tuple(got) == _stack_shape_of(28) != expected:
            raise Wrong(f"stack_shape({side}) gave the answer for 28 pixels: compute it from `side`.")
        pooled = (side - 4 - 2) // 2 + 1
        if channels != 32:
            raise Wrong(
                "the channels of a convolution's output are its number of filters (the last layer's)."
            )
        if (height, width) == (pooled, pooled):
            raise Wrong(
                f"{pooled} is the side after pooling for a {side}-pixel image; the last convolution has stride 2."
            )
        if (height, width) == ((pooled - 3) // 2 + 1,) * 2 != expected[:2]:
            raise Wrong("with padding='same' a layer has ceil(n / stride) positions along each side.")
        if (height, width, channels) != expected:
            raise Wrong(
                f"for a {side}×{side} image you answered {height}×{width}; apply the formula layer by layer, "
                f"{side} → ? → ? → ?."
            )
    return "28 → 24 (5×5 valid) → 12 (pooling) → 6 (stride 2 with 'same' padding); 32 filters, for any side."


def _keras_model(answer):
    import keras

    if not isinstance(answer, keras.Model):
        raise Wrong(f"expected a keras.Model, got {describe(answer)}.")
    return keras


def _kinds(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def _check_wider_adam(answer) -> str:
    _keras_model(answer)
    dense = [layer.units for layer in answer.layers if type(layer).__name__ == "Dense"]
    filters = [layer.filters for layer in answer.layers if type(layer).__name__ == "Conv2D"]
    if filters != [32, 64, 64]:
        raise Wrong(f"keep the classic convolutions (32, 64, 64 filters); yours have {filters}.")
    if dense != [128, 10]:
        raise Wrong(
            f"the classifier should be Dense(128) then Dense(10); yours has Dense layers of {dense} units."
        )
    optimizer = getattr(answer, "optimizer", None)
    if optimizer is None:
        raise Wrong("compile the model (with optimizer='adam') before training it.")
    if type(optimizer).__name__ != "Adam":
        raise Wrong(f"the model is compiled with {type(optimizer).__name__}, not Adam.")
    mnist = data.load_mnist(channels="last")
    accuracy = float((answer.predict(mnist.x_test[:1000], verbose=0).argmax(1) == mnist.y_test[:1000]).mean())
    floor = runtime.pick(full=0.95, quick=0.70)
    if accuracy < floor:
        raise Wrong(
            f"the model classifies only {accuracy:.1%} of 1,000 test digits: train it for an epoch first."
        )
    return f"{answer.count_params():,} parameters, Adam, and {accuracy:.1%} on 1,000 test digits after one epoch."


def _check_strided(answer) -> str:
    _keras_model(answer)
    kinds = _kinds(answer)
    if any("Pooling" in kind for kind in kinds):
        raise Wrong("the model still has a pooling layer; replace each by a stride-2 Conv2D.")
    strided = [
        layer
        for layer in answer.layers
        if type(layer).__name__ == "Conv2D" and tuple(layer.strides) == (2, 2)
    ]
    if len(strided) < 2:
        raise Wrong(
            f"expected two Conv2D layers with strides=2 in place of the poolings, found {len(strided)}."
        )
    if tuple(answer.input_shape[1:]) != (28, 28, 1) or tuple(answer.output_shape[1:]) != (10,):
        raise Wrong(
            f"the model must map (28, 28, 1) images to 10 outputs, not {answer.input_shape[1:]} "
            f"to {answer.output_shape[1:]}."
        )
    sides = [tuple(layer.output.shape[1:]) for layer in answer.layers if type(layer).__name__ == "Conv2D"]
    if sides[-1] != (3, 3, 64) or (13, 13, 32) not in sides or (5, 5, 64) not in sides:
        raise Wrong(
            f"the feature maps should be 13×13×32 and 5×5×64 where the poolings were, and 3×3×64 at "
            f"the end, as in the classic network; yours are {sides}."
        )
    if getattr(answer, "optimizer", None) is None:
        raise Wrong("compile the model (optimizer, loss and metrics) so that it is ready to train.")
    return (
        f"no pooling, {len(strided)} strided convolutions and {answer.count_params():,} parameters: "
        "the downsampling is now learned."
    )


one_hot = Exercise(
    "ch03.one_hot",
    _check_one_hot,
    hint="`np.eye(10)` is a 10×10 identity matrix whose row d is the one-hot vector of digit d; index "
    "it with the labels.",
)

stack_shape = Exercise(
    "ch03.stack_shape",
    _check_stack_shape,
    hint="Side = (n − k) // s + 1 for a valid convolution or a pooling (5×5, then 2×2 with s = 2); with "
    "padding='same' Keras pads just enough for ceil(n / s) positions, whatever the kernel. The channels are "
    "the last layer's filters. Write those three steps for any `side`.",
)

wider_adam = Exercise(
    "ch03.wider_adam",
    _check_wider_adam,
    hint="`keras_models.build_cnn(dense=128, optimizer='adam')` builds and compiles it; then call "
    "`fit` with epochs=1 and batch_size=64.",
)

strided = Exercise(
    "ch03.strided",
    _check_strided,
    hint="`Conv2D(32, (2, 2), strides=2)` turns 26×26 into 13×13, exactly like `MaxPooling2D((2, 2))`.",
)


# --- 3.5: how many epochs, read from the validation curve ---------------------------------------------
def _check_best_epochs(answer) -> str:
    rng = np.random.default_rng(35)  # seeded: a failure can be reproduced
    for _ in range(3):
        epochs = int(rng.integers(8, 15))
        t = np.arange(1, epochs + 1)
        peak = int(rng.integers(3, epochs - 2))
        history = {
            "accuracy": (0.9 + 0.1 * (1 - np.exp(-t / 3))).tolist(),  # keeps rising: memorising
            "val_accuracy": (0.985 - 0.0004 * (t - peak) ** 2 + rng.normal(0, 1e-5, epochs)).tolist(),
            "loss": np.exp(-t / 3).tolist(),
            "val_loss": (0.05 + 0.001 * (t - peak - 1) ** 2).tolist(),  # lowest one epoch after the peak
        }
        expected = int(np.argmax(history["val_accuracy"])) + 1
        got = as_int(call(answer, history, what="best_epochs(history)"), "a number of epochs")
        if got == expected:
            continue
        if got == epochs:
            raise Wrong(
                "that is the last epoch: the training accuracy always peaks there. Read val_accuracy."
            )
        if got == expected - 1:
            raise Wrong("np.argmax counts from 0; the number of epochs to train is that index plus 1.")
        if got == int(np.argmin(history["val_loss"])) + 1:
            raise Wrong(
                "that is where the validation loss is lowest; this exercise asks for the best val_accuracy."
            )
        raise Wrong(f"the validation accuracy peaks after {expected} epochs here, you answered {got}.")
    return "a choice the validation curve makes, so the test set can stay untouched until the end."


best_epochs = Exercise(
    "ch03.best_epochs",
    _check_best_epochs,
    hint="`int(np.argmax(history['val_accuracy'])) + 1`: the index of the best epoch, counted from 1.",
)
