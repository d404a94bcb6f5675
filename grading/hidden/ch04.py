"""Hidden tests of chapter 4 (not in the installed package)."""

from digitlab.grading.judge import results_close


def in_features(answer, rng):
    """Fresh sides: multiples of 4, and sides the poolings round down."""
    even = [int(s) * 4 for s in rng.integers(4, 17, 2)]
    odd = [int(s) * 4 + int(r) for s, r in zip(rng.integers(4, 17, 2), rng.integers(1, 4, 2))]
    results = answer.run([(s,) for s in even + odd])
    expect = [256 * (s // 2 // 2) ** 2 for s in even + odd]
    return [
        ("sides the poolings halve exactly", results_close(results[:2], expect[:2])),
        ("sides the poolings round down", results_close(results[2:], expect[2:])),
    ]


TESTS = {"ch04.in_features": in_features}
