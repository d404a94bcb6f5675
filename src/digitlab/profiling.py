"""Where a training step spends its time: `torch.profiler` around a few batches of the book's loop (imports PyTorch).

Chapter 4b uses it to find what to speed up next. Multiply-adds say what a network computes, not
what it costs: an operation that does little arithmetic but reads and writes every value (BatchNorm,
max-pooling) can take more time than the convolutions, depending on the device and the precision.
"""

from __future__ import annotations

import os

import pandas as pd
import torch
from torch import nn
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from digitlab import _validation as check
from digitlab.torch_train import train_epoch


def profile_training(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    batches: int = 10,
    precision: str = "float32",
    channels_last: bool = False,
) -> pd.DataFrame:
    """Train ``batches`` batches of (x, y) after as many unprofiled ones; each operation's share of the time.

    The table has one row per operation (``aten::...``), the most expensive first: its share of the
    profiled time and its milliseconds per batch. The time is each operation's own ("self") time on
    the CPU, or on the GPU when the tensors are there. ``model`` is trained by this: pass a throwaway.
    """
    check.positive_int("batch_size", batch_size)
    check.positive_int("batches", batches)
    n = batches * batch_size
    if len(x) < 2 * n or len(x) != len(y):
        raise ValueError(
            f"x and y must hold the same number of images, at least 2 x batches x batch_size = {2 * n}; "
            f"got {len(x)} and {len(y)}"
        )
    settings = dict(batch_size=batch_size, precision=precision, channels_last=channels_last)
    train_epoch(model, x[:n], y[:n], optimizer, **settings)  # warm-up: kernels chosen, memory allocated
    gpu = x.device.type == "cuda"
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")  # below 6 the profiler logs every start and stop to stderr
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    with profile(activities=activities) as prof:
        train_epoch(model, x[n : 2 * n], y[n : 2 * n], optimizer, **settings)
    return table(prof.key_averages(), gpu=gpu, batches=batches)


def table(events, *, gpu: bool, batches: int) -> pd.DataFrame:
    """The profile's table from ``key_averages()``: one row per operation, each microsecond counted once.

    On the CPU an operation's own time is ``self_cpu_time_total``. On a GPU the trace holds every kernel
    twice: as an event of its own (device type CUDA) and inside the ``aten::`` operation that launched
    it (that operation's ``self_device_time_total``). torch's own table sums the kernel events; here the
    CPU-side operations are kept instead, which sums to the same total and keeps operations' names
    (cuDNN's BatchNorm kernels are called ``bn_fw_...``, but they run under ``aten::batch_norm``).
    """
    check.positive_int("batches", batches)
    own = "self_device_time_total" if gpu else "self_cpu_time_total"  # microseconds
    times = pd.Series(
        {e.key: getattr(e, own) for e in events if not gpu or e.device_type == DeviceType.CPU}, dtype=float
    )
    times = times[times > 0].sort_values(ascending=False)
    return pd.DataFrame(
        {"share of the time": times / times.sum(), "ms per batch": times / 1000 / batches}
    ).rename_axis("operation")


def share(table: pd.DataFrame, word: str) -> float:
    """The summed share of the operations whose name contains ``word`` (``"batch_norm"``: forward and backward)."""
    if not word:
        raise ValueError("word must be a non-empty part of an operation's name, such as 'batch_norm'")
    return float(table.loc[table.index.str.contains(word, regex=False), "share of the time"].sum())
