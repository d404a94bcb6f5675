"""Every exercise of the book: its reference solution passes, and plausible wrong answers fail with
the sentence a student should see.

One row per answer: the exercise, a factory that builds the answer (so that PyTorch and Keras are
imported only by the rows that need them), and the fragment of the message the student must read.
``test_every_exercise_has_a_right_and_two_wrong_answers`` keeps the table complete.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from digitlab import data, metrics, numpy_nets
from digitlab.exercises import (
    CORRECT,
    WRONG,
    Exercise,
    ch00,
    ch01,
    ch02,
    ch03,
    ch04,
    ch04b,
    ch05,
    ch06,
    ch07,
    ch08,
    ch09,
)

BOOK = Path(__file__).resolve().parents[1] / "book"
RIGHT = "RIGHT"  # the fragment of a row whose answer must be judged correct


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("DIGITLAB_STRICT_EXERCISES", raising=False)
    monkeypatch.delenv("DIGITLAB_GRADE_LOG", raising=False)
    monkeypatch.setenv("DIGITLAB_QUICK", "1")


def mnist():
    return data.load_data()


# --- chapter 1 ----------------------------------------------------------------------------------
def sigmoid_slope(z):
    s = numpy_nets.sigmoid(z)
    return s * (1 - s)


def silu_grad(z):
    s = numpy_nets.sigmoid(z)
    return s + z * s * (1 - s)


def softmax(z, axis=-1, global_max=False):
    shifted = z - (z.max() if global_max else z.max(axis=axis, keepdims=True))
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def naive_softmax(z):
    with np.errstate(all="ignore"):
        return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


# --- chapter 2 ----------------------------------------------------------------------------------
class BuggyMLP(numpy_nets.MLP):
    def backward(self, logits, cache, y):
        return {k: g * len(y) for k, g in super().backward(logits, cache, y).items()}


class ForwardChanged(numpy_nets.MLP):
    def forward(self, X):
        logits, cache = super().forward(X)
        return logits * 2, cache


class Honest(numpy_nets.MLP):
    pass


_TRAINED: dict = {}


def trained_mlp(sizes=(784, 256, 128, 10), epochs=None, monitor="val"):
    """An MLP trained like the chapter's reference (quick mode), cached across rows."""
    key = (sizes, epochs, monitor)
    if key not in _TRAINED:
        split = data.load_mnist(flatten=True, validation=ch02.VALIDATION)
        validation = {"val": (split.x_val, split.y_val), "test": (split.x_test, split.y_test), None: None}[
            monitor
        ]
        model = numpy_nets.MLP(sizes, seed=0)
        model.fit(
            split.x_train,
            split.y_train,
            epochs=epochs or ch02.REFERENCE_EPOCHS["quick"],
            lr=0.1,
            momentum=0.9,
            batch_size=128,
            lr_decay=0.8,
            validation=validation,
            verbose=False,
        )
        _TRAINED[key] = model
    return _TRAINED[key]


