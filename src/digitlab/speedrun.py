"""The speedrun: chapter 4's first recipe made fast one idea at a time, timed to 99% validation accuracy.

Each rung of the ladder is a configuration of the book's one training loop
(``torch_train.train_epoch``) and a network. ``run`` trains the rungs one after the other on the
same data and stops the clock every few batches to measure the validation accuracy;
``speedrun_report`` reads what it returns (``table``, ``last_line``). Only training is timed, never the validation passes. The test set is not
used here: the final recipe is the step that reached the target soonest (``fastest``, chosen on the
validation split), and ``final_test_accuracy`` checks it on the test set once, at the end.
The progression follows tuomaso/train_mnist_fast (a GPU's 0.76 s), measured on the validation split.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from digitlab import data as mnist_data
from digitlab import runtime
from digitlab.speedrun_report import fastest, last_line, percent, table
from digitlab.torch_cnn import CNN, FastNet, as_images, as_labels, multiply_adds  # noqa: F401 (FastNet, multiply_adds: for the chapter)
from digitlab.torch_train import SCHEDULES, evaluate, make_schedule, train_epoch

VALIDATION = 5000  # as chapter 4: training images held out to monitor training
EVALS = 20  # validation passes per recipe: the clock reads to a twentieth of a rung's training
OPTIMIZERS = ("sgd", "adamw")
PRECISIONS = ("float32", "bfloat16", "float16", "auto")  # "auto": what runtime.precision() picks here
WARMUP_BATCHES = 3  # untimed batches per network set-up before the race: kernels chosen, memory allocated


def target() -> float:
    """The validation accuracy the clock stops at: 99%, and 90% on quick mode's small subset."""
    return runtime.pick(full=0.99, quick=0.90)


NETS = {
    "chapter 4's CNN": CNN,
    "small": lambda: FastNet(batch_norm=False),
    "small + BatchNorm": FastNet,
    "small + BatchNorm after pooling": lambda: FastNet(norm_after_pool=True),
}


