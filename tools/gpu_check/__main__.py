"""``python -m gpu_check``: run the stages, write ``report.json``, exit 1 if any stage failed."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

STAGES = ("probe", "precision_matrix", "loads", "profiler", "chapters")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gpu_check", description="The prepared GPU check (see its docstring)."
    )
    parser.add_argument("--out", type=Path, default=Path("_build/gpu-check"))
    parser.add_argument(
        "--stages", default=",".join(STAGES), help="comma-separated, from " + ", ".join(STAGES)
    )
    parser.add_argument("--budget", type=float, default=480.0, help="seconds after which no chapter starts")
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; choose from {', '.join(STAGES)}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault(
        "CUBLAS_WORKSPACE_CONFIG", ":4096:8"
    )  # cuBLAS' deterministic mode, read at its start
    import torch

    if not torch.cuda.is_available():
        os.environ["DIGITLAB_QUICK"] = "1"  # no GPU: the same stages on the CPU, in quick mode
    from . import chapters, common, loads, precision_matrix, probe, profiler

    start = time.perf_counter()
    modules = {"probe": probe, "precision_matrix": precision_matrix, "loads": loads, "profiler": profiler}
    results = []
    for name in stages:
        if name == "chapters":
            left = args.budget - (time.perf_counter() - start)
            results.append(common.stage(name, lambda left=left: chapters.run(args.out / "chapters", left)))
        else:
            results.append(common.stage(name, modules[name].run))
    report = {
        "gpu": common.on_gpu(),
        "mode": "full (GPU)"
        if not common.quick()
        else "quick" + ("" if common.on_gpu() else " (no GPU: CPU run)"),
        "seconds": round(time.perf_counter() - start, 1),
        "passed": all(r["result"] == "pass" for r in results),
        "stages": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "report.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)  # written whole or not at all
    print(
        f"[gpu_check] {report['mode']}: {'passed' if report['passed'] else 'FAILED'} in {report['seconds']} s; {path}"
    )
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
