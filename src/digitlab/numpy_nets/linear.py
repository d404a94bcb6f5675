"""Chapter 1's models, by hand in NumPy: the perceptron, gradient descent on a line, softmax regression.

- toy data sets: ``blobs``, ``xor_points``, ``line_points``;
- ``Perceptron`` and ``MulticlassPerceptron``: Rosenblatt's learning rule;
- ``fit_line``: gradient descent on a straight line, the smallest example of training;
- ``softmax``, ``cross_entropy`` and ``SoftmaxRegression``: a linear classifier trained by
  mini-batch gradient descent.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from digitlab import _validation as check


class Classifier:
    """What every classifier of this package shares: ``score``, the accuracy of ``predict``."""

    def score(self, X, y) -> float:
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


def blas_threads(threads: int | None):
    """Context that caps BLAS threads: mini-batch products are small, so extra threads mostly wait."""
    if threads is None:
        return nullcontext()
    check.positive_int("threads", threads)
    from threadpoolctl import threadpool_limits  # only when a cap is asked for

    return threadpool_limits(limits=threads, user_api="blas")


# --- toy data sets --------------------------------------------------------------------------------
def blobs(n: int = 100, gap: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds in 2-D, labels 0 and 1, separated by a straight line when ``gap`` > 0."""
    check.positive_int("n", n)
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


# --- the perceptron -------------------------------------------------------------------------------
class Perceptron(Classifier):
    """Rosenblatt's perceptron for labels 0/1: predict step(w·x + b); on a mistake, w += lr (y - ŷ) x."""

    def __init__(self, lr: float = 1.0, epochs: int = 10, seed: int = 0):
        check.positive("lr", lr)
        check.positive_int("epochs", epochs)
        self.lr, self.epochs, self.seed = lr, epochs, seed

    def fit(self, X, y) -> Perceptron:
        """Apply the learning rule one sample at a time; stop after an epoch without mistakes."""
        X = check.features(X, dtype=float)
        y = check.labels(y, n=len(X), n_classes=2)
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
        return check.features(X) @ self.w_ + self.b_

    def predict(self, X) -> np.ndarray:
        """Predicted labels, 0 or 1."""
        return (self.decision_function(X) >= 0).astype(np.int64)


class MulticlassPerceptron(Classifier):
    """One weight vector per class; predict the class with the largest score; on a mistake, move the
    true class's weights towards x and the predicted class's weights away from it."""

    def __init__(self, n_classes: int = 10, epochs: int = 5, seed: int = 0):
        check.positive_int("n_classes", n_classes)
        check.positive_int("epochs", epochs)
        self.n_classes, self.epochs, self.seed = n_classes, epochs, seed

    def fit(self, X, y) -> MulticlassPerceptron:
        """Apply the multiclass perceptron rule one sample at a time."""
        X = check.features(X, dtype=np.float32)
        y = check.labels(y, n=len(X), n_classes=self.n_classes)
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
        return np.argmax(check.features(X) @ self.W_ + self.b_, axis=1)


# --- gradient descent on a line ------------------------------------------------------------------
def fit_line(x, y, lr: float, steps: int = 50) -> dict[str, np.ndarray]:
    """Fit y ≈ w x + b by gradient descent on the mean squared error, from w = b = 0.

    Returns the history: arrays ``w``, ``b`` and ``loss`` of length ``steps + 1`` (before each step
    and after the last). A learning rate that is too large makes the loss grow without bound.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) == 0:
        raise ValueError(f"x and y must be 1-D arrays of the same length, got shapes {x.shape} and {y.shape}")
    check.positive("lr", lr)
    check.positive_int("steps", steps)
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
    y = check.labels(y, n_classes=n_classes)
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
    y = check.labels(y, n=len(logits), n_classes=logits.shape[1])
    return float(-np.mean(log_softmax(logits)[np.arange(len(y)), y]))


def minibatches(n: int, batch_size: int, rng: np.random.Generator):
    """Yield shuffled index arrays that cover range(n) in batches of ``batch_size``."""
    check.positive_int("batch_size", batch_size)
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


class SoftmaxRegression(Classifier):
    """A linear classifier, softmax(x W + b), trained by mini-batch gradient descent on cross-entropy."""

    def __init__(
        self,
        n_classes: int = 10,
        lr: float = 0.5,
        epochs: int = 10,
        batch_size: int = 128,
        seed: int = 0,
        dtype=np.float32,
        threads: int | None = 1,
    ):
        check.positive_int("n_classes", n_classes)
        check.positive("lr", lr)
        check.positive_int("epochs", epochs)
        check.positive_int("batch_size", batch_size)
        self.n_classes, self.lr, self.epochs, self.batch_size = n_classes, lr, epochs, batch_size
        self.seed, self.dtype, self.threads = seed, np.dtype(dtype), threads

    def fit(self, X, y) -> SoftmaxRegression:
        """Train from zero weights; ``history_`` holds the mean training loss of each epoch."""
        X = check.features(X, dtype=self.dtype)
        y = check.labels(y, n=len(X), n_classes=self.n_classes)
        rng = np.random.default_rng(self.seed)
        self.W_ = np.zeros((X.shape[1], self.n_classes), self.dtype)
        self.b_ = np.zeros(self.n_classes, self.dtype)
        self.history_ = {"loss": []}
        with blas_threads(self.threads):
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
        return softmax(check.features(X, dtype=self.dtype) @ self.W_ + self.b_)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample."""
        return np.argmax(check.features(X, dtype=self.dtype) @ self.W_ + self.b_, axis=1)
