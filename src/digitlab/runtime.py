"""Where and how a chapter runs: quick mode, seeds, the device, and an environment report.

Quick mode (``DIGITLAB_QUICK=1``) makes every chapter run in seconds on a CPU. Chapters never test
the variable themselves: they ask this module for the number of epochs and the accuracy to expect.
Strict mode (``DIGITLAB_STRICT=1`` or ``CI`` set: the book build, the tests, the grader) makes a missed
accuracy floor an error; a learner's run only gets a warning and goes on.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys

import numpy as np

from digitlab import _validation as check
from digitlab import settings
from digitlab.phrases import SUFFIX, Phrase, phrase  # noqa: F401  (chapters import phrase from here)
from digitlab.settings import is_quick, is_strict, mode  # noqa: F401  (the chapters ask runtime)

QUICK_ENV = settings.QUICK
STRICT_ENV = settings.STRICT


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def epochs(full: int, quick: int = 1) -> int:
    """Number of epochs to train: ``full`` in a full build, ``quick`` in quick mode."""
    check.positive_int("full", full)
    check.positive_int("quick", quick)
    return quick if is_quick() else full


def pick(full, quick):
    """Return ``full`` in a full build and ``quick`` in quick mode (sizes, search budgets, ...)."""
    return quick if is_quick() else full


def expected_accuracy(full: float, quick: float) -> float:
    """The accuracy floor a training cell asserts: the real one in full builds, a loose one in quick mode."""
    for name, value in (("full", full), ("quick", quick)):
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be an accuracy between 0 and 1, got {value!r}")
    return quick if is_quick() else full


def check_accuracy(
    accuracy: float, full: float, quick: float, what: str = "model", split: str = "test"
) -> float:
    """Check that ``accuracy`` (measured on ``split``: "test" or "validation") reaches this mode's floor; return it.

    Below the floor, strict mode (:func:`is_strict`) raises ``AssertionError``; a learner's run prints
    a warning saying what to try, and the notebook goes on.
    """
    if split not in ("test", "validation"):
        raise ValueError(f"split must be 'test' or 'validation', got {split!r}")
    floor = expected_accuracy(full, quick)
    accuracy = float(accuracy)
    if not accuracy >= floor:
        message = f"{what}: {split} accuracy {accuracy:.4f} is below the {mode()}-mode floor {floor:.4f}"
        if is_strict():
            raise AssertionError(message)
        print(
            f"WARNING {message} (expected at least {floor:.2%}, measured {accuracy:.2%}).\n"
            "  The chapter goes on, but this model did worse than the book's runs. Try: train longer"
            " (more epochs), check that the runtime has a GPU (in Colab: Runtime > Change runtime"
            " type > T4 GPU), or re-run the cell: a different random start often lands higher."
        )
    return accuracy


_check_positive_int = check.positive_int  # torch_models' old name for it


def glue(name: str, value, display: bool = False) -> None:
    """Publish ``value`` to the book's prose as ``{glue:text}`name```; a no-op outside the book build.

    MyST-NB (``myst_nb.glue``) exists where the book is built but not in Colab, so chapters call this
    instead: in Colab the value is simply shown (when ``display``) or skipped. A
    :class:`~digitlab.phrases.Phrase` also glues its template and values as ``<name>__phrase``, for
    the translated editions.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a valid identifier, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)
    if isinstance(value, Phrase):
        myst_glue(name + SUFFIX, json.dumps(value.payload(), ensure_ascii=False), display=False)


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python, NumPy and, if already imported, TensorFlow and PyTorch; return the seed.

    ``PYTHONHASHSEED`` is set for subprocesses (such as the zoo's training workers) only: this
    interpreter read it when it started.

    Frameworks are seeded only when a chapter has imported them already, so seeding never pays for
    importing one. ``deterministic`` also switches on their deterministic kernels: cuDNN's in PyTorch,
    and TensorFlow's op determinism when TensorFlow sees a GPU (seed after importing Keras).
    """
    if not check.is_number(seed, integer=True) or not 0 <= seed < 2**32:
        raise check.InvalidParameterError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)  # seeds Python, NumPy and the backend
        if deterministic and "tensorflow" in sys.modules:
            _tf_op_determinism()
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)  # also seeds CUDA and MPS
        if deterministic:
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
    return seed


def _tf_op_determinism() -> bool:
    """Make TensorFlow's GPU kernels deterministic (they are not by default); True if it did.

    TensorFlow's CPU kernels already repeat for the book's networks, and op determinism can make a
    few CPU ops slower or refuse to run, so it is switched on only where TensorFlow sees a GPU.
    """
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return False
    tf.config.experimental.enable_op_determinism()
    return True


def device(prefer: str | None = None):
    """The best PyTorch device here: CUDA, then Apple MPS, then CPU (``prefer`` forces one)."""
    import torch

    if prefer is not None:
        if prefer not in {"cuda", "mps", "cpu"}:
            raise check.InvalidParameterError(f"prefer must be 'cuda', 'mps' or 'cpu', got {prefer!r}")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


PRECISION_ENV = settings.PRECISION


def precision() -> str:
    """The precision PyTorch trains in here: "bfloat16", "float16" or "float32" (see ``precision_policy``).

    CUDA capability 8.0+ gets bfloat16, 7.x float16 (with a GradScaler in ``torch_train``), a CPU
    bfloat16 only with AVX-512 BF16 or AMX; ``DIGITLAB_PRECISION`` overrides the choice.
    ``precision_policy.choose()`` also says why.
    """
    from digitlab import precision_policy

    return precision_policy.choose().precision


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def accelerator() -> str:
    """A short description of the accelerator frameworks would use, without importing them."""
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            return f"CUDA GPU ({torch.cuda.get_device_name(0)})"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "Apple MPS GPU"
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return f"GPU via TensorFlow ({len(gpus)} device{'s' * (len(gpus) > 1)})"
    try:  # no framework loaded yet: ask the driver
        import subprocess

        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            first = out.stdout.strip().splitlines()[0].split(" (UUID:")[0]  # the UUID identifies one card
            return "CUDA GPU (" + first + ")"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "CPU"


def env_report(
    frameworks: tuple[str, ...] = ("numpy", "tensorflow", "keras", "torch"),
    trains: bool = False,
    cpu_seconds: float | None = None,
) -> dict:
    """Print (and return) Python, library versions, the device and the mode this chapter runs in.

    The returned dict is not displayed again when it ends a notebook cell (the chapters' first cells).

    A chapter that trains a network passes ``trains=True``: without a GPU it first prints how to get
    one and, given ``cpu_seconds``, how long the chapter took on a CPU in the last build.
    """
    check.flag("trains", trains)
    if cpu_seconds is not None and (not check.is_number(cpu_seconds) or not cpu_seconds >= 0):
        raise check.InvalidParameterError(
            f"cpu_seconds must be a number of seconds >= 0, got {cpu_seconds!r}"
        )
    report = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for name in frameworks:
        report[name] = _version(name) or "not installed"
    report["digitlab"] = _version("digitlab") or "source"
    report["device"] = accelerator()
    if trains:
        from digitlab import precision_policy

        report["precision"] = precision_policy.describe().line()
    report["cpu cores"] = os.cpu_count()
    report["mode"] = f"{mode()} (DIGITLAB_QUICK=1)" if is_quick() else mode()
    report["colab"] = in_colab()
    if trains and report["device"] == "CPU":
        print(no_gpu_notice(cpu_seconds))
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    return EnvReport(report)


class EnvReport(dict):
    """The report ``env_report`` printed: a dict that a notebook does not show again as its cell's value."""

    def _ipython_display_(self) -> None:
        pass  # already printed once


def no_gpu_notice(cpu_seconds: float | None = None) -> str:
    """The notice a training chapter prints when no GPU is visible."""
    lines = [
        "NOTE: no GPU was granted: this chapter trains networks and will run on the CPU, slowly.",
        "  In Colab: Runtime > Change runtime type > T4 GPU, then run the notebook again.",
    ]
    if cpu_seconds is not None:
        minutes, seconds = divmod(round(cpu_seconds), 60)
        lines.append(f"  On a CPU the last build ran this chapter in {minutes} min {seconds} s.")
    return "\n".join(lines)
