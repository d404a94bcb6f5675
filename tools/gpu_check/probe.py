"""Stage ``probe``: the GPU, its capability, the driver and library versions, and the precision decision.

The decision is also taken for simulated GPUs (``torch.cuda`` patched as ``tests/test_precision_policy``
does): a T4 must get float16, never the emulated bfloat16 that ``is_bf16_supported()`` allows.
"""

from __future__ import annotations

import types
from importlib import metadata
from unittest import mock

import torch

from digitlab import precision_policy, runtime

from . import common

SIMULATED = {"Tesla T4": ((7, 5), "float16"), "NVIDIA A100-SXM4-40GB": ((8, 0), "bfloat16")}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _driver() -> str | None:
    return precision_policy.nvidia_smi("driver_version")


def simulate(name: str, capability: tuple[int, int]) -> precision_policy.Choice:
    """The policy's choice on a GPU that looks like ``name`` to PyTorch."""
    major, minor = capability
    props = types.SimpleNamespace(major=major, minor=minor, name=name)
    patches = {
        "is_available": lambda: True,
        "current_device": lambda: 0,
        "get_device_capability": lambda device=None: capability,
        "get_device_properties": lambda device=None: props,
        "get_device_name": lambda device=None: name,
        "is_bf16_supported": lambda including_emulation=True: including_emulation or major >= 8,
    }
    with (
        mock.patch.multiple(torch.cuda, **patches),
        mock.patch.dict("os.environ", {"DIGITLAB_PRECISION": ""}),
    ):
        return precision_policy.choose("cuda")


def run() -> dict:
    failed: list[str] = []
    choice = precision_policy.choose()
    facts = {
        "device": runtime.device().type,
        "quick": common.quick(),
        "cpu": runtime.cpu_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "onnxruntime": _version("onnxruntime"),
        "numpy": _version("numpy"),
        "driver": _driver(),
        "precision": choice.precision,
        "reason": choice.reason,
        "env_line": choice.line(),
        "tf32": {
            "matmul": torch.backends.cuda.matmul.allow_tf32,
            "cudnn": torch.backends.cudnn.allow_tf32,
        },
    }
    if common.on_gpu():
        facts["gpu"] = torch.cuda.get_device_name()
        facts["capability"] = ".".join(map(str, torch.cuda.get_device_capability()))
        facts["memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        facts["bf16_supported"] = torch.cuda.is_bf16_supported()
        facts["bf16_native"] = torch.cuda.is_bf16_supported(including_emulation=False)
    facts["simulated"] = {}
    for name, (capability, expected) in SIMULATED.items():
        got = simulate(name, capability)
        facts["simulated"][name] = {"precision": got.precision, "reason": got.reason}
        common.check(failed, got.precision == expected, f"{name}: {got.precision}, expected {expected}")
    return {**facts, "failed": failed}
