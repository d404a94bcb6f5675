"""Exercises of chapter 5, "Evaluating a digit classifier"."""

from __future__ import annotations

import numpy as np

from digitlab import metrics
from digitlab.exercises.core import Exercise, Wrong, as_array, as_number, call

# A small confusion matrix of a classifier of the digits 3, 5 and 8 (rows: true, columns: predicted).
TOY_LABELS = (3, 5, 8)
# One digit, 8, has both the lowest precision and the largest excess of predictions over true
# images, so "which digit is predicted too readily?" has a single answer.
TOY_CM = np.array([[92, 2, 6], [4, 78, 8], [2, 3, 105]])


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
        worst = TOY_LABELS[int(np.argmin(expected[0]))]
        return (
            f"precision reads down a column, recall along a row; {worst} has the lowest precision: "
            "the classifier says it more often than it occurs."
        )
    if np.allclose(got, expected[::-1], atol=1e-3):
        raise Wrong(
            "the rows are swapped: precision divides by the column total (all images predicted as "
            "the class), recall by the row total (all images of the class)."
        )
    if np.allclose(got * 100, expected, atol=1e-1) or np.allclose(got, expected * 100, atol=1e-1):
        raise Wrong("give fractions between 0 and 1, not percentages.")
    if np.allclose(got[0], expected[0], atol=1e-3):
        raise Wrong("the precisions are right; check the recalls (diagonal over the row total).")
    if np.allclose(got[1], expected[1], atol=1e-3):
        raise Wrong("the recalls are right; check the precisions (diagonal over the column total).")
    raise Wrong(
        "these are not the precisions and recalls of TOY_CM; divide the diagonal by the column "
        "sums (precision) and by the row sums (recall)."
    )


precision_recall = Exercise(
    "ch05.precision_recall",
    _check_precision_recall,
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
        got = as_number(
            call(answer, digit, y, proba, what="a function auc_for(digit, y_true, proba)"),
            "a number (the AUC)",
        )
        expected = roc_auc_score(y == digit, proba[:, digit])
        if np.isclose(got, expected, atol=1e-6):
            continue
        if np.isclose(got, roc_auc_score(y == digit, proba.max(axis=1)), atol=1e-6):
            raise Wrong(
                "the score must be the probability of *this* digit (column `digit`), not the "
                "probability of whatever class was predicted."
            )
        if np.isclose(got, roc_auc_score(y == digit, proba.argmax(axis=1) == digit), atol=1e-6):
            raise Wrong(
                "you scored with hard predictions (0 or 1), which gives a curve with a single "
                "corner; use the probability in column `digit`."
            )
        raise Wrong(
            f"auc_for({digit}, ...) gave {got:.4f}; the truth is `y_true == digit` and the score "
            "is `proba[:, digit]`."
        )
    return "one digit against the rest: a binary truth and one score per image."


auc_for = Exercise(
    "ch05.auc_for",
    _check_auc_for,
    hint="`sklearn.metrics.roc_auc_score(binary_truth, score)`, with `binary_truth = (y_true == digit)`.",
)


# --- 5.3: McNemar's test with the chi-squared approximation, by hand ---------------------------------
def _toy_pairs(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Three prediction pairs with different answers (a typed constant cannot pass): models far apart and
    close, with images both get wrong (hard digits), which a count of all errors would wrongly include.
    The checker draws them from a seeded generator, so a failure can be reproduced."""
    pairs = []
    for n, wrong_a, wrong_b in (
        (int(rng.integers(2000, 4000)), 0.01, 0.02),
        (int(rng.integers(2000, 4000)), 0.012, 0.014),
        (int(rng.integers(500, 1500)), 0.005, 0.04),
    ):
        y = rng.integers(0, 10, n)
        hard = rng.random(n) < 0.015
        a = np.where(hard | (rng.random(n) < wrong_a), (y + 1) % 10, y)
        b = np.where(hard | (rng.random(n) < wrong_b), (y + 3) % 10, y)
        pairs.append((y, a, b))
    return pairs


def mcnemar_chi2(y_true, pred_a, pred_b, correction: bool = True) -> tuple[float, float]:
    """McNemar's chi-squared statistic (with Edwards' continuity correction) and its p-value."""
    from scipy.stats import chi2

    right_a, right_b = pred_a == y_true, pred_b == y_true
    only_a, only_b = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    if only_a + only_b == 0:
        return 0.0, 1.0
    statistic = (abs(only_a - only_b) - (1 if correction else 0)) ** 2 / (only_a + only_b)
    return float(statistic), float(chi2.sf(statistic, df=1))


def _check_mcnemar(answer) -> str:
    from scipy.stats import chi2

    for y, a, b in _toy_pairs(np.random.default_rng(5)):  # seeded: a failure can be reproduced
        got = as_number(
            call(answer, y, a, b, what="a function mcnemar_p(y_true, pred_a, pred_b)"),
            "a number (the p-value)",
        )
        statistic, expected = mcnemar_chi2(y, a, b)
        if np.isclose(got, expected, rtol=1e-6, atol=0):
            continue
        if np.isclose(got, statistic, rtol=1e-6, atol=0) and not np.isclose(
            statistic, expected, rtol=1e-6, atol=0
        ):
            raise Wrong("that is the chi-squared statistic; return its p-value, chi2.sf(statistic, df=1).")
        if not 0 <= got <= 1:
            raise Wrong(f"a p-value lies between 0 and 1, got {got:.4g}.")
        if np.isclose(got, metrics.mcnemar(y, a, b)["pvalue"], rtol=1e-6, atol=0):
            raise Wrong(
                "that is the exact binomial p-value (what metrics.mcnemar computes); this exercise asks "
                "for the chi-squared approximation, (|b - c| - 1)² / (b + c) with one degree of freedom."
            )
        if np.isclose(got, mcnemar_chi2(y, a, b, correction=False)[1], rtol=1e-6, atol=0):
            raise Wrong("the continuity correction is missing: subtract 1 from |b - c| before squaring.")
        errors_a, errors_b = int(np.sum(a != y)), int(np.sum(b != y))
        if np.isclose(
            got, chi2.sf((abs(errors_a - errors_b) - 1) ** 2 / (errors_a + errors_b), df=1), rtol=1e-6, atol=0
        ):
            raise Wrong(
                "you counted all errors; McNemar counts only the disagreements (A right and B wrong, "
                "or the reverse), because images both get wrong or both get right say nothing."
            )
        raise Wrong(
            "count b = A right and B wrong, c = the reverse, then "
            "`chi2.sf((abs(b - c) - 1) ** 2 / (b + c), df=1)`."
        )
    return (
        "only the images on which the models disagree carry evidence; with many of them chi² and exact agree."
    )


mcnemar = Exercise(
    "ch05.mcnemar",
    _check_mcnemar,
    hint="`right_a = pred_a == y_true`; the disagreements are `b = np.sum(right_a & ~right_b)` and "
    "`c = np.sum(~right_a & right_b)`. Under 'equally good', (|b - c| - 1)² / (b + c) follows a chi-squared "
    "distribution with one degree of freedom: `scipy.stats.chi2.sf(statistic, df=1)`.",
)


# --- 5.4: an abstention threshold chosen on the validation split -------------------------------------
def _reference_abstention(
    val_proba, val_y, test_proba, test_y, coverage: float
) -> tuple[float, float, float]:
    """The reference: the threshold that answers ``coverage`` of the validation images, then its test
    coverage and its accuracy on the test images it answers."""
    threshold = float(np.quantile(np.max(val_proba, axis=1), 1 - coverage))
    confidence = np.max(test_proba, axis=1)
    answered = confidence >= threshold
    return (
        threshold,
        float(answered.mean()),
        float(np.mean(test_proba.argmax(1)[answered] == test_y[answered])),
    )


def _toy_split(rng: np.random.Generator, n: int, sharpness: float) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of a classifier that is right more often when it is sure; ``sharpness`` sets how sure."""
    y = rng.integers(0, 10, n)
    logits = rng.normal(0, 1, (n, 10))
    logits[np.arange(n), y] += rng.gamma(2.0, sharpness, n)
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True), y


