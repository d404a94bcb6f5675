"""Stage ``precision_matrix``: the chapters' nets under each precision a GPU could train them in.

Configurations (``CONFIGS``): A float32 with TF32 on (what "float32" means on an A100, L4 or H100),
B float32 with TF32 off (a T4's numerics), C bfloat16 autocast + channels_last (the book on
capability 8.0+), D bfloat16 with cuDNN off (the dispatch a T4 took before the precision policy:
per-sample ``slow_conv2d``), E float16 + GradScaler with TF32 off (the T4's path now). For each net:
milliseconds per training step after a warm-up, synchronised. Then chapter 4's recipe trained in A,
C and E must reach its floor (A and C on a CPU, which only emulates float16), and C trained twice
must give bitwise-equal weights. Last, one step under ``torch.use_deterministic_algorithms(True)``
records whether every operation of chapter 7's training step has a deterministic kernel.
On a CPU, cuDNN and TF32 do not exist: A/B and C/D run the same kernels, in quick mode.
"""

from __future__ import annotations

import contextlib
import dataclasses

import torch
from torch import nn

from digitlab import augment, runtime, torch_train
from digitlab.torch_cnn import CNN, FastNet, as_images, as_labels
from digitlab.torch_strong import StrongNet

from . import common

CONFIGS = {
    "A fp32 tf32 on": dict(precision="float32", tf32=True),
    "B fp32 tf32 off": dict(precision="float32", tf32=False),
    "C bf16 channels_last": dict(precision="bfloat16", tf32=True, channels_last=True),
    "D bf16 cudnn off": dict(precision="bfloat16", tf32=True, cudnn=False),
    "E fp16 gradscaler tf32 off": dict(precision="float16", tf32=False, channels_last=True),
}
NETS = {
    "CNN": (CNN, 64, None),
    "FastNet": (FastNet, 256, None),
    "StrongNet+affine": (StrongNet, 128, "affine"),
}


@contextlib.contextmanager
def config(tf32: bool = True, cudnn: bool = True, **_):
    """TF32 and cuDNN as a configuration wants them, restored afterwards."""
    saved = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cudnn.enabled,
    )
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.enabled = cudnn
    try:
        yield
    finally:
        (
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
            torch.backends.cudnn.enabled,
        ) = saved


def _step_fn(net: str, settings: dict, x: torch.Tensor, y: torch.Tensor):
    make, batch, transform = NETS[net]
    runtime.seed_everything(0)
    model = make().to(x.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    xb, yb = x[:batch], y[:batch]
    warp = (lambda t: augment.random_affine(t, generator=0)) if transform else None
    kwargs = dict(
        batch_size=batch, precision=settings["precision"], channels_last=settings.get("channels_last", False)
    )
    return lambda: torch_train.train_epoch(model, xb, yb, optimizer, transform=warp, **kwargs)


def timings(x: torch.Tensor, y: torch.Tensor) -> dict:
    warmup, calls = (1, 2) if common.quick() else (10, 50)
    out = {}
    for name, settings in CONFIGS.items():
        with config(**settings):
            out[name] = {
                net: round(common.ms_per_call(_step_fn(net, settings, x, y), warmup, calls), 3)
                for net in NETS
            }
    return out


def _train(settings: dict, split, epochs: int) -> tuple[float, nn.Module]:
    runtime.seed_everything(0)
    with config(**settings):
        model = CNN()
        torch_train.fit(
            model, split, epochs, lr=0.1, schedule="onecycle", precision=settings["precision"], verbose=False
        )
        return torch_train.evaluate(model, split.x_test, split.y_test)[1], model


def _deterministic_step(x: torch.Tensor, y: torch.Tensor) -> str:
    """One step of chapter 7's member (StrongNet + affine) under ``torch.use_deterministic_algorithms``.

    "ok", or the error of the first operation that has no deterministic kernel here (recorded, not a
    failure: the book asks only for cuDNN's deterministic kernels).
    """
    torch.use_deterministic_algorithms(True)
    try:
        _step_fn("StrongNet+affine", CONFIGS["B fp32 tf32 off"], x, y)()
        common.sync()
        return "ok"
    except RuntimeError as error:
        return str(error).splitlines()[0][:300]
    finally:
        torch.use_deterministic_algorithms(False)


def run() -> dict:
    failed: list[str] = []
    split = common.mnist()
    dev = common.device()
    x, y = as_images(split.x_train[:256]).to(dev), as_labels(split.y_train[:256]).to(dev)
    ms = timings(x, y)
    floor = runtime.expected_accuracy(0.99, 0.60)  # chapter 4's floors
    epochs = runtime.epochs(full=3, quick=1)
    accuracy = {}
    trained = ["A fp32 tf32 on", "C bf16 channels_last", "E fp16 gradscaler tf32 off"]
    if not common.on_gpu():  # a CPU only emulates float16 (slowly), and the policy never picks it there
        trained = trained[:2]
    for name in trained:
        accuracy[name], _ = _train(CONFIGS[name], split, epochs)
        common.check(failed, accuracy[name] >= floor, f"{name}: test accuracy {accuracy[name]:.4f} < {floor}")
    n = runtime.pick(full=4096, quick=512)
    short = dataclasses.replace(split, x_train=split.x_train[:n], y_train=split.y_train[:n])
    first, second = (_train(CONFIGS["C bf16 channels_last"], short, 1)[1] for _ in range(2))
    same = all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    common.check(failed, same, "bf16 training twice gave different weights")
    deterministic = _deterministic_step(x, y)
    ratio = {net: round(ms["D bf16 cudnn off"][net] / ms["A fp32 tf32 on"][net], 2) for net in NETS}
    return {
        "ms_per_step": ms,
        "d_over_a": ratio,
        "floor": floor,
        "epochs": epochs,
        "test_accuracy": accuracy,
        "bf16_repeats_bitwise": same,
        "deterministic_algorithms": deterministic,
        "failed": failed,
    }
