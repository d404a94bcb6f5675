"""Argument checks shared by every module: one wording, one exception.

Each check names the argument, says what it must be and shows what it got:
``epochs must be a positive integer, got 1.5``. A bad value raises ``InvalidParameterError``, a
``ValueError`` (and, for code written against older versions, a ``TypeError``) as scikit-learn
does; a missing file raises ``MissingFileError``, a ``FileNotFoundError`` that is also a
``ValueError`` (so an ``except ValueError`` around a call keeps working). ``bool`` is never accepted
as a number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

# The layouts an MNIST batch arrives in, as (ndim, test on the shape) -> name.
IMAGE_SHAPES = "(n, 784), (n, h, w), (n, h, w, 1) or (n, 1, h, w)"


class InvalidParameterError(ValueError, TypeError):
    """An argument has the wrong type or value; the message names it."""


class MissingFileError(FileNotFoundError, ValueError):
    """An argument names a file that is not there; the message names the argument."""


def is_number(value: Any, integer: bool = False) -> bool:
    """True for an int or float (a NumPy one too), never for a bool."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, kinds)


def positive_int(name: str, value: Any) -> int:
    """``value`` if it is an integer >= 1."""
    if not is_number(value, integer=True) or value < 1:
        raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def positive(name: str, value: Any) -> float:
    """``value`` if it is a number > 0."""
    if not is_number(value) or not value > 0:
        raise InvalidParameterError(f"{name} must be a positive number, got {value!r}")
    return value


def int_at_least(name: str, value: Any, low: int) -> int:
    """``value`` if it is an integer >= ``low``."""
    if not is_number(value, integer=True) or value < low:
        raise InvalidParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def number_in(
    name: str, value: Any, low: float, high: float, *, high_open: bool = False, what: str = ""
) -> float:
    """``value`` if it is a number in [low, high] (or [low, high) with ``high_open``)."""
    inside = is_number(value) and low <= value and (value < high if high_open else value <= high)
    if not inside:
        bounds = f"[{low:g}, {high:g}{')' if high_open else ']'}"
        raise InvalidParameterError(f"{name} must be {what + ' ' if what else ''}in {bounds}, got {value!r}")
    return value


def one_of(name: str, value: Any, options: Iterable[Any]) -> Any:
    """``value`` if it is one of ``options``."""
    options = tuple(options)
    if value not in options:
        raise InvalidParameterError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def flag(name: str, value: Any) -> bool:
    """``value`` if it is True or False."""
    if not isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
    return value


def function(name: str, value: Any) -> Any:
    """``value`` if it can be called."""
    if not callable(value):
        raise InvalidParameterError(f"{name} must be callable, got {type(value).__name__}")
    return value


def existing_file(name: str, path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` as a Path if a file is there, else ``MissingFileError`` naming the argument."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{name} must be an existing {what}, got {str(path)!r}")
    return path


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy view of an array, or of a PyTorch tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def labels(y: Any, name: str = "y", *, n: int | None = None, n_classes: int | None = None) -> np.ndarray:
    """``y`` as a non-empty 1-D int64 array of whole-number class labels (length ``n``, values < ``n_classes``)."""
    a = to_numpy(y)
    if a.ndim != 1 or a.size == 0 or (n is not None and len(a) != n):
        wanted = f"a 1-D array of {n} labels" if n is not None else "a non-empty 1-D array of class labels"
        raise InvalidParameterError(f"{name} must be {wanted}, got shape {a.shape}")
    whole = np.issubdtype(a.dtype, np.integer) or (
        np.issubdtype(a.dtype, np.floating) and bool(np.all(a == np.round(a)))
    )
    if not whole:
        raise InvalidParameterError(f"{name} must hold whole-number class labels, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if n_classes is not None and (a.min() < 0 or a.max() >= n_classes):
        raise InvalidParameterError(
            f"{name} must hold labels in 0..{n_classes - 1}, got {a.min()}..{a.max()}"
        )
    return a


def features(X: Any, name: str = "X", dtype: Any = None) -> np.ndarray:
    """``X`` as a non-empty 2-D numeric array (samples, features)."""
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 2 or X.shape[0] == 0:
        raise InvalidParameterError(
            f"{name} must be a non-empty 2-D array (samples, features), got shape {X.shape}"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise InvalidParameterError(f"{name} must hold numbers, got dtype {X.dtype}")
    return X


def image_layout(shape: tuple[int, ...], name: str = "images") -> str:
    """Which layout an image batch of ``shape`` has: ``flat``, ``nhw``, ``nhwc`` or ``nchw``."""
    shape = tuple(shape)
    if len(shape) == 2 and shape[1] == 784:
        return "flat"
    if len(shape) == 3:
        return "nhw"
    if len(shape) == 4 and shape[1] == 1:
        return "nchw"
    if len(shape) == 4 and shape[-1] == 1:
        return "nhwc"
    raise InvalidParameterError(f"{name} must have shape {IMAGE_SHAPES}; got {shape}")


def image_batch(x: Any, name: str = "images", layout: str = "nhw", *, single: bool = True) -> np.ndarray:
    """An MNIST batch in any common layout as NumPy (n, h, w) or, with ``layout="nchw"``, (n, 1, h, w).

    ``single``: a 2-D array that is not (n, 784) is one image, given a batch axis.
    """
    one_of("layout", layout, ("nhw", "nchw"))
    a = to_numpy(x)
    if single and a.ndim == 2 and a.shape[1] != 784:
        a = a[None]
    kind = image_layout(a.shape, name)
    if kind == "flat":
        a = a.reshape(-1, 28, 28)
    elif kind == "nchw":
        a = a[:, 0]
    elif kind == "nhwc":
        a = a[..., 0]
    return a[:, None] if layout == "nchw" else a