def _check_abstain(answer) -> str:
    rng = np.random.default_rng(54)  # seeded: a failure can be reproduced
    val_proba, val_y = _toy_split(rng, 3000, 1.0)
    test_proba, test_y = _toy_split(
        rng, 2000, 1.6
    )  # a test set on which the model is surer: another threshold
    for coverage in (0.9, 0.75):
        got = call(answer, val_proba, val_y, test_proba, test_y, coverage, what="abstain(...)")
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Wrong(
                "return three numbers: (threshold, coverage on the test set, accuracy on what it answers)."
            )
        threshold, test_coverage, accuracy = (as_number(v, "a number") for v in got)
        expected = _reference_abstention(val_proba, val_y, test_proba, test_y, coverage)
        on_test = float(np.quantile(np.max(test_proba, axis=1), 1 - coverage))
        if np.isclose(threshold, on_test, atol=1e-6) and not np.isclose(threshold, expected[0], atol=1e-6):
            raise Wrong(
                "that threshold answers exactly the requested share of the *test* images: it was chosen on "
                "the test set. Choose it on the validation split, then only measure it on the test set."
            )
        if np.isclose(threshold, float(np.quantile(np.max(val_proba, axis=1), coverage)), atol=1e-6):
            raise Wrong(
                f"with coverage {coverage} the threshold keeps the most confident {coverage:.0%}: it is the "
                f"{1 - coverage:.2f} quantile of the confidences, not the {coverage:.2f} one."
            )
        if not np.isclose(threshold, expected[0], atol=1e-6):
            raise Wrong(
                "the threshold is the confidence (the largest probability of each image) below which the "
                f"least sure {1 - coverage:.0%} of the validation images fall: np.quantile(..., 1 - coverage)."
            )
        if not np.isclose(test_coverage, expected[1], atol=1e-6):
            raise Wrong(
                "the test coverage is the share of test images whose confidence reaches the threshold."
            )
        if not np.isclose(accuracy, expected[2], atol=1e-6):
            raise Wrong(
                "the accuracy counts only the test images the model answers (confidence >= threshold)."
            )
    return "chosen on validation, measured on test: the test coverage lands near, not exactly on, the target."


abstain = Exercise(
    "ch05.abstain",
    _check_abstain,
    hint="`threshold = np.quantile(val_proba.max(axis=1), 1 - coverage)`; on the test set, "
    "`answered = test_proba.max(axis=1) >= threshold`, then the share answered and the accuracy among them.",
)
