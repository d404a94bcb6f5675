"""Classify pictures of digits with a trained model: the logic behind ``digitlab predict`` (``cli``).

A *backend* turns a batch of MNIST-style uint8 images ``(n, 28, 28)`` into probabilities
``(n, 10)``. ``load_backend`` picks one for a zoo model, by default ``torch_strong`` (chapter 7's
network, trained with chapter 6's augmentation: the model chapter 8 measures): its ONNX export when
chapter 7 made one (ONNX Runtime is light and fast), else the network itself from the zoo (PyTorch or
Keras). Each picture goes through ``preprocess.to_mnist`` first; a picture that cannot be read is
reported and the others go on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from digitlab import _validation as check
from digitlab import compress, preprocess, zoo

DEFAULT_MODEL = "torch_strong"  # chapter 7's network, trained with augmentation; chapter 8 measures it
KERAS_MODEL = "keras_cnn"  # what ``--backend keras`` uses when no model is named
BACKENDS = ("auto", "onnx", "torch", "keras")
# A zoo recipe's framework: the backend that runs it, the module it needs, the extra that installs it.
FRAMEWORKS = {"pytorch": ("torch", "torch", "torch"), "keras": ("keras", "keras", "tf")}


@dataclass
class Prediction:
    """What the model said about one picture, or why it could not say anything."""

    source: str
    digit: int | None = None
    confidence: float | None = None
    probabilities: list[float] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the picture was read and classified."""
        return self.error is None

    def __str__(self) -> str:
        if not self.ok:
            return f"{self.source}: error: {self.error}"
        return f"{self.source}: {self.digit} ({self.confidence:.1%})"


