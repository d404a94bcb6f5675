"""Figures every chapter uses: digit grids, label distributions and training curves.

All functions draw with matplotlib/seaborn, return the ``Figure`` and never call ``plt.show()``
(Jupyter shows a figure returned by the last line of a cell, or call ``plt.show()`` yourself).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from digitlab import _validation as check


def _as_images(images) -> np.ndarray:
    """Coerce (n, 784), (n, 28, 28), (n, 28, 28, 1), (n, 1, 28, 28) or one (h, w) image to (n, h, w)."""
    return check.image_batch(images, "images")


def plot_digits(
    images,
    labels=None,
    predictions=None,
    *,
    n: int | None = None,
    cols: int = 10,
    title: str | None = None,
    size: float = 1.1,
    cmap: str = "gray_r",
):
    """A grid of digits, captioned with labels and/or predictions (wrong predictions in red)."""
    x = _as_images(images)
    n = len(x) if n is None else n
    if not 1 <= n <= len(x):
        raise ValueError(f"n must be between 1 and {len(x)} (the number of images), got {n}")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values is not None and len(values) < n:
            raise ValueError(f"{name} has {len(values)} entries but {n} images are shown")
    cols = min(check.positive_int("cols", cols), n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(x[i], cmap=cmap)
        ax.set_title(
            _caption(i, labels, predictions),
            fontsize=9,
            color="crimson" if _is_wrong(i, labels, predictions) else "black",
        )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _caption(i, labels, predictions) -> str:
    if labels is not None and predictions is not None:
        return f"{int(labels[i])} → {int(predictions[i])}"
    if labels is not None:
        return str(int(labels[i]))
    if predictions is not None:
        return f"pred {int(predictions[i])}"
    return ""


def _is_wrong(i, labels, predictions) -> bool:
    return labels is not None and predictions is not None and int(labels[i]) != int(predictions[i])


def plot_label_distribution(
    *label_sets: Sequence[int],
    names: Sequence[str] | None = None,
    title: str = "How many images of each digit",
):
    """Bar chart of how often each digit 0–9 occurs, one group of bars per label set."""
    import pandas as pd
    import seaborn as sns

    if not label_sets:
        raise ValueError("give at least one array of labels")
    names = list(names) if names is not None else [f"set {i + 1}" for i in range(len(label_sets))]
    if len(names) != len(label_sets):
        raise ValueError(f"got {len(label_sets)} label sets but {len(names)} names")
    rows = []
    for name, labels in zip(names, label_sets):
        y = check.to_numpy(labels).astype(int).ravel()
        if y.size and (y.min() < 0 or y.max() > 9):
            raise check.InvalidParameterError(
                f"labels of {name!r} must be digits 0-9, got values {y.min()}..{y.max()}"
            )
        counts = np.bincount(y, minlength=10)
        rows += [{"digit": d, "count": int(c), "set": name} for d, c in enumerate(counts)]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.barplot(pd.DataFrame(rows), x="digit", y="count", hue="set", ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_history(
    history: Mapping[str, Sequence[float]] | object,
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
):
    """Training curves from a Keras ``History`` or a dict such as ``{"loss": [...], "val_loss": [...]}``."""
    h = getattr(history, "history", history)
    if not isinstance(h, Mapping) or not h:
        raise ValueError("history must be a Keras History or a non-empty dict of metric lists")
    metrics = [m for m in metrics if m in h]
    if not metrics:
        raise ValueError(f"none of the metrics is in the history, which has {sorted(h)}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        epochs = np.arange(1, len(h[metric]) + 1)
        ax.plot(epochs, h[metric], "o-", label=f"train {metric}")
        if f"val_{metric}" in h:
            ax.plot(epochs, h[f"val_{metric}"], "s--", label=f"validation {metric}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- evaluating a classifier (chapter 5) -------------------------------------------------------------
def plot_confusion_matrix(
    cm, labels: Sequence | None = None, *, title: str | None = None, ax=None, cmap: str = "Blues"
):
    """A confusion matrix as a seaborn heatmap: integer counts as they are, fractions as percentages."""
    import seaborn as sns

    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.size == 0:
        raise ValueError(f"cm must be a square matrix (k, k), got shape {cm.shape}")
    labels = list(range(len(cm))) if labels is None else list(labels)
    if len(labels) != len(cm):
        raise ValueError(f"labels has {len(labels)} entries but cm is {len(cm)}x{len(cm)}")
    counts = np.issubdtype(cm.dtype, np.integer)  # sklearn gives int counts, float fractions
    fig = _figure(ax, (6.2, 5.2))
    ax = ax or fig.axes[0]
    values = cm if counts else cm * 100
    sns.heatmap(
        values,
        annot=True,
        fmt="d" if counts else ".1f",
        cmap=cmap,
        cbar=False,
        square=True,
        xticklabels=labels,
        yticklabels=labels,
        annot_kws={"fontsize": 8},
        ax=ax,
        vmax=None if counts else 100,
    )
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title or ("confusion matrix (counts)" if counts else "confusion matrix (% of each row)"))
    return fig


def _figure(ax, size: tuple[float, float]):
    """The figure of ``ax``, or a new figure with one axes of ``size``."""
    if ax is not None:
        return ax.figure
    fig, _ = plt.subplots(figsize=size)
    return fig


def plot_error_gallery(
    images, y_true, y_pred, confidence, *, cols: int = 6, title: str | None = None, size: float = 1.5
):
    """Misclassified digits captioned "true → predicted (confidence)", in the order given."""
    x = _as_images(images)
    columns = [np.asarray(v).ravel() for v in (y_true, y_pred, confidence)]
    for name, values in zip(("y_true", "y_pred", "confidence"), columns, strict=True):
        if len(values) != len(x):
            raise ValueError(f"{name} has {len(values)} entries but there are {len(x)} images")
    cols = min(check.positive_int("cols", cols), len(x))
    rows = math.ceil(len(x) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size * 1.25), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(x):
            ax.imshow(x[i], cmap="gray_r")
            t, p, c = columns[0][i], columns[1][i], columns[2][i]
            ax.set_title(
                f"true {int(t)} → {int(p)}\n{c:.1%} sure",
                fontsize=9,
                color="crimson" if int(t) != int(p) else "black",
            )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_roc_curves(
    curves: Mapping, *, title: str = "ROC curves, one digit against the rest", log_x: bool = False, ax=None
):
    """ROC curves as returned by ``metrics.roc_curves``: one line per class and a thick macro average."""
    if not isinstance(curves, Mapping) or "macro" not in curves:
        raise ValueError("curves must be the dict returned by metrics.roc_curves (with a 'macro' entry)")
    fig = _figure(ax, (6.5, 5.5))
    ax = ax or fig.axes[0]
    colors = plt.get_cmap("tab10")
    for i, (label, (fpr, tpr, auc)) in enumerate((k, v) for k, v in curves.items() if k != "macro"):
        ax.plot(fpr, tpr, color=colors(i % 10), lw=1.2, label=f"{label} (AUC {auc:.4f})")
    fpr, tpr, auc = curves["macro"]
    ax.plot(fpr, tpr, color="black", lw=2.5, ls="--", label=f"macro average (AUC {auc:.4f})")
    if log_x:
        ax.set_xscale("log")
        ax.set_xlim(1e-4, 1)
    else:
        ax.plot([0, 1], [0, 1], color="gray", lw=0.8, ls=":")
        ax.set_xlim(0, 1)
    ax.set_xlabel("false-positive rate" + (" (log scale)" if log_x else ""))
    ax.set_ylabel("true-positive rate")
    ax.set_title(title)
    ax.legend(fontsize=7.5, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def plot_reliability(table, *, title: str = "reliability diagram", ax=None):
    """A reliability table from ``metrics.reliability`` as bars of accuracy per confidence bin.

    A calibrated model's bars reach the diagonal; bars below it mean overconfidence.
    """
    needed = {"low", "high", "images", "confidence", "accuracy"}
    if not hasattr(table, "columns") or not needed <= set(table.columns):
        raise ValueError(
            f"table must be the DataFrame returned by metrics.reliability, with columns {sorted(needed)}"
        )
    fig = _figure(ax, (5, 4.5))
    ax = ax or fig.axes[0]
    ax.bar(
        table["low"],
        table["accuracy"],
        width=table["high"] - table["low"],
        align="edge",
        edgecolor="black",
        color="tab:blue",
        alpha=0.7,
        label="accuracy in the bin",
    )
    ax.plot(table["confidence"], table["confidence"], "o", color="tab:red", ms=4, label="mean confidence")
    ax.plot([0, 1], [0, 1], color="gray", lw=0.8, ls=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    return fig
