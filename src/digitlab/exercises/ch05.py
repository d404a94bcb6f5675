"""Exercises of chapter 5, "Evaluating a digit classifier"."""

from __future__ import annotations

import numpy as np

from digitlab import metrics
from digitlab.exercises.core import Exercise, Wrong, as_array, as_number, call

# A small confusion matrix of a classifier of the digits 3, 5 and 8 (rows: true, columns: predicted).
TOY_LABELS = (3, 5, 8)
TOY_CM = np.array([[90, 6, 4],
                   [10, 75, 5],
                   [2, 3, 105]])


# --- 5.1: precision and recall from a confusion matrix ------------------------------------------------
def _toy_predictions() -> tuple[np.ndarray, np.ndarray]:
    """Label arrays that produce ``TOY_CM``, so scikit-learn can give the reference answer."""
    pairs = [(t, p, TOY_CM[i, j]) for i, t in enumerate(TOY_LABELS) for j, p in enumerate(TOY_LABELS)]
    y_true = np.concatenate([np.full(n, t) for t, _, n in pairs])
    y_pred = np.concatenate([np.full(n, p) for _, p, n in pairs])
    return y_true, y_pred


def _check_precision_recall(answer) -> str:
    got = as_array(answer, (2, 3), "an array (precisions in row 0, recalls in row 1)")
    table = metrics.report(*_toy_predictions(), labels=TOY_LABELS, digits=10)
    rows = [str(d) for d in TOY_LABELS]
    expected = np.stack([table.loc[rows, "precision"].to_numpy(), table.loc[rows, "recall"].to_numpy()])
    if np.allclose(got, expected, atol=1e-3):
        return "precision reads down a column, recall along a row."
    if np.allclose(got, expected[::-1], atol=1e-3):
        raise Wrong("the rows are swapped: precision divides by the column total (all images predicted as "
                    "the class), recall by the row total (all images of the class).")
    if np.allclose(got * 100, expected, atol=1e-1) or np.allclose(got, expected * 100, atol=1e-1):
        raise Wrong("give fractions between 0 and 1, not percentages.")
    if np.allclose(got[0], expected[0], atol=1e-3):
        raise Wrong("the precisions are right; check the recalls (diagonal over the row total).")
    if np.allclose(got[1], expected[1], atol=1e-3):
        raise Wrong("the recalls are right; check the precisions (diagonal over the column total).")
    raise Wrong("these are not the precisions and recalls of TOY_CM; divide the diagonal by the column "
                "sums (precision) and by the row sums (recall).")


precision_recall = Exercise(
    "ch05.precision_recall", _check_precision_recall,
    hint="`np.diag(TOY_CM)` holds the correct predictions; `TOY_CM.sum(axis=0)` the column totals and "
    "`TOY_CM.sum(axis=1)` the row totals.",
)


# --- 5.2: the AUC of one digit ---------------------------------------------------------------------------
def _toy_scores(seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, 400)
    logits = rng.normal(size=(400, 10)) + 1.5 * np.eye(10)[y] + 0.8 * np.eye(10)[(y + 1) % 10]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


def _check_auc_for(answer) -> str:
    from sklearn.metrics import roc_auc_score

    y, proba = _toy_scores()
    for digit in (3, 7):
        got = as_number(call(answer, digit, y, proba, what="a function auc_for(digit, y_true, proba)"),
                        "a number (the AUC)")
        expected = roc_auc_score(y == digit, proba[:, digit])
        if np.isclose(got, expected, atol=1e-6):
            continue
        if np.isclose(got, roc_auc_score(y == digit, proba.max(axis=1)), atol=1e-6):
            raise Wrong("the score must be the probability of *this* digit (column `digit`), not the "
                        "probability of whatever class was predicted.")
        if np.isclose(got, roc_auc_score(y == digit, proba.argmax(axis=1) == digit), atol=1e-6):
            raise Wrong("you scored with hard predictions (0 or 1), which gives a curve with a single "
                        "corner; use the probability in column `digit`.")
        raise Wrong(f"auc_for({digit}, ...) gave {got:.4f}; the truth is `y_true == digit` and the score "
                    "is `proba[:, digit]`.")
    return "one digit against the rest: a binary truth and one score per image."


auc_for = Exercise(
    "ch05.auc_for", _check_auc_for,
    hint="`sklearn.metrics.roc_auc_score(binary_truth, score)`, with `binary_truth = (y_true == digit)`.",
)


# --- 5.3: McNemar's test by hand ---------------------------------------------------------------------------
def _toy_pair(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, 3000)
    a = np.where(rng.random(3000) < 0.985, y, (y + 1) % 10)
    b = np.where(rng.random(3000) < 0.978, y, (y + 3) % 10)
    return y, a, b


def _check_mcnemar(answer) -> str:
    from scipy.stats import binomtest

    y, a, b = _toy_pair()
    got = as_number(call(answer, y, a, b, what="a function mcnemar_p(y_true, pred_a, pred_b)"),
                    "a number (the p-value)")
    if not 0 <= got <= 1:
        raise Wrong(f"a p-value lies between 0 and 1, got {got:.4g}.")
    expected = metrics.mcnemar(y, a, b)["pvalue"]
    if np.isclose(got, expected, rtol=1e-6, atol=1e-12):
        return "only the images on which the models disagree carry evidence."
    errors_a, errors_b = int(np.sum(a != y)), int(np.sum(b != y))
    if np.isclose(got, binomtest(errors_a, errors_a + errors_b, 0.5).pvalue, rtol=1e-6):
        raise Wrong("you counted all errors; McNemar counts only the disagreements (A right and B wrong, "
                    "or the reverse), because images both get wrong or both get right say nothing.")
    raise Wrong("count a_only = A right and B wrong, b_only = the reverse, then "
                "`binomtest(a_only, a_only + b_only, 0.5).pvalue`.")


mcnemar = Exercise(
    "ch05.mcnemar", _check_mcnemar,
    hint="`right_a = pred_a == y_true`; the disagreements are `right_a & ~right_b` and `~right_a & right_b`. "
    "Under 'equally good', each disagreement is a fair coin flip: `scipy.stats.binomtest`.",
)