# --- backends -------------------------------------------------------------------------------------
class Backend:
    """Turns uint8 images (n, 28, 28) into probabilities (n, 10); subclasses implement ``_scores``."""

    name = "backend"

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Probabilities of the ten digits for each image, rows summing to 1."""
        x = np.asarray(images)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise check.InvalidParameterError(f"images must have shape (n, 28, 28), got {x.shape}")
        scores = np.asarray(self._scores(x.astype(np.float32) / 255.0), dtype=np.float64)
        scores = scores.reshape(len(x), -1)
        if scores.shape[1] != 10:
            raise ValueError(f"{self.name}: the model gave {scores.shape[1]} outputs per image, expected 10")
        return _as_probabilities(scores)

    def _scores(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class FunctionBackend(Backend):
    """A backend from any function of float images (n, 28, 28) in [0, 1] to scores (n, 10)."""

    def __init__(self, fn: Callable[[np.ndarray], Any], name: str = "function"):
        check.function("fn", fn)
        self.fn, self.name = fn, name

    def _scores(self, x: np.ndarray) -> np.ndarray:
        return self.fn(x)


class KerasBackend(Backend):
    """A Keras model whose input is 28x28 pixels in [0, 1], in whatever shape it was built with."""

    def __init__(self, model: Any, name: str = "keras"):
        if not hasattr(model, "predict") or not hasattr(model, "input_shape"):
            raise check.InvalidParameterError(f"model must be a Keras model, got {type(model).__name__}")
        self.model, self.name = model, name

    def _scores(self, x: np.ndarray) -> np.ndarray:
        x = x.reshape((len(x), *self.model.input_shape[1:]))
        if len(x) > 32:
            return self.model.predict(x, verbose=0)
        import keras  # a direct call is much faster than predict() for a few images (the pad)

        return keras.ops.convert_to_numpy(self.model(x, training=False))


class TorchBackend(Backend):
    """A PyTorch model (a zoo model such as ``torch_strong``), run by ``torch_train.predict_proba``."""

    def __init__(self, model: Any, name: str = "torch"):
        self.model, self.name = model, name

    def _scores(self, x: np.ndarray) -> np.ndarray:
        from digitlab import torch_train  # imports PyTorch, only when a PyTorch model is used

        return torch_train.predict_proba(self.model, x)


class OnnxBackend(Backend):
    """An ONNX file run by ONNX Runtime on the CPU; ``mean``/``std`` standardise the pixels if given."""

    def __init__(self, path: str | Path, mean: float = 0.0, std: float = 1.0, name: str | None = None):
        import onnxruntime as ort

        path = check.existing_file("path", path, "ONNX file")
        check.positive("std", std)
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0]
        self.mean, self.std = float(mean), float(std)
        self.name = name or f"onnx:{path.name}"

    def _scores(self, x: np.ndarray) -> np.ndarray:
        shape = [len(x)] + [d if isinstance(d, int) and d > 0 else -1 for d in self.input.shape[1:]]
        try:
            x = ((x - self.mean) / self.std).reshape(shape)
        except ValueError:
            raise ValueError(
                f"{self.name}: cannot feed 28x28 images to input shape {self.input.shape}"
            ) from None
        return self.session.run(None, {self.input.name: x.astype(np.float32)})[0]


def _as_probabilities(scores: np.ndarray) -> np.ndarray:
    """Rows that already are probabilities stay; anything else (logits) goes through a softmax."""
    if np.all(scores >= 0) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3):
        return scores
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def default_model() -> str:
    """The model ``digitlab predict`` uses when none is named: ``DEFAULT_MODEL``, as chapter 8 does."""
    return DEFAULT_MODEL


def load_backend(model: str | None = None, backend: str = "auto", log: TextIO | None = None) -> Backend:
    """The backend for zoo ``model``: ``auto`` (its ONNX export if there is one, else the network
    itself), ``onnx``, or ``torch`` / ``keras`` (the network itself, which must be of that framework)."""
    check.one_of("backend", backend, BACKENDS)
    if model is None:
        model = KERAS_MODEL if backend == "keras" else default_model()
    native, needs, extra = FRAMEWORKS[zoo.recipe(model).framework]
    if backend in {"auto", "onnx"}:
        found = compress.find_onnx(model)
        if found is not None:
            path, settings = found
            return OnnxBackend(path, name=f"{model} (ONNX Runtime)", **settings)
        if backend == "onnx":
            raise ValueError(f"no ONNX export of {model!r} found: run chapter 7 first, or use --backend auto")
    elif backend != native:
        raise ValueError(
            f"model {model!r} is a {native} model, not a {backend} one: use --backend {native} "
            "or auto, or pick a model of that framework"
        )
    if importlib.util.find_spec(needs) is None:
        raise ValueError(
            f"model {model!r} needs {needs}, which is not installed: pip install 'digitlab[{extra}]', "
            "or export the model to ONNX with chapter 7"
        )
    with contextlib.redirect_stdout(log or sys.stderr):  # the zoo's notes must not mix with the results
        trained = zoo.get(model)
    if native == "torch":
        return TorchBackend(trained, name=f"{model} (PyTorch)")
    return KerasBackend(trained, name=f"{model} (Keras)")


# --- predicting -----------------------------------------------------------------------------------
def predict_images(
    images: Iterable[Any], backend: Backend, sources: Sequence[str] | None = None
) -> list[Prediction]:
    """Preprocess and classify each picture (path, PIL image or array); failures become error entries."""
    if not isinstance(backend, Backend):
        raise check.InvalidParameterError(
            f"backend must be a digitlab.predict.Backend, got {type(backend).__name__}"
        )
    images = list(images)
    sources = (
        [str(s) for s in sources]
        if sources is not None
        else [str(im) if isinstance(im, (str, Path)) else f"image {i}" for i, im in enumerate(images)]
    )
    if len(sources) != len(images):
        raise ValueError(f"sources has {len(sources)} names for {len(images)} images")
    results, ready = [Prediction(s) for s in sources], []
    for i, image in enumerate(images):
        try:
            ready.append((i, preprocess.to_mnist(image)))
        except ValueError as e:
            results[i].error = str(e)
    if ready:
        probs = backend.predict_proba(np.stack([x for _, x in ready]))
        for (i, _), p in zip(ready, probs, strict=True):
            digit = int(np.argmax(p))
            results[i].digit, results[i].confidence = digit, float(p[digit])
            results[i].probabilities = [round(float(v), 6) for v in p]
    return results


def run(paths: Sequence[str], backend: Backend, as_json: bool = False, out: TextIO | None = None) -> int:
    """Classify the files ``paths`` and print one line each (or JSON); 0 if all worked, else 1."""
    out = out or sys.stdout
    results = predict_images(paths, backend, sources=paths)
    if as_json:
        report = {"model": backend.name, "predictions": [asdict(r) for r in results]}
        print(json.dumps(report, indent=2), file=out)
    else:
        for r in results:
            print(r, file=out)
    return 0 if all(r.ok for r in results) else 1