# --- chapter 3 ----------------------------------------------------------------------------------
def keras_strided(*, pooling=False, strided=2, wrong_sizes=False, compiled=True, side=28):
    import keras

    layers = [keras.Input(shape=(side, side, 1)), keras.layers.Conv2D(32, (3, 3), activation="relu")]
    down = [keras.layers.Conv2D(32, (2, 2), strides=2), keras.layers.Conv2D(64, (2, 2), strides=2)]
    if wrong_sizes:
        down = [keras.layers.Conv2D(32, (3, 3), strides=2), keras.layers.Conv2D(64, (3, 3), strides=2)]
    if pooling:
        down = [keras.layers.MaxPooling2D((2, 2)), keras.layers.MaxPooling2D((2, 2))]
    elif strided == 1:
        down[1] = keras.layers.MaxPooling2D((2, 2))
    elif strided == 0:  # no pooling, but the second replacement keeps stride 1
        down[1] = keras.layers.Conv2D(64, (2, 2))
    layers += [
        down[0],
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        down[1],
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
    model = keras.Sequential(layers)
    if compiled:
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def wider_adam(dense=128, optimizer="adam", train=True, compile=True):
    from digitlab import keras_models, runtime

    runtime.seed_everything(0)
    model = keras_models.build_cnn(dense=dense, optimizer=optimizer, compile=compile)
    if train:
        split = data.load_mnist(channels="last")
        model.fit(split.x_train, split.y_train, epochs=1, batch_size=64, verbose=0)
    return model


# --- chapter 4 ----------------------------------------------------------------------------------
def narrow_cnn():
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(16, (3, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(128),
            keras.layers.Dense(10),
        ]
    )


def standard_dataset(standardise=True, channel=True, label_shift=0, pair=True, length=True):
    import torch
    from torch.utils.data import Dataset

    class StandardMNIST(Dataset):
        def __init__(self, images, labels):
            self.images, self.labels = images, labels

        def __len__(self):
            return len(self.labels) if length else 1

        def __getitem__(self, i):
            image = torch.from_numpy(self.images[i]).float().div(255)
            if standardise:
                image = (image - data.PIXEL_MEAN) / data.PIXEL_STD
            image = image.unsqueeze(0) if channel else image
            return (image, int(self.labels[i]) + label_shift) if pair else image

    return StandardMNIST


def count_macs(*, bias=False, linear=True, channels=True, batch=1, params=False):
    """``count_macs(model, shape)`` and its usual mistakes."""
    import torch
    from torch import nn

    def fn(model, shape):
        if params:
            return sum(p.numel() for p in model.parameters())
        total = 0

        def hook(module, inputs, output):
            nonlocal total
            values = output.numel()
            if isinstance(module, nn.Conv2d):
                kh, kw = module.kernel_size
                total += values * (module.in_channels if channels else 1) * kh * kw
            elif linear:
                total += values * module.in_features
            if bias and (linear or isinstance(module, nn.Conv2d)):
                total += values

        hooks = [
            m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
        ]
        with torch.no_grad():
            model(torch.zeros(batch, *shape))
        for h in hooks:
            h.remove()
        return total

    return fn


# --- chapter 5 ----------------------------------------------------------------------------------
def precision_recall():
    d = np.diag(ch05.TOY_CM)
    return np.stack([d / ch05.TOY_CM.sum(axis=0), d / ch05.TOY_CM.sum(axis=1)])


def auc_for(kind="right"):
    from sklearn.metrics import roc_auc_score

    def fn(digit, y, proba):
        score = {"right": proba[:, digit], "max": proba.max(axis=1), "hard": proba.argmax(axis=1) == digit}[
            kind
        ]
        return roc_auc_score(y == digit, score)

    return fn


def mcnemar_p(*, correction=1, disagreements=True, statistic=False):
    from scipy.stats import chi2

    def fn(y, a, b):
        if disagreements:
            only_a, only_b = int(np.sum((a == y) & (b != y))), int(np.sum((a != y) & (b == y)))
        else:
            only_a, only_b = int(np.sum(a != y)), int(np.sum(b != y))
        value = (abs(only_a - only_b) - correction) ** 2 / (only_a + only_b)
        return value if statistic else chi2.sf(value, df=1)

    return fn


# --- chapter 6 ----------------------------------------------------------------------------------
def shift(swap=False, sign=1):
    def fn(images, dx, dy):
        if swap:
            dx, dy = dy, dx
        dx, dy = sign * dx, sign * dy
        h, w = images.shape[-2:]
        out = np.zeros_like(images)
        out[:, max(dy, 0) : h - max(-dy, 0), max(dx, 0) : w - max(-dx, 0)] = images[
            :, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
        ]
        return out

    return fn


def rotation_theta(*, forward=False, degrees=False, shift=0.0):
    def fn(angle):
        a = angle if degrees else np.deg2rad(angle)
        c, s = np.cos(a), np.sin(a)
        m = [[c, s], [-s, c]] if forward else [[c, -s], [s, c]]
        return np.array([[*m[0], shift], [*m[1], 0.0]])

    return fn


def pipeline(
    *,
    flip=False,
    rotation=10 / 360,
    fill="constant",
    shear=True,
    move=0.1,
    zoom=0.1,
    shear_by=0.1,
    shear_y=0.0,
):
    import keras

    layers = [
        keras.layers.RandomRotation(rotation, fill_mode=fill),
        keras.layers.RandomTranslation(move, move, fill_mode="constant"),
        keras.layers.RandomZoom(zoom, fill_mode="constant"),
    ]
    if shear:
        layers.append(keras.layers.RandomShear(x_factor=shear_by, y_factor=shear_y, fill_mode="constant"))
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal"))
    return keras.Sequential(layers)


def luck(plain=(0.9850, 0.9862, 0.9841), batchnorm=(0.9858, 0.9870, 0.9845), real=False):
    return {"plain": list(plain), "batchnorm": list(batchnorm), "real": real}


def abstain(choose_on="validation", quantile="1 - coverage", accuracy_on="answered"):
    def fn(val_proba, val_y, test_proba, test_y, coverage):
        source = val_proba if choose_on == "validation" else test_proba
        q = 1 - coverage if quantile == "1 - coverage" else coverage
        threshold = np.quantile(source.max(axis=1), q)
        answered = test_proba.max(axis=1) >= threshold
        if accuracy_on != "answered":
            answered = np.ones_like(answered)
        return (
            threshold,
            float((test_proba.max(axis=1) >= threshold).mean()),
            float(np.mean(test_proba.argmax(1)[answered] == test_y[answered])),
        )

    return fn


def early_stop(key="val_loss", start=1, best="seen"):
    def fn(history, patience):
        losses = history[key]
        if best == "overall":
            stop = ch02._reference_early_stop(losses, patience)[0]
            return stop, int(np.argmin(losses)) + 1
        stop, kept = ch02._reference_early_stop(losses, patience)
        return stop - 1 + start, kept - 1 + start

    return fn


def best_epochs(key="val_accuracy", shift=1):
    def fn(history):
        values = np.asarray(history[key])
        return int(np.argmin(values) if key == "val_loss" else np.argmax(values)) + shift

    return fn


def gain_is_real(rule="interval", sign=1):
    def fn(y, plain, augmented):
        d = metrics.bootstrap_difference(y, augmented, plain)
        real = d["difference"] > 0 if rule == "positive" else d["low"] > 0 or d["high"] < 0
        return sign * d["difference"], bool(real)

    return fn


def greedy_select(ranked=False):
    def fn(probas, y, rounds):
        if ranked:
            return sorted(probas, key=lambda name: -np.mean(probas[name].argmax(1) == y))[:rounds]
        return ch07._reference_greedy(probas, y, rounds)

    return fn


def stack_shape(stop_at="end", same="same", channels=32):
    def fn(side):
        side = side - 5 + 1
        side = (side - 2) // 2 + 1
        if stop_at == "end":
            side = -(-side // 2) if same == "same" else (side - 3) // 2 + 1
        return side, side, channels

    return fn


def in_features(poolings=2, channels=256):
    def fn(side):
        for _ in range(poolings):
            side //= 2
        return channels * side * side

    return fn


def conv_macs(padded=False, weights_only=False, in_channels=True):
    def fn(side, c_in, c_out, k):
        out = side if padded else side - k + 1
        if weights_only:
            return c_out * k * k * c_in
        return c_out * out * out * k * k * (c_in if in_channels else 1)

    return fn


def first_time(last=False):
    def fn(seconds, accuracy, target):
        hits = [s for s, a in zip(seconds, accuracy) if a >= target]
        return (hits[-1] if last else hits[0]) if hits else None

    return fn


# --- chapter 7 ----------------------------------------------------------------------------------
def zero_fraction(kind="right"):
    import torch

    def fn(model):
        if kind == "named":
            chosen = [p for n, p in model.named_parameters() if "weight" in n]
        elif kind == "all":
            chosen = list(model.parameters())
        else:
            chosen = [m.weight for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        fraction = sum(int((p == 0).sum()) for p in chosen) / sum(p.numel() for p in chosen)
        return fraction * 100 if kind == "percent" else fraction

    return fn


def hard_vote(probs):
    votes = probs.argmax(-1)
    return np.array([np.bincount(v, minlength=10).argmax() for v in votes.T])


def quantize(*, rounding=True, dtype=np.int8, levels=127, pair=True, stretch=1):
    def fn(w):
        scale = float(np.abs(w).max()) / levels
        q = w / scale * stretch
        q = np.clip(np.round(q), -levels, levels) if rounding else q
        return (q.astype(dtype), scale) if pair else q.astype(dtype)

    return fn


# --- chapter 8 ----------------------------------------------------------------------------------
def center_of_mass(kind="right"):
    from scipy import ndimage

    def fn(image):
        if kind == "scipy":
            return ndimage.center_of_mass(image)
        if kind == "middle":
            return np.array(image.shape) / 2 - 0.5
        rows, cols = np.indices(image.shape)
        w = image / image.sum()
        found = ((rows * w).sum(), (cols * w).sum())
        return found[::-1] if kind == "swapped" else found

    return fn


def frame_median(gray):
    frame = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return bool(np.median(frame) > 0.5)


def fit_box(kind="right"):
    from PIL import Image

    def fn(ink):
        h, w = ink.shape
        if kind == "none":
            return ink
        if kind == "flat":
            return ink.ravel()
        scale = 20 / max(h, w)
        size = (20, 20) if kind == "square" else (max(1, round(w * scale)), max(1, round(h * scale)))
        if kind == "blank":
            return np.zeros(size[::-1])
        return np.asarray(Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS))

    return fn


def shard_by(kind: str = "ring"):
    """Chapter 9's split of n images between processes: DistributedSampler's, or a usual mistake."""

    def shard(n, world, rank):
        if kind == "unpadded":
            return list(range(n))[rank::world]
        per = -(-n // world)
        if kind == "blocks":
            return [min(i, n - 1) for i in range(rank * per, (rank + 1) * per)]
        return (list(range(n)) * 2)[: per * world][rank::world]

    return shard


ROWS = [
    # chapter 0
    (ch00.sevens, lambda: int((mnist()[1][1] == 7).sum()), RIGHT),
    (ch00.sevens, lambda: int((mnist()[0][1] == 7).sum()), "that is the count in the training set"),
    (ch00.sevens, lambda: 1000, "1000 is not the number of 7s in the test set"),
    (ch00.pixel_std, lambda: (mnist()[0][0] / 255.0).std(), RIGHT),
    (ch00.pixel_std, lambda: mnist()[0][0].std(), "scale the pixels to [0, 1] first"),
    (ch00.pixel_std, lambda: (mnist()[0][0] / 255.0).mean(), "is too small"),
    (ch00.average_three, lambda: (mnist()[0][0][mnist()[0][1] == 3] / 255.0).mean(axis=0), RIGHT),
    (ch00.average_three, lambda: (mnist()[0][0] / 255.0).mean(axis=0), "that is the average of all digits"),
    (
        ch00.average_three,
        lambda: mnist()[0][0][mnist()[0][1] == 3].mean(axis=0),
        "divide the uint8 pixels by 255",
    ),
    (ch00.average_three, lambda: (mnist()[0][0][mnist()[0][1] == 8] / 255.0).mean(axis=0), "labelled 3"),
    # chapter 1
    (ch01.and_gate, lambda: (np.array([1.0, 1.0]), -1.5), RIGHT),
    (ch01.and_gate, lambda: (np.array([1.0, 1.0]), -0.5), "that perceptron computes OR"),
    (ch01.and_gate, lambda: (np.array([-1.0, -1.0]), 1.5), "AND outputs 1 only for (1, 1)"),
    (ch01.silu_derivative, lambda: silu_grad, RIGHT),
    (ch01.silu_derivative, lambda: numpy_nets.sigmoid_grad, "that is the derivative of the sigmoid"),
    (ch01.silu_derivative, lambda: sigmoid_slope, "that is the derivative of the sigmoid"),
    (ch01.silu_derivative, lambda: numpy_nets.sigmoid, "you differentiated the factor z only"),
    (ch01.silu_derivative, lambda: lambda z: z * sigmoid_slope(z), "you differentiated the sigmoid only"),
    (ch01.silu_derivative, lambda: lambda z: numpy_nets.sigmoid(z) + sigmoid_slope(z), "lost its factor z"),
    (ch01.critical_lr, ch01.critical_learning_rate, RIGHT),
    (ch01.critical_lr, lambda: 0.1, "learning rate (0.1) is too small"),
    (ch01.critical_lr, lambda: -0.2, "a learning rate must be positive"),
    (ch01.stable_softmax, lambda: softmax, RIGHT),
    (ch01.stable_softmax, lambda: naive_softmax, "exp(1000) overflows"),
    (
        ch01.stable_softmax,
        lambda: lambda z: softmax(z, global_max=True),
        "not the maximum of the whole array",
    ),
    (ch01.stable_softmax, lambda: lambda z: np.exp(z) / np.exp(z).sum(), "each row (axis=-1) must sum to 1"),
    (ch01.stable_softmax, lambda: numpy_nets.softmax, "that is numpy_nets.softmax itself"),
    (ch01.stable_softmax, lambda: lambda z: numpy_nets.softmax(z), "without numpy_nets.softmax"),
    # chapter 2
    (ch02.relu_backward, lambda: lambda up, z: up * (z > 0), RIGHT),
    (ch02.relu_backward, lambda: lambda up, z: (z > 0) * 1.0, "multiply it by the upstream gradient"),
    (ch02.relu_backward, lambda: lambda up, z: up * np.maximum(z, 0), "you multiplied by relu(z)"),
    (ch02.relu_backward, lambda: lambda up, z: up, "pass through unchanged where z > 0 and be 0 elsewhere"),
    (ch02.planted_bug, lambda: BuggyMLP, RIGHT),
    (ch02.planted_bug, lambda: Honest, "the gradient check still passes"),
    (ch02.planted_bug, lambda: ForwardChanged, "your class computes a different loss"),
    (ch02.planted_bug, lambda: BuggyMLP((3, 2, 2)), "expected a class derived from numpy_nets.MLP"),
    (ch02.deeper_mlp, lambda: trained_mlp(), RIGHT),
    (ch02.deeper_mlp, lambda: trained_mlp((784, 128, 10)), "your network has 1 hidden layer(s)"),
    (ch02.deeper_mlp, lambda: trained_mlp(epochs=1), "give both the same budget"),
    (ch02.deeper_mlp, lambda: trained_mlp(monitor="test"), "your run was monitored on the test set"),
    (ch02.deeper_mlp, lambda: trained_mlp(monitor=None), "pass validation=(x_val, y_val) to fit"),
    # chapter 3
    (ch03.one_hot, lambda: np.eye(10)[data.load_mnist(channels="last").y_test[:100]], RIGHT),
    (
        ch03.one_hot,
        lambda: np.eye(10)[(data.load_mnist(channels="last").y_test[:100] + 1) % 10],
        "row 0 has its 1",
    ),
    (ch03.one_hot, lambda: np.zeros((100, 10)), "each row must hold exactly one 1"),
    (ch03.one_hot, lambda: 2 * np.eye(10)[data.load_mnist(channels="last").y_test[:100]], "0 or 1"),
    (ch03.stack_shape, lambda: stack_shape(), RIGHT),
    (ch03.stack_shape, lambda: lambda side: (6, 6, 32), "gave the answer for 28 pixels"),
    (ch03.stack_shape, lambda: stack_shape(stop_at="pool"), "the side after pooling"),
    (ch03.stack_shape, lambda: stack_shape(same="valid"), "ceil(n / stride)"),
    (ch03.stack_shape, lambda: stack_shape(channels=16), "number of filters"),
    (ch03.stack_shape, lambda: lambda side: "6x6x32", "expected a tuple (height, width, channels)"),
    (ch03.stack_shape, lambda: (6, 6, 32), "expected a function"),
    (ch03.wider_adam, lambda: wider_adam(), RIGHT),
    (ch03.wider_adam, lambda: wider_adam(dense=64, train=False), "should be Dense(128) then Dense(10)"),
    (ch03.wider_adam, lambda: wider_adam(optimizer="rmsprop", train=False), "not Adam"),
    (ch03.wider_adam, lambda: wider_adam(train=False), "train it for an epoch first"),
    (ch03.wider_adam, narrow_cnn, "keep the classic convolutions (32, 64, 64 filters)"),
    (
        ch03.wider_adam,
        lambda: wider_adam(train=False, compile=False),
        "compile the model (with optimizer='adam')",
    ),
    (ch03.wider_adam, lambda: "model", "expected a keras.Model"),
    (ch03.strided, lambda: keras_strided(), RIGHT),
    (ch03.strided, lambda: keras_strided(pooling=True), "still has a pooling layer"),
    (ch03.strided, lambda: keras_strided(strided=1), "still has a pooling layer"),
    (ch03.strided, lambda: keras_strided(wrong_sizes=True), "feature maps should be 13×13×32 and 5×5×64"),
    (ch03.strided, lambda: keras_strided(compiled=False), "compile the model"),
    (ch03.strided, lambda: keras_strided(strided=0), "expected two Conv2D layers with strides=2"),
    (ch03.strided, lambda: keras_strided(side=32), "must map (28, 28, 1) images to 10 outputs"),
    # chapter 4
    (ch04.in_features, lambda: in_features(), RIGHT),
    (ch04.in_features, lambda: lambda side: 256 * 8 * 8, "gave the answer for 32 pixels"),
    (ch04.in_features, lambda: in_features(poolings=1), "there are two max-pooling layers"),
    (ch04.in_features, lambda: in_features(channels=1), "that is one channel's worth"),
    (ch04.in_features, lambda: lambda side: 1000, "gave 1,000"),
    (ch04.in_features, lambda: 16384, "expected a function"),
    # chapter 4b
    (ch04b.macs, lambda: conv_macs(), RIGHT),
    (ch04b.macs, lambda: lambda *layer: 345600, "the answer for the chapter's first layer"),
    (ch04b.macs, lambda: conv_macs(padded=True), "without padding"),
    (ch04b.macs, lambda: conv_macs(weights_only=True), "that is the weights of the layer"),
    (ch04b.macs, lambda: conv_macs(in_channels=False), "multiply by in_channels"),
    (ch04b.macs, lambda: 345600, "expected a function"),
    (ch04b.first_time, lambda: first_time(), RIGHT),
    (ch04b.first_time, lambda: first_time(last=True), "the first pass at or above the target"),
    (
        ch04b.first_time,
        lambda: lambda s, a, t: next((x for x, y in zip(s, a) if y >= t), s[-1]),
        "never reach",
    ),
    (ch04.dataset, lambda: standard_dataset(), RIGHT),
    (ch04.dataset, lambda: standard_dataset(standardise=False), "scaled to [0, 1] but not standardised"),
    (ch04.dataset, lambda: standard_dataset(channel=False), "float32 tensor of shape (1, 28, 28)"),
    (ch04.dataset, lambda: standard_dataset()(*mnist()[1]), "the class itself, not an instance"),
    (ch04.dataset, lambda: standard_dataset(length=False), "len() of a dataset over 5 images returned 1"),
    (ch04.dataset, lambda: standard_dataset(pair=False), "should return a pair (image, label)"),
    (ch04.dataset, lambda: standard_dataset(label_shift=1), "dataset[2] returned label"),
    (ch04.macs, lambda: count_macs(), RIGHT),
    (ch04.macs, lambda: count_macs(params=True), "that is the number of parameters"),
    (ch04.macs, lambda: count_macs(linear=False), "the Linear layers multiply-accumulate too"),
    (ch04.macs, lambda: count_macs(bias=True), "leave out the bias additions"),
    (ch04.macs, lambda: count_macs(channels=False), "multiply by in_channels too"),
    (ch04.macs, lambda: count_macs(batch=2), "that is 2 times the right count"),
    (ch04.macs, lambda: lambda model, shape: 5, "you counted 5"),
    (ch04.luck, lambda: luck(), RIGHT),
    (ch04.luck, lambda: luck(real=True), "the two ranges overlap"),
    (ch04.luck, lambda: luck(batchnorm=[0.991, 0.992, 0.993], real=False), "the two ranges do not overlap"),
    (ch04.luck, lambda: luck(plain=[0.985, 0.986]), "at least 3 seeds"),
    (ch04.luck, lambda: luck(plain=[98.5, 98.6, 98.1]), "look like percentages"),
    (ch04.luck, lambda: luck(plain=[0.985, 0.985, 0.985]), "all gave the same accuracy"),
    (ch04.luck, lambda: luck(real="yes"), "must be True or False"),
    (ch04.luck, lambda: [0.98, 0.99], 'expected a dict with "plain"'),
    # chapter 2, 3, 6, 7: the method exercises
    (ch02.early_stop, lambda: early_stop(), RIGHT),
    (ch02.early_stop, lambda: early_stop(key="loss"), "follows the training loss"),
    (ch02.early_stop, lambda: early_stop(start=0), "count epochs from 1"),
    (ch02.early_stop, lambda: early_stop(best="overall"), "the best one seen before stopping"),
    (ch02.early_stop, lambda: lambda h, p: len(h["val_loss"]), "return a pair"),
    (ch03.best_epochs, lambda: best_epochs(), RIGHT),
    (ch03.best_epochs, lambda: best_epochs(key="accuracy"), "that is the last epoch"),
    (ch03.best_epochs, lambda: best_epochs(shift=0), "np.argmax counts from 0"),
    (ch03.best_epochs, lambda: best_epochs(key="val_loss"), "where the validation loss is lowest"),
    (ch06.gain_is_real, lambda: gain_is_real(), RIGHT),
    (ch06.gain_is_real, lambda: gain_is_real(rule="positive"), "could be chance"),
    (ch06.gain_is_real, lambda: gain_is_real(sign=-1), "the wrong sign"),
    (ch06.gain_is_real, lambda: lambda y, a, b: 0.01, "return a pair"),
    (ch07.greedy_select, lambda: greedy_select(), RIGHT),
    (ch07.greedy_select, lambda: greedy_select(ranked=True), "that ranks the members one by one"),
    (ch07.greedy_select, lambda: lambda p, y, r: ["strong"] * (r + 1), "choose"),
    (ch07.greedy_select, lambda: lambda p, y, r: 3, "return the list of member names"),
    # chapter 5
    (ch05.precision_recall, precision_recall, RIGHT),
    (ch05.precision_recall, lambda: precision_recall()[::-1], "the rows are swapped"),
    (ch05.precision_recall, lambda: precision_recall() * 100, "give fractions between 0 and 1"),
    (
        ch05.precision_recall,
        lambda: np.stack([precision_recall()[0], precision_recall()[0]]),
        "check the recalls",
    ),
    (
        ch05.precision_recall,
        lambda: np.stack([precision_recall()[1], precision_recall()[1]]),
        "check the precisions",
    ),
    (
        ch05.precision_recall,
        lambda: np.full((2, 3), 0.5),
        "these are not the precisions and recalls of TOY_CM",
    ),
    (ch05.auc_for, lambda: auc_for(), RIGHT),
    (ch05.auc_for, lambda: auc_for("max"), "the probability of *this* digit"),
    (ch05.auc_for, lambda: auc_for("hard"), "you scored with hard predictions"),
    (ch05.auc_for, lambda: lambda digit, y, proba: 0.5, "auc_for(3, ...) gave 0.5000"),
    (ch05.mcnemar, lambda: mcnemar_p(), RIGHT),
    (ch05.mcnemar, lambda: lambda y, a, b: 0.0412, "count b = A right and B wrong"),
    (
        ch05.mcnemar,
        lambda: lambda y, a, b: metrics.mcnemar(y, a, b)["pvalue"],
        "that is the exact binomial p-value",
    ),
    (ch05.mcnemar, lambda: mcnemar_p(correction=0), "the continuity correction is missing"),
    (ch05.mcnemar, lambda: mcnemar_p(disagreements=False), "you counted all errors"),
    (ch05.mcnemar, lambda: mcnemar_p(statistic=True), "that is the chi-squared statistic"),
    (ch05.mcnemar, lambda: lambda y, a, b: 2.0, "a p-value lies between 0 and 1"),
    (ch05.abstain, lambda: abstain(), RIGHT),
    (ch05.abstain, lambda: abstain(choose_on="test"), "it was chosen on the test set"),
    (ch05.abstain, lambda: abstain(quantile="coverage"), "not the"),
    (ch05.abstain, lambda: abstain(accuracy_on="all"), "counts only the test images the model answers"),
    (ch05.abstain, lambda: lambda *args: 0.5, "return three numbers"),
    # chapter 6
    (ch06.shift, lambda: shift(), RIGHT),
    (
        ch06.shift,
        lambda: lambda images, dx, dy: np.roll(images, (dy, dx), axis=(1, 2)),
        "np.roll wraps around",
    ),
    (ch06.shift, lambda: shift(swap=True), "x and y are swapped"),
    (ch06.shift, lambda: shift(sign=-1), "the shift goes the wrong way"),
    (ch06.shift, lambda: lambda images, dx, dy: images, "does not move every pixel"),
    (ch06.theta, lambda: rotation_theta(), RIGHT),
    (ch06.theta, lambda: rotation_theta(forward=True), "that is the forward map"),
    (ch06.theta, lambda: rotation_theta(degrees=True), "np.cos and np.sin take radians"),
    (ch06.theta, lambda: rotation_theta(shift=0.1), "the last column must be zero"),
    (ch06.theta, lambda: lambda angle: np.eye(2, 3), "is not the matrix that turns the picture"),
    (ch06.keras_pipeline, lambda: pipeline(), RIGHT),
    (ch06.keras_pipeline, lambda: pipeline(flip=True), "drop RandomFlip"),
    (ch06.keras_pipeline, lambda: pipeline(rotation=0.1), "a fraction of a full turn"),
    (ch06.keras_pipeline, lambda: pipeline(fill="reflect"), "draws mirrored ink at the edges"),
    (ch06.keras_pipeline, lambda: pipeline(shear=False), "the pipeline lacks RandomShear"),
    (ch06.keras_pipeline, lambda: pipeline(rotation=20 / 360), "turns by 20 degrees at most"),
    (ch06.keras_pipeline, lambda: pipeline(move=0.2), "shift by up to 0.1 of the height and of the width"),
    (ch06.keras_pipeline, lambda: pipeline(zoom=0.2), "RandomZoom should zoom by up to 0.1"),
    (
        ch06.keras_pipeline,
        lambda: pipeline(shear_by=0.2),
        "RandomShear should shear by a factor of up to 0.1",
    ),
    (ch06.keras_pipeline, lambda: pipeline(shear_y=0.1), "shear along x only"),
    # chapter 7
    (ch07.zero_fraction, lambda: zero_fraction(), RIGHT),
    (ch07.zero_fraction, lambda: zero_fraction("named"), "BatchNorm's scale is called weight too"),
    (ch07.zero_fraction, lambda: zero_fraction("all"), "not the biases or BatchNorm's parameters"),
    (ch07.zero_fraction, lambda: zero_fraction("percent"), "return a fraction, not a count or a percentage"),
    (
        ch07.zero_fraction,
        lambda: importlib.import_module("digitlab.compress").sparsity,
        "that is compress.sparsity itself",
    ),
    (
        ch07.zero_fraction,
        lambda: lambda m: importlib.import_module("digitlab.compress").sparsity(m),
        "without compress.sparsity",
    ),
    (ch07.zero_fraction, lambda: lambda model: 0.5, "for a model whose true sparsity is"),
    (ch07.soft_vote, lambda: lambda probs: probs.mean(axis=0).argmax(axis=1), RIGHT),
    (ch07.soft_vote, lambda: hard_vote, "that is hard (majority) voting"),
    (ch07.soft_vote, lambda: lambda probs: probs.argmax(-1)[0], "those are the first member's predictions"),
    (
        ch07.soft_vote,
        lambda: lambda probs: np.zeros(probs.shape[1], int),
        "predictions differ from the argmax",
    ),
    (ch07.quantize, lambda: quantize(), RIGHT),
    (ch07.quantize, lambda: quantize(rounding=False), "round, do not truncate"),
    (ch07.quantize, lambda: quantize(dtype=np.int16), "convert it with `.astype(np.int8)`"),
    (ch07.quantize, lambda: quantize(levels=255), "your scale"),
    (ch07.quantize, lambda: quantize(pair=False), "return a pair (q, scale)"),
    (ch07.quantize, lambda: quantize(stretch=2), "far from round(w / scale)"),
    # chapter 8
    (ch08.center_of_mass, lambda: center_of_mass(), RIGHT),
    (ch08.center_of_mass, lambda: center_of_mass("swapped"), "row and column are swapped"),
    (ch08.center_of_mass, lambda: center_of_mass("middle"), "that is the middle of the image"),
    (
        ch08.center_of_mass,
        lambda: importlib.import_module("scipy.ndimage").center_of_mass,
        "that is scipy.ndimage.center_of_mass itself",
    ),
    (ch08.center_of_mass, lambda: center_of_mass("scipy"), "with NumPy only"),
    (ch08.center_of_mass, lambda: lambda image: (0.0, 0.0), "weight each row and column index"),
    (ch08.is_light, lambda: frame_median, RIGHT),
    (ch08.is_light, lambda: lambda gray: bool(gray.mean() > 0.5), "look only at the border"),
    (ch08.is_light, lambda: lambda gray: True, "for an MNIST digit the background is dark"),
    (ch08.is_light, lambda: lambda gray: 1, "should return True or False, got int"),
    (ch08.fit_box, lambda: fit_box(), RIGHT),
    (ch08.fit_box, lambda: fit_box("square"), "keep the aspect ratio"),
    (ch08.fit_box, lambda: fit_box("none"), "the longer side is 40 px, not 20"),
    (ch08.fit_box, lambda: fit_box("flat"), "should return a 2-D image"),
    (ch08.fit_box, lambda: fit_box("blank"), "the resized image lost its ink"),
    (ch09.ring_bytes, lambda: lambda v, w, b: 2 * (w - 1) / w * v * b, RIGHT),
    (ch09.ring_bytes, lambda: lambda v, w, b: (w - 1) / w * v * b, "that is half of it"),
    (ch09.ring_bytes, lambda: lambda v, w, b: (w - 1) * v * b, "every process sending its whole gradient"),
    (ch09.ring_bytes, lambda: lambda v, w, b: 2 * v * b, "must depend on the process count"),
    (ch09.scaled_lr, lambda: lambda lr, b, nb: lr * nb / b, RIGHT),
    (ch09.scaled_lr, lambda: lambda lr, b, nb: lr, "the rate stayed the same"),
    (ch09.scaled_lr, lambda: lambda lr, b, nb: lr * (nb / b) ** 0.5, "square-root rule"),
    (ch09.scaled_lr, lambda: lambda lr, b, nb: lr * b / nb, "upside down"),
    (ch09.shard, lambda: shard_by(), RIGHT),
    (ch09.shard, lambda: shard_by("unpadded"), "unequal shares mean unequal step counts"),
    (ch09.shard, lambda: shard_by("blocks"), "those are contiguous blocks"),
    (ch09.shard, lambda: lambda n, w, r: 3, "should return a list of image indices"),
]


@pytest.mark.parametrize(
    ("exercise", "make", "fragment"), ROWS, ids=[f"{e.name}-{i}" for i, (e, _, _) in enumerate(ROWS)]
)
def test_the_check_says_what_the_student_should_read(exercise, make, fragment):
    result = exercise.evaluate(make())
    if fragment == RIGHT:
        assert result.status == CORRECT, result.message
    else:
        assert result.status == WRONG, f"{result.status}: {result.message}"
        assert fragment in result.message


def all_exercises() -> list[Exercise]:
    modules = [ch00, ch01, ch02, ch03, ch04, ch04b, ch05, ch06, ch07, ch08, ch09]
    return [value for module in modules for value in vars(module).values() if isinstance(value, Exercise)]


def test_every_exercise_has_a_right_and_two_wrong_answers():
    rows = {e.name: [f for x, _, f in ROWS if x is e] for e in all_exercises()}
    thin = {
        name: fragments
        for name, fragments in rows.items()
        if RIGHT not in fragments or sum(f != RIGHT for f in fragments) < 2
    }
    assert not thin, f"exercises without a right and two wrong answers in ROWS: {sorted(thin)}"


def test_every_check_in_the_book_is_an_exercise_with_tests():
    names = {e.name for e in all_exercises()}
    called = {
        f"{m[1]}.{m[2]}"
        for nb in BOOK.glob("*.ipynb")
        for m in re.finditer(r"\b(ch\d+b?)\.(\w+)\.check\(", nb.read_text(encoding="utf-8"))
    }
    assert called and called <= names, (
        f"checks the book calls but no module defines: {sorted(called - names)}"
    )
    assert names <= called, f"exercises no chapter uses: {sorted(names - called)}"


def test_the_budget_of_exercise_2_3_is_the_chapters():
    """The check of 2.3 grades against the epochs and split the chapter's reference network uses."""
    text = (BOOK / "02-mlp.ipynb").read_text(encoding="utf-8")
    epochs = ch02.REFERENCE_EPOCHS
    assert f"np_epochs = runtime.epochs(full={epochs['full']}, quick={epochs['quick']})" in text
    assert f"data.load_mnist(flatten=True, validation={ch02.VALIDATION})" in text


def test_the_mcnemar_check_draws_the_same_inputs_every_time():
    """A failure the student sees can be reproduced: the check's random pairs come from a seeded generator."""
    seen = []

    def spy(y, a, b):
        seen.append((len(y), int(np.sum(a != y)), int(np.sum(b != y))))
        return 0.5

    results = [ch05.mcnemar.evaluate(spy) for _ in range(2)]
    assert all(r.status == WRONG for r in results)
    assert len(seen) == 2 and seen[0] == seen[1]
