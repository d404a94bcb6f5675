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


def heaviest_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items with the slowest files first: chapters, then test files with a ``slow`` test, then the rest.

    Each file's tests stay together and in order. ``make test`` hands out whole files to its workers
    (``--dist loadscope``) in this order, so the long ones start first and the last to finish are
    short: the two workers end together (measured: one idled 19 s at the end before).
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        return 0 if kind(Path(item.path)) == "notebook" else 1 if item.path in slow_files else 2

    return sorted(items, key=rank)  # stable: each file keeps its order


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by where it lives (see the module docstring); run the slowest files first."""
    for item in items:
        item.add_marker(kind(Path(item.path)))
    items[:] = heaviest_first(items)
