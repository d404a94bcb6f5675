"""Stage ``profiler``: chapter 4b's profile on this device counts each kernel once.

On a GPU the trace holds each kernel as its own event and inside the operation that launched it;
``profiling.table`` keeps the operations only. Its total must match the kernel events' total (torch's
own table), where summing every event (the old way) gives about twice as much. Beside it, the
synchronised wall-clock milliseconds per step.
"""

from __future__ import annotations

import dataclasses

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from digitlab import profiling, speedrun, torch_train
from digitlab.torch_cnn import as_images, as_labels

from . import common


def run() -> dict:
    failed: list[str] = []
    split = common.mnist()
    rung = speedrun.ladder()[-1]  # step 6's settings, as chapter 4b profiles them
    rung = dataclasses.replace(rung, net="small + BatchNorm")  # BatchNorm before pooling: step 5's network
    table = speedrun.profile(rung, split, batches=4)
    share = profiling.share(table, "batch_norm")
    common.check(failed, abs(table["share of the time"].sum() - 1) < 1e-6, "shares do not sum to 1")
    common.check(failed, 0 < share < 1, f"batch_norm share {share}")
    out = {
        "ms_per_batch_profiled": round(float(table["ms per batch"].sum()), 3),
        "batch_norm_share": round(share, 3),
    }
    dev, batch, n = common.device(), rung.batch_size, 4
    model, optimizer = speedrun._fresh(rung, dev, 0)
    x = as_images(split.x_train[: 2 * n * batch]).to(dev)
    y = as_labels(split.y_train[: 2 * n * batch]).to(dev)
    precision = speedrun._precision(rung)
    part = dict(batch_size=batch, precision=precision, channels_last=rung.channels_last)

    def step():
        return torch_train.train_epoch(model, x[: n * batch], y[: n * batch], optimizer, **part)

    out["wall_ms_per_batch"] = round(common.ms_per_call(step, 1, 3) / n, 3)
    if common.on_gpu():
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            step()
            torch.cuda.synchronize()
        events = prof.key_averages()
        ours = float(profiling.table(events, gpu=True, batches=n)["ms per batch"].sum())
        kernels = sum(e.self_device_time_total for e in events if e.device_type == DeviceType.CUDA) / 1000 / n
        every = sum(e.self_device_time_total for e in events) / 1000 / n
        out.update(ours_ms=round(ours, 3), kernel_ms=round(kernels, 3), every_event_ms=round(every, 3))
        common.check(
            failed, abs(ours - kernels) <= 0.05 * kernels, f"table {ours} ms vs kernels {kernels} ms"
        )
    return {**out, "failed": failed}
