"""Requirements for the Colab-like environment of `make test-colab`, read from Colab's pip freeze.

Usage: python tools/colab_env.py FOLDER
Writes FOLDER/requirements.txt (the packages the notebooks need, at Colab's versions) and
FOLDER/constraints.txt (every other package of Colab's freeze, so that their dependencies get
Colab's versions too). tests/data/colab-pip-freeze.txt is a copy of googlecolab/backend-info's
pip-freeze.gpu.txt (Python 3.13); this machine has Python 3.11, so a few entries that the registry
lacks for it are left out, and torch is the CPU wheel nearest Colab's CUDA build.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

FREEZE = Path(__file__).resolve().parents[1] / "tests" / "data" / "colab-pip-freeze.txt"
# What Colab ships that the chapters (or running them) use, installed at Colab's versions.
WANTED = [
    "pip", "wheel", "numpy", "scipy", "pandas", "scikit-learn", "matplotlib",
    "seaborn", "pillow", "tqdm", "tensorflow", "keras", "protobuf", "ipywidgets",
    "widgetsnbextension", "jupyterlab_widgets", "ipython", "ipykernel", "jupyter_client",
    "nbformat", "nbclient", "PyYAML", "pytest", "dask", "distributed",
]  # fmt: skip
# Colab's torch 2.11 is a CUDA build; 2.13.0 is the CPU wheel this machine's registry offers.
TORCH = "torch==2.13.0"
# Never constrained: the CUDA torch family (replaced by TORCH and its own dependencies), and
# setuptools (torch 2.13 needs >=77.0.3; Colab has 75.2.0 for its torch 2.11).
SKIP = re.compile(r"^(torch|torchvision|torchaudio|triton|nvidia-.*|cuda-.*|setuptools)$", re.I)


def normalize(name: str) -> str:
    """A package name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(path: Path = FREEZE) -> dict[str, str]:
    """Colab's pins as {normalised name: 'Name==version'} (URL and editable entries are skipped)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip())
        if match:
            pins[normalize(match[1])] = line.strip()
    return pins


def requirements(pins: dict[str, str]) -> list[str]:
    """The packages to install, pinned to Colab's versions, plus the nearest torch."""
    missing = [name for name in WANTED if normalize(name) not in pins]
    if missing:
        raise ValueError(f"Colab's freeze lacks {missing}")
    return [pins[normalize(name)] for name in WANTED] + [TORCH]


def constraints(pins: dict[str, str]) -> list[str]:
    """Every other pin of the freeze, less the CUDA torch family and local (+cu) versions."""
    return [pin for name, pin in sorted(pins.items()) if not SKIP.match(name) and "+" not in pin]


def write(path: Path, lines: list[str]) -> None:
    """Write lines atomically."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    pins = read_freeze()
    write(folder / "requirements.txt", requirements(pins))
    write(folder / "constraints.txt", constraints(pins))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
