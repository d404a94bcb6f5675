"""Keras models of the book (chapters 2, 3 and later) and their ``zoo`` recipes.

Importing this module imports Keras (TensorFlow backend); ``import digitlab`` alone does not.
"""

from __future__ import annotations

import time

import keras  # noqa: F401  (this module is the book's Keras entry point)

from digitlab import data, runtime, zoo

# --- chapter 2: the multilayer perceptron ---------------------------------------------------------
MLP_EPOCHS = 10  # epochs in a full build (1 in quick mode)
MLP_BATCH_SIZE = 128
MLP_VALIDATION_SPLIT = 0.1  # the last 10% of the training images, as Keras' validation_split takes them


def build_mlp(hidden: int = 512, *, dropout: float = 0.0, l2: float = 0.0,
              input_shape: tuple[int, ...] = (28, 28), n_classes: int = 10,
              compile: bool = True) -> keras.Model:
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
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class EpochTimer(keras.callbacks.Callback):
    """A callback that records the wall-clock seconds of each training epoch in ``seconds``."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def model_facts(model: keras.Model, test_accuracy: float, timer: EpochTimer, batch_size: int) -> dict:
    """The zoo card of a trained model: test accuracy, epochs, seconds per epoch, parameters, batch size."""
    if not getattr(timer, "seconds", None):
        raise ValueError("timer must be an EpochTimer that was passed to model.fit")
    return {
        "test_accuracy": round(float(test_accuracy), 4),
        "epochs": len(timer.seconds),
        "seconds_per_epoch": round(sum(timer.seconds) / len(timer.seconds), 2),
        "params": int(model.count_params()),
        "batch_size": batch_size,
        "input_shape": list(model.input_shape[1:]),
    }


def mlp_facts(model: keras.Model, test_accuracy: float, timer: EpochTimer) -> dict:
    """The zoo card of a trained MLP (chapter 2's batch size)."""
    return model_facts(model, test_accuracy, timer, MLP_BATCH_SIZE)


def train_mlp(verbose: int = 0) -> tuple[keras.Model, dict]:
    """Train chapter 2's Keras MLP exactly as the chapter does; return (model, facts)."""
    runtime.seed_everything(0)
    mnist = data.load_mnist()
    model = build_mlp()
    timer = EpochTimer()
    model.fit(mnist.x_train, mnist.y_train, epochs=runtime.epochs(full=MLP_EPOCHS),
              batch_size=MLP_BATCH_SIZE, validation_split=MLP_VALIDATION_SPLIT,
              callbacks=[timer], verbose=verbose)
    _, accuracy = model.evaluate(mnist.x_test, mnist.y_test, verbose=0)
    return model, mlp_facts(model, accuracy, timer)


zoo.register(zoo.Recipe(
    name="keras_mlp", framework="keras", train=train_mlp,
    save=lambda model, path: model.save(path), load=keras.models.load_model, suffix=".keras",
    description="chapter 2's MLP, Dense(512, relu) → Dense(10, softmax), rmsprop",
    settings={"hidden": 512, "optimizer": "rmsprop", "epochs": MLP_EPOCHS, "batch_size": MLP_BATCH_SIZE,
              "validation_split": MLP_VALIDATION_SPLIT, "version": 1},
))


# --- chapter 3: the convolutional network ---------------------------------------------------------
CNN_EPOCHS = 5  # epochs in a full build
CNN_QUICK_EPOCHS = 2  # quick mode: one epoch on 5,000 images can stall near 64% (seed 0 did)
CNN_BATCH_SIZE = 64
CNN_VALIDATION_SPLIT = 0.2  # chapter 3's learning curves; the final model then trains on all 60,000


def build_cnn(dense: int = 64, *, optimizer: str | keras.optimizers.Optimizer = "rmsprop",
              loss: str = "sparse_categorical_crossentropy", compile: bool = True) -> keras.Model:
    """The classic convnet: Conv(32)→Pool→Conv(64)→Pool→Conv(64)→Flatten→Dense(dense)→Dense(10, softmax)."""
    if isinstance(dense, bool) or not isinstance(dense, int) or dense < 1:
        raise ValueError(f"dense must be a positive integer (units of the hidden Dense layer), got {dense!r}")
    if loss not in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        raise ValueError("loss must be 'sparse_categorical_crossentropy' (integer labels) or "
                         f"'categorical_crossentropy' (one-hot labels), got {loss!r}")
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(dense, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="cnn")
    if compile:
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


def cnn_facts(model: keras.Model, test_accuracy: float, timer: EpochTimer) -> dict:
    """The zoo card of a trained CNN (chapter 3's batch size)."""
    return model_facts(model, test_accuracy, timer, CNN_BATCH_SIZE)


def train_cnn(verbose: int = 0) -> tuple[keras.Model, dict]:
    """Train chapter 3's final Keras CNN (all training images, no validation split) as the chapter does."""
    runtime.seed_everything(0)
    mnist = data.load_mnist(channels="last")
    model = build_cnn()
    timer = EpochTimer()
    model.fit(mnist.x_train, mnist.y_train, epochs=runtime.epochs(full=CNN_EPOCHS, quick=CNN_QUICK_EPOCHS),
              batch_size=CNN_BATCH_SIZE, callbacks=[timer], verbose=verbose)
    _, accuracy = model.evaluate(mnist.x_test, mnist.y_test, verbose=0)
    return model, cnn_facts(model, accuracy, timer)


zoo.register(zoo.Recipe(
    name="keras_cnn", framework="keras", train=train_cnn,
    save=lambda model, path: model.save(path), load=keras.models.load_model, suffix=".keras",
    description="chapter 3's convnet, Conv(32)→Pool→Conv(64)→Pool→Conv(64)→Dense(64)→Dense(10), rmsprop",
    settings={"dense": 64, "optimizer": "rmsprop", "epochs": CNN_EPOCHS, "quick_epochs": CNN_QUICK_EPOCHS,
              "batch_size": CNN_BATCH_SIZE, "version": 1},
))
