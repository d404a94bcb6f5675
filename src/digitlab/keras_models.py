"""Keras models of the book (chapters 2, 3 and later) and the recipes the zoo trains them with.

Importing this module imports Keras (TensorFlow backend); ``import digitlab`` alone does not.
Each recipe's settings are a frozen dataclass; the builders take their defaults from it, so the
numbers live in one place.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import keras  # noqa: F401  (this module is the book's Keras entry point)

from digitlab import data, runtime
from digitlab.recipe import Card, Recipe


# --- chapter 2: the multilayer perceptron ---------------------------------------------------------
@dataclass(frozen=True)
class MLPSettings:
    """Chapter 2's MLP and how the chapter trains it."""

    hidden: int = 512
    optimizer: str = "rmsprop"
    epochs: int = 10  # in a full build (1 in quick mode)
    batch_size: int = 128
    validation_split: float = (
        0.1  # the last 10% of the training images, as Keras' validation_split takes them
    )
    version: int = 1


MLP_SETTINGS = MLPSettings()


def build_mlp(
    hidden: int = MLP_SETTINGS.hidden,
    *,
    dropout: float = 0.0,
    l2: float = 0.0,
    input_shape: tuple[int, ...] = (28, 28),
    n_classes: int = 10,
    compile: bool = True,
) -> keras.Model:
    """Flatten → Dense(hidden, relu) [→ Dropout] → Dense(n_classes, softmax), compiled with rmsprop."""
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
        raise ValueError(f"hidden must be a positive integer (units in the hidden layer), got {hidden!r}")
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}")
    if not isinstance(l2, (int, float)) or l2 < 0:
        raise ValueError(f"l2 must be a weight-decay factor >= 0, got {l2!r}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    regularizer = keras.regularizers.L2(l2) if l2 else None
    layers = [
        keras.Input(shape=tuple(input_shape)),
        keras.layers.Flatten(),
        keras.layers.Dense(hidden, activation="relu", kernel_regularizer=regularizer),
    ]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(n_classes, activation="softmax", kernel_regularizer=regularizer))
    model = keras.Sequential(layers, name="mlp")
    if compile:
        model.compile(
            optimizer=MLP_SETTINGS.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
    return model


class EpochTimer(keras.callbacks.Callback):
    """A callback that records the wall-clock seconds of each training epoch in ``seconds``.

    ``per_epoch()`` is the typical epoch: the median of epochs 2 to n, because on a GPU Keras
    compiles the step with XLA during the first epoch (a run of one epoch reports that one).
    """

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    def per_epoch(self) -> float:
        """The median seconds of the epochs after the first (the only epoch's, for one)."""
        if not getattr(self, "seconds", None):
            raise ValueError("timer must be an EpochTimer that was passed to model.fit")
        return float(statistics.median(self.seconds[1:] or self.seconds))


def make_card(model: keras.Model, test_accuracy: float, timer: EpochTimer, batch_size: int) -> Card:
    """The zoo card of a trained model: test accuracy, epochs, seconds per epoch, parameters, batch size."""
    seconds = timer.per_epoch()
    return Card(
        test_accuracy=round(float(test_accuracy), 4),
        epochs=len(timer.seconds),
        seconds_per_epoch=round(seconds, 2),
        params=int(model.count_params()),
        batch_size=batch_size,
        extra={"input_shape": list(model.input_shape[1:])},
    )


def train_mlp(settings: MLPSettings, verbose: int = 0) -> tuple[keras.Model, Card]:
    """Train chapter 2's Keras MLP exactly as the chapter does; return it with its card."""
    runtime.seed_everything(0)
    mnist = data.load_mnist()
    model = build_mlp(settings.hidden, compile=False)
    model.compile(optimizer=settings.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    model.fit(
        mnist.x_train,
        mnist.y_train,
        epochs=runtime.epochs(full=settings.epochs),
        batch_size=settings.batch_size,
        validation_split=settings.validation_split,
        callbacks=[timer],
        verbose=verbose,
    )
    _, accuracy = model.evaluate(mnist.x_test, mnist.y_test, verbose=0)
    return model, make_card(model, accuracy, timer, settings.batch_size)


def save_model(model: keras.Model, path) -> None:
    """Save a Keras model (the format follows the ``.keras`` suffix)."""
    model.save(path)


def load_model(path, settings=None) -> keras.Model:
    """A saved Keras model (its settings are in the file)."""
    return keras.models.load_model(path)


MLP_RECIPE = Recipe(
    name="keras_mlp",
    framework="keras",
    suffix=".keras",
    settings=MLP_SETTINGS,
    train=train_mlp,
    load=load_model,
    save=save_model,
    description="chapter 2's MLP, Dense(512, relu) → Dense(10, softmax), rmsprop",
)


# --- chapter 3: the convolutional network ---------------------------------------------------------
@dataclass(frozen=True)
class CNNSettings:
    """Chapter 3's final convnet (trained on all 60,000 training images) and how it trains."""

    dense: int = 64
    optimizer: str = "rmsprop"
    epochs: int = 5  # in a full build
    quick_epochs: int = 2  # quick mode: one epoch on 5,000 images can stall near 64% (seed 0 did)
    batch_size: int = 64
    version: int = 1


CNN_SETTINGS = CNNSettings()


def build_cnn(
    dense: int = CNN_SETTINGS.dense,
    *,
    optimizer: str | keras.optimizers.Optimizer = CNN_SETTINGS.optimizer,
    loss: str = "sparse_categorical_crossentropy",
    compile: bool = True,
) -> keras.Model:
    """The classic convnet: Conv(32)→Pool→Conv(64)→Pool→Conv(64)→Flatten→Dense(dense)→Dense(10, softmax)."""
    if isinstance(dense, bool) or not isinstance(dense, int) or dense < 1:
        raise ValueError(f"dense must be a positive integer (units of the hidden Dense layer), got {dense!r}")
    if loss not in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        raise ValueError(
            "loss must be 'sparse_categorical_crossentropy' (integer labels) or "
            f"'categorical_crossentropy' (one-hot labels), got {loss!r}"
        )
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(dense, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="cnn",
    )
    if compile:
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


def train_cnn(settings: CNNSettings, verbose: int = 0) -> tuple[keras.Model, Card]:
    """Train chapter 3's final Keras CNN (all training images, no validation split) as the chapter does."""
    runtime.seed_everything(0)
    mnist = data.load_mnist(channels="last")
    model = build_cnn(settings.dense, optimizer=settings.optimizer)
    timer = EpochTimer()
    model.fit(
        mnist.x_train,
        mnist.y_train,
        epochs=runtime.epochs(full=settings.epochs, quick=settings.quick_epochs),
        batch_size=settings.batch_size,
        callbacks=[timer],
        verbose=verbose,
    )
    _, accuracy = model.evaluate(mnist.x_test, mnist.y_test, verbose=0)
    return model, make_card(model, accuracy, timer, settings.batch_size)


CNN_RECIPE = Recipe(
    name="keras_cnn",
    framework="keras",
    suffix=".keras",
    settings=CNN_SETTINGS,
    train=train_cnn,
    load=load_model,
    save=save_model,
    description="chapter 3's convnet, Conv(32)→Pool→Conv(64)→Pool→Conv(64)→Dense(64)→Dense(10), rmsprop",
)
