"""Exercises of chapter 9, "More than one machine"."""

from __future__ import annotations

import math

from digitlab.exercises.core import Exercise, Wrong, as_int, as_number, call


# --- 9.1: what each process sends in a ring all-reduce -------------------------------------------------
def _ring_bytes(values: int, world: int, size: int) -> float:
    return 2 * (world - 1) / world * values * size


def _check_ring(answer) -> str:
    cases = ((1_000_000, 2, 4), (25_000, 4, 4), (7_000, 8, 2), (10, 1, 4))
    for values, world, size in cases:
        got = as_number(
            call(answer, values, world, size, what="a function ring_bytes(values, world, bytes_per_value)"),
            "a number of bytes",
        )
        expected = _ring_bytes(values, world, size)
        if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9):
            continue
        total = values * size
        if world > 1 and math.isclose(got, (world - 1) / world * total):
            raise Wrong(
                "that is half of it: the reduce-scatter phase. The all-gather phase sends as much "
                "again, so that every process ends with every summed chunk."
            )
        if world > 1 and math.isclose(got, (world - 1) * total):
            raise Wrong(
                "that is every process sending its whole gradient to every other one; the ring "
                "sends chunks of 1/world of it, 2 (world - 1) times."
            )
        if math.isclose(got, 2 * total) or math.isclose(got, total):
            raise Wrong(
                f"with world={world} the answer must depend on the process count: each of the "
                "2 (world - 1) steps sends one chunk of values / world."
            )
        raise Wrong(
            f"ring_bytes({values}, {world}, {size}) is not what one process sends in a ring all-reduce."
        )
    return "a ring sends about twice the gradient per process, whatever the process count: it scales."


ring_bytes = Exercise(
    "ch09.ring_bytes",
    _check_ring,
    hint="Cut the gradient into `world` chunks of `values / world`. Reduce-scatter takes `world - 1` "
    "steps and so does all-gather; in each step every process sends one chunk.",
)


# --- 9.2: the learning rate when the global batch changes -----------------------------------------------
def _check_scaled_lr(answer) -> str:
    cases = ((0.1, 128, 256), (0.1, 256, 128), (0.05, 64, 512), (0.2, 100, 100))
    for lr, batch, new_batch in cases:
        got = as_number(call(answer, lr, batch, new_batch, what="a function scaled_lr(lr, batch, new_batch)"))
        expected = lr * new_batch / batch
        if math.isclose(got, expected, rel_tol=1e-9):
            continue
        if new_batch != batch and math.isclose(got, lr):
            raise Wrong(
                "the rate stayed the same while the batch changed: each step now averages over a "
                "different number of images, and an epoch has a different number of steps."
            )
        if math.isclose(got, lr * math.sqrt(new_batch / batch), rel_tol=1e-9):
            raise Wrong(
                "that is the square-root rule (for Adam-like optimizers); for SGD use the linear rule."
            )
        if math.isclose(got, lr * batch / new_batch, rel_tol=1e-9):
            raise Wrong("the ratio is upside down: a larger batch takes a larger rate.")
        raise Wrong(f"scaled_lr({lr}, {batch}, {new_batch}) does not follow the linear scaling rule.")
    return "the linear rule (Goyal et al.): k times the batch, k times the rate, with a warm-up."


scaled_lr = Exercise(
    "ch09.scaled_lr",
    _check_scaled_lr,
    hint="Linear scaling: multiply the rate by the factor the global batch grew by, `new_batch / batch`.",
)


# --- 9.3: which images each process gets -----------------------------------------------------------------
def _reference_shard(n: int, world: int, rank: int) -> list[int]:
    per = math.ceil(n / world)
    padded = list(range(n)) + list(range(n))[: per * world - n]
    return padded[rank : per * world : world]


def _check_shard(answer) -> str:
    cases = ((10, 2), (11, 2), (10, 3), (7, 4), (5, 1))
    for n, world in cases:
        got = [call(answer, n, world, rank, what="a function shard(n, world, rank)") for rank in range(world)]
        try:
            got = [[as_int(i, "an image index") for i in part] for part in got]
        except TypeError:
            raise Wrong("shard(n, world, rank) should return a list of image indices.") from None
        expected = [_reference_shard(n, world, rank) for rank in range(world)]
        if got == expected:
            continue
        if len({len(part) for part in got}) > 1:
            raise Wrong(
                f"with n={n} and world={world} the processes get {[len(p) for p in got]} images: "
                "unequal shares mean unequal step counts, and DDP waits for ever for the missing "
                "all-reduce. Pad with images from the start, as DistributedSampler does."
            )
        if sorted(i for part in got for i in part)[:n] != list(range(n)) or any(
            i >= n for p in got for i in p
        ):
            raise Wrong(
                f"with n={n} and world={world} some image is never used, or an index is out of range."
            )
        if got == [sorted(part) for part in got] and got[0][:2] == [0, 1] and world > 1:
            raise Wrong(
                "those are contiguous blocks; DistributedSampler (shuffle=False) deals the images "
                "out in turn: rank r takes r, r + world, r + 2 world..."
            )
        raise Wrong(f"shard({n}, {world}, rank) is not DistributedSampler's split without shuffling.")
    return "that is DistributedSampler(shuffle=False): dealt out in turn, padded to equal shares."


shard = Exercise(
    "ch09.shard",
    _check_shard,
    hint="Each process gets `per = ceil(n / world)` images. Pad `range(n)` with its first "
    "`per * world - n` indices, then rank r takes every `world`-th index starting at r.",
)
