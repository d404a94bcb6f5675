"""Exercises of chapter 7, "Going further": sparsity, soft voting and int8 quantisation by hand."""

from __future__ import annotations

import numpy as np

from digitlab.exercises.core import (
    Exercise,
    Wrong,
    as_array,
    as_callable,
    as_number,
    call,
    close,
    forbidden,
)


# --- 1. how sparse is a pruned model? ----------------------------------------------------------------
def _pruned_models():
    """Small networks with a known fraction of zero weights, built to catch the usual shortcuts.

    Biases are zeroed (counting them is wrong), a BatchNorm layer has a parameter called ``weight``
    (its scale, never pruned), and the last model is pruned with ``torch.nn.utils.prune``, which keeps
    the dense ``weight_orig`` as a parameter and recomputes ``weight`` from a mask.
    """
    import torch
    from torch import nn
    from torch.nn.utils import prune

    torch.manual_seed(0)
    cases = []
    for amount in (0.0, 0.3, 0.75):
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10)
        )
        weights = [model[0].weight, model[4].weight]
        with torch.no_grad():
            for w in weights:
                w.add_(torch.sign(w) * 1e-3)  # no weight is zero by chance
            flat = torch.cat([w.abs().flatten() for w in weights])
            k = int(amount * flat.numel())
            if k:
                threshold = flat.kthvalue(k).values
                for w in weights:
                    w[w.abs() <= threshold] = 0.0
            model[4].bias.zero_()  # zero biases: counting them would be wrong
        total = sum(w.numel() for w in weights)
        cases.append((model, sum(int((w == 0).sum()) for w in weights) / total))
    masked = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    for layer in (masked[0], masked[3]):
        prune.l1_unstructured(layer, "weight", amount=0.5)
    weights = [masked[0].weight, masked[3].weight]
    cases.append((masked, sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)))
    return cases


def _by_name(model, predicate) -> float:
    """The zero fraction over the parameters whose name satisfies ``predicate``."""
    chosen = [p for n, p in model.named_parameters() if predicate(n)]
    return sum(int((p == 0).sum()) for p in chosen) / sum(p.numel() for p in chosen)


def _check_zero_fraction(answer) -> str:
    from digitlab import compress

    fn = as_callable(answer, "a function zero_fraction(model) returning a number")
    with forbidden(compress, "sparsity", "write the count yourself, without compress.sparsity.") as real:
        if fn is real:
            raise Wrong("that is compress.sparsity itself: write the count yourself.")
        for model, expected in _pruned_models():
            value = as_number(call(fn, model), "a number between 0 and 1 (the fraction of zero weights)")
            if value > 1:
                raise Wrong(f"{value:.4g} is above 1: return a fraction, not a count or a percentage.")
            if abs(value - expected) <= 1e-6:
                continue
            if abs(value - _by_name(model, lambda n: True)) < 1e-6:
                raise Wrong(
                    "count only the weights of Conv2d and Linear layers, not the biases or BatchNorm's "
                    "parameters."
                )
            if abs(value - _by_name(model, lambda n: "weight" in n)) < 1e-6:
                raise Wrong(
                    "a parameter named 'weight' is not always a layer's weight: BatchNorm's scale is "
                    "called weight too, and a pruned layer keeps its dense weight_orig. Loop over the "
                    "Conv2d and Linear modules and read module.weight."
                )
            raise Wrong(
                f"for a model whose true sparsity is {expected:.3f} your function returned {value:.4g}."
            )
    return "your function measures sparsity exactly like compress.sparsity, pruned layers included."


zero_fraction = Exercise(
    "ch07.zero_fraction",
    _check_zero_fraction,
    hint="Loop over `model.modules()`, keep the `nn.Conv2d` and `nn.Linear` ones, and compare "
    "`module.weight == 0`; divide the zeros by the number of weights.",
)


# --- 2. soft voting ---------------------------------------------------------------------------------
def _member_probs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (members, n, 10) where soft and hard voting disagree on some images."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(3, 200, 10)) * 2
    # one confident member against two lukewarm ones: soft voting follows the confident one
    logits[0, :50, 3] += 8
    logits[1:, :50, 5] += 1.5
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    return probs / probs.sum(-1, keepdims=True), logits


def _hard_vote(probs: np.ndarray) -> np.ndarray:
    votes = probs.argmax(-1)
    return np.array([np.bincount(v, minlength=10).argmax() for v in votes.T])


def _check_soft_vote(answer) -> str:
    fn = as_callable(answer, "a function soft_vote(probs) returning predicted digits")
    for seed in (0, 1):
        probs, _ = _member_probs(seed)
        out = as_array(call(fn, probs.copy()), (probs.shape[1],), "an array of one predicted digit per image")
        expected = probs.mean(0).argmax(-1)
        if np.array_equal(out, expected):
            continue
        if np.array_equal(out, _hard_vote(probs)):
            raise Wrong(
                "that is hard (majority) voting: average the probabilities first, then take the argmax."
            )
        if np.array_equal(out, probs.argmax(-1)[0]):
            raise Wrong("those are the first member's predictions: average over all members (axis 0).")
        raise Wrong(
            f"{int((out != expected).sum())} of {len(expected)} predictions differ from "
            "the argmax of the mean probabilities."
        )
    return "averaging probabilities lets a confident member outvote two unsure ones."


