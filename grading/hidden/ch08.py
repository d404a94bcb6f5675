"""Hidden tests of chapter 8 (not in the installed package)."""

import numpy as np
from scipy import ndimage

from digitlab import data
from digitlab.grading.judge import results_close
from digitlab.grading.sandbox import Raised


def _digits(rng, n):
    (_, _), (x_test, _) = data.load_data()
    return x_test[rng.choice(len(x_test), n, replace=False)].astype(np.float64)


def center_of_mass(answer, rng):
    """Fresh MNIST digits and a fresh lopsided blob."""
    blob = np.zeros((int(rng.integers(20, 40)), int(rng.integers(20, 40))))
    blob[2:6, -9:-2] = rng.random((4, 7)) + 0.1
    images = list(_digits(rng, 3)) + [blob]
    results = answer.run([(im,) for im in images])
    expect = [np.array(ndimage.center_of_mass(im)) for im in images]
    return [
        ("MNIST digits", results_close(results[:3], expect[:3], atol=1e-3)),
        ("a lopsided blob", results_close(results[3:], expect[3:], atol=1e-3)),
    ]


def is_light(answer, rng):
    """Fresh digits, dark and light, plain and noisy."""
    digits = _digits(rng, 2) / 255
    noisy = np.clip(1 - 0.8 * digits[1] - 0.1 + rng.normal(0, 0.05, digits[1].shape), 0, 1)
    cases = [(digits[0], False), (1 - digits[0], True), (noisy, True), (digits[1] * 0.9, False)]
    results = answer.run([(image,) for image, _ in cases])
    good = [
        isinstance(r, bool) and not isinstance(r, Raised) and r == light
        for r, (_, light) in zip(results, cases)
    ]
    return [("dark backgrounds", good[0] and good[3]), ("light backgrounds", good[1] and good[2])]


def fit_box(answer, rng):
    """Fresh shapes: the longer side becomes 20 px and the aspect ratio is kept."""
    shapes = [
        (int(rng.integers(21, 80)), int(rng.integers(5, 20))),
        (int(rng.integers(3, 19)), int(rng.integers(3, 19))),
    ]
    inks = []
    for h, w in shapes:
        ink = np.zeros((h, w))
        ink[h // 4 : 3 * h // 4 + 1, w // 4 : 3 * w // 4 + 1] = 1.0
        inks.append(ink)
    parts = []
    for (h, w), result in zip(shapes, answer.run([(ink,) for ink in inks])):
        ok = isinstance(result, np.ndarray) and result.ndim == 2
        if ok:
            scale = 20 / max(h, w)
            expected = (max(1, round(h * scale)), max(1, round(w * scale)))
            ok = (
                max(result.shape) == 20
                and abs(min(result.shape) - min(expected)) <= 1
                and bool(np.isfinite(result).all())
                and result.max() > 1e-6
            )
        parts.append((f"an input of shape {(h, w)}", bool(ok)))
    return parts


TESTS = {"ch08.center_of_mass": center_of_mass, "ch08.is_light": is_light, "ch08.fit_box": fit_box}
