"""Hidden tests of chapter 6 (not in the installed package)."""

import numpy as np

from digitlab.grading.judge import results_close


def _shift(images, dx, dy):
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    src_y, dst_y = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
    src_x, dst_x = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
    out[:, dst_y, dst_x] = images[:, src_y, src_x]
    return out


def shift(answer, rng):
    """Fresh images (not 28x28) and fresh offsets in every direction."""
    images = rng.random((int(rng.integers(2, 5)), 20, 24)).astype(np.float32)
    moves = [
        (int(rng.integers(1, 6)), int(rng.integers(1, 6))),
        (-int(rng.integers(1, 6)), 0),
        (0, -int(rng.integers(1, 6))),
    ]
    results = answer.run([(images, dx, dy) for dx, dy in moves])
    return [
        (f"shift by {move}", results_close(results[i : i + 1], [_shift(images, *move)]))
        for i, move in enumerate(moves)
    ]


def theta(answer, rng):
    """Fresh angles, compared with the package's own affine matrices."""
    from digitlab import augment

    angles = [float(rng.uniform(-180, 180)) for _ in range(3)]
    expect = [augment.affine_matrices(a, 0.0, 0.0, 0.0, 1.0)[0].numpy() for a in angles]
    results = answer.run([(a,) for a in angles])
    return [
        (f"angle {a:.1f}", results_close(results[i : i + 1], expect[i : i + 1], atol=1e-5))
        for i, a in enumerate(angles)
    ]


def _pair(rng, n, plain_wrong, aug_wrong):
    y = rng.integers(0, 10, n)
    shared = rng.random(n) < 0.01
    plain = np.where(shared | (rng.random(n) < plain_wrong), (y + 1) % 10, y)
    augmented = np.where(shared | (rng.random(n) < aug_wrong), (y + 2) % 10, y)
    return y, plain, augmented


def gain_is_real(answer, rng):
    """A clear gain, and a gain of a few images that could be chance (a positive difference is not enough)."""
    from digitlab import metrics

    cases = [_pair(rng, 3000, 0.035, 0.015), _pair(rng, 3000, 0.02, 0.0195)]
    results = answer.run(cases)
    parts = []
    for name, (y, plain, augmented), got in zip(
        ("a clear gain", "a gain that could be chance"), cases, results
    ):
        d = metrics.bootstrap_difference(y, augmented, plain)
        real = bool(d["low"] > 0 or d["high"] < 0)
        ok = (
            isinstance(got, (tuple, list))
            and len(got) == 2
            and results_close([got[0]], [d["difference"]], atol=1e-9)
        )
        parts.append((name, bool(ok and bool(got[1]) == real)))
    return parts


TESTS = {"ch06.shift": shift, "ch06.theta": theta, "ch06.gain_is_real": gain_is_real}