soft_vote = Exercise(
    "ch07.soft_vote",
    _check_soft_vote,
    hint="`probs` has shape (members, images, 10): average over axis 0, then `argmax` over the last axis.",
)


# --- 3. int8 quantisation by hand --------------------------------------------------------------------
def _check_quantize(answer) -> str:
    fn = as_callable(answer, "a function quantize(w) returning (q, scale)")
    rng = np.random.default_rng(0)
    for w in (
        rng.normal(scale=0.05, size=(64, 32)).astype(np.float32),
        np.array([-1.0, -0.5, 0.0, 0.25, 2.0], np.float32),
    ):
        result = call(fn, w.copy())
        if not isinstance(result, tuple) or len(result) != 2:
            raise Wrong("return a pair (q, scale): the int8 array and the float scale.")
        q = as_array(result[0], w.shape, "q, an int8 array of the same shape as w")
        scale = as_number(result[1], "scale, a positive number")
        if q.dtype != np.int8:
            raise Wrong(
                f"q has dtype {q.dtype}; convert it with `.astype(np.int8)` after rounding and clipping."
            )
        expected_scale = float(np.abs(w).max()) / 127
        close(scale, expected_scale, rtol=1e-4, what="scale")
        expected_q = np.clip(np.round(w / expected_scale), -127, 127).astype(np.int8)
        off = np.abs(q.astype(int) - expected_q.astype(int))
        if off.max() > 1:
            raise Wrong("some q values are far from round(w / scale): divide by the scale, then round.")
        if np.abs(q.astype(np.float32) * scale - w).max() > 0.5001 * expected_scale + 1e-7:
            raise Wrong("q * scale is more than half a step away from w somewhere: round, do not truncate.")
    return "q * scale recovers every weight to within half a step, in a quarter of the bytes."


quantize = Exercise(
    "ch07.quantize",
    _check_quantize,
    hint="`scale = np.abs(w).max() / 127`; then `np.round(w / scale)`, clip to [-127, 127], `.astype(np.int8)`.",
)


# --- 7.4: a committee chosen on the validation split (Caruana et al.'s greedy selection) ---------------
def _reference_greedy(probas: dict, y, rounds: int) -> list[str]:
    chosen, total = [], 0
    for _ in range(rounds):
        scores = {name: np.mean((total + p).argmax(1) == y) for name, p in probas.items()}
        best = max(scores, key=lambda name: scores[name])  # the first of the best, in the dict's order
        chosen.append(best)
        total = total + probas[best]
    return chosen


def _toy_members(rng: np.random.Generator, n: int = 2000) -> tuple[dict, np.ndarray]:
    """Four members: a strong one, two weaker with different mistakes, and a near copy of the strong one."""
    y = rng.integers(0, 10, n)

    def member(wrong_rate, seed_shift):
        logits = rng.normal(0, 1, (n, 10))
        logits[np.arange(n), y] += 2.5
        wrong = rng.random(n) < wrong_rate
        logits[wrong, (y[wrong] + seed_shift) % 10] += 4.0
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)

    strong = member(0.04, 1)
    twin = 0.9 * strong + 0.1 * member(0.04, 1)
    return {"strong": strong, "twin": twin, "left": member(0.08, 3), "right": member(0.08, 7)}, y


def _check_greedy(answer) -> str:
    rng = np.random.default_rng(74)  # seeded: a failure can be reproduced
    probas, y = _toy_members(rng)
    for rounds in (1, 3, 5):
        got = call(answer, probas, y, rounds, what="greedy_select(val_probas, y_val, rounds)")
        if not isinstance(got, (list, tuple)) or not all(isinstance(name, str) for name in got):
            raise Wrong("return the list of member names chosen, one per round (a name may repeat).")
        expected = _reference_greedy(probas, y, rounds)
        if list(got) == expected:
            continue
        if len(got) != rounds:
            raise Wrong(f"{rounds} rounds choose {rounds} names (repeats allowed); you returned {len(got)}.")
        ranked = sorted(probas, key=lambda name: -np.mean(probas[name].argmax(1) == y))
        if list(got) == ranked[:rounds]:
            raise Wrong(
                "that ranks the members one by one; greedy selection adds, each round, the member that "
                "makes the *committee so far* most accurate (a near copy of the best adds little)."
            )
        if len(set(got)) == len(got) and len(set(expected)) < len(expected):
            raise Wrong("choose with replacement: a member may be added again, which gives it more weight.")
        raise Wrong(f"with {rounds} rounds the greedy choice is {expected}, you chose {list(got)}.")
    return "members are chosen for what they add to the committee, on validation data only."


greedy_select = Exercise(
    "ch07.greedy_select",
    _check_greedy,
    hint="Keep `total`, the sum of the chosen members' probabilities (0 at first). Each round, score every "
    "member by `np.mean((total + p).argmax(1) == y_val)`, add the best (the first one on ties) to the "
    "list and its probabilities to `total`.",
)
