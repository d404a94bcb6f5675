"""Exercises of chapter 1, "The perceptron"."""

from __future__ import annotations

import numpy as np

from digitlab import numpy_nets
from digitlab.exercises.core import Exercise, Wrong, as_array, as_number, call, close, forbidden


def _check_and_gate(answer) -> str:
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Wrong("expected a pair (w, b): a weight vector of length 2 and a bias.")
    w = as_array(answer[0], (2,), "w, an array of 2 weights")
    b = as_number(answer[1], "b, a number (the bias)")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    out = numpy_nets.step(X @ w + b).astype(int)
    if np.array_equal(out, [0, 1, 1, 1]):
        raise Wrong("that perceptron computes OR: AND must output 1 only when both inputs are 1.")
    if not np.array_equal(out, [0, 0, 0, 1]):
        rows = ", ".join(f"{tuple(x.astype(int))} → {o}" for x, o in zip(X, out, strict=True))
        raise Wrong(f"your perceptron outputs {rows}; AND outputs 1 only for (1, 1).")
    return f"w = {w.tolist()} and b = {b:g} compute AND: the line w·x + b = 0 cuts (1, 1) off the rest."


def _check_silu_grad(answer) -> str:
    z = np.linspace(-8, 8, 33)
    out = as_array(
        call(answer, z.copy(), what="silu_grad"),
        z.shape,
        "an array as long as z (the derivative at each point)",
    )
    s = numpy_nets.sigmoid(z)
    slope = s * (1 - s)  # the sigmoid's own derivative, given in the chapter
    if np.allclose(out, slope, atol=1e-6):
        raise Wrong(
            "that is the derivative of the sigmoid; SiLU is z times the sigmoid: use the product rule."
        )
    if np.allclose(out, s, atol=1e-6):
        raise Wrong(
            "you differentiated the factor z only; the product rule adds z times the sigmoid's slope."
        )
    if np.allclose(out, z * slope, atol=1e-6):
        raise Wrong("you differentiated the sigmoid only; the product rule adds the sigmoid times z' = 1.")
    if np.allclose(out, s + slope, atol=1e-6):
        raise Wrong("the second term lost its factor z: d/dz [z s(z)] = s(z) + z s'(z).")
    if not np.allclose(out, s + z * slope, atol=1e-6):
        raise Wrong("the values differ from the slope of z·sigmoid(z); compare with (f(z+h) - f(z-h)) / 2h.")
    return (
        "SiLU's slope is s(z)(1 + z(1 - s(z))): it dips slightly below 0 for negative z and "
        "overshoots 1 a little for positive z, unlike ReLU's 0 or 1."
    )


def critical_learning_rate() -> float:
    """The learning rate above which gradient descent on ``numpy_nets.line_points()`` diverges."""
    x, _ = numpy_nets.line_points()
    # The mean squared error is a quadratic bowl with Hessian H; steps larger than 2/λmax(H) overshoot.
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return float(2 / np.linalg.eigvalsh(hessian).max())


def _check_critical_lr(answer) -> str:
    lr = as_number(answer, "a number (a learning rate)")
    if lr <= 0:
        raise Wrong("a learning rate must be positive.")
    close(lr, critical_learning_rate(), rtol=0.03, what="learning rate")
    return (
        f"above about {critical_learning_rate():.4f} each step overshoots the bottom of the bowl by "
        "more than it started, so the loss grows without bound."
    )


def _check_softmax(answer) -> str:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 4))
    with forbidden(numpy_nets, "softmax", "write the softmax yourself, without numpy_nets.softmax.") as real:
        if answer is real:
            raise Wrong("that is numpy_nets.softmax itself: write the softmax yourself.")
        out = as_array(call(answer, z.copy(), what="softmax"), z.shape, "an array of the same shape as z")
        if np.allclose(out, np.exp(z) / np.exp(z).sum(), atol=1e-6):
            raise Wrong("you normalised over the whole array; each row (axis=-1) must sum to 1.")
        if not np.allclose(out, real(z), atol=1e-6):
            raise Wrong(
                "on small logits your values differ from exp(z) divided by the sum of exp(z) over each row."
            )
        big = np.array([[1000.0, 1000.0, 0.0], [-1000.0, 0.0, 1000.0]])
        with np.errstate(all="ignore"):
            out = as_array(
                call(answer, big.copy(), what="softmax"), big.shape, "an array of the same shape as z"
            )
        if not np.all(np.isfinite(out)):
            raise Wrong(
                "logits of 1000 give nan or inf: exp(1000) overflows. Subtract each row's maximum first."
            )
        if not np.allclose(out, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], atol=1e-6):
            raise Wrong(
                "on logits of ±1000 the probabilities are wrong; [1000, 1000, 0] should give [0.5, 0.5, 0]."
            )
        apart = np.array(
            [[1000.0, 0.0, 0.0], [-1000.0, -1000.0, -1001.0]]
        )  # a row far below the other's maximum
        with np.errstate(all="ignore"):
            out = as_array(
                call(answer, apart.copy(), what="softmax"), apart.shape, "an array of the same shape as z"
            )
        if not (np.all(np.isfinite(out)) and np.allclose(out, real(apart), atol=1e-6)):
            raise Wrong(
                "a row whose logits all lie far below another row's maximum, [-1000, -1000, -1001] next "
                "to [1000, 0, 0], gives 0 / 0: subtract each row's own maximum (axis=-1, keepdims=True), "
                "not the maximum of the whole array."
            )
    return "shifting by the row maximum changes nothing mathematically and keeps exp from overflowing."


and_gate = Exercise(
    "ch01.and_gate",
    _check_and_gate,
    hint="Draw the four points. You need a line with (1, 1) on one side and the other three on the "
    "other: try equal weights and a negative bias between -2 and -1 (times the weights).",
)

silu_derivative = Exercise(
    "ch01.silu_derivative",
    _check_silu_grad,
    hint="SiLU is a product, z times s(z) with s the sigmoid: (f g)' = f' g + f g'. The chapter gives "
    "s'(z) = s(z)(1 - s(z)).",
)

critical_lr = Exercise(
    "ch01.critical_lr",
    _check_critical_lr,
    hint="Run `numpy_nets.fit_line(x, y, lr, steps=500)` for a range of learning rates and look at "
    "the last loss; then narrow the interval between the largest that converges and the smallest "
    "that diverges (bisection).",
)

stable_softmax = Exercise(
    "ch01.stable_softmax",
    _check_softmax,
    hint="softmax(z) = softmax(z - c) for any constant c. Choose c as the maximum of each row "
    "(`z.max(axis=-1, keepdims=True)`) so the largest exponent is exp(0) = 1.",
)
