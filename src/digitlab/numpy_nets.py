"""Neural networks written by hand in NumPy (chapters 1 and 2): the lesson is the code itself.

- activation functions and their derivatives, and a table comparing them;
- ``Perceptron`` and ``MulticlassPerceptron``: Rosenblatt's learning rule;
- ``fit_line``: gradient descent on a straight line, the smallest example of training;
- ``softmax``, ``cross_entropy`` and ``SoftmaxRegression``: a linear classifier trained by
  mini-batch gradient descent;
- ``MLP``: a multilayer perceptron with backpropagation, SGD with momentum, and
  ``gradient_check`` that compares its gradients with numerical ones.

Everything works in the ``dtype`` you choose: float32 to train fast, float64 to check gradients.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = [
    "ACTIVATIONS", "MLP", "MulticlassPerceptron", "Perceptron", "SoftmaxRegression",
    "activation_table", "cross_entropy", "fit_line", "gradient_check", "leaky_relu",
    "leaky_relu_grad", "line_points", "log_softmax", "minibatches", "numerical_gradients",
    "one_hot", "relu", "relu_grad", "sigmoid", "sigmoid_grad", "softmax", "step", "step_grad",
    "tanh", "tanh_grad", "xor_points", "blobs",
]


# --- input checks -----------------------------------------------------------------------------
def _features(X, name: str = "X", dtype=None) -> np.ndarray:
    """``X`` as a 2-D float array (n samples, d features), or a ValueError naming it."""
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (samples, features), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
    return X


def _labels(y, n: int, n_classes: int | None = None, name: str = "y") -> np.ndarray:
    """``y`` as a 1-D int array of length ``n`` with values in [0, n_classes)."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{name} must be a 1-D array of {n} labels, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) and not np.all(np.equal(np.mod(y, 1), 0)):
        raise ValueError(f"{name} must hold whole-number class labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if n_classes is not None and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must hold labels in 0..{n_classes - 1}, got {y.min()}..{y.max()}")
    return y


def _blas_threads(threads: int | None):
    """Context that caps BLAS threads: mini-batch products are small, so extra threads mostly wait."""
    from contextlib import nullcontext

    if threads is None:
        return nullcontext()
    _positive("threads", threads, integer=True)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def _positive(name: str, value, integer: bool = False) -> None:
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, got {value!r}")


