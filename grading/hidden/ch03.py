"""Hidden tests of chapter 3 (not in the installed package)."""

import numpy as np

from digitlab.grading.judge import results_close


def _stack(side):
    side = side - 5 + 1  # 5x5, valid
    side = (side - 2) // 2 + 1  # 2x2 pooling
    side = -(-side // 2)  # stride 2, 'same'
    return (side, side, 32)


def stack_shape(answer, rng):
    """Fresh sides, small and large, odd and even: the function, not the one number for 28."""
    small = [int(s) for s in rng.integers(12, 28, 2)] + [int(rng.integers(6, 14)) * 2 + 1]
    large = [int(s) for s in rng.integers(33, 97, 3)]
    results = answer.run([(s,) for s in small + large])
    expect = [_stack(s) for s in small + large]
    return [
        ("sides smaller than 28", results_close(results[:3], expect[:3])),
        ("sides larger than 28", results_close(results[3:], expect[3:])),
    ]


def best_epochs(answer, rng):
    """Fresh curves whose validation accuracy peaks before the end while the training accuracy keeps rising."""
    calls, expect = [], []
    for _ in range(2):
        n = int(rng.integers(6, 20))
        t = np.arange(1, n + 1)
        peak = int(rng.integers(2, n - 1))
        history = {
            "accuracy": (0.9 + 0.1 * (1 - np.exp(-t / 3))).tolist(),
            "val_accuracy": (0.98 - 0.0005 * (t - peak) ** 2 + rng.normal(0, 1e-6, n)).tolist(),
            "loss": np.exp(-t / 3).tolist(),
            "val_loss": (0.05 + 0.001 * (t - peak - 1) ** 2).tolist(),
        }
        calls.append((history,))
        expect.append(int(np.argmax(history["val_accuracy"])) + 1)
    results = answer.run(calls)
    return [(f"curve {i + 1}", results_close(results[i : i + 1], expect[i : i + 1])) for i in range(2)]


TESTS = {"ch03.stack_shape": stack_shape, "ch03.best_epochs": best_epochs}
