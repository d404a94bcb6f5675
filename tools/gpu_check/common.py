"""What every stage shares: the device, quick mode, synchronised timing, the MNIST split, results."""

from __future__ import annotations

import os
import statistics
import time
import traceback
from collections.abc import Callable

import torch

from digitlab import data, runtime


def device() -> torch.device:
    return runtime.device()


def on_gpu() -> bool:
    return device().type == "cuda"


def quick() -> bool:
    """Quick mode: always without a GPU (CI), or when DIGITLAB_QUICK says so."""
    return runtime.is_quick() or not on_gpu()


def sync() -> None:
    """Wait for the GPU to finish what was queued (a GPU runs asynchronously; the CPU needs nothing)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def ms_per_call(step: Callable[[], object], warmup: int, calls: int) -> float:
    """Milliseconds per ``step()``: ``warmup`` untimed calls, then ``calls`` timed ones, synced around the clock."""
    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(calls):
        step()
    sync()
    return 1000 * (time.perf_counter() - start) / calls


def median_ms(step: Callable[[], object], repeats: int = 3, **kwargs) -> float:
    return statistics.median(ms_per_call(step, **kwargs) for _ in range(repeats))


def mnist(validation: int = 5000) -> data.MNIST:
    return data.load_mnist(normalize=False, validation=validation if not quick() else validation // 10)


def stage(name: str, fn: Callable[[], dict]) -> dict:
    """Run one stage: its result "pass" or "fail" (an exception or a failed check), seconds, details."""
    start = time.perf_counter()
    try:
        details = fn()
        result = "fail" if details.get("failed") else "pass"
    except Exception as error:  # a stage's failure is data for the report, never a crash of the check
        details = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-3000:]}
        result = "fail"
    seconds = round(time.perf_counter() - start, 2)
    print(f"[gpu_check] {name}: {result} ({seconds} s)", flush=True)
    return {"stage": name, "result": result, "seconds": seconds, **details}


def check(failed: list[str], ok: bool, what: str) -> bool:
    """Record ``what`` in ``failed`` unless ``ok``; return ``ok``."""
    if not ok:
        failed.append(what)
    return ok


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
