"""digitlab.runtime: quick mode, accuracy floors, seeding, device choice and the environment report."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitlab import runtime


@pytest.mark.parametrize(
    ("value", "quick"), [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), ("no", False)]
)
def test_is_quick_reads_the_environment(monkeypatch, value, quick):
    monkeypatch.setenv("DIGITLAB_QUICK", value)
    assert runtime.is_quick() is quick


def test_epochs_pick_and_floors_follow_the_mode(monkeypatch):
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    assert runtime.epochs(5) == 1 and runtime.epochs(5, quick=2) == 2
    assert runtime.pick(full=60000, quick=500) == 500
    assert runtime.expected_accuracy(0.99, 0.8) == 0.8
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    assert runtime.epochs(5) == 5
    assert runtime.pick(full=60000, quick=500) == 60000
    assert runtime.expected_accuracy(0.99, 0.8) == 0.99


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_epochs_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="positive integer"):
        runtime.epochs(bad)


@pytest.mark.parametrize(
    ("strict", "ci", "expected"),
    [
        ("1", None, True),
        ("true", None, True),
        ("0", None, False),
        ("", None, False),
        (None, "true", True),
        (None, None, False),
    ],
)
def test_is_strict_reads_digitlab_strict_and_ci(monkeypatch, strict, ci, expected):
    for name, value in (("DIGITLAB_STRICT", strict), ("CI", ci)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert runtime.is_strict() is expected


def test_the_tests_run_in_strict_mode():
    assert runtime.is_strict(), "the root conftest.py must set DIGITLAB_STRICT=1"


def test_check_accuracy_fails_below_the_floor_in_strict_mode(monkeypatch):
    monkeypatch.setenv("DIGITLAB_STRICT", "1")
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    assert runtime.check_accuracy(0.995, full=0.99, quick=0.5) == 0.995
    with pytest.raises(
        AssertionError, match=r"CNN: test accuracy 0.9800 is below the full-mode floor 0.9900"
    ):
        runtime.check_accuracy(0.98, full=0.99, quick=0.5, what="CNN")
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    assert runtime.check_accuracy(0.6, full=0.99, quick=0.5) == 0.6
    with pytest.raises(AssertionError, match="quick-mode"):
        runtime.check_accuracy(float("nan"), full=0.99, quick=0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        runtime.expected_accuracy(99, 0.5)
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    with pytest.raises(AssertionError, match=r"^CNN: validation accuracy 0.9700 is below"):
        runtime.check_accuracy(0.97, full=0.98, quick=0.5, what="CNN", split="validation")
    with pytest.raises(ValueError, match="split must be 'test' or 'validation', got 'val'"):
        runtime.check_accuracy(0.99, full=0.98, quick=0.5, split="val")


def test_check_accuracy_warns_and_goes_on_for_a_learner(monkeypatch, capsys):
    monkeypatch.delenv("DIGITLAB_STRICT", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    assert runtime.check_accuracy(0.995, full=0.99, quick=0.5) == 0.995
    assert capsys.readouterr().out == ""
    assert runtime.check_accuracy(0.9812, full=0.99, quick=0.5, what="CNN") == 0.9812
    out = capsys.readouterr().out
    assert out.startswith("WARNING CNN: test accuracy 0.9812 is below the full-mode floor 0.9900")
    assert "expected at least 99.00%, measured 98.12%" in out
    for advice in ("train longer", "Runtime > Change runtime type > T4 GPU", "re-run"):
        assert advice in out
    with pytest.raises(ValueError, match="between 0 and 1"):  # bad input still fails
        runtime.check_accuracy(0.5, full=1.5, quick=0.5)


def test_seed_everything_makes_numpy_and_python_repeat():
    runtime.seed_everything(7)
    a = (np.random.rand(3), random.random())
    runtime.seed_everything(7)
    b = (np.random.rand(3), random.random())
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(-1)


def test_seed_everything_seeds_torch_when_imported():
    torch = pytest.importorskip("torch")
    runtime.seed_everything(3)
    a = torch.rand(4)
    runtime.seed_everything(3)
    assert torch.equal(a, torch.rand(4))
    assert torch.backends.cudnn.deterministic


def test_device_is_a_torch_device():
    torch = pytest.importorskip("torch")
    dev = runtime.device()
    assert isinstance(dev, torch.device)
    expected = "cuda" if torch.cuda.is_available() else dev.type
    assert dev.type == expected
    assert runtime.device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="prefer"):
        runtime.device("tpu")


def test_env_report_prints_versions_device_and_mode(capsys, monkeypatch):
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    report = runtime.env_report()
    out = capsys.readouterr().out
    for key in ("python", "numpy", "torch", "device", "mode"):
        assert key in report and key in out
    assert report["mode"].startswith("quick")
    assert report["numpy"] == np.__version__


@pytest.mark.parametrize("device", ["CPU", "CUDA GPU (Tesla T4)"])
def test_env_report_tells_a_training_chapter_without_a_gpu_how_to_get_one(capsys, monkeypatch, device):
    monkeypatch.setattr(runtime, "accelerator", lambda: device)
    runtime.env_report(trains=True, cpu_seconds=305.4)
    out = capsys.readouterr().out
    if device != "CPU":
        assert "no GPU" not in out
        return
    lines = out.splitlines()
    assert lines[0].startswith("NOTE: no GPU was granted"), "the notice must come first"
    assert "Runtime > Change runtime type > T4 GPU" in lines[1]
    assert lines[2].strip() == "On a CPU the last build ran this chapter in 5 min 5 s."
    assert out.count("no GPU") == 1
    runtime.env_report(trains=True)  # no build time known: no time line
    out = capsys.readouterr().out
    assert "no GPU" in out and "last build" not in out
    runtime.env_report()  # a chapter that does not train: no notice
    assert "no GPU" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"trains": "yes"}, "trains"),
        ({"cpu_seconds": -1}, "cpu_seconds"),
        ({"cpu_seconds": "5"}, "cpu_seconds"),
    ],
)
def test_env_report_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        runtime.env_report(**kwargs)


# Modules that import a framework on purpose (their docstrings say so); every other one must not.
FRAMEWORK_MODULES = {
    "digitlab.augment",
    "digitlab.keras_models",
    "digitlab.profiling",
    "digitlab.speedrun",
}


def light_modules() -> list[str]:
    package = Path(runtime.__file__).parent
    names = sorted(
        "digitlab." + ".".join(p.relative_to(package).with_suffix("").parts).removesuffix(".__init__")
        for p in package.rglob("*.py")
        if p.name != "__main__.py"
    )
    return [n for n in names if n not in FRAMEWORK_MODULES and not n.startswith("digitlab.torch_")]


def test_light_modules_import_no_framework():
    """Each module, imported in turn in a fresh interpreter, leaves TensorFlow, PyTorch and JAX unloaded."""
    modules = light_modules()
    assert {"digitlab.numpy_nets", "digitlab.metrics", "digitlab.compress", "digitlab.predict"} <= set(
        modules
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    heavy = [m for m in ('tensorflow', 'torch', 'keras', 'jax') if m in sys.modules]\n"
        "    if heavy:\n"
        "        print(name, 'imported', heavy); sys.exit(1)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout.strip() + done.stderr[-800:]


def test_import_digitlab_does_not_import_frameworks():
    code = (
        "import sys, digitlab, digitlab.data, digitlab.runtime, digitlab.plots, digitlab.zoo, "
        "digitlab.exercises, digitlab.cli\n"
        "heavy = [m for m in ('tensorflow', 'torch', 'keras', 'jax') if m in sys.modules]\n"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"importing digitlab imported {done.stdout.strip()} {done.stderr[-500:]}"


def test_glue_works_with_and_without_myst_nb(monkeypatch, capsys):
    import builtins

    runtime.glue("answer", 42)  # with myst_nb: stored for the book, nothing shown
    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError("No module named 'myst_nb'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    runtime.glue("answer", 42)  # as in Colab: silently skipped
    runtime.glue("answer", "shown", display=True)
    assert "shown" in capsys.readouterr().out
    with pytest.raises(ValueError, match="identifier"):
        runtime.glue("not valid", 1)


def test_cpu_name_is_a_non_empty_name():
    from digitlab import runtime as rt

    name = rt.cpu_name()
    assert isinstance(name, str) and name.strip() == name and name


def test_seed_everything_makes_tensorflow_deterministic_on_a_gpu(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    calls = []
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: calls.append("on"))
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else []
    )
    runtime.seed_everything(1)
    assert calls == ["on"]
    runtime.seed_everything(1, deterministic=False)
    assert calls == ["on"]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    runtime.seed_everything(1)
    assert calls == ["on"], "CPU kernels already repeat: no op determinism there"


def test_the_accelerator_line_names_the_gpu_without_its_uuid(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    line = "GPU 0: Tesla T4 (UUID: GPU-8e2c1f0a-1b2c-3d4e-5f60-718293a4b5c6)\n"
    done = subprocess.CompletedProcess([], 0, stdout=line, stderr="")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: done)
    assert runtime.accelerator() == "CUDA GPU (GPU 0: Tesla T4)"
