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


TESTS = {"ch05.auc_for": auc_for, "ch05.mcnemar": mcnemar}
