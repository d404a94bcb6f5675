"""Exercises of chapter 4b, "Training fast"."""

from __future__ import annotations

from digitlab.exercises.core import Exercise, Wrong, as_callable, as_int, call

# (seconds, validation accuracy) traces the checker times, with the answer each must give
_CASES = (
    (([1.0, 2.0, 3.0], [0.95, 0.991, 0.97]), 0.99, 2.0),  # reached, then dipped: the first time counts
    (([0.5, 1.5, 2.5], [0.97, 0.98, 0.99]), 0.99, 2.5),  # reached exactly, at the last pass
    (([1.0, 2.0], [0.98, 0.985]), 0.99, None),  # never reached
    (([3.0, 6.0, 9.0], [0.999, 0.999, 0.999]), 0.99, 3.0),  # at the first pass
)


def _check_macs(answer) -> str:
    value = as_int(answer, "a whole number (multiply-adds of the first convolution for one image)")
    if value == 24 * 5 * 5 * 28 * 28:
        raise Wrong("without padding a 5×5 kernel fits 24 times across 28 pixels, not 28.")
    if value == 24 * 5 * 5:
        raise Wrong("that is the weights of the layer; each is used at every output position.")
    if value == 24 * 24 * 24:
        raise Wrong("each output value is a sum of 5 × 5 products, one per kernel weight.")
    if value != 24 * 5 * 5 * 24 * 24:
        raise Wrong(
            f"{value:,} is not it: count output values (channels × height × width), then products per value."
        )
    return "24 × 24 × 24 outputs, 25 products each: 345,600 multiply-adds, against 156,800 for chapter 4's conv1."


def _check_first_time(answer) -> str:
    fn = as_callable(answer, "a function first_time(seconds, accuracy, target)")
    call(fn, [1.0], [0.995], 0.99)  # None here is the starter's answer: not answered yet
    for (seconds, accuracy), target, expected in _CASES:
        got = fn(list(seconds), list(accuracy), target)
        if expected is None and got is not None:
            raise Wrong(f"accuracies {accuracy} never reach {target}: return None, not {got!r}.")
        if expected is not None and got != expected:
            raise Wrong(
                f"for seconds {seconds}, accuracies {accuracy} and target {target} the answer is "
                f"the seconds of the first pass at or above the target, not {got!r}."
            )
    return (
        "the first pass at or above the target, and None when there is none: as speedrun.time_to_target does."
    )


macs = Exercise(
    "ch04b.macs",
    _check_macs,
    hint="A 5×5 convolution without padding turns 28×28 into 24×24; each of the 24 channels' outputs "
    "there is a sum of 5 × 5 products.",
)

first_time = Exercise(
    "ch04b.first_time",
    _check_first_time,
    hint="Walk through `zip(seconds, accuracy)` and return the seconds of the first pair whose accuracy is "
    ">= target; after the loop, return None.",
)
