"""Colab and GPU readiness of every chapter, read from the notebooks (no execution).

- The Colab cell installs digitlab from the repository named in _config.yml: one source of truth.
- No cell installs NumPy, TensorFlow, Keras or PyTorch: Colab's own builds must stay.
- The chapters run on a GPU when there is one, with no edits: PyTorch code takes its device from
  `runtime.device()`, and no chapter names a device ("cpu", "cuda", "/GPU:0", ...) in a string.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]-*.ipynb"))
FRAMEWORKS = re.compile(r"^(numpy|tensorflow|tensorflow-\w+|keras|torch|torchvision)\b", re.I)
DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|mps|/?(device:)?(cpu|gpu)(:\d+)?)$", re.I)


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def python_of(source: str) -> str:
    """The cell with IPython magics and shell lines turned into `pass`, so that ast can parse it."""
    return re.sub(r"^(\s*)[%!].*$", r"\1pass", source, flags=re.M)


def pip_requirements(source: str) -> list[str]:
    """The requirements named by `%pip install` / `!pip install` lines (options dropped)."""
    found = []
    for line in re.findall(r"^\s*[%!]\s*pip install\s+(.*)$", source, flags=re.M):
        found += [w.strip("\"'") for w in line.split() if not w.startswith("-")]
    return found


def repository() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def test_there_are_chapters():
    assert CHAPTERS, "no chapters book/NN-*.ipynb"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_colab_cell_installs_from_the_configured_repository(path):
    colab_cell = code_cells(path)[0]
    urls = re.findall(r"git\+(https?://[^\s\"'@]+)", colab_cell)
    assert urls, f"{path.name}: the first code cell installs nothing from a repository"
    assert {u.removesuffix(".git").rstrip("/") for u in urls} == {repository()}, (
        f"{path.name}: installs from {urls}, but _config.yml names {repository()}"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_cell_installs_a_framework(path):
    installs = [r for cell in code_cells(path) for r in pip_requirements(cell)]
    frameworks = [r for r in installs if FRAMEWORKS.match(r.split("@")[0].strip())]
    assert not frameworks, f"{path.name} installs {frameworks}: Colab's own builds must stay"


def devices_named(source: str) -> list[str]:
    """Devices a cell forces: `x.cuda()`, or a device string passed to a call (`.to("cpu")`,
    `torch.device("cuda")`, `map_location="cpu"`, `tf.device("/GPU:0")`). Comparisons such as
    `device.type == "cuda"` and `torch.cuda.synchronize()` adapt to the device and are fine."""
    named = []
    for node in ast.walk(ast.parse(python_of(source))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "cuda":
            named.append(".cuda()")
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and DEVICE.match(arg.value):
                named.append(repr(arg.value))
    return named


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_device_is_hard_coded(path):
    named = [d for cell in code_cells(path) for d in devices_named(cell)]
    assert not named, f"{path.name} forces devices {named}: use runtime.device() (PyTorch)"


def test_the_device_check_catches_forced_devices():
    forced = 'm.cuda()\nx.to("cpu")\ntorch.device("cuda:0")\ntorch.load(f, map_location="cpu")\n'
    forced += 'with tf.device("/GPU:0"):\n    pass\n%pip install -q x\n'
    assert len(devices_named(forced)) == 5
    adaptive = 'if device.type == "cuda":\n    torch.cuda.synchronize()\nx.cpu().numpy()\n'
    assert devices_named(adaptive) == []


def uses_torch(path: Path) -> bool:
    code = "\n".join(code_cells(path))
    return bool(re.search(r"^\s*(import torch|from torch\b)", code, flags=re.M))


@pytest.mark.parametrize("path", [p for p in CHAPTERS if uses_torch(p)], ids=lambda p: p.stem)
def test_pytorch_chapters_take_the_device_from_runtime(path):
    code = "\n".join(code_cells(path))
    assert re.search(r"\bruntime\.device\(\)", code), (
        f"{path.name} uses PyTorch but never calls runtime.device()"
    )


def test_the_colab_cell_prints_the_device():
    """Every chapter's first cell prints the environment report (test_runtime checks that it names the device)."""
    for path in CHAPTERS:
        assert re.search(r"runtime\.env_report\((trains=True)?\)", code_cells(path)[0]), (
            f"{path.name}: no env_report()"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_chapter_imports_myst_nb(path):
    """Colab has no MyST-NB: chapters glue through digitlab.runtime.glue instead."""
    code = "\n".join(code_cells(path))
    assert not re.search(r"^\s*(from|import)\s+myst_nb", code, re.M), f"{path.name} imports myst_nb"
