"""Every ``DIGITLAB_*`` environment variable, named once, with the function that reads it.

Modules ask these functions instead of reading ``os.environ`` themselves, so this page is the whole
list of what can be configured from outside:

==============================  ===================================================================
``DIGITLAB_HOME``               folder caching MNIST and the zoo's models (default
                                ``~/.cache/digitlab``): :func:`cache_dir`
``DIGITLAB_QUICK=1``            quick mode: every chapter runs in seconds on a CPU: :func:`is_quick`
``DIGITLAB_STRICT=1``           a missed accuracy floor fails (also when ``CI`` is set): :func:`is_strict`
``DIGITLAB_STRICT_EXERCISES=1`` an exercise check that is not correct raises: :func:`strict_exercises`
``DIGITLAB_HIDE_SOLUTIONS=1``   ``Exercise.solution()`` stays silent (a class hub): :func:`hide_solutions`
``DIGITLAB_GRADE_LOG=path``     exercise checks are logged there as JSON lines: :func:`grade_log`
``DIGITLAB_NO_MIRRORS=1``       MNIST only from the package registry: :func:`no_mirrors`
``DIGITLAB_WORKERS=n``          how many zoo trainings ran side by side (recorded on cards): :func:`workers`
``DIGITLAB_PRECISION``          ``float32``, ``bfloat16`` or ``float16`` for PyTorch training (``precision_policy``)
``DIGITLAB_SOURCE``             where a Colab notebook installs digitlab from (``colab.py``)
==============================  ===================================================================

``DIGITLAB_COURSE`` (the course site) and ``DIGITLAB_COLAB_ENV`` (``make test-colab``) are read by
the build and the tests, not by the package.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME = "DIGITLAB_HOME"
QUICK = "DIGITLAB_QUICK"
STRICT = "DIGITLAB_STRICT"
STRICT_EXERCISES = "DIGITLAB_STRICT_EXERCISES"
HIDE_SOLUTIONS = "DIGITLAB_HIDE_SOLUTIONS"
GRADE_LOG = "DIGITLAB_GRADE_LOG"
NO_MIRRORS = "DIGITLAB_NO_MIRRORS"
WORKERS = "DIGITLAB_WORKERS"
PRECISION = "DIGITLAB_PRECISION"
SOURCE = "DIGITLAB_SOURCE"

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def cache_dir() -> Path:
    """The folder that caches data and models: ``$DIGITLAB_HOME`` or ``~/.cache/digitlab``."""
    return Path(os.environ.get(HOME) or Path.home() / ".cache" / "digitlab").expanduser()


def is_quick() -> bool:
    """True when ``DIGITLAB_QUICK`` is 1/true/yes/on (the tests set it; ``make book`` does not)."""
    return _flag(QUICK)


def mode() -> str:
    """``"quick"`` or ``"full"``: the one place the mode's name is derived."""
    return "quick" if is_quick() else "full"


def is_strict() -> bool:
    """True when a missed accuracy floor must fail: ``DIGITLAB_STRICT`` on, or ``CI`` set."""
    return _flag(STRICT) or bool(os.environ.get("CI"))


def strict_exercises() -> bool:
    """True when an exercise check that is not correct must raise (the answer-key tests)."""
    return os.environ.get(STRICT_EXERCISES) == "1"


def hide_solutions() -> bool:
    """True when ``Exercise.solution()`` must not print the sketch."""
    return os.environ.get(HIDE_SOLUTIONS) == "1"


def grade_log() -> str | None:
    """The file exercise checks are logged to, or None."""
    return os.environ.get(GRADE_LOG) or None


def no_mirrors() -> bool:
    """True when MNIST must come from the package registry only."""
    return os.environ.get(NO_MIRRORS) == "1"


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def limit_threads(threads: int) -> None:
    """Cap the threads PyTorch, TensorFlow and BLAS start, in this process and the ones it starts.

    They read these variables when they are first imported, so call it before importing them.
    """
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def workers() -> int:
    """How many zoo trainings run side by side (1 unless ``zoo.prefetch`` set it)."""
    try:
        return max(1, int(os.environ.get(WORKERS, "1")))
    except ValueError:
        return 1
