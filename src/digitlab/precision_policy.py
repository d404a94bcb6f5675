"""Which precision PyTorch training uses on this device, and why (imports PyTorch when asked).

The policy, one rule per kind of device:

- CUDA, compute capability 8.0 or newer (A100, L4, H100): ``bfloat16`` autocast; these GPUs
  have bfloat16 tensor cores and cuDNN's bf16 convolutions.
- CUDA 7.x (T4, V100): ``float16`` autocast with loss scaling (``torch.amp.GradScaler``). They have
  float16 tensor cores but no bfloat16 hardware: PyTorch only emulates bf16 there, and cuDNN refuses
  bf16 convolutions below 8.0, so a bf16 network falls back to a slow per-sample loop.
- older CUDA GPUs: ``float32`` (no tensor cores).
- CPU: ``bfloat16`` only with AVX-512 BF16 or AMX (oneDNN's fast bf16 kernels), else ``float32``.
- Apple MPS: ``float32``; half precision there has not been measured for these networks.

``DIGITLAB_PRECISION`` (``float32``, ``bfloat16`` or ``float16``) overrides the choice.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

from digitlab import settings

PRECISIONS = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Choice:
    """A precision with the device it is for and the reason it was chosen."""

    precision: str
    reason: str
    device: str  # "cuda", "mps" or "cpu"
    name: str  # the GPU's name, or "CPU"
    capability: str | None = None  # CUDA compute capability, such as "7.5"

    def line(self) -> str:
        """One line for a chapter's environment report (Keras always trains in float32)."""
        where = self.name if self.capability is None else f"{self.name}, compute capability {self.capability}"
        return (
            f"PyTorch trains in {self.precision} on {self.device} ({where}): {self.reason}; Keras in float32"
        )


def _override() -> str | None:
    chosen = os.environ.get(settings.PRECISION, "").strip().lower()
    if chosen and chosen not in PRECISIONS:
        raise ValueError(f"{settings.PRECISION} must be one of {PRECISIONS}, got {chosen!r}")
    return chosen or None


def rule(kind: str, capability: tuple[int, int] | None = None, fast_bf16: bool = False) -> tuple[str, str]:
    """(precision, reason) for a device ``kind``; ``fast_bf16``: native bfloat16 (a CUDA GPU or CPU has it)."""
    if kind == "cuda":
        major = capability[0]
        if major >= 8 and fast_bf16:
            return "bfloat16", "bfloat16 tensor cores (compute capability 8.0 or newer)"
        if major == 7:
            return (
                "float16",
                "float16 tensor cores with loss scaling; no bfloat16 below compute capability 8.0",
            )
        if major >= 8:
            return "float32", "this PyTorch build has no native bfloat16 for this GPU"
        return "float32", "no tensor cores below compute capability 7.0"
    if kind == "mps":
        return "float32", "half precision on Apple MPS has not been measured for these networks"
    if kind != "cpu":
        raise ValueError(f"kind must be 'cuda', 'mps' or 'cpu', got {kind!r}")
    if fast_bf16:
        return "bfloat16", "this CPU has AVX-512 BF16 or AMX (fast bfloat16 kernels)"
    return "float32", "this CPU has neither AVX-512 BF16 nor AMX, so bfloat16 would be emulated (slower)"


def _decide(kind: str, name: str, capability: tuple[int, int] | None, fast_bf16: bool) -> Choice:
    precision, reason = rule(kind, capability, fast_bf16)
    chosen = _override()
    if chosen is not None and chosen != precision:
        precision, reason = chosen, f"{settings.PRECISION}={chosen} overrides {precision} ({reason})"
    where = None if capability is None else f"{capability[0]}.{capability[1]}"
    return Choice(precision, reason, kind, name, where)


def choose(device_type: str | None = None) -> Choice:
    """The precision to train in on ``device_type`` (default: ``runtime.device()``'s), asking PyTorch."""
    import torch

    from digitlab import runtime

    kind = device_type or runtime.device().type
    if kind == "cuda":
        capability = tuple(torch.cuda.get_device_capability())
        native = torch.cuda.is_bf16_supported(including_emulation=False)  # the default counts emulation
        return _decide(kind, torch.cuda.get_device_name(), capability, native)
    if kind == "mps":
        return _decide(kind, "Apple GPU", None, False)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own CPUID probes
    fast = any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return _decide("cpu", runtime.cpu_name(), None, fast)


def nvidia_smi(fields: str) -> str | None:
    """The first GPU's line of ``nvidia-smi --query-gpu=FIELDS`` (CSV, no header), or None without one."""
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return None


def _nvidia_smi() -> tuple[str, tuple[int, int]] | None:
    """The first GPU's name and compute capability from ``nvidia-smi``, or None."""
    line = nvidia_smi("name,compute_cap")
    try:
        name, cap = line.rsplit(",", 1)
        major, minor = cap.strip().split(".")
        return name.strip(), (int(major), int(minor))
    except (AttributeError, ValueError):
        return None


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return {w for line in f if line.startswith("flags") for w in line.split(":", 1)[1].split()}
    except OSError:
        return set()


def describe() -> Choice:
    """What :func:`choose` would answer, without importing PyTorch when no chapter has (the env report)."""
    from digitlab import runtime

    if "torch" in sys.modules:
        return choose()
    gpu = _nvidia_smi()
    if gpu is not None:
        return _decide("cuda", gpu[0], gpu[1], gpu[1][0] >= 8)
    if shutil.which("nvidia-smi") and importlib.util.find_spec("torch"):  # a driver too old to tell
        return choose()
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return _decide("mps", "Apple GPU", None, False)
    fast = bool({"avx512_bf16", "amx_tile"} & _cpu_flags())
    return _decide("cpu", runtime.cpu_name(), None, fast)