# --- toy data sets --------------------------------------------------------------------------------
def blobs(n: int = 100, gap: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds in 2-D, labels 0 and 1, separated by a straight line when ``gap`` > 0."""
    _positive("n", n, integer=True)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    centres = np.where(y[:, None] == 1, [1.0, 1.0], [-1.0, -1.0]) * (0.5 + gap)
    X = centres + rng.normal(scale=0.6, size=(n, 2))
    if gap > 0:  # drop the rare points that stray over the line x1 + x2 = 0
        keep = np.sign(X.sum(axis=1)) == np.where(y == 1, 1, -1)
        X, y = X[keep], y[keep]
    return X, y


def xor_points() -> tuple[np.ndarray, np.ndarray]:
    """The four points of XOR: label 1 when exactly one coordinate is 1."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([0, 1, 1, 0])


def line_points() -> tuple[np.ndarray, np.ndarray]:
    """Four points on the line y = x + 1 (chapter 1's regression example)."""
    x = np.array([0.0, 1.0, 2.0, 3.0])
    return x, x + 1


# --- activation functions -----------------------------------------------------------------------
def step(z):
    """Heaviside step: 1 where z >= 0, else 0."""
    return (np.asarray(z) >= 0).astype(float)


def step_grad(z):
    """Derivative of the step: 0 everywhere (undefined at 0), so it gives gradient descent nothing."""
    return np.zeros_like(np.asarray(z, dtype=float))


def sigmoid(z):
    """Logistic sigmoid 1 / (1 + exp(-z)), computed without overflow."""
    z = np.asarray(z, dtype=float)
    return np.exp(-np.logaddexp(0.0, -z))


def sigmoid_grad(z):
    """Derivative of the sigmoid: s (1 - s)."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z):
    """Hyperbolic tangent."""
    return np.tanh(z)


def tanh_grad(z):
    """Derivative of tanh: 1 - tanh(z)^2."""
    return 1 - np.tanh(z) ** 2


def relu(z):
    """Rectified linear unit: max(0, z)."""
    return np.maximum(z, 0)


def relu_grad(z):
    """Derivative of ReLU: 1 where z > 0, else 0."""
    return (np.asarray(z) > 0).astype(float)


def leaky_relu(z, alpha: float = 0.01):
    """Leaky ReLU: z where z > 0, else alpha z."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)


def leaky_relu_grad(z, alpha: float = 0.01):
    """Derivative of leaky ReLU: 1 where z > 0, else alpha."""
    return np.where(np.asarray(z) > 0, 1.0, alpha)


# name -> (function, derivative)
ACTIVATIONS = {
    "step": (step, step_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
}


def activation_table(names=("sigmoid", "tanh", "relu", "leaky_relu"), span: float = 20.0):
    """A DataFrame comparing activations, every entry measured on a grid of inputs in [-span, span]."""
    import pandas as pd

    unknown = [n for n in names if n not in ACTIVATIONS]
    if unknown:
        raise ValueError(f"names must be among {sorted(ACTIVATIONS)}, got {unknown}")
    _positive("span", span)
    z = np.linspace(-span, span, 40001)
    rows = []
    for name in names:
        f, df = ACTIVATIONS[name]
        out, grad = f(z), df(z)
        saturates = max(df(-5.0), df(5.0)) < 0.01  # tiny slope a few units from 0
        dead = df(-1.0) == 0  # no gradient at all for negative inputs
        # a bound is infinite when the slope at the edge of the grid has not died away
        lower = "-∞" if df(-span) > 1e-3 else f"{round(float(out.min()), 3):g}"
        upper = "∞" if df(span) > 1e-3 else f"{round(float(out.max()), 3):g}"
        strengths = ["smooth" if np.all(np.abs(np.diff(grad)) < 0.01) else "cheap to compute"]
        centred = np.allclose(f(-z), -out)  # an odd function: outputs balanced around 0
        if centred:
            strengths.append("zero-centred")
        if df(5.0) >= 1:
            strengths.append("no saturation for z > 0")
        if grad.min() >= 1e-3:
            strengths.append("never a zero gradient")
        weaknesses = []
        if saturates:
            weaknesses.append("saturates: vanishing gradients")
        if grad.max() < 0.5:
            weaknesses.append(f"slope at most {grad.max():.2g}: shrinks gradients in every layer")
        if not centred:
            weaknesses.append("not zero-centred")
        if dead:
            weaknesses.append("dead units (zero gradient for z < 0)")
        rows.append({
            "activation": name,
            "range": f"({lower}, {upper})",
            "max derivative": round(float(grad.max()), 3),
            "derivative at z=-5": round(float(df(-5.0)), 4),
            "derivative at z=5": round(float(df(5.0)), 4),
            "strengths": ", ".join(strengths),
            "weaknesses": ", ".join(weaknesses) or "none measured here",
        })
    return pd.DataFrame(rows).set_index("activation")


# --- the perceptron -------------------------------------------------------------------------------
class Perceptron:
    """Rosenblatt's perceptron for labels 0/1: predict step(w·x + b); on a mistake, w += lr (y - ŷ) x."""

    def __init__(self, lr: float = 1.0, epochs: int = 10, seed: int = 0):
        _positive("lr", lr)
        _positive("epochs", epochs, integer=True)
        self.lr, self.epochs, self.seed = lr, epochs, seed

    def fit(self, X, y) -> Perceptron:
        """Apply the learning rule one sample at a time; stop after an epoch without mistakes."""
        X = _features(X, dtype=float)
        y = _labels(y, len(X), 2)
        rng = np.random.default_rng(self.seed)
        self.w_, self.b_ = np.zeros(X.shape[1]), 0.0
        self.history_ = [(self.w_.copy(), self.b_)]  # the weights after each epoch
        self.mistakes_ = []  # mistakes made during each epoch
        for _ in range(self.epochs):
            mistakes = 0
            for i in rng.permutation(len(X)):
                error = y[i] - (X[i] @ self.w_ + self.b_ >= 0)  # -1, 0 or +1
                if error:
                    self.w_ += self.lr * error * X[i]
                    self.b_ += self.lr * error
                    mistakes += 1
            self.history_.append((self.w_.copy(), self.b_))
            self.mistakes_.append(mistakes)
            if mistakes == 0:
                break
        self.converged_ = self.mistakes_[-1] == 0
        return self

    def decision_function(self, X) -> np.ndarray:
        """The weighted sum w·x + b of each sample."""
        return _features(X) @ self.w_ + self.b_

    def predict(self, X) -> np.ndarray:
        """Predicted labels, 0 or 1."""
        return (self.decision_function(X) >= 0).astype(np.int64)

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


class MulticlassPerceptron:
    """One weight vector per class; predict the class with the largest score; on a mistake, move the
    true class's weights towards x and the predicted class's weights away from it."""

    def __init__(self, n_classes: int = 10, epochs: int = 5, seed: int = 0):
        _positive("n_classes", n_classes, integer=True)
        _positive("epochs", epochs, integer=True)
        self.n_classes, self.epochs, self.seed = n_classes, epochs, seed

    def fit(self, X, y) -> MulticlassPerceptron:
        """Apply the multiclass perceptron rule one sample at a time."""
        X = _features(X, dtype=np.float32)
        y = _labels(y, len(X), self.n_classes)
        rng = np.random.default_rng(self.seed)
        X1 = np.hstack([X, np.ones((len(X), 1), np.float32)])  # a constant input carries the bias
        W = np.zeros((X1.shape[1], self.n_classes), np.float32)
        self.mistakes_ = []
        for _ in range(self.epochs):
            mistakes = 0
            for i in rng.permutation(len(X1)):
                guess = int(np.argmax(X1[i] @ W))
                if guess != y[i]:
                    W[:, y[i]] += X1[i]
                    W[:, guess] -= X1[i]
                    mistakes += 1
            self.mistakes_.append(mistakes)
        self.W_, self.b_ = W[:-1], W[-1]
        return self

    def predict(self, X) -> np.ndarray:
        """The class with the largest score for each sample."""
        return np.argmax(_features(X) @ self.W_ + self.b_, axis=1)

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


# --- gradient descent on a line ------------------------------------------------------------------
def fit_line(x, y, lr: float, steps: int = 50) -> dict[str, np.ndarray]:
    """Fit y ≈ w x + b by gradient descent on the mean squared error, from w = b = 0.

    Returns the history: arrays ``w``, ``b`` and ``loss`` of length ``steps + 1`` (before each step
    and after the last). A learning rate that is too large makes the loss grow without bound.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) == 0:
        raise ValueError(f"x and y must be 1-D arrays of the same length, got shapes {x.shape} and {y.shape}")
    _positive("lr", lr)
    _positive("steps", steps, integer=True)
    w = b = 0.0
    history = {"w": [], "b": [], "loss": []}
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows to inf: allowed
        for _ in range(steps + 1):
            error = w * x + b - y
            history["w"].append(w)
            history["b"].append(b)
            history["loss"].append(np.mean(error**2))
            # d/dw mean(error^2) = mean(2 error x); d/db = mean(2 error)
            w, b = w - lr * np.mean(2 * error * x), b - lr * np.mean(2 * error)
    return {k: np.array(v) for k, v in history.items()}


# --- softmax and cross-entropy ---------------------------------------------------------------------
def one_hot(y, n_classes: int = 10, dtype=np.float32) -> np.ndarray:
    """Labels (n,) as one-hot rows (n, n_classes)."""
    y = _labels(y, len(np.asarray(y).ravel()), n_classes)
    out = np.zeros((len(y), n_classes), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def softmax(z) -> np.ndarray:
    """Softmax over the last axis; subtracting the row maximum first keeps exp from overflowing."""
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z) -> np.ndarray:
    """Logarithm of the softmax, computed stably (no log of 0)."""
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(float)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits, y) -> float:
    """Mean cross-entropy of integer labels ``y`` under ``softmax(logits)``."""
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D (samples, classes), got shape {logits.shape}")
    y = _labels(y, len(logits), logits.shape[1])
    return float(-np.mean(log_softmax(logits)[np.arange(len(y)), y]))


def minibatches(n: int, batch_size: int, rng: np.random.Generator):
    """Yield shuffled index arrays that cover range(n) in batches of ``batch_size``."""
    _positive("batch_size", batch_size, integer=True)
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


class SoftmaxRegression:
    """A linear classifier, softmax(x W + b), trained by mini-batch gradient descent on cross-entropy."""

    def __init__(self, n_classes: int = 10, lr: float = 0.5, epochs: int = 10, batch_size: int = 128,
                 seed: int = 0, dtype=np.float32, threads: int | None = 1):
        _positive("n_classes", n_classes, integer=True)
        _positive("lr", lr)
        _positive("epochs", epochs, integer=True)
        _positive("batch_size", batch_size, integer=True)
        self.n_classes, self.lr, self.epochs, self.batch_size = n_classes, lr, epochs, batch_size
        self.seed, self.dtype, self.threads = seed, np.dtype(dtype), threads

    def fit(self, X, y) -> SoftmaxRegression:
        """Train from zero weights; ``history_`` holds the mean training loss of each epoch."""
        X = _features(X, dtype=self.dtype)
        y = _labels(y, len(X), self.n_classes)
        rng = np.random.default_rng(self.seed)
        self.W_ = np.zeros((X.shape[1], self.n_classes), self.dtype)
        self.b_ = np.zeros(self.n_classes, self.dtype)
        self.history_ = {"loss": []}
        with _blas_threads(self.threads):
            for _ in range(self.epochs):
                losses = []
                for idx in minibatches(len(X), self.batch_size, rng):
                    xb, yb = X[idx], y[idx]
                    p = softmax(xb @ self.W_ + self.b_)
                    losses.append(-np.mean(np.log(p[np.arange(len(yb)), yb] + 1e-12)))
                    p[np.arange(len(yb)), yb] -= 1  # d loss / d logits = (p - one_hot(y)) / batch
                    p /= len(yb)
                    self.W_ -= self.lr * (xb.T @ p)
                    self.b_ -= self.lr * p.sum(axis=0)
                self.history_["loss"].append(float(np.mean(losses)))
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, n_classes)."""
        return softmax(_features(X, dtype=self.dtype) @ self.W_ + self.b_)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample."""
        return np.argmax(_features(X, dtype=self.dtype) @ self.W_ + self.b_, axis=1)

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


# --- the multilayer perceptron ----------------------------------------------------------------------
class MLP:
    """A fully connected network: ReLU hidden layers, a softmax output, cross-entropy loss.

    ``sizes`` lists the layer widths, input first: ``(784, 128, 10)`` has one hidden layer of 128.
    Parameters live in ``params`` as ``W1, b1, W2, b2, ...`` in ``dtype``.
    """

    def __init__(self, sizes=(784, 128, 10), seed: int = 0, dtype=np.float32):
        sizes = tuple(sizes)
        if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                                 for s in sizes):
            raise ValueError(f"sizes must list at least two positive layer widths, got {sizes}")
        self.sizes, self.dtype = sizes, np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
            # He initialisation: keeps the variance of ReLU activations steady from layer to layer
            self.params[f"W{i}"] = (rng.normal(size=(fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, self.dtype)
        self.history_: dict[str, list[float]] = {}

    @property
    def n_layers(self) -> int:
        """Number of weight layers (hidden layers + 1)."""
        return len(self.sizes) - 1

    def n_params(self) -> int:
        """Number of trainable numbers (weights and biases)."""
        return sum(p.size for p in self.params.values())

    def forward(self, X) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits of each sample, and the cache of layer inputs that ``backward`` needs."""
        a = _features(X, dtype=self.dtype)
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
        y = _labels(y, len(logits), self.sizes[-1])
        return cross_entropy(logits, y), self.backward(logits, cache, y)

    def fit(self, X, y, *, epochs: int = 10, lr: float = 0.1, momentum: float = 0.9,
            batch_size: int = 128, lr_decay: float = 1.0, validation=None, seed: int = 0,
            threads: int | None = 1, verbose: bool = True) -> MLP:
        """Mini-batch SGD with momentum; ``lr`` is multiplied by ``lr_decay`` after each epoch.

        ``history_`` records per epoch the mean training loss, the seconds taken, and the accuracy
        on ``validation=(X_val, y_val)`` when given. ``threads`` caps BLAS threads (None: no cap).
        """
        X = _features(X, dtype=self.dtype)
        y = _labels(y, len(X), self.sizes[-1])
        _positive("epochs", epochs, integer=True)
        _positive("lr", lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        rng = np.random.default_rng(seed)
        velocity = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.history_ = {"loss": [], "seconds": []} | ({"val_accuracy": []} if validation else {})
        for epoch in range(1, epochs + 1):
            start, losses = time.perf_counter(), []
            with _blas_threads(threads):
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

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


def numerical_gradients(model: MLP, X, y, eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Central-difference estimate of every gradient, (L(θ+ε) - L(θ-ε)) / 2ε: slow, for checking only."""
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a numpy_nets.MLP, got {type(model).__name__}")
    _positive("eps", eps)
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
        raise ValueError(f"model must be a numpy_nets.MLP, got {type(model).__name__}")
    if model.dtype != np.float64:
        raise ValueError(f"gradient_check needs a float64 model (rounding hides bugs in {model.dtype})")
    _, analytic = model.loss_and_grads(X, y)
    numeric = numerical_gradients(model, X, y, eps)
    errors = []
    for name, n in numeric.items():
        a = analytic[name]
        errors.append(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12))
    return float(max(errors))
