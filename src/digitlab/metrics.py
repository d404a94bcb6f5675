"""Evaluating a classifier: thin wrappers over scikit-learn and SciPy, never re-implementations.

Every function takes plain arrays (true labels, predicted labels, or an (n, k) matrix of class
probabilities), so it works the same for NumPy, Keras and PyTorch models::

    cm = metrics.confusion(y_test, y_pred)          # sklearn.metrics.confusion_matrix
    metrics.report(y_test, y_pred)                  # classification_report as a DataFrame
    curves = metrics.roc_curves(y_test, proba)      # one-vs-rest ROC of each class + macro
    metrics.mcnemar(y_test, pred_a, pred_b)         # are two models really different?
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digitlab import _validation as check

DIGITS: tuple[int, ...] = tuple(range(10))


# --- validated inputs ------------------------------------------------------------------------------
def _pair(y_true, y_pred, pred_name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    t, p = check.labels(y_true, "y_true"), check.labels(y_pred, pred_name)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} labels but {pred_name} has {len(p)}")
    return t, p


def _proba(y_true, proba, labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and an (n, k) probability matrix whose columns are ``labels``, checked together."""
    t = check.labels(y_true, "y_true")
    p = check.to_numpy(proba).astype(np.float64)
    if p.ndim != 2 or p.shape != (len(t), len(labels)):
        raise ValueError(
            f"proba must have shape (n, k) = ({len(t)}, {len(labels)}): one row per label in "
            f"y_true and one column per class; got shape {p.shape}"
        )
    if not np.all(np.isfinite(p)):
        raise ValueError("proba must be finite (did you pass logits that overflowed?)")
    return t, p


# --- counting ------------------------------------------------------------------------------------
def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions that equal the true labels (``sklearn.metrics.accuracy_score``)."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(*_pair(y_true, y_pred)))


def confusion(y_true, y_pred, normalize: str | None = None, labels: Sequence[int] = DIGITS) -> np.ndarray:
    """Confusion matrix: row = true class, column = predicted class (``sklearn.metrics.confusion_matrix``).

    ``normalize``: None for counts, "true" to divide each row by its total (each row then shows
    where the images of one digit went), "pred" for columns, "all" for the whole matrix.
    """
    from sklearn.metrics import confusion_matrix

    check.one_of("normalize", normalize, (None, "true", "pred", "all"))
    t, p = _pair(y_true, y_pred)
    return confusion_matrix(t, p, labels=list(labels), normalize=normalize)


def report(y_true, y_pred, labels: Sequence[int] = DIGITS, digits: int = 4):
    """Precision, recall, F1 and support per class plus averages, as a pandas DataFrame."""
    import pandas as pd
    from sklearn.metrics import classification_report

    t, p = _pair(y_true, y_pred)
    table = classification_report(t, p, labels=list(labels), output_dict=True, zero_division=0)
    frame = pd.DataFrame(table).T
    frame["support"] = frame["support"].astype(int)
    return frame.round(digits)


def macro_f1(y_true, y_pred, labels: Sequence[int] = DIGITS) -> float:
    """The F1 score of each class, averaged with equal weight (``sklearn.metrics.f1_score``)."""
    from sklearn.metrics import f1_score

    t, p = _pair(y_true, y_pred)
    return float(f1_score(t, p, labels=list(labels), average="macro", zero_division=0))


def confused_pairs(y_true, y_pred, k: int = 3, labels: Sequence[int] = DIGITS):
    """The ``k`` pairs of classes mixed up most often, both directions added, as a DataFrame."""
    import pandas as pd

    check.positive_int("k", k)
    cm = confusion(y_true, y_pred, labels=labels)
    rows = []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            a, b = int(cm[i, j]), int(cm[j, i])
            rows.append(
                {
                    "pair": f"{labels[i]}-{labels[j]}",
                    "a": labels[i],
                    "b": labels[j],
                    "a_as_b": a,
                    "b_as_a": b,
                    "total": a + b,
                }
            )
    frame = pd.DataFrame(rows).sort_values(["total", "a", "b"], ascending=[False, True, True], kind="stable")
    return frame.head(k).reset_index(drop=True)


def most_confident_errors(y_true, proba, k: int = 12) -> np.ndarray:
    """Indices of the ``k`` wrong predictions made with the highest probability, most confident first."""
    columns = np.shape(proba)[1] if np.ndim(proba) == 2 else len(DIGITS)
    t, p = _proba(y_true, proba, range(columns))
    check.positive_int("k", k)
    pred, confidence = p.argmax(axis=1), p.max(axis=1)
    wrong = np.flatnonzero(pred != t)
    return wrong[np.argsort(-confidence[wrong], kind="stable")][:k]


# --- ROC curves, one class against the rest --------------------------------------------------------
def roc_curves(y_true, proba, labels: Sequence[int] = DIGITS, grid: int = 1001) -> dict:
    """One-vs-rest ROC curve and AUC of each class, plus their macro average.

    A ROC curve needs a binary truth and one score, so for class c the truth is ``y_true == c``
    and the score is column c of ``proba``. The macro curve averages the ten true-positive rates on
    a common grid of false-positive rates. Returns ``{c: (fpr, tpr, auc), ..., "macro": (...)}``.
    """
    from sklearn.metrics import auc, roc_curve

    t, p = _proba(y_true, proba, labels)
    fpr_grid = np.linspace(0.0, 1.0, grid)
    curves, tprs = {}, []
    for j, c in enumerate(labels):
        if not np.any(t == c) or np.all(t == c):
            raise ValueError(f"y_true must contain class {c} and at least one other class for its ROC curve")
        fpr, tpr, _ = roc_curve(t == c, p[:, j])
        curves[c] = (fpr, tpr, float(auc(fpr, tpr)))
        tprs.append(np.interp(fpr_grid, fpr, tpr))
    mean_tpr = np.mean(tprs, axis=0)
    mean_tpr[0] = 0.0
    curves["macro"] = (fpr_grid, mean_tpr, macro_auc(t, p, labels))
    return curves


