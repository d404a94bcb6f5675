"""Test settings: every notebook runs in quick and strict mode, and exercise solutions must check as correct.

Set at import time so that kernels started by nbmake (in this process or in xdist workers) inherit
them. The data cache is the user's own (``DIGITLAB_HOME``), so MNIST is fetched once, not per run.
"""

import os
from pathlib import Path

import pytest

os.environ["DIGITLAB_QUICK"] = "1"
os.environ["DIGITLAB_STRICT"] = "1"  # a missed accuracy floor fails (learners only get a warning)
os.environ["DIGITLAB_STRICT_EXERCISES"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# `make test` runs two pytest workers on two cores: one thread each beats oversubscription
# (measured: a small PyTorch step ran 20x slower with 2 threads per worker under load).
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    """The repository root."""
    return ROOT
