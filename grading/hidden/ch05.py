"""Hidden tests of chapter 5 (not in the installed package)."""

import numpy as np
from sklearn.metrics import roc_auc_score

from digitlab.grading.judge import results_close


def _scores(rng, n):
    y = rng.integers(0, 10, n)
    logits = rng.normal(size=(n, 10)) + rng.uniform(0.5, 2.5) * np.eye(10)[y]
    return y, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def auc_for(answer, rng):
    """Two fresh score tables and digits."""
    calls, expect = [], []
    for _ in range(2):
        y, proba = _scores(rng, int(rng.integers(200, 600)))
        digit = int(rng.integers(0, 10))
        calls.append((digit, y, proba))
        expect.append(roc_auc_score(y == digit, proba[:, digit]))
    results = answer.run(calls)
    return [
        (f"table {i + 1}", results_close(results[i : i + 1], expect[i : i + 1], atol=1e-6)) for i in range(2)
    ]


def _chi2_p(y, a, b):
    from scipy.stats import chi2

    only_a, only_b = int(np.sum((a == y) & (b != y))), int(np.sum((a != y) & (b == y)))
    return (
        1.0
        if only_a + only_b == 0
        else float(chi2.sf((abs(only_a - only_b) - 1) ** 2 / (only_a + only_b), df=1))
    )


def mcnemar(answer, rng):
    """McNemar's chi-squared p-value: a fresh pair of classifiers, and a pair that never disagree one way."""
    n = int(rng.integers(1000, 3000))
    y = rng.integers(0, 10, n)
    hard = rng.random(n) < 0.015  # both wrong: a count of all errors would include them
    a = np.where(hard | (rng.random(n) > rng.uniform(0.95, 0.99)), (y + 1) % 10, y)
    b = np.where(hard | (rng.random(n) > rng.uniform(0.95, 0.99)), (y + 3) % 10, y)
    lopsided = np.where(a == y, b, a)  # b right only where a is right too
    calls = [(y, a, b), (y, a, lopsided)]
    expect = [_chi2_p(*c) for c in calls]
    results = answer.run(calls)
    return [
        ("a fresh pair", results_close(results[:1], expect[:1], atol=1e-9)),
        ("one-sided disagreements", results_close(results[1:], expect[1:], atol=1e-9)),
    ]


def _abstain(val_proba, test_proba, test_y, coverage):
    threshold = float(np.quantile(val_proba.max(axis=1), 1 - coverage))
    answered = test_proba.max(axis=1) >= threshold
    return (
        threshold,
        float(answered.mean()),
        float(np.mean(test_proba.argmax(1)[answered] == test_y[answered])),
    )


def abstain(answer, rng):
    """Fresh validation and test scores, the test set surer than validation: its own threshold would differ."""
    val_y, val_proba = _scores(rng, int(rng.integers(800, 1500)))
    test_y, test_proba = _scores(rng, int(rng.integers(800, 1500)))
    test_proba = test_proba**1.5 / (test_proba**1.5).sum(axis=1, keepdims=True)
    coverage = float(rng.uniform(0.7, 0.95))
    results = answer.run([(val_proba, val_y, test_proba, test_y, coverage)])
    threshold, covered, right = _abstain(val_proba, test_proba, test_y, coverage)
    got = results[0]
    ok = isinstance(got, (tuple, list)) and len(got) == 3
    return [
        ("the threshold, chosen on validation", ok and results_close([got[0]], [threshold], atol=1e-6)),
        (
            "the test coverage and accuracy it gives",
            ok and results_close([got[0], got[1], got[2]], [threshold, covered, right], atol=1e-6),
        ),
    ]


TESTS = {"ch05.auc_for": auc_for, "ch05.mcnemar": mcnemar, "ch05.abstain": abstain}
