"""Colab, simulated: a chapter runs top to bottom where only Colab's preinstalled packages exist.

Each run makes a fresh virtual environment that sees a cached set of the packages Colab preinstalls
(not `digitlab`), adds a stand-in `google.colab` module that the kernel imports at start as Colab's
does, and runs the chapter in quick mode with nbclient. The chapter's own Colab cell then installs
`digitlab`, its repository URL rewritten to a copy of this checkout. Chapter 0 and one PyTorch
chapter are run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digitlab import data

ROOT = Path(__file__).resolve().parents[1]
# Kept with the data cache, outside the checkout, so that fresh clones (CI) reuse it too.
CACHE = data.home() / "colab-venv"
# What Colab preinstalls that the simulated chapters need (TensorFlow is left out: they don't).
PREINSTALLED = [
    "numpy", "matplotlib", "seaborn", "scikit-learn", "pandas", "tqdm", "pillow", "scipy",
    "ipykernel", "ipywidgets", "nbclient",
]  # fmt: skip
STANDIN = '''"""Stand-in for Colab's google.colab (tests/test_colab.py): Colab's kernel imports it at start."""
'''
STANDIN_OUTPUT = '''"""Stand-in for google.colab.output."""
calls = []


def enable_custom_widget_manager():
    calls.append("enable_custom_widget_manager")
'''
DRIVER = """import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[3]}}).execute()
nbformat.write(nb, sys.argv[2])
"""


def torch_pin() -> str:
    """The torch requirement of requirements.txt (a CPU wheel here; Colab has its own CUDA build)."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return next(line.strip() for line in lines if re.match(r"torch\b", line.strip()))


def code_of(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def chosen_chapters() -> list:
    """Chapter 0 and the first chapter that uses PyTorch and not TensorFlow."""
    chapters = sorted((ROOT / "book").glob("[0-9][0-9]-*.ipynb"))
    first = [pytest.param(chapters[0], id="chapter-0")] if chapters else []
    uses = {p: code_of(p) for p in chapters}
    torch = [
        p for p in chapters if "torch" in uses[p] and not re.search(r"tensorflow|keras", uses[p])
    ]
    reason = "no PyTorch chapter yet"
    last = pytest.param(
        torch[0] if torch else None,
        id="pytorch",
        marks=[] if torch else pytest.mark.skip(reason=reason),
    )
    return first + [last]


def purelib(python: Path) -> Path:
    """The site-packages folder of an environment's python."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(
        subprocess.run(
            [python, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
    )


@pytest.fixture(scope="session")
def preinstalled() -> Path:
    """site-packages of a cached environment with Colab's preinstalled packages (built once per key)."""
    wanted = PREINSTALLED + [torch_pin()]
    key = hashlib.sha256("\n".join([sys.version, *wanted]).encode()).hexdigest()[:12]
    env = CACHE / key
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:  # xdist workers build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (env / ".complete").exists():
            shutil.rmtree(env, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", env], check=True)
            pip = [
                env / "bin" / "python",
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
            ]
            done = subprocess.run([*pip, *wanted], capture_output=True, text=True, timeout=1200)
            assert done.returncode == 0, f"installing {wanted} failed:\n{done.stderr[-4000:]}"
            (env / ".complete").touch()
    site = purelib(env / "bin" / "python")
    assert not (site / "digitlab").exists(), "digitlab leaked into the preinstalled environment"
    return site


def fresh_colab(tmp: Path, preinstalled: Path) -> Path:
    """A new environment that sees the preinstalled packages and has the google.colab stand-in."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp / "env"], check=True)
    python = tmp / "env" / "bin" / "python"
    site = purelib(python)
    (site / "colab_preinstalled.pth").write_text(f"{preinstalled}\n")
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
    return python


def checkout_copy(tmp: Path) -> Path:
    """This checkout's package sources (working tree), as Colab would get them from the repository."""
    dest = tmp / "checkout"
    shutil.copytree(
        ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    return dest


def pointed_at(chapter: Path, checkout: Path, dest: Path) -> Path:
    """A copy of the chapter whose Colab cell installs from ``checkout`` instead of the repository."""
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    nb = json.loads(chapter.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    source, n = re.subn(
        rf"git\+{re.escape(repo)}(\.git)?(@[\w./-]+)?", checkout.as_uri(), "".join(cell["source"])
    )
    assert n == 1, f"{chapter.name}: the Colab cell does not install from {repo}"
    cell["source"] = source
    dest.write_text(json.dumps(nb), encoding="utf-8")
    return dest


def run_in_colab(python: Path, notebook: Path, tmp: Path) -> dict:
    """Execute ``notebook`` with the environment's kernel; return the executed notebook."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "MPLBACKEND"}
    }
    env |= {
        "PATH": f"{python.parent}{os.pathsep}{env['PATH']}",
        "JUPYTER_PATH": str(tmp / "jupyter"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "DIGITLAB_QUICK": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    out = tmp / "executed.ipynb"
    done = subprocess.run([python, "-c", DRIVER, notebook, out, tmp], env=env, cwd=tmp,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, (
        f"{notebook.name} failed in simulated Colab:\n{done.stderr[-4000:]}"
    )
    return json.loads(out.read_text(encoding="utf-8"))


def first_output(nb: dict) -> str:
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    return "".join("".join(o.get("text", "")) for o in cell["outputs"])


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chosen_chapters())
def test_chapter_runs_in_simulated_colab(chapter, preinstalled, tmp_path):
    python = fresh_colab(tmp_path, preinstalled)
    notebook = pointed_at(chapter, checkout_copy(tmp_path), tmp_path / chapter.name)
    executed = run_in_colab(python, notebook, tmp_path)
    report = first_output(executed)
    assert re.search(r"^colab\s+True$", report, flags=re.M), f"not seen as Colab:\n{report}"
    assert re.search(r"^device\s+\S", report, flags=re.M), (
        f"the first output names no device:\n{report}"
    )
    installed = purelib(python) / "digitlab"
    assert (installed / "__init__.py").is_file(), "the Colab cell did not install digitlab"
