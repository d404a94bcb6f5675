"""Hidden tests of chapter 9 (not in the installed package)."""

import math

from digitlab.grading.sandbox import Raised


def _close(results, expected) -> bool:
    return all(
        not isinstance(r, Raised) and isinstance(r, (int, float)) and math.isclose(r, e, rel_tol=1e-9)
        for r, e in zip(results, expected, strict=True)
    )


def ring_bytes(answer, rng):
    """Fresh gradient sizes, process counts and value widths."""
    cases = [(int(rng.integers(1_000, 10**7)), int(w), int(b)) for w, b in ((3, 4), (16, 2), (1, 8))]
    expected = [2 * (w - 1) / w * v * b for v, w, b in cases]
    results = answer.run(cases)
    return [
        ("several processes", _close(results[:2], expected[:2])),
        ("one process", _close(results[2:], expected[2:])),
    ]


def scaled_lr(answer, rng):
    """A fresh rate, a larger and a smaller batch."""
    lr, batch = float(rng.uniform(0.01, 0.5)), int(rng.integers(32, 512))
    cases = [(lr, batch, batch * 6), (lr, batch, batch // 4)]
    results = answer.run(cases)
    return [
        ("a larger batch", _close(results[:1], [lr * 6])),
        ("a smaller batch", _close(results[1:], [lr * (batch // 4) / batch])),
    ]


def shard(answer, rng):
    """Fresh image and process counts, with and without a remainder."""
    world = int(rng.integers(3, 7))
    sizes = [world * int(rng.integers(2, 9)), world * int(rng.integers(2, 9)) + 1]
    calls = [(n, world, rank) for n in sizes for rank in range(world)]
    results = answer.run(calls)

    def expected(n, world, rank):
        per = math.ceil(n / world)
        return (list(range(n)) * 2)[: per * world][rank::world]

    good = [
        not isinstance(r, Raised) and list(map(int, r)) == expected(*call)
        if isinstance(r, (list, tuple))
        else False
        for r, call in zip(results, calls)
    ]
    return [
        ("a multiple of the process count", all(good[:world])),
        ("a remainder, padded", all(good[world:])),
    ]


TESTS = {"ch09.ring_bytes": ring_bytes, "ch09.scaled_lr": scaled_lr, "ch09.shard": shard}
