"""What every pytest run of this repository shares: the kernels' environment and the test markers.

The environment is set here, at the repository root, so that it holds for the unit tests
(``pytest tests``), the chapters (``pytest --nbmake book``) and both at once (``make test``), and so
that kernels started by nbmake, in this process or in xdist workers, inherit it:

- every notebook runs in quick mode, and in strict mode (a missed accuracy floor fails; an exercise
  solution that no longer checks as correct fails);
- figures go to the non-interactive Agg backend;
- one thread per framework: ``make test`` runs two workers on two cores, and one thread each beats
  oversubscription (measured: a small PyTorch step ran 20x slower with 2 threads per worker).

The data cache is the user's own (``DIGITLAB_HOME``), so MNIST is fetched once, not per run.

Markers (registered in pyproject.toml) are given by where a test lives, so ``-m`` selects what it
says: ``notebook`` (a chapter run by nbmake), ``site`` (tests/site, the built site in Chromium) and
``unit`` (everything else in tests/). ``slow`` and ``registry`` are set by the tests themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SITE = ROOT / "tests" / "site"

os.environ["DIGITLAB_QUICK"] = "1"
os.environ["DIGITLAB_STRICT"] = "1"
os.environ["DIGITLAB_STRICT_EXERCISES"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_var, "1")


def kind(path: Path) -> str:
    """The marker a collected test gets from its file: notebook, site or unit."""
    if path.suffix in {".ipynb", ".md"}:
        return "notebook"
    if path == SITE or SITE in path.parents:
        return "site"
    return "unit"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by where it lives (see the module docstring)."""
    for item in items:
        item.add_marker(kind(Path(item.path)))
