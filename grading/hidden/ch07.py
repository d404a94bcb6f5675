"""Hidden tests of chapter 7 (not in the installed package)."""

import numpy as np

from digitlab.exercises.ch07 import _reference_greedy  # the public check's reference
from digitlab.grading.judge import results_close
from digitlab.grading.sandbox import Raised


def soft_vote(answer, rng):
    """Fresh ensembles of 2 to 5 members where soft and hard voting disagree."""
    calls, expect = [], []
    for _ in range(2):
        members, n = int(rng.integers(2, 6)), int(rng.integers(50, 200))
        logits = rng.normal(size=(members, n, 10)) * 2
        logits[0, : n // 4, int(rng.integers(0, 10))] += 8
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        calls.append((probs,))
        expect.append(probs.mean(0).argmax(-1))
    results = answer.run(calls)
    return [(f"ensemble {i + 1}", results_close(results[i : i + 1], expect[i : i + 1])) for i in range(2)]


def quantize(answer, rng):
    """Fresh weights: q is int8 within one step of round(w / scale), and scale is max|w| / 127."""
    ws = [
        rng.normal(scale=float(rng.uniform(0.01, 1)), size=(int(rng.integers(3, 40)), 7)).astype(np.float32),
        np.array([-3.0, 0.0, 0.1, 1.5], np.float32),
    ]
    parts = []
    for i, (w, result) in enumerate(zip(ws, answer.run([(w,) for w in ws]))):
        ok = isinstance(result, tuple) and len(result) == 2 and not isinstance(result, Raised)
        if ok:
            q, scale = np.asarray(result[0]), result[1]
            expected_scale = float(np.abs(w).max()) / 127
            ok = (
                q.dtype == np.int8
                and q.shape == w.shape
                and isinstance(scale, (int, float))
                and abs(scale - expected_scale) <= 1e-4 * expected_scale
                and np.abs(q.astype(np.float32) * scale - w).max() <= 0.5001 * expected_scale + 1e-7
            )
        parts.append((f"weights {i + 1}", bool(ok)))
    return parts


def greedy_select(answer, rng):
    """Fresh members (one strong, its near copy, two weaker ones with other mistakes), 1 and 4 rounds."""
    n = int(rng.integers(800, 1600))
    y = rng.integers(0, 10, n)

    def member(wrong_rate, shift):
        logits = rng.normal(0, 1, (n, 10))
        logits[np.arange(n), y] += 2.5
        wrong = rng.random(n) < wrong_rate
        logits[wrong, (y[wrong] + shift) % 10] += 4.0
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)

    strong = member(0.04, 1)
    probas = {
        "a": member(0.08, 3),
        "b": strong,
        "c": 0.9 * strong + 0.1 * member(0.04, 1),
        "d": member(0.08, 7),
    }
    results = answer.run([(probas, y, 1), (probas, y, 4)])
    return [
        (
            f"{rounds} round{'s' * (rounds > 1)}",
            not isinstance(got, Raised) and list(got) == _reference_greedy(probas, y, rounds),
        )
        for rounds, got in zip((1, 4), results)
    ]


TESTS = {"ch07.soft_vote": soft_vote, "ch07.quantize": quantize, "ch07.greedy_select": greedy_select}
