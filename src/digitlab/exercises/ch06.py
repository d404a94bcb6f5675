"""Exercises of chapter 6, "Data augmentation"."""

from __future__ import annotations

import numpy as np

from digitlab.exercises.core import Exercise, Wrong, as_array, call


# --- 6.1: a shift by whole pixels -------------------------------------------------------------------
def _reference_shift(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(images)
    h, w = images.shape[-2:]
    src_y, dst_y = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
    src_x, dst_x = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
    out[:, dst_y, dst_x] = images[:, src_y, src_x]
    return out


def _check_shift(answer) -> str:
    rng = np.random.default_rng(6)
    images = rng.random((3, 28, 28)).astype(np.float32)
    for dx, dy in ((3, 0), (0, 2), (-4, 1), (2, -5), (0, 0)):
        got = as_array(
            call(answer, images.copy(), dx, dy, what="a function shift(images, dx, dy)"),
            images.shape,
            f"an array shaped like the input {images.shape}",
        )
        expected = _reference_shift(images, dx, dy)
        if np.allclose(got, expected, atol=1e-6):
            continue
        if np.allclose(got, np.roll(images, (dy, dx), axis=(1, 2)), atol=1e-6):
            raise Wrong(
                "pixels that leave one edge come back on the other (np.roll wraps around); "
                "fill the uncovered strip with zeros instead."
            )
        if np.allclose(got, _reference_shift(images, dy, dx), atol=1e-6):
            raise Wrong("x and y are swapped: dx moves along the columns (last axis), dy along the rows.")
        if np.allclose(got, _reference_shift(images, -dx, -dy), atol=1e-6):
            raise Wrong(
                "the shift goes the wrong way: positive dx should move the digit right, positive dy down."
            )
        raise Wrong(
            f"shift(images, dx={dx}, dy={dy}) does not move every pixel by ({dx}, {dy}) with "
            "zeros filling the uncovered strip."
        )
    return "that is exactly what a translation by whole pixels does (RandomTranslation also interpolates)."


shift = Exercise(
    "ch06.shift",
    _check_shift,
    hint="Start from `out = np.zeros_like(images)` and copy a slice: for dx >= 0 the columns "
    "`images[:, :, :w - dx]` land in `out[:, :, dx:]`. Handle negative values the same way.",
)


# --- 6.2: the matrix affine_grid wants ----------------------------------------------------------------
def _check_theta(answer) -> str:
    from digitlab import augment  # imports PyTorch, which this chapter has loaded anyway

    for angle in (90.0, 30.0, -12.5):
        got = as_array(call(answer, angle, what="a function rotation_theta(angle)"), (2, 3), "a 2x3 matrix")
        expected = augment.affine_matrices(angle, 0.0, 0.0, 0.0, 1.0)[0].numpy()
        if np.allclose(got, expected, atol=1e-5):
            continue
        forward = expected.copy()
        forward[:, :2] = expected[:, :2].T
        if np.allclose(got, forward, atol=1e-5):
            raise Wrong(
                "that is the forward map, where each pixel goes; affine_grid asks the opposite "
                "question (where to read each output pixel), so give its inverse: the transpose."
            )
        c, s = np.cos(angle), np.sin(angle)  # what forgetting np.deg2rad gives
        if np.allclose(got[:, :2], [[c, -s], [s, c]], atol=1e-5) or np.allclose(
            got[:, :2], [[c, s], [-s, c]], atol=1e-5
        ):
            raise Wrong("np.cos and np.sin take radians: convert the angle with np.deg2rad first.")
        if not np.allclose(got[:, 2], 0, atol=1e-6):
            raise Wrong("a rotation about the centre moves nothing: the last column must be zero.")
        raise Wrong(
            f"rotation_theta({angle}) is not the matrix that turns the picture by {angle} "
            "degrees anticlockwise (compare with augment.affine_matrices)."
        )
    return "affine_grid reads each output pixel from the rotated-back position: the inverse map."


theta = Exercise(
    "ch06.theta",
    _check_theta,
    hint="With y pointing down, turning the picture anticlockwise by a moves a point with "
    "[[cos a, sin a], [-sin a, cos a]]. affine_grid wants the inverse, which for a rotation is the "
    "transpose; the third column (the shift) is 0.",
)


# --- 6.3: the classic pipeline as Keras layers -------------------------------------------------------
def _symmetric(value) -> tuple[float, float]:
    if isinstance(value, (tuple, list)):
        return float(value[0]), float(value[1])
    return -float(value), float(value)


def _check_pipeline(answer) -> str:
    layers = getattr(answer, "layers", None)
    if layers is None:
        raise Wrong(f"expected a keras.Sequential of preprocessing layers, got a {type(answer).__name__}.")
    by_type = {type(layer).__name__: layer.get_config() for layer in layers}
    if "RandomFlip" in by_type:
        raise Wrong("drop RandomFlip: a mirrored 2, 5 or 7 is no longer that digit.")
    missing = [
        n for n in ("RandomRotation", "RandomTranslation", "RandomZoom", "RandomShear") if n not in by_type
    ]
    if missing:
        raise Wrong(f"the pipeline lacks {', '.join(missing)}.")
    rotation = _symmetric(by_type["RandomRotation"]["factor"])
    if np.allclose(rotation, (-10, 10)) or np.allclose(rotation, (-0.1, 0.1)):
        raise Wrong("RandomRotation's factor is a fraction of a full turn: 10 degrees is 10 / 360.")
    if not np.allclose(rotation, (-10 / 360, 10 / 360), atol=1e-4):
        raise Wrong(
            f"RandomRotation turns by {rotation[1] * 360:.3g} degrees at most; the classic setting is 10."
        )
    move = by_type["RandomTranslation"]
    if not (
        np.allclose(_symmetric(move["height_factor"]), (-0.1, 0.1))
        and np.allclose(_symmetric(move["width_factor"]), (-0.1, 0.1))
    ):
        raise Wrong("RandomTranslation should shift by up to 0.1 of the height and of the width.")
    zoom = by_type["RandomZoom"]
    if not np.allclose(np.abs(_symmetric(zoom["height_factor"])), 0.1):
        raise Wrong("RandomZoom should zoom by up to 0.1 (height_factor=0.1, width_factor left at None).")
    shear = by_type["RandomShear"]
    if not np.allclose(np.abs(_symmetric(shear["x_factor"])), 0.1):
        raise Wrong("RandomShear should shear by a factor of up to 0.1 along x (x_factor=0.1).")
    if not np.allclose(_symmetric(shear.get("y_factor") or 0.0), 0.0):
        raise Wrong(
            "shear along x only (leave y_factor at 0): a y-shear tilts the lines, not the strokes, which is "
            "not the slant of a hand (keras_augmenter above shears both ways; the exercise asks for x)."
        )
    reflecting = [n for n, c in by_type.items() if c.get("fill_mode", "constant") != "constant"]
    if reflecting:
        raise Wrong(
            f"{', '.join(reflecting)} fill{'s' * (len(reflecting) == 1)} the uncovered border by "
            "reflection, which draws mirrored ink at the edges: use fill_mode='constant' (black)."
        )
    return "the classic settings, with a black border and no flips."


keras_pipeline = Exercise(
    "ch06.keras_pipeline",
    _check_pipeline,
    hint="`keras.Sequential([keras.layers.RandomRotation(...), RandomTranslation(...), RandomZoom(...), "
    "RandomShear(...)])`. Rotation factors are fractions of a full turn, and every layer needs "
    "fill_mode='constant'.",
)


# --- 6.4: is augmentation's gain real? -----------------------------------------------------------------
def _toy_pair(rng: np.random.Generator, n: int, plain_wrong: float, aug_wrong: float, shared: float):
    """Predictions of two models on ``n`` images: each wrong at its rate, some mistakes shared."""
    y = rng.integers(0, 10, n)
    both = rng.random(n) < shared
    plain = np.where(both | (rng.random(n) < plain_wrong), (y + 1) % 10, y)
    augmented = np.where(both | (rng.random(n) < aug_wrong), (y + 2) % 10, y)
    return y, plain, augmented


def _check_gain(answer) -> str:
    from digitlab import metrics

    rng = np.random.default_rng(64)  # seeded: a failure can be reproduced
    cases = [
        _toy_pair(rng, 3000, 0.03, 0.015, 0.005),  # a clear gain
        _toy_pair(rng, 3000, 0.020, 0.019, 0.010),  # a gain of a few images: could be chance
        _toy_pair(rng, 3000, 0.015, 0.035, 0.005),  # augmentation that hurts
    ]
    for y, plain, augmented in cases:
        got = call(answer, y, plain, augmented, what="gain_is_real(y_true, pred_plain, pred_augmented)")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Wrong("return a pair (difference, real): the accuracy gain and True or False.")
        difference, real = got
        difference = as_array(difference, (), "the difference, a number")
        truth = metrics.bootstrap_difference(y, augmented, plain)
        if np.isclose(difference, -truth["difference"], atol=1e-9) and truth["difference"] != 0:
            raise Wrong("the difference has the wrong sign: augmented minus plain, so a gain is positive.")
        if not np.isclose(difference, truth["difference"], atol=1e-9):
            raise Wrong("the difference is the accuracy of the augmented model minus that of the plain one.")
        expected = bool(truth["low"] > 0 or truth["high"] < 0)
        if bool(real) != expected:
            if expected:
                raise Wrong("here the interval excludes 0: the difference is real, whichever way it goes.")
            raise Wrong(
                f"a gain of {truth['difference']:+.2%} looks like progress, but its 95% paired interval "
                f"({truth['low']:+.2%} to {truth['high']:+.2%}) includes 0: it could be chance."
            )
    return "a difference is real when its paired interval excludes zero, not when it is positive."


gain_is_real = Exercise(
    "ch06.gain_is_real",
    _check_gain,
    hint="`d = metrics.bootstrap_difference(y_true, pred_augmented, pred_plain)`; return "
    "`d['difference'], d['low'] > 0 or d['high'] < 0`.",
)
