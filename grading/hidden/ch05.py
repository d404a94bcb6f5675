"""Hidden tests of chapter 5 (not in the installed package)."""

import numpy as np
from sklearn.metrics import roc_auc_score

from digitlab import metrics
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
    return [(f"table {i + 1}", results_close(results[i:i + 1], expect[i:i + 1], atol=1e-6)) for i in range(2)]


def mcnemar(answer, rng):
    """A fresh pair of classifiers, and a pair that never disagree in one direction."""
    n = int(rng.integers(1000, 3000))
    y = rng.integers(0, 10, n)
    a = np.where(rng.random(n) < rng.uniform(0.95, 0.99), y, (y + 1) % 10)
    b = np.where(rng.random(n) < rng.uniform(0.95, 0.99), y, (y + 3) % 10)
    lopsided = np.where(a == y, b, a)  # b right only where a is right too
    calls = [(y, a, b), (y, a, lopsided)]
    expect = [metrics.mcnemar(*c)["pvalue"] for c in calls]
    results = answer.run(calls)
    return [("a fresh pair", results_close(results[:1], expect[:1], atol=1e-9)),
            ("one-sided disagreements", results_close(results[1:], expect[1:], atol=1e-9))]


TESTS = {"ch05.auc_for": auc_for, "ch05.mcnemar": mcnemar}
