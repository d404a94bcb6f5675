"""The book's one PyTorch training loop: ``train_epoch`` and ``evaluate``, like pytorch/examples' train/test.

The whole data set lives as tensors on the device. Each epoch shuffles an index tensor on the device
and slices batches from it (``batches``): no ``DataLoader``, no copy between host and device, and
the running loss is summed on the device, so a GPU is synchronised once per epoch, not per batch.
``precision="bfloat16"`` or ``"float16"`` runs the forward pass and the loss under ``torch.autocast``;
float16 also scales the loss (``torch.amp.GradScaler``) so that small gradients do not underflow
(its overflow check reads one flag per batch: float16 syncs a GPU once per batch);
``channels_last=True`` stores the model and every batch in the channels-last memory layout.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from digitlab import data as mnist_data
from digitlab import runtime
from digitlab.torch_cnn import as_images, as_labels

BATCH_SIZE = 64
# Images per forward pass when evaluating: on a 2-core CPU, 256 ran chapter 4's CNN and the speedrun's
# network over 5,000 images 1.6 and 2.2 times faster than 1,000 (the activations stay in cache).
EVAL_BATCH = 256
PRECISIONS = ("float32", "bfloat16", "float16")  # precision_policy.PRECISIONS
SCHEDULES = ("constant", "onecycle", "cosine", "last_epoch_drop")
FINAL_LR_FACTOR = 0.1  # "last_epoch_drop": the last epoch runs at a tenth of the rate


def batches(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = BATCH_SIZE,
    *,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The fast path: batches of (x, y) sliced by an index tensor on their device, in a fresh order if ``shuffle``."""
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    runtime._check_positive_int("batch_size", batch_size)
    n = len(x)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(x.device)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


