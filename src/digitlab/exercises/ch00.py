"""Exercises of chapter 0, "Meet MNIST"."""

from __future__ import annotations

import numpy as np

from digitlab import data
from digitlab.exercises.core import Exercise, Wrong, as_array, as_int, as_number, close


def _train_test():
    return data.load_data()


def _check_sevens(answer) -> str:
    count = as_int(answer, "a whole number (how many test images are labelled 7)")
    (_, _), (_, y_test) = _train_test()
    expected = int(np.sum(y_test == 7))
    if count == int(np.sum(data.load_data()[0][1] == 7)):
        raise Wrong("that is the count in the training set; the question asks about the test set.")
    if count != expected:
        raise Wrong(f"{count} is not the number of 7s in the test set; compare y_test with 7 and sum.")
    return f"the test set holds {expected} sevens."


def _check_std(answer) -> str:
    value = as_number(answer, "a number (the standard deviation of the training pixels)")
    (x_train, _), _ = _train_test()
    if value > 1:
        raise Wrong(f"{value:.4g} is larger than 1: scale the pixels to [0, 1] first (divide by 255).")
    _, std = data.pixel_stats(x_train)
    close(value, std, rtol=1e-3, what="standard deviation")
    return f"the pixels have standard deviation {std:.4f}, the number later chapters normalise with."


def _check_average_three(answer) -> str:
    image = as_array(answer, (28, 28), "a 28x28 array (the average image of the digit 3)")
    (x_train, y_train), _ = _train_test()
    expected = x_train[y_train == 3].astype(np.float64).mean(axis=0) / 255.0
    if image.max() > 1.0 + 1e-6:
        raise Wrong("the values go above 1: divide the uint8 pixels by 255 before averaging.")
    if not np.allclose(image, expected, atol=1e-4):
        overall = x_train.astype(np.float64).mean(axis=0) / 255.0
        if np.allclose(image, overall, atol=1e-4):
            raise Wrong("that is the average of all digits; keep only the images whose label is 3.")
        raise Wrong("the array differs from the average of the training images labelled 3.")
    return "that is the mean 3 of the training set."


sevens = Exercise(
    "ch00.sevens",
    _check_sevens,
    hint="`y_test == 7` is an array of True/False; `np.sum` counts the True values.",
)

pixel_std = Exercise(
    "ch00.pixel_std",
    _check_std,
    hint="Convert `x_train` to float and divide by 255, then call `.std()` on the whole array.",
)

average_three = Exercise(
    "ch00.average_three",
    _check_average_three,
    hint="Select the rows with `x_train[y_train == 3]`, scale to [0, 1], and average over axis 0.",
)
