"""Exercises of chapter 8, "Your own handwriting"."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from digitlab import data
from digitlab.exercises.core import Exercise, Wrong, as_array, call, forbidden

_LIMIT = 1e-6


def _digits(n: int = 5) -> np.ndarray:
    (_, _), (x_test, _) = data.load_data()
    return x_test[:n]


def _check_center_of_mass(fn) -> str:
    images = list(_digits()) + [np.pad(np.ones((3, 5)), ((2, 20), (20, 3)))]  # MNIST and a lopsided blob
    with forbidden(
        ndimage, "center_of_mass", "write it with NumPy only, without scipy.ndimage.center_of_mass."
    ) as real:
        if fn is real:
            raise Wrong("that is scipy.ndimage.center_of_mass itself: write it with NumPy only.")
        for image in images:
            got = as_array(call(fn, image.copy(), what="center_of_mass"), (2,), "a pair (row, column)")
            expected = real(image.astype(np.float64))
            if np.allclose(got, expected[::-1], atol=1e-3) and not np.allclose(
                expected, expected[::-1], atol=1e-3
            ):
                raise Wrong("row and column are swapped: return (row, column), rows first.")
            if not np.allclose(got, expected, atol=1e-3):
                if np.allclose(got, np.array(image.shape) / 2 - 0.5, atol=1e-3):
                    raise Wrong(
                        "that is the middle of the image; weight each pixel position by its brightness."
                    )
                raise Wrong(
                    f"for an image of shape {image.shape} you gave {np.round(got, 3).tolist()}; "
                    "weight each row and column index by the pixel values and divide by their sum."
                )
    return "that matches scipy.ndimage.center_of_mass on every test image."


def _paper(ink: np.ndarray, level: int = 230) -> np.ndarray:
    """Dark ink on light paper, as a float image in [0, 1]."""
    return np.clip(level - ink.astype(np.float64) * 0.8, 0, 255) / 255


def _light_cases() -> list[tuple[np.ndarray, bool, str]]:
    digit = _digits(1)[0]
    bold = np.kron(ndimage.grey_dilation(digit, size=(5, 5))[4:24, 4:24], np.ones((2, 2)))  # fills its frame
    rng = np.random.default_rng(8)
    noisy = np.clip(_paper(digit) + rng.normal(0, 0.05, digit.shape), 0, 1)
    return [
        (digit / 255, False, "an MNIST digit"),
        (1 - digit / 255, True, "an inverted MNIST digit"),
        (noisy, True, "dark ink on noisy light paper"),
        (_paper(bold), True, "a bold digit that fills its frame"),
        (bold / 255, False, "a bold white digit on black that fills its frame"),
    ]


def _check_is_light(fn) -> str:
    for image, light, what in _light_cases():
        got = call(fn, image.copy(), what="is_light")
        if not isinstance(got, (bool, np.bool_)):
            raise Wrong(f"is_light should return True or False, got {type(got).__name__}.")
        if bool(got) != light:
            hint = " Most of that image is ink: look only at the border." if "fills" in what else ""
            raise Wrong(
                f"for {what} the background is {'light' if light else 'dark'}, you said {bool(got)}.{hint}"
            )
    return "right on every case, including the bold digits that cover most of their image."


def _check_fit_box(fn) -> str:
    for shape, expected in (
        ((40, 22), (20, 11)),
        ((10, 50), (4, 20)),
        ((7, 7), (20, 20)),
        ((60, 3), (20, 1)),
    ):
        ink = np.zeros(shape)
        ink[shape[0] // 4 : 3 * shape[0] // 4 + 1, shape[1] // 4 : 3 * shape[1] // 4 + 1] = 1.0
        got = as_array(call(fn, ink.copy(), what="fit_box"), None, "a 2-D array")
        if got.ndim != 2:
            raise Wrong(f"fit_box should return a 2-D image, got shape {got.shape}.")
        if max(got.shape) != 20:
            raise Wrong(f"for an input of shape {shape} the longer side is {max(got.shape)} px, not 20.")
        if abs(min(got.shape) - min(expected)) > 1 or np.argmax(got.shape) != np.argmax(expected):
            raise Wrong(
                f"an input of shape {shape} should become about {expected}, got {got.shape}: "
                "keep the aspect ratio."
            )
        if not np.isfinite(got).all() or got.max() <= _LIMIT:
            raise Wrong("the resized image lost its ink: check the resampling.")
    return "the longer side is 20 px and the aspect ratio is kept."


center_of_mass = Exercise(
    "ch08.center_of_mass",
    _check_center_of_mass,
    hint="`rows, cols = np.indices(image.shape)` gives each pixel's row and column; the centre of mass "
    "is `(rows * image).sum() / image.sum()` and the same with `cols`.",
)

is_light = Exercise(
    "ch08.is_light",
    _check_is_light,
    hint="The ink of a digit rarely touches all four edges: take the pixels of the outer frame "
    "(`image[0]`, `image[-1]`, `image[:, 0]`, `image[:, -1]`) and compare their median with 0.5.",
)

fit_box = Exercise(
    "ch08.fit_box",
    _check_fit_box,
    hint="The scale is `20 / max(h, w)`; the new size is `round(h * scale)` by `round(w * scale)` "
    "(at least 1). `PIL.Image.fromarray(ink.astype('float32')).resize((new_w, new_h))` resizes it.",
)