# --- the ladder ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rung:
    """One step of the ladder: a network and how the one training loop trains it."""

    step: str  # a short name
    change: str  # the one idea this step adds
    net: str = "chapter 4's CNN"
    optimizer: str = "sgd"
    lr: float = 0.1
    batch_size: int = 64
    epochs: int = 4
    schedule: str = "last_epoch_drop"
    precision: str = "float32"
    channels_last: bool = False
    cap: int | None = None  # the most epochs to run (on at the last rate) while the target is not reached

    def __post_init__(self):
        checks = (
            ("net", self.net, tuple(NETS)),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
            ("precision", self.precision, PRECISIONS),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        runtime._check_positive_int("batch_size", self.batch_size)
        runtime._check_positive_int("epochs", self.epochs)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.cap is not None:
            runtime._check_positive_int("cap", self.cap)
            if self.cap < self.epochs or self.schedule in ("onecycle", "cosine"):
                raise ValueError(
                    f"cap must be at least epochs ({self.epochs}), with a schedule that can run past "
                    f"its end, not {self.cap!r} with {self.schedule!r}"
                )

    def then(self, step: str, change: str, **settings) -> Rung:
        """The next rung: this one with ``settings`` changed (and no cap)."""
        return dataclasses.replace(self, step=step, change=change, cap=None, **settings)


def ladder() -> list[Rung]:
    """The rungs, from chapter 4's first recipe to the fastest; quick mode keeps the first, one middle and the last."""
    epochs = runtime.pick(full=4, quick=2)  # quick mode: chapter 4's quick epochs, on its small subset
    chapter4 = Rung(
        "chapter 4",
        f"chapter 4's CNN and first recipe: SGD at 0.1, batches of 64, {epochs} epochs, "
        "the last at a tenth of the rate",
        epochs=epochs,
        cap=epochs + epochs // 2,
    )
    small = chapter4.then(
        "small network + BatchNorm",
        "two convolutions (24 and 32 filters) instead of four, each followed by BatchNorm",
        net="small + BatchNorm",
    )
    onecycle = small.then(  # one idea: a schedule planned for a short run, so that fewer epochs are enough
        "one-cycle AdamW, 2 epochs",
        "AdamW on a one-cycle schedule (warm up to 0.01, then anneal) over 2 epochs instead of 4",
        optimizer="adamw",
        lr=0.01,
        schedule="onecycle",
        epochs=2,
    )
    batch = onecycle.then("batch 256", "batches of 256 instead of 64", batch_size=256)
    half = batch.then(
        "half precision",
        "16-bit autocast where runtime.precision() picks it (bfloat16; float16 with loss scaling on a T4)",
        precision="auto",
    )
    channels = half.then("channels_last", "the channels-last memory layout", channels_last=True)
    pooled = channels.then(  # found by profiling step 5 (speedrun.profile)
        "BatchNorm after pooling",
        "each BatchNorm after its max-pooling instead of before: a quarter of the values to normalize",
        net="small + BatchNorm after pooling",
    )
    rungs = [chapter4, small, onecycle, batch, half, channels, pooled]
    return runtime.pick(full=rungs, quick=[chapter4, onecycle, pooled])


# --- timing ---------------------------------------------------------------------------------------------
def time_to_target(seconds, accuracy, target: float) -> float | None:
    """The training seconds at the first validation pass whose accuracy reached ``target``, or None."""
    if not 0 < target <= 1:
        raise ValueError(f"target must be an accuracy in (0, 1], got {target!r}")
    if len(seconds) != len(accuracy):
        raise ValueError(
            f"seconds and accuracy must have the same length, got {len(seconds)} and {len(accuracy)}"
        )
    return next((s for s, a in zip(seconds, accuracy) if a >= target), None)


@dataclass
class Trace:
    """What one rung's run measured: the training seconds and validation accuracy at every validation pass."""

    rung: Rung
    precision: str  # the precision it trained in ("auto" resolved)
    seconds: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    epochs: float = 0.0  # epochs trained, past the rung's own when it has a cap
    model: nn.Module | None = field(default=None, repr=False)

    def time_to(self, target: float) -> float | None:
        """Training seconds until the validation accuracy first reached ``target`` (None: never)."""
        return time_to_target(self.seconds, self.accuracy, target)


def _precision(rung: Rung) -> str:
    """The precision ``rung`` trains in: its own, or what ``runtime.precision()`` picks for "auto"."""
    return runtime.precision() if rung.precision == "auto" else rung.precision


def _optimizer(rung: Rung, model: nn.Module) -> torch.optim.Optimizer:
    if rung.optimizer == "adamw":  # tuomaso's betas: a shorter memory suits a short run
        return torch.optim.AdamW(model.parameters(), lr=rung.lr, betas=(0.7, 0.9))
    return torch.optim.SGD(model.parameters(), lr=rung.lr)


def _fresh(rung: Rung, device: torch.device, seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A new network of ``rung``, seeded with ``seed``, on ``device``, and its optimizer."""
    runtime.seed_everything(seed)
    model = NETS[rung.net]().to(device)
    return model, _optimizer(rung, model)


def train_rung(
    rung: Rung,
    x: torch.Tensor,
    y: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    *,
    goal: float,
    evals: int = EVALS,
    seed: int = 0,
) -> Trace:
    """Train a fresh network as ``rung`` says on (x, y), validating on (x_val, y_val) ``evals`` times."""
    runtime._check_positive_int("evals", evals)
    model, optimizer = _fresh(rung, x.device, seed)
    precision = _precision(rung)
    steps = math.ceil(len(x) / rung.batch_size)
    scheduler = make_schedule(optimizer, rung.schedule, rung.lr, rung.epochs, steps)
    chunk = math.ceil(rung.epochs * steps / evals) * rung.batch_size  # images between validation passes
    generator = torch.Generator().manual_seed(seed)
    trace, elapsed = Trace(rung, precision, model=model), 0.0
    for epoch in range(rung.cap or rung.epochs):
        if epoch >= rung.epochs and trace.time_to(goal) is not None:  # reached within its own epochs
            break
        order = torch.randperm(len(x), generator=generator).to(x.device)
        for start in range(0, len(x), chunk):
            begin = time.perf_counter()
            part = order[start : start + chunk]  # the loop shuffles inside the part too
            train_epoch(
                model,
                x[part],
                y[part],
                optimizer,
                batch_size=rung.batch_size,
                scheduler=scheduler,
                generator=generator,
                precision=precision,
                channels_last=rung.channels_last,
            )
            elapsed += time.perf_counter() - begin
            trace.seconds.append(elapsed)
            trace.accuracy.append(evaluate(model, x_val, y_val)[1])  # the clock is stopped
            trace.epochs = epoch + min(start + chunk, len(x)) / len(x)
            if epoch >= rung.epochs and trace.accuracy[-1] >= goal:  # past its own epochs: stop at the target
                model.eval()
                return trace
    model.eval()
    return trace


def run(
    rungs: list[Rung],
    data: mnist_data.MNIST,
    *,
    goal: float | None = None,
    evals: int = EVALS,
    seed: int = 0,
    device: torch.device | str | None = None,
    verbose: bool = True,
) -> list[Trace]:
    """Train every rung side by side on ``data``'s training split, timed against its validation split."""
    if not isinstance(data, mnist_data.MNIST):
        raise TypeError(
            f"data must be a digitlab.data.MNIST (from data.load_mnist()), got {type(data).__name__}"
        )
    if len(data.y_val) == 0:
        raise ValueError("data must have a validation split: use data.load_mnist(validation=...)")
    if not rungs or not all(isinstance(r, Rung) for r in rungs):
        raise ValueError(f"rungs must be a non-empty list of Rung, got {rungs!r}")
    goal = target() if goal is None else goal
    device = runtime.device() if device is None else torch.device(device)
    x, y = as_images(data.x_train).to(device), as_labels(data.y_train).to(device)
    x_val, y_val = as_images(data.x_val).to(device), as_labels(data.y_val).to(device)
    warm_up(rungs, x, y, seed=seed)
    traces = []
    for i, rung in enumerate(rungs):
        trace = train_rung(rung, x, y, x_val, y_val, goal=goal, evals=evals, seed=seed)
        traces.append(trace)
        if verbose:
            reached = trace.time_to(goal)
            when = f"{reached:.1f} s" if reached is not None else "not reached"
            print(
                f"{i} {rung.step}: {percent(goal)} validation accuracy: {when}; "
                f"{trace.accuracy[-1]:.2%} after {trace.seconds[-1]:.1f} s of training",
                flush=True,
            )
    return traces


def warm_up(rungs: list[Rung], x: torch.Tensor, y: torch.Tensor, *, seed: int = 0) -> int:
    """Train a throwaway network of each distinct set-up a few batches, untimed; return how many set-ups.

    The first steps on a device pay one-off costs (cuDNN and cuBLAS handles, kernel choices, lazy
    module loads, oneDNN primitives) that would otherwise be charged to the first rung of the race.
    Every rung reseeds its own network, so this changes no result, only the clock.
    """
    setups = {(r.net, r.optimizer, _precision(r), r.channels_last, r.batch_size): r for r in rungs}
    for rung in setups.values():
        model, optimizer = _fresh(rung, x.device, seed)
        n = min(len(x), WARMUP_BATCHES * rung.batch_size)
        settings = dict(precision=_precision(rung), channels_last=rung.channels_last)
        train_epoch(model, x[:n], y[:n], optimizer, batch_size=rung.batch_size, **settings)
        evaluate(model, x[:n], y[:n])
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return len(setups)


def profile(rung: Rung, data: mnist_data.MNIST, *, batches: int | None = None, seed: int = 0):
    """Each operation's share of the time of ``rung``'s training steps, on a throwaway network.

    ``profiling.profile_training`` does the measuring, over ``batches`` batches (10; 4 in quick
    mode, whose subset holds too few images for 2 x 10 batches of 256). Chapter 4b profiles steps 5
    and 6 with it.
    """
    from digitlab.profiling import profile_training

    batches = runtime.pick(full=10, quick=4) if batches is None else batches
    device = runtime.device()
    model, optimizer = _fresh(rung, device, seed)
    n = 2 * batches * rung.batch_size  # the warm-up batches, then the profiled ones
    x, y = as_images(data.x_train[:n]).to(device), as_labels(data.y_train[:n]).to(device)
    return profile_training(
        model,
        x,
        y,
        optimizer,
        batch_size=rung.batch_size,
        batches=batches,
        precision=_precision(rung),
        channels_last=rung.channels_last,
    )


def final_test_accuracy(trace: Trace, data: mnist_data.MNIST) -> float:
    """The accuracy of ``trace``'s trained network on ``data``'s test set: call it once, for the final recipe."""
    if trace.model is None:
        raise ValueError("trace has no trained model")
    return evaluate(trace.model, data.x_test, data.y_test, precision="float32")[1]


def main(seed: int = 0) -> int:
    """``digitlab speedrun``: run the ladder, print its table, check the final recipe on the test set once."""
    goal = target()
    mnist = mnist_data.load_mnist(normalize=False, validation=validation_size())
    print(
        f"speedrun on {runtime.cpu_name()} ({runtime.device()}, "
        f"{torch.get_num_threads()} threads, precision here: {runtime.precision()}); "
        f"{len(mnist.y_train):,} training and {len(mnist.y_val):,} validation images"
        f"{' (quick mode)' if runtime.is_quick() else ''}; seconds are training only",
        flush=True,
    )
    traces = run(ladder(), mnist, goal=goal, seed=seed)
    with __import__("pandas").option_context("display.max_colwidth", 200, "display.width", 250):
        print(table(traces, goal).to_string())
    final = fastest(traces, goal)
    accuracy = final_test_accuracy(final, mnist)
    print(
        f"final recipe ({final.rung.step}) on the test set (once): {accuracy:.2%} "
        f"after {final.seconds[-1]:.1f} s of training"
    )
    print(last_line(traces, goal))
    return 0


def validation_size() -> int:
    """Training images held out for validation: chapter 4's 5,000 (``torch_recipes.validation_size``), 500 in quick mode.

    Not imported from ``torch_recipes``, which would make this chapter depend on chapter 7's
    training code (a test keeps the two equal).
    """
    return runtime.pick(full=VALIDATION, quick=VALIDATION // 10)
