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


def _conv_macs_of(side: int, in_channels: int, out_channels: int, kernel: int) -> int:
    """The reference: a stride-1 convolution without padding, for one side x side image."""
    out = side - kernel + 1
    return out_channels * out * out * kernel * kernel * in_channels


def _check_macs(answer) -> str:
    fn = as_callable(answer, "a function conv_macs(side, in_channels, out_channels, kernel)")
    for side, c_in, c_out, k in ((28, 1, 24, 5), (14, 24, 48, 3), (28, 1, 8, 5)):
        value = as_int(
            call(fn, side, c_in, c_out, k, what=f"conv_macs({side}, {c_in}, {c_out}, {k})"), "a whole number"
        )
        out = side - k + 1
        if (side, c_in, c_out, k) != (28, 1, 24, 5) and value == _conv_macs_of(28, 1, 24, 5):
            raise Wrong("that is the answer for the chapter's first layer: compute it from the arguments.")
        if value == c_out * k * k * side * side * c_in and out != side:
            raise Wrong(
                f"without padding a {k}×{k} kernel fits {out} times across {side} pixels, not {side}."
            )
        if value == c_out * k * k * c_in:
            raise Wrong("that is the weights of the layer; each is used at every output position.")
        if value == c_out * out * out:
            raise Wrong(
                f"each output value is a sum of {k} × {k} products per input channel, one per kernel weight."
            )
        if value == c_out * out * out * k * k and c_in > 1:
            raise Wrong("each output value sums over every input channel too: multiply by in_channels.")
        if value != _conv_macs_of(side, c_in, c_out, k):
            raise Wrong(
                f"conv_macs({side}, {c_in}, {c_out}, {k}) gave {value:,}: count output values (channels × height "
                "× width), then products per value."
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
    hint="A k×k convolution without padding turns side×side into (side − k + 1)²; each output value of each "
    "output channel is a sum of k × k × in_channels products.",
)

first_time = Exercise(
    "ch04b.first_time",
    _check_first_time,
    hint="Walk through `zip(seconds, accuracy)` and return the seconds of the first pair whose accuracy is "
    ">= target; after the loop, return None.",
)
