"""Better probabilities without retraining: temperature scaling (chapter 5).

A network's softmax is often too sure of itself. Temperature scaling divides its logits by one
number ``T`` before the softmax: ``T > 1`` softens every prediction, ``T < 1`` sharpens it, and the
predicted digit never changes (the largest logit stays the largest). ``T`` is fitted on a validation
split by minimising the negative log-likelihood, never on the test set (Guo et al., 2017). The functions
take probabilities, as every model of the book returns them: their logarithms are logits up to a
constant per image, which the softmax ignores.
"""

from __future__ import annotations

import numpy as np

from digitlab import _validation as check

BOUNDS = (0.05, 20.0)  # the temperatures searched


def _as_proba(proba, name: str = "proba") -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise check.InvalidParameterError(f"{name} must have shape (n, classes), got {p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1, atol=1e-3):
        raise check.InvalidParameterError(
            f"{name} must hold probabilities: rows of non-negative numbers summing to 1"
        )
    return p


def scale(proba, temperature: float) -> np.ndarray:
    """The probabilities after dividing the logits by ``temperature``."""
    check.positive("temperature", temperature)
    z = np.log(np.clip(_as_proba(proba), 1e-12, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(y_true, proba) -> float:
    """The negative log-likelihood (mean cross-entropy) of the true labels."""
    p = _as_proba(proba)
    y = np.asarray(y_true)
    if y.shape != (len(p),):
        raise check.InvalidParameterError(f"y_true must have shape ({len(p)},), got {y.shape}")
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0))))


def fit_temperature(y_val, proba_val) -> float:
    """The temperature that minimises the negative log-likelihood on a validation split."""
    from scipy.optimize import minimize_scalar

    p = _as_proba(proba_val, "proba_val")
    result = minimize_scalar(
        lambda log_t: nll(y_val, scale(p, float(np.exp(log_t)))), bounds=np.log(BOUNDS), method="bounded"
    )
    return float(np.exp(result.x))
