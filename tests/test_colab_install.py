"""Installing digitlab in Colab changes nothing Colab ships (needs the package registry).

Each install line of the Colab edition (``digitlab`` with a chapter's extras, from a wheel of this
checkout) is resolved by pip for Colab's Python and platform, with every package Colab ships
(tests/data/colab-pip-freeze.txt) as a constraint, just as the edition's first cell installs it.
The resolution must succeed, and every package it picks that Colab ships must be Colab's version.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from digitlab import __version__, colab, editions

ROOT = Path(__file__).resolve().parents[1]
FREEZE = ROOT / "tests" / "data" / "colab-pip-freeze.txt"
PYTHON = "3.13"  # Colab's Python (3.13.15); its Ubuntu 22.04 has glibc 2.35
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(17, 36)] + ["manylinux2014_x86_64"]
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "_build",
    "build",
    "dist",
    "node_modules",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "book",
    "tests",
)

pytestmark = pytest.mark.registry


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def shipped() -> dict[str, str]:
    """Colab's packages and versions (``name==version`` lines; URL installs left out)."""
    found = {}
    for line in FREEZE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9][\w.-]*)==(\S+)", line.strip())
        if match:
            found[_name(match.group(1))] = match.group(2)
    return found


def install_lines() -> list[str]:
    """The distinct requirements the Colab edition's first cells install."""
    found = {tuple(colab.extras(editions.read(p))) for p in editions.chapters(ROOT / "book")}
    return sorted("digitlab" + (f"[{','.join(e)}]" if e else "") for e in found)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of this checkout, built like a release (from a copy, so the checkout stays clean)."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, tmp / "src", ignore=COPY_IGNORE)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(tmp / "src")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return next((tmp / "dist").glob("digitlab-*.whl"))


@pytest.fixture(scope="module")
def constraints(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("colab") / "constraints.txt"
    path.write_text("".join(f"{name}=={version}\n" for name, version in shipped().items()))
    return path


def resolve(requirements: list[str], constraints: Path, report: Path) -> subprocess.CompletedProcess:
    """``pip install --dry-run`` of ``requirements`` for Colab's Python and platform, under ``constraints``."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "-q",
            "--report",
            str(report),
            "--ignore-installed",
            "--python-version",
            PYTHON,
            "--only-binary=:all:",
            *platforms,
            "-c",
            str(constraints),
            *requirements,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_freeze_is_colabs():
    found = shipped()
    assert len(found) > 600
    assert {k: found[k] for k in ("numpy", "protobuf", "ipywidgets", "tensorflow")} == {
        "numpy": "2.1.3",
        "protobuf": "5.29.6",
        "ipywidgets": "7.7.1",
        "tensorflow": "2.20.0",
    }
    assert not {"onnx", "onnxruntime", "ipycanvas", "digitlab"} & set(found)


def test_every_install_line_is_checked():
    assert install_lines() == ["digitlab", "digitlab[onnx]", "digitlab[widgets]"]


@pytest.mark.parametrize("requirement", install_lines())
def test_install_changes_nothing_colab_ships(requirement, wheel, constraints, tmp_path):
    done = resolve([f"{requirement} @ {wheel.as_uri()}"], constraints, tmp_path / "report.json")
    assert done.returncode == 0, (
        f"{requirement} cannot be installed without changing a package Colab ships:\n{done.stderr[-4000:]}"
    )
    picked = {
        _name(i["metadata"]["name"]): i["metadata"]["version"]
        for i in json.loads((tmp_path / "report.json").read_text())["install"]
    }
    colab_has = shipped()
    changed = {
        n: (colab_has[n], v)
        for n, v in picked.items()
        if n in colab_has and Version(v) != Version(colab_has[n])
    }
    assert not changed, f"{requirement} changes Colab's packages (Colab's, picked): {changed}"
    assert picked["digitlab"] == __version__


def test_a_requirement_that_would_change_colab_fails(wheel, constraints, tmp_path):
    """The check has teeth: ipywidgets 8 (what the widgets extra used to ask for) cannot be resolved."""
    done = resolve([f"digitlab @ {wheel.as_uri()}", "ipywidgets>=8"], constraints, tmp_path / "r.json")
    assert done.returncode != 0 and "ipywidgets" in done.stderr
