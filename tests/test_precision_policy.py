"""The precision policy on GPUs this machine does not have: torch.cuda patched to look like each one."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

torch = pytest.importorskip("torch")

from digitlab import data, precision_policy, runtime  # noqa: E402
from digitlab import torch_train as tt  # noqa: E402
from digitlab.torch_cnn import CNN  # noqa: E402

# name, compute capability: the GPUs Colab lends (T4 free; L4, A100 paid) and the check's H100
GPUS = {
    "Tesla T4": (7, 5),
    "Tesla V100-SXM2-16GB": (7, 0),
    "NVIDIA A100-SXM4-40GB": (8, 0),
    "NVIDIA L4": (8, 9),
    "NVIDIA H100 80GB HBM3": (9, 0),
    "Tesla P100-PCIE-16GB": (6, 0),
}
EXPECTED = {(7, 5): "float16", (7, 0): "float16", (8, 0): "bfloat16", (8, 9): "bfloat16", (9, 0): "bfloat16"}


def simulate_gpu(monkeypatch, name: str | None) -> None:
    """Make torch.cuda answer like ``name``'s GPU (None: no GPU), as far as the policy asks."""
    monkeypatch.delenv("DIGITLAB_PRECISION", raising=False)
    if name is None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        return
    major, minor = GPUS[name]
    props = types.SimpleNamespace(major=major, minor=minor, name=name, total_memory=16 * 2**30)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: props)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    # torch's own semantics: emulation (the default) makes every CUDA GPU "support" bfloat16
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation or major >= 8
    )


def no_torch_yet(monkeypatch) -> None:
    """Make the policy's light probe see no PyTorch imported (a chapter's first cell); torch stays loaded."""
    modules = {k: v for k, v in sys.modules.items() if k != "torch"}
    monkeypatch.setattr(precision_policy, "sys", types.SimpleNamespace(modules=modules))


@pytest.mark.parametrize("name", sorted(GPUS))
def test_each_gpu_gets_its_precision_and_a_reason(monkeypatch, name):
    simulate_gpu(monkeypatch, name)
    expected = EXPECTED.get(GPUS[name], "float32")
    assert runtime.device().type == "cuda"
    assert runtime.precision() == expected
    choice = precision_policy.choose()
    assert (choice.precision, choice.device, choice.name) == (expected, "cuda", name)
    assert choice.capability == "{}.{}".format(*GPUS[name])
    line = choice.line()
    assert name in line and f"compute capability {choice.capability}" in line and expected in line
    assert choice.reason in line and len(choice.reason) > 10


def test_a_t4_gets_float16_never_emulated_bfloat16(monkeypatch):
    simulate_gpu(monkeypatch, "Tesla T4")
    assert torch.cuda.is_bf16_supported(), "the simulation keeps torch's default: emulation counts"
    assert runtime.precision() == "float16"
    assert "no bfloat16" in precision_policy.choose().reason


def test_the_cpu_answer_is_unchanged(monkeypatch):
    simulate_gpu(monkeypatch, None)
    fast = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert runtime.precision() == ("bfloat16" if fast else "float32")  # the rule before the policy
    for probe, answer in ((lambda: False, "float32"), (lambda: True, "bfloat16")):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", probe)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
        choice = precision_policy.choose()
        assert (choice.precision, choice.device, choice.capability) == (answer, "cpu", None)
        assert ("neither" in choice.reason) == (answer == "float32")


def test_mps_stays_in_float32():
    assert precision_policy.choose("mps").precision == "float32"
    assert precision_policy.rule("mps") == ("float32", precision_policy.choose("mps").reason)
    with pytest.raises(ValueError, match="kind must be"):
        precision_policy.rule("tpu")


@pytest.mark.parametrize("value", ["float32", "bfloat16", "float16"])
def test_digitlab_precision_overrides_and_says_so(monkeypatch, value):
    simulate_gpu(monkeypatch, "Tesla T4")
    monkeypatch.setenv("DIGITLAB_PRECISION", value.upper())
    choice = precision_policy.choose()
    assert choice.precision == value == runtime.precision()
    assert ("overrides float16" in choice.reason) == (value != "float16")
    monkeypatch.setenv("DIGITLAB_PRECISION", "half")
    with pytest.raises(ValueError, match="DIGITLAB_PRECISION must be one of"):
        runtime.precision()