def macro_auc(y_true, proba, labels: Sequence[int] = DIGITS) -> float:
    """Mean of the ten one-vs-rest AUCs (``roc_auc_score(multi_class="ovr", average="macro")``)."""
    from sklearn.metrics import roc_auc_score

    t, p = _proba(y_true, proba, labels)
    p = p / p.sum(axis=1, keepdims=True)  # sklearn insists that rows sum to one
    return float(roc_auc_score(t, p, multi_class="ovr", average="macro", labels=list(labels)))


# --- confidence: calibration and abstaining --------------------------------------------------------
def reliability(y_true, proba, n_bins: int = 10, labels: Sequence[int] = DIGITS):
    """Top-label reliability table: per confidence bin, its images, mean confidence and accuracy.

    The confidence of an image is its largest probability; the bins split [0, 1] into ``n_bins``
    equal widths, and empty bins are left out (``sklearn.calibration.calibration_curve``).
    """
    import pandas as pd
    from sklearn.calibration import calibration_curve

    t, p = _proba(y_true, proba, labels)
    check.int_at_least("n_bins", n_bins, 2)
    confidence = p.max(axis=1)
    correct = np.asarray(labels)[p.argmax(axis=1)] == t
    accuracy, mean_confidence = calibration_curve(correct, confidence, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0, 1, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], confidence), minlength=n_bins)  # sklearn's binning
    return (
        pd.DataFrame({"low": edges[:-1], "high": edges[1:], "images": counts})
        .loc[counts > 0]
        .assign(confidence=mean_confidence, accuracy=accuracy)
        .reset_index(drop=True)
    )


def expected_calibration_error(y_true, proba, n_bins: int = 10, labels: Sequence[int] = DIGITS) -> float:
    """Mean gap between confidence and accuracy over the bins of ``reliability``, weighted by their images."""
    table = reliability(y_true, proba, n_bins, labels)
    weights = table["images"] / table["images"].sum()
    return float((weights * (table["confidence"] - table["accuracy"]).abs()).sum())


def coverage_curve(y_true, proba, labels: Sequence[int] = DIGITS):
    """Accuracy on the images kept when the least confident are set aside, for every coverage.

    Row i keeps the i + 1 most confident images: ``coverage`` is their share of all images,
    ``accuracy`` the share of them predicted right, ``threshold`` the lowest confidence kept.
    """
    import pandas as pd

    t, p = _proba(y_true, proba, labels)
    confidence = p.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    correct = (np.asarray(labels)[p.argmax(axis=1)] == t)[order]
    kept = np.arange(1, len(t) + 1)
    return pd.DataFrame(
        {"coverage": kept / len(t), "accuracy": np.cumsum(correct) / kept, "threshold": confidence[order]}
    )


# --- comparing two models on the same test set -------------------------------------------------------
def bootstrap_difference(
    y_true, pred_a, pred_b, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict:
    """Accuracy of A minus accuracy of B with a paired bootstrap confidence interval (``scipy.stats.bootstrap``).

    Paired: each resample draws the same test images for both models, so the interval reflects how
    much the difference depends on which images happened to be in the test set.
    """
    from scipy.stats import bootstrap

    t, a = _pair(y_true, pred_a, "pred_a")
    _, b = _pair(y_true, pred_b, "pred_b")
    check.int_at_least("n_resamples", n_resamples, 100)
    if not check.is_number(confidence) or not 0 < confidence < 1:
        raise check.InvalidParameterError(f"confidence must be between 0 and 1, got {confidence!r}")
    right_a, right_b = (a == t).astype(float), (b == t).astype(float)

    def difference(x, y, axis=-1):
        return x.mean(axis=axis) - y.mean(axis=axis)

    result = bootstrap(
        (right_a, right_b),
        difference,
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        batch=200,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )  # batch: 200 resamples in memory at a time
    low, high = result.confidence_interval
    return {
        "difference": float(difference(right_a, right_b)),
        "low": float(low),
        "high": float(high),
        "confidence": confidence,
    }


def mcnemar(y_true, pred_a, pred_b) -> dict:
    """McNemar's exact test: do A and B err on different images more often than chance allows?

    Only the disagreements count: ``a_only`` images that A gets right and B wrong, ``b_only`` the
    reverse. If the models were equally good each disagreement would go either way with probability
    1/2, so the p-value is a two-sided binomial test (``scipy.stats.binomtest``).
    """
    from scipy.stats import binomtest

    t, a = _pair(y_true, pred_a, "pred_a")
    _, b = _pair(y_true, pred_b, "pred_b")
    a_only = int(np.sum((a == t) & (b != t)))
    b_only = int(np.sum((a != t) & (b == t)))
    n = a_only + b_only
    pvalue = 1.0 if n == 0 else float(binomtest(a_only, n, 0.5).pvalue)
    return {
        "a_only": a_only,
        "b_only": b_only,
        "both_right": int(np.sum((a == t) & (b == t))),
        "both_wrong": int(np.sum((a != t) & (b != t))),
        "pvalue": pvalue,
    }