def autocast(device: torch.device, precision: str = "float32") -> contextlib.AbstractContextManager:
    """``torch.autocast`` to bfloat16 or float16 as ``precision`` says; for "float32" a context that changes nothing."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=getattr(torch, precision))


_SCALERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # optimizer -> its GradScaler


def grad_scaler(
    optimizer: torch.optim.Optimizer, device: torch.device, precision: str
) -> torch.amp.GradScaler:
    """The loss scaler of ``optimizer``'s float16 steps, kept across epochs; a disabled one otherwise.

    Dynamic scaling starts at 2**16 and halves after a step whose gradients overflowed (that step is
    skipped), so the scale is kept with the optimizer instead of starting over every epoch. Its
    overflow check reads one number from the device per step: float16 syncs a GPU once a step.
    """
    if precision != "float16":
        return torch.amp.GradScaler(device.type, enabled=False)
    scaler = _SCALERS.get(optimizer)
    if scaler is None:
        scaler = _SCALERS[optimizer] = torch.amp.GradScaler(device.type)
    return scaler


def train_epoch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int = BATCH_SIZE,
    scheduler=None,
    generator: torch.Generator | None = None,
    precision: str = "float32",
    channels_last: bool = False,
    loss_fn: Callable | None = None,
    transform: Callable | None = None,
) -> float:
    """One pass over (x, y), tensors on the model's device, in a shuffled order; returns the mean training loss.

    ``scheduler`` (if any) is stepped after every batch; ``transform`` (augmentation, say) maps each
    batch of images to new ones before the forward pass.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    total = torch.zeros((), device=x.device)
    with_autocast = autocast(x.device, precision)
    scaler = grad_scaler(optimizer, x.device, precision)
    for xb, yb in batches(x, y, batch_size, generator=generator):
        if transform is not None:
            xb = transform(xb)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with with_autocast:
            loss = loss_fn(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()  # disabled (float32, bfloat16): plain backward and step
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        total += loss.detach().float() * len(yb)  # summed on the device: no sync per batch
    return total.item() / len(x)


def _tensors(model: nn.Module, x, y=None):
    """``x`` (and ``y``) as tensors on the model's device, copied only when they are not already there."""
    device = next(model.parameters()).device
    ready = isinstance(x, torch.Tensor) and x.device == device and x.dtype == torch.float32 and x.ndim == 4
    x = x if ready else as_images(x).to(device)
    if y is None:
        return x
    y = (
        y
        if isinstance(y, torch.Tensor) and y.device == device and y.dtype == torch.long
        else as_labels(y).to(device)
    )
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of the same length, got {len(x)} and {len(y)}")
    return x, y


@torch.inference_mode()
def evaluate(
    model: nn.Module, x, y, *, batch_size: int = EVAL_BATCH, precision: str = "float32"
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on images ``x`` with labels ``y``."""
    x, y = _tensors(model, x, y)
    model.eval()
    loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    with autocast(x.device, precision):
        for xb, yb in batches(x, y, batch_size, shuffle=False):
            logits = model(xb).float()
            loss += nn.functional.cross_entropy(logits, yb, reduction="sum")
            correct += (logits.argmax(1) == yb).sum()
    return loss.item() / len(x), correct.item() / len(x)


@torch.inference_mode()
def predict_proba(
    model: nn.Module, x, *, batch_size: int = EVAL_BATCH, precision: str = "float32"
) -> np.ndarray:
    """Class probabilities, a NumPy array (N, 10), for images in [0, 1] (or uint8) of any MNIST shape."""
    if len(x) == 0:
        return np.zeros((0, 10), np.float32)
    x = _tensors(model, x)
    model.eval()
    with autocast(x.device, precision):
        parts = [torch.softmax(model(x[i : i + batch_size]).float(), 1) for i in range(0, len(x), batch_size)]
    return torch.cat(parts).cpu().numpy()


def predict(model: nn.Module, x, *, batch_size: int = EVAL_BATCH, precision: str = "float32") -> np.ndarray:
    """Predicted digits, a NumPy int array (N,)."""
    return predict_proba(model, x, batch_size=batch_size, precision=precision).argmax(1)


def make_schedule(
    optimizer: torch.optim.Optimizer, schedule: str, lr: float, epochs: int, steps_per_epoch: int
):
    """A learning-rate scheduler stepped after every batch.

    ``constant``; ``onecycle`` (warm up over the first quarter, then anneal to almost zero; constant
    for fewer than 4 steps);
    ``cosine`` (half a cosine from ``lr`` down); ``last_epoch_drop`` (``lr``, then ``FINAL_LR_FACTOR``
    times it for the last of several epochs: chapter 4's first recipe).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    runtime._check_positive_int("epochs", epochs)
    runtime._check_positive_int("steps_per_epoch", steps_per_epoch)
    total = epochs * steps_per_epoch
    if schedule == "onecycle" and total >= 4:  # OneCycleLR divides by zero on fewer steps
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=total, pct_start=max(0.25, 2 / total)
        )
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    drop = (epochs - 1) * steps_per_epoch if schedule == "last_epoch_drop" and epochs > 1 else total + 1
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: FINAL_LR_FACTOR if step >= drop else 1.0)


def fit(
    model: nn.Module,
    data: mnist_data.MNIST,
    epochs: int,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 0.1,
    schedule: str = "onecycle",
    batch_size: int = BATCH_SIZE,
    loss_fn: Callable | None = None,
    transform: Callable | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    precision: str | None = None,
    channels_last: bool | None = None,
    validate_every_epoch: bool = True,
    verbose: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` with ``train_epoch``, validating on ``data``'s validation split; return the history.

    The optimizer defaults to SGD at ``lr``; ``schedule`` (see ``make_schedule``) sets its rate at
    every step. ``precision`` defaults to ``runtime.precision()``, and ``channels_last`` to True under
    bfloat16 or float16 (oneDNN's and cuDNN's half-precision convolutions want that layout). Training is monitored on the
    validation split, never on the test set. The history holds, per epoch, ``loss``, ``val_loss``,
    ``val_accuracy`` and the training ``seconds`` (without validation), and the rate of every step
    (``lr``); with ``validate_every_epoch=False`` only the last epoch is validated.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, mnist_data.MNIST):
        raise TypeError(
            f"data must be a digitlab.data.MNIST (from data.load_mnist()), got {type(data).__name__}"
        )
    runtime._check_positive_int("epochs", epochs)
    if len(data.y_val) == 0:
        raise ValueError(
            "data must have a validation split to monitor training on: use data.load_mnist(validation=...)"
        )
    device = runtime.device() if device is None else torch.device(device)
    precision = runtime.precision() if precision is None else precision
    autocast(device, precision)  # checks the name before any training
    channels_last = precision != "float32" if channels_last is None else channels_last
    model.to(device)
    x, y = as_images(data.x_train).to(device), as_labels(data.y_train).to(device)
    x_val, y_val = as_images(data.x_val).to(device), as_labels(data.y_val).to(device)
    optimizer = optimizer or torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = make_schedule(optimizer, schedule, lr, epochs, -(-len(x) // batch_size))
    rates = []
    recorder = _Recorder(scheduler, rates)
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {k: [] for k in ("loss", "val_loss", "val_accuracy", "seconds")}
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        loss = train_epoch(
            model,
            x,
            y,
            optimizer,
            batch_size=batch_size,
            scheduler=recorder,
            generator=generator,
            precision=precision,
            channels_last=channels_last,
            loss_fn=loss_fn,
            transform=transform,
        )
        seconds = time.perf_counter() - start
        validated = validate_every_epoch or epoch == epochs
        val_loss, val_acc = evaluate(model, x_val, y_val) if validated else (float("nan"),) * 2
        for key, value in zip(history, (loss, val_loss, val_acc, seconds)):
            history[key].append(value)
        if verbose:
            print(
                f"epoch {epoch}/{epochs}: loss {loss:.4f}, validation loss {val_loss:.4f}, "
                f"validation accuracy {val_acc:.4f} ({seconds:.1f} s)",
                flush=True,
            )
    history["lr"] = rates
    if (
        channels_last
    ):  # hand the model back in the usual layout: a reloaded copy then computes bit for bit the same
        model.to(memory_format=torch.contiguous_format)
    model.eval()
    return history


class _Recorder:
    """Steps a scheduler and keeps the learning rate each step used (for plots of the schedule)."""

    def __init__(self, scheduler, rates: list[float]):
        self.scheduler, self.rates = scheduler, rates

    def step(self) -> None:
        self.rates.append(self.scheduler.get_last_lr()[0])
        self.scheduler.step()


def seconds_to_reach(history: dict[str, list[float]], accuracy: float = 0.99) -> float | None:
    """Training seconds until the validation accuracy first reached ``accuracy``, or None if it never did."""
    if not 0 < accuracy <= 1:
        raise ValueError(f"accuracy must be in (0, 1], got {accuracy!r}")
    missing = {"val_accuracy", "seconds"} - set(history)
    if missing:
        raise ValueError(f"history must come from torch_train.fit; it lacks {sorted(missing)}")
    elapsed = 0.0
    for seconds, acc in zip(history["seconds"], history["val_accuracy"]):
        elapsed += seconds
        if acc >= accuracy:
            return elapsed
    return None
