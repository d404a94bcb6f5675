"""Activation functions and their derivatives, and a table comparing them (chapter 1)."""

from __future__ import annotations

import numpy as np

from digitlab import _validation as check


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
    check.positive("span", span)
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
        rows.append(
            {
                "activation": name,
                "range": f"({lower}, {upper})",
                "max derivative": round(float(grad.max()), 3),
                "derivative at z=-5": round(float(df(-5.0)), 4),
                "derivative at z=5": round(float(df(5.0)), 4),
                "strengths": ", ".join(strengths),
                "weaknesses": ", ".join(weaknesses) or "none measured here",
            }
        )
    return pd.DataFrame(rows).set_index("activation")
