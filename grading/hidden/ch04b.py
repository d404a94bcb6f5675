"""Hidden tests of chapter 4b (not in the installed package)."""

import numpy as np

from digitlab.grading.judge import results_close


def _macs(side, c_in, c_out, k):
    out = side - k + 1
    return c_out * out * out * k * k * c_in


def macs(answer, rng):
    """Fresh layers: one input channel, and several."""
    one = [(int(rng.integers(16, 40)), 1, int(rng.integers(4, 64)), int(k)) for k in rng.choice([3, 5, 7], 2)]
    many = [
        (int(rng.integers(8, 20)), int(rng.integers(2, 64)), int(rng.integers(4, 128)), int(k))
        for k in (3, 5)
    ]
    results = answer.run(one + many)
    expect = [_macs(*layer) for layer in one + many]
    return [
        ("layers on one input channel", results_close(results[:2], expect[:2])),
        ("layers on several input channels", results_close(results[2:], expect[2:])),
    ]


def first_time(answer, rng):
    """Fresh traces: one reached after a dip, one never reached (None, which counts only with the first right)."""
    n = int(rng.integers(6, 12))
    seconds = np.round(np.cumsum(rng.uniform(0.5, 2.0, n)), 2).tolist()
    reached = list(np.round(rng.uniform(0.95, 0.989, n), 4))
    at = int(rng.integers(1, n - 1))
    reached[at] = 0.9925
    never = [min(a, 0.985) for a in reached]
    results = answer.run([(seconds, reached, 0.99), (seconds, never, 0.99)])
    first = results_close(results[:1], [seconds[at]])  # a function that always says None earns nothing
    return [
        ("the first pass at the target", first),
        ("None when it is never reached", first and results[1] is None),
    ]


TESTS = {"ch04b.macs": macs, "ch04b.first_time": first_time}
