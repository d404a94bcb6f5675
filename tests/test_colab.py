"""Colab, as close as this machine allows: `make test-colab` runs every Colab-edition notebook here.

`.venv-colab` holds the packages Colab ships at Colab's versions (tools/colab_env.py reads them from
tests/data/colab-pip-freeze.txt) and no digitlab. Each notebook runs in a fresh environment layered
on it (a .pth file), with a stand-in `google.colab` that the kernel imports at start as Colab's does,
in quick and strict mode, with an empty model zoo as a fresh Colab runtime has (MNIST is copied from
the user's cache). The notebook's own first cell installs digitlab and its extras from
``DIGITLAB_SOURCE`` (the wheel of `make dist`), with every installed package as a constraint. These
tests run only there (``DIGITLAB_COLAB_ENV=1``, set by `make test-colab`); elsewhere they skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_env  # noqa: E402

ENABLED = os.environ.get("DIGITLAB_COLAB_ENV") == "1"
FOLDER = (ROOT / os.environ.get("COLAB_NOTEBOOKS", "_build/colab")).resolve()  # relative to the repository
pytestmark = pytest.mark.skipif(not ENABLED, reason="runs in .venv-colab only: make test-colab")

STANDIN = '"""Stand-in for Colab\'s google.colab (tests/test_colab.py): the kernel imports it at start."""\n'
STANDIN_OUTPUT = '''"""Stand-in for google.colab.output: records the calls."""
calls = []


def enable_custom_widget_manager():
    calls.append("enable_custom_widget_manager")


def disable_custom_widget_manager():
    calls.append("disable_custom_widget_manager")
'''
DRIVER = """import sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
start = time.monotonic()
try:
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[3]}}).execute()
finally:
    nbformat.write(nb, sys.argv[2])
    print(f"EXECUTED_IN {time.monotonic() - start:.1f}")
"""


def colab_cell(extras: str = "", trains: bool = False) -> str:
    """A first cell as the Colab edition writes it (the interface agreed in the brief)."""
    spec = f"digitlab[{extras}]" if extras else "digitlab"
    return f'''import os, subprocess, sys
if "google.colab" in sys.modules:
    source = os.environ.get("DIGITLAB_SOURCE", "git+https://github.com/digitlab-book/digitlab@v0.2.0")
    freeze = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    with open("/tmp/colab-constraints.txt", "w") as f:
        f.write("\\n".join(l for l in freeze.splitlines() if not l.lower().startswith("digitlab=")))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{spec} @ " + source, "-c", "/tmp/colab-constraints.txt"])
    if done.returncode:
        print("Installing digitlab failed: check the network and run this cell again.")
from digitlab import runtime
runtime.env_report(trains={trains})
'''


def purelib(python: Path) -> Path:
    """The site-packages folder of an environment's python."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    return Path(out.strip())


def fresh_colab(tmp: Path) -> Path:
    """A new environment over .venv-colab's packages, with the google.colab stand-in; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp / "env"], check=True)
    python = tmp / "env" / "bin" / "python"
    site = purelib(python)
    (site / "colab_preinstalled.pth").write_text(f"{purelib(Path(sys.executable))}\n")
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text(STANDIN)
    (site / "google" / "colab" / "output.py").write_text(STANDIN_OUTPUT)
    kernel = tmp / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernel / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Colab", "language": "python"})
    )
    startup = tmp / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # as Colab's kernel does\n")
    (tmp / "home").mkdir()  # DIGITLAB_HOME: a fresh runtime has no trained models
    cache = Path(os.environ.get("DIGITLAB_HOME") or Path.home() / ".cache" / "digitlab") / "mnist.npz"
    if cache.is_file():
        shutil.copy(cache, tmp / "home" / "mnist.npz")
    return python