@pytest.mark.parametrize("name", ["Tesla T4", "NVIDIA A100-SXM4-40GB", None])
def test_the_light_probe_agrees_with_torch(monkeypatch, name):
    """The env report's answer (nvidia-smi, /proc/cpuinfo; no PyTorch import) is the policy's."""
    simulate_gpu(monkeypatch, name)
    expected = precision_policy.choose()
    if name is not None:
        cap = "{}.{}".format(*GPUS[name])
        out = types.SimpleNamespace(stdout=f"{name}, {cap}\n", returncode=0)
        monkeypatch.setattr(precision_policy.subprocess, "run", lambda *a, **k: out)
    else:
        monkeypatch.setattr(precision_policy, "_nvidia_smi", lambda: None)
    no_torch_yet(monkeypatch)
    assert precision_policy.describe() == expected


def test_a_driver_that_cannot_tell_the_capability_lets_torch_answer(monkeypatch):
    simulate_gpu(monkeypatch, "Tesla T4")
    monkeypatch.setattr(precision_policy, "_nvidia_smi", lambda: None)
    monkeypatch.setattr(precision_policy.shutil, "which", lambda name: "/usr/bin/" + name)
    no_torch_yet(monkeypatch)
    assert precision_policy.describe().precision == "float16"


def test_one_float16_step_with_a_grad_scaler_lowers_the_loss():
    torch.manual_seed(0)
    x, y = torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,))
    model = CNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before, _ = tt.evaluate(model, x, y)
    seen = []
    real = torch.amp.GradScaler.scale
    torch.amp.GradScaler.scale = lambda self, loss: seen.append(loss.dtype) or real(self, loss)
    try:
        tt.train_epoch(model, x, y, optimizer, batch_size=32, precision="float16")
    finally:
        torch.amp.GradScaler.scale = real
    scaler = tt.grad_scaler(optimizer, x.device, "float16")
    assert scaler.is_enabled() and 1 <= scaler.get_scale() <= 2**16, "the optimizer's scaler took the step"
    assert tt.grad_scaler(optimizer, x.device, "float16") is scaler, "kept across epochs"
    assert not tt.grad_scaler(optimizer, x.device, "bfloat16").is_enabled()
    assert seen == [torch.float32], "the float16 forward pass's loss went through the scaler"
    after, _ = tt.evaluate(model, x, y)
    assert after < before


def test_digitlab_precision_float16_trains(monkeypatch):
    monkeypatch.setenv("DIGITLAB_PRECISION", "float16")
    rng = torch.Generator().manual_seed(0)
    images = (torch.rand(40, 28, 28, generator=rng) * 255).to(torch.uint8).numpy()
    labels = torch.randint(0, 10, (40,), generator=rng).numpy()
    split = data.MNIST(images[:24], labels[:24], images[24:32], labels[24:32], images[32:], labels[32:])
    seen = []
    real = tt.train_epoch
    monkeypatch.setattr(tt, "train_epoch", lambda *a, **k: seen.append(k["precision"]) or real(*a, **k))
    history = tt.fit(CNN(), split, 2, batch_size=8, device="cpu", verbose=False)
    assert seen == ["float16", "float16"]
    assert history["loss"][1] < history["loss"][0]


def test_import_digitlab_makes_tensorflow_grow_gpu_memory():
    code = "import os, digitlab; print(os.environ.get('TF_FORCE_GPU_ALLOW_GROWTH'))"
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_FORCE_GPU_ALLOW_GROWTH"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "true", done.stderr[-500:]
    env["TF_FORCE_GPU_ALLOW_GROWTH"] = "false"  # the user's own choice wins
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "false"


def test_the_env_report_says_device_and_precision_once(capsys, monkeypatch):
    from IPython.core.formatters import DisplayFormatter

    monkeypatch.setattr(precision_policy, "_nvidia_smi", lambda: ("Tesla T4", (7, 5)))
    no_torch_yet(monkeypatch)
    report = runtime.env_report(trains=True)
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("precision"))
    assert (
        "Tesla T4, compute capability 7.5" in line
        and "PyTorch trains in float16 on cuda" in line
        and "loss scaling" in line
    )
    assert report["precision"] in line
    assert DisplayFormatter().format(report) == ({}, {}), "a first cell must not show it a second time"
    assert "precision" not in runtime.env_report(), "a chapter that does not train: no precision line"
