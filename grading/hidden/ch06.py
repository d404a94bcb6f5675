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


TESTS = {"ch06.shift": shift, "ch06.theta": theta}