def run_in_colab(python: Path, notebook: Path, tmp: Path) -> tuple[dict, float]:
    """Execute ``notebook`` top to bottom with the environment's kernel; the result and its seconds."""
    # The Colab edition holds starters, not solutions: its checks say "not yet answered" and go on, as
    # for a learner, so the tests' DIGITLAB_STRICT_EXERCISES (solutions must pass) is left out.
    dropped = {"VIRTUAL_ENV", "PYTHONPATH", "MPLBACKEND", "DIGITLAB_STRICT_EXERCISES"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env |= {
        "PATH": f"{python.parent}{os.pathsep}{env['PATH']}",
        "JUPYTER_PATH": str(tmp / "jupyter"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "DIGITLAB_HOME": str(tmp / "home"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    out = tmp / "executed.ipynb"
    done = subprocess.run([python, "-c", DRIVER, notebook, out, tmp], env=env, cwd=tmp,
                          capture_output=True, text=True, timeout=3600)  # fmt: skip
    assert done.returncode == 0, (
        f"{notebook.name} failed in the Colab-like environment:\n{done.stderr[-5000:]}"
    )
    seconds = float(re.search(r"EXECUTED_IN ([\d.]+)", done.stdout)[1])
    return json.loads(out.read_text(encoding="utf-8")), seconds


def text_of(cell: dict) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


def changed_colab_packages(python: Path) -> list[str]:
    """Packages of Colab's freeze that the run installed again in the layered environment."""
    pins = colab_env.read_freeze()
    changed = []
    for dist in purelib(python).glob("*.dist-info"):
        name, version = dist.name.removesuffix(".dist-info").rsplit("-", 1)
        pin = pins.get(colab_env.normalize(name))
        if pin is not None:
            changed.append(f"{pin} -> {version}")
    return changed


def notebooks() -> list:
    found = sorted(FOLDER.glob("*.ipynb")) if ENABLED else []
    return [pytest.param(p, id=p.stem) for p in found] or [
        pytest.param(None, id="none", marks=pytest.mark.skip(reason=f"no notebooks in {FOLDER}"))
    ]


def test_the_environment_has_colabs_versions_and_no_digitlab():
    pins = colab_env.read_freeze()
    for requirement in colab_env.requirements(pins):
        name, version = requirement.split("==")
        installed = metadata.version(name).split("+")[0]  # torch's local label: 2.13.0+cpu
        assert installed == version, f"{name} {installed}, Colab has {version}"
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.version("digitlab")
    assert os.environ.get("DIGITLAB_SOURCE", "").startswith("file://"), "make test-colab sets DIGITLAB_SOURCE"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", notebooks())
def test_notebook_runs_in_the_colab_like_environment(notebook, tmp_path):
    python = fresh_colab(tmp_path)
    executed, seconds = run_in_colab(python, notebook, tmp_path)
    print(f"{notebook.name}: {seconds:.0f} s")
    report = text_of(next(c for c in executed["cells"] if c["cell_type"] == "code"))
    assert re.search(r"^colab\s+True$", report, flags=re.M), f"not seen as Colab:\n{report}"
    assert "Installing digitlab failed" not in report, report
    url = json.loads(
        next(purelib(python).glob("digitlab-*.dist-info")).joinpath("direct_url.json").read_text()
    )
    assert url["url"] == os.environ["DIGITLAB_SOURCE"], "digitlab came from somewhere else than the wheel"
    assert changed_colab_packages(python) == [], "the install changed packages Colab ships"


def test_the_drawing_pad_renders_under_colabs_ipywidgets(tmp_path):
    """Chapter 8's pad under ipywidgets 7.7.1 and ipycanvas, in Colab's custom widget manager."""
    build = """import json, ipywidgets, ipycanvas, numpy as np
from google.colab import output
from digitlab import predict, widgets
pad = widgets.DigitPad(predict.FunctionBackend(lambda x: np.eye(10)[[3] * len(x)] * 5.0, name="three"), every=0)
pad.mouse_down(60, 50); pad.mouse_move(220, 50); pad.mouse_up(130, 240)
state = pad.widget.get_state()
print(json.dumps({"ipywidgets": ipywidgets.__version__, "ipycanvas": ipycanvas.__version__,
                  "calls": output.calls, "model": state["_model_name"], "children": len(state["children"]),
                  "canvas": pad.canvas.get_state()["_model_name"], "canvas_module": pad.canvas._model_module,
                  "status": pad.status.value}))
"""
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
            for s in (colab_cell("widgets"), build)
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "pad.ipynb"
    path.write_text(json.dumps(nb))
    python = fresh_colab(tmp_path)
    executed, _ = run_in_colab(python, path, tmp_path)
    state = json.loads(text_of(executed["cells"][1]).strip().splitlines()[-1])
    assert state["ipywidgets"] == "7.7.1", "the widgets extra replaced Colab's ipywidgets"
    assert state["ipycanvas"].startswith("0.14"), state
    assert state["calls"] == ["enable_custom_widget_manager"]
    assert state["model"] == "VBoxModel" and state["children"] == 2
    assert state["canvas"] == "CanvasModel" and state["canvas_module"] == "ipycanvas"
    assert "The model reads a <b>3</b>" in state["status"]
    assert changed_colab_packages(python) == []
