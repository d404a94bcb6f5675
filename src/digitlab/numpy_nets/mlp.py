"""Chapter 2's model, by hand in NumPy: a multilayer perceptron with backpropagation.

``MLP`` trains by mini-batch SGD with momentum; ``gradient_check`` compares its gradients with
numerical ones (``numerical_gradients``). Everything works in the ``dtype`` you choose: float32 to
train fast, float64 to check gradients.
"""

from __future__ import annotations

import time

import numpy as np

from digitlab import _validation as check
from digitlab.numpy_nets.linear import Classifier, blas_threads, cross_entropy, minibatches, softmax


class MLP(Classifier):
    """A fully connected network: ReLU hidden layers, a softmax output, cross-entropy loss.

    ``sizes`` lists the layer widths, input first: ``(784, 128, 10)`` has one hidden layer of 128.
    Parameters live in ``params`` as ``W1, b1, W2, b2, ...`` in ``dtype``.
    """

    def __init__(self, sizes=(784, 128, 10), seed: int = 0, dtype=np.float32):
        sizes = tuple(sizes)
        if len(sizes) < 2 or any(not check.is_number(s, integer=True) or s < 1 for s in sizes):
            raise check.InvalidParameterError(
                f"sizes must list at least two positive layer widths, got {sizes}"
            )
        self.sizes, self.dtype = sizes, np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
            # He initialisation: keeps the variance of ReLU activations steady from layer to layer
            self.params[f"W{i}"] = (rng.normal(size=(fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(
                self.dtype
            )
            self.params[f"b{i}"] = np.zeros(fan_out, self.dtype)
        self.history_: dict[str, list[float]] = {}

    @property
    def n_layers(self) -> int:
        """Number of weight layers (hidden layers + 1)."""
        return len(self.sizes) - 1

    def count_params(self) -> int:
        """Number of trainable numbers (weights and biases)."""
        return sum(p.size for p in self.params.values())

    def forward(self, X) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits of each sample, and the cache of layer inputs that ``backward`` needs."""
        a = check.features(X, dtype=self.dtype)
        if a.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have {self.sizes[0]} features, got {a.shape[1]}")
        cache = [a]  # the input of every layer
        for i in range(1, self.n_layers + 1):
            z = a @ self.params[f"W{i}"] + self.params[f"b{i}"]
            if i == self.n_layers:
                return z, cache
            a = np.maximum(z, 0)  # ReLU
            cache.append(a)
        raise AssertionError("unreachable")

    def backward(self, logits: np.ndarray, cache: list[np.ndarray], y: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the mean cross-entropy with respect to every parameter (the chain rule)."""
        n = len(y)
        delta = softmax(logits)  # d loss / d logits = (softmax - one_hot) / n
        delta[np.arange(n), y] -= 1
        delta /= n
        grads = {}
        for i in range(self.n_layers, 0, -1):
            a = cache[i - 1]  # input of layer i
            grads[f"W{i}"] = a.T @ delta
            grads[f"b{i}"] = delta.sum(axis=0)
            if i > 1:  # back through W_i, then through the ReLU that produced a
                delta = (delta @ self.params[f"W{i}"].T) * (a > 0)
        return grads

    def loss(self, X, y) -> float:
        """Mean cross-entropy on (X, y)."""
        logits, _ = self.forward(X)
        return cross_entropy(logits, y)

    def loss_and_grads(self, X, y) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy on (X, y) and its gradients."""
        logits, cache = self.forward(X)
        y = check.labels(y, n=len(logits), n_classes=self.sizes[-1])
        return cross_entropy(logits, y), self.backward(logits, cache, y)

    def fit(
        self,
        X,
        y,
        *,
        epochs: int = 10,
        lr: float = 0.1,
        momentum: float = 0.9,
        batch_size: int = 128,
        lr_decay: float = 1.0,
        validation=None,
        seed: int = 0,
        threads: int | None = 1,
        verbose: bool = True,
    ) -> MLP:
        """Mini-batch SGD with momentum; ``lr`` is multiplied by ``lr_decay`` after each epoch.

        ``history_`` records per epoch the mean training loss, the seconds taken, and the accuracy
        on ``validation=(X_val, y_val)`` when given. ``threads`` caps BLAS threads (None: no cap).
        """
        X = check.features(X, dtype=self.dtype)
        y = check.labels(y, n=len(X), n_classes=self.sizes[-1])
        check.positive_int("epochs", epochs)
        check.positive("lr", lr)
        check.number_in("momentum", momentum, 0, 1, high_open=True)
        rng = np.random.default_rng(seed)
        velocity = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.history_ = {"loss": [], "seconds": []} | ({"val_accuracy": []} if validation else {})
        for epoch in range(1, epochs + 1):
            start, losses = time.perf_counter(), []
            with blas_threads(threads):
                for idx in minibatches(len(X), batch_size, rng):
                    logits, cache = self.forward(X[idx])
                    losses.append(cross_entropy(logits, y[idx]))
                    grads = self.backward(logits, cache, y[idx])
                    for k, g in grads.items():
                        velocity[k] = momentum * velocity[k] - lr * g
                        self.params[k] += velocity[k]
            self.history_["loss"].append(float(np.mean(losses)))
            self.history_["seconds"].append(time.perf_counter() - start)
            line = f"epoch {epoch:2d}  loss {self.history_['loss'][-1]:.4f}"
            if validation:
                self.history_["val_accuracy"].append(self.score(*validation))
                line += f"  val accuracy {self.history_['val_accuracy'][-1]:.4f}"
            if verbose:
                print(f"{line}  ({self.history_['seconds'][-1]:.1f} s)")
            lr *= lr_decay
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, classes)."""
        return softmax(self.forward(X)[0])

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample."""
        return np.argmax(self.forward(X)[0], axis=1)


def numerical_gradients(model: MLP, X, y, eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Central-difference estimate of every gradient, (L(θ+ε) - L(θ-ε)) / 2ε: slow, for checking only."""
    if not isinstance(model, MLP):
        raise check.InvalidParameterError(f"model must be a numpy_nets.MLP, got {type(model).__name__}")
    check.positive("eps", eps)
    grads = {}
    for name, p in model.params.items():
        g = np.zeros_like(p, dtype=np.float64)
        flat, gflat = p.reshape(-1), g.reshape(-1)  # views into p and g
        for j in range(flat.size):
            saved = flat[j]
            flat[j] = saved + eps
            plus = model.loss(X, y)
            flat[j] = saved - eps
            minus = model.loss(X, y)
            flat[j] = saved
            gflat[j] = (plus - minus) / (2 * eps)
        grads[name] = g
    return grads


def gradient_check(model: MLP, X, y, eps: float = 1e-6) -> float:
    """Largest relative error |a - n| / (|a| + |n|) (norms per parameter) of analytic vs numerical gradients.

    Use a float64 model and a handful of samples: below 1e-6 means backpropagation is right.
    """
    if not isinstance(model, MLP):
        raise check.InvalidParameterError(f"model must be a numpy_nets.MLP, got {type(model).__name__}")
    if model.dtype != np.float64:
        raise ValueError(f"gradient_check needs a float64 model (rounding hides bugs in {model.dtype})")
    _, analytic = model.loss_and_grads(X, y)
    numeric = numerical_gradients(model, X, y, eps)
    errors = []
    for name, n in numeric.items():
        a = analytic[name]
        errors.append(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12))
    return float(max(errors))
