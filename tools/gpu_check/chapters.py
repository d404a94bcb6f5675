"""Stage ``chapters``: the PyTorch chapters as scripts (``nb2py``), run in strict mode, one process each.

Chapters 4, 4b and 7 run whole; chapter 6 without its Keras cells. Strict mode makes a missed
accuracy floor and every bare ``assert`` fail the chapter. Each entry has the return code, the
seconds, what the chapter glued (its margins: accuracies, verdicts) and, on failure, the log's tail.
On a GPU chapter 4b runs alone first (its timings matter), then the other three side by side.

Without a GPU (CI) only 4b and 6 run, one at a time, in quick mode: they cover the conversion's
every path (glue, dropped Keras cells) in under a minute, and ``make test`` already runs every chapter
in quick mode. Chapters 4 and 7 are converted and compiled there ("converted"); set
``GPU_CHECK_ALL_CHAPTERS=1`` to run them too (several minutes on two cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import common, nb2py

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = {  # notebook: name prefixes whose statements are dropped
    "04-training-fast": set(),
    "04-pytorch-cnn": set(),
    "06-augmentation": {"keras"},
    "07-going-further": set(),
}


def _start(name: str, out: Path) -> tuple[subprocess.Popen, float]:
    script, dropped = nb2py.convert(ROOT / "book" / f"{name}.ipynb", CHAPTERS[name])
    (out / f"{name}.py").write_text(script, encoding="utf-8")
    (out / f"{name}.dropped.txt").write_text("\n".join(dropped) + "\n", encoding="utf-8")
    env = dict(
        os.environ, GPU_CHECK_GLUE=str(out / f"glue_{name}.json"), DIGITLAB_STRICT="1", MPLBACKEND="Agg"
    )
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    log = open(out / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115 (closed when the process ends)
    process = subprocess.Popen(
        [sys.executable, str(out / f"{name}.py")], cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    return process, time.perf_counter()


def _result(name: str, process: subprocess.Popen, start: float, out: Path, timeout: float) -> dict:
    try:
        rc = process.wait(timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        process.kill()
        rc = process.wait()
    glue_file = out / f"glue_{name}.json"
    entry = {"rc": rc, "seconds": round(time.perf_counter() - start, 1)}
    entry["glue"] = json.loads(glue_file.read_text()) if glue_file.exists() else {}
    if rc != 0:
        entry["log_tail"] = (out / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-2500:]
    print(f"[gpu_check] chapter {name}: rc {rc} ({entry['seconds']} s)", flush=True)
    return entry


def run(out: Path, budget: float) -> dict:
    out = Path(out).resolve()  # each script runs with the folder as its cwd: a relative path would double
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.perf_counter() + budget
    results: dict[str, dict] = {}
    groups = [["04-training-fast"], ["04-pytorch-cnn", "06-augmentation", "07-going-further"]]
    if not common.on_gpu():  # two CPU cores: one chapter at a time, the long ones only when asked
        every = common.env_flag("GPU_CHECK_ALL_CHAPTERS")
        for name in ("04-pytorch-cnn", "07-going-further"):
            if not every:
                script, _ = nb2py.convert(ROOT / "book" / f"{name}.ipynb", CHAPTERS[name])
                compile(script, name, "exec")
                results[name] = {"rc": 0, "result": "converted (not run without a GPU)"}
        groups = [[name] for group in groups for name in group if name not in results]
    for group in groups:
        if time.perf_counter() > deadline:
            results.update({name: {"rc": None, "result": "not run: budget"} for name in group})
            continue
        started = {name: _start(name, out) for name in group}
        for name, (process, start) in started.items():
            results[name] = _result(name, process, start, out, deadline - time.perf_counter())
    failed = [name for name, entry in results.items() if entry.get("rc") != 0]
    return {"mode": "quick" if common.quick() else "full", "chapters": results, "failed": failed}
