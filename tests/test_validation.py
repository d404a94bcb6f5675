"""The shared homes: argument checks (_validation), atomic writes (_io) and settings."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from digitlab import _io, settings
from digitlab import _validation as check


# --- _validation ---------------------------------------------------------------------------------
def test_the_error_is_a_value_error_and_a_type_error():
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 1.5"):
        check.positive_int("epochs", 1.5)
    with pytest.raises(TypeError):  # code written against the old TypeErrors keeps working
        check.positive_int("epochs", "3")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check.positive_int("n", True), "n must be a positive integer, got True"),
        (lambda: check.positive_int("n", 0), "n must be a positive integer, got 0"),
        (lambda: check.positive("lr", 0.0), "lr must be a positive number, got 0.0"),
        (lambda: check.positive("lr", False), "lr must be a positive number, got False"),
        (lambda: check.int_at_least("n_bins", 1, 2), "n_bins must be an integer >= 2, got 1"),
        (lambda: check.number_in("p", 1.5, 0, 1), r"p must be in \[0, 1\], got 1.5"),
        (
            lambda: check.number_in("momentum", 1, 0, 1, high_open=True),
            r"momentum must be in \[0, 1\), got 1",
        ),
        (
            lambda: check.number_in("amount", "x", 0, 1, what="a fraction"),
            r"amount must be a fraction in \[0, 1\]",
        ),
        (
            lambda: check.one_of("layout", "nchw4", ("nhw", "nchw")),
            "layout must be one of 'nhw', 'nchw'; got 'nchw4'",
        ),
        (lambda: check.flag("trains", "yes"), "trains must be True or False, got 'yes'"),
        (lambda: check.function("predict", "fast"), "predict must be callable, got str"),
    ],
)
def test_messages_name_the_argument_and_show_the_value(call, message):
    with pytest.raises(check.InvalidParameterError, match=message):
        call()


def test_good_values_come_back():
    assert check.positive_int("n", np.int64(3)) == 3 and isinstance(check.positive_int("n", np.int64(3)), int)
    assert check.positive("lr", 0.5) == 0.5
    assert check.number_in("p", 1, 0, 1) == 1 and check.number_in("p", 0, 0, 1, high_open=True) == 0
    assert check.one_of("x", None, (None, "last")) is None
    assert check.flag("f", False) is False
    assert check.function("f", len) is len


def test_existing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="path must be an existing ONNX file, got '.*nothing.onnx'"):
        check.existing_file("path", tmp_path / "nothing.onnx", "ONNX file")
    with pytest.raises(FileNotFoundError):  # a folder is not a file
        check.existing_file("path", tmp_path)
    with pytest.raises(ValueError):  # and callers that catch ValueError still catch it
        check.existing_file("path", tmp_path / "nothing")
    (tmp_path / "a.txt").write_text("x")
    assert check.existing_file("path", str(tmp_path / "a.txt")) == tmp_path / "a.txt"


def test_labels_are_checked_and_made_int64():
    assert check.labels([0, 1.0, 2]).dtype == np.int64
    np.testing.assert_array_equal(check.labels(np.array([3, 1], np.uint8), n=2, n_classes=4), [3, 1])
    with pytest.raises(
        ValueError, match="y_true must be a non-empty 1-D array of class labels, got shape \\(0,\\)"
    ):
        check.labels([], "y_true")
    with pytest.raises(ValueError, match="y must be a 1-D array of 3 labels, got shape \\(2,\\)"):
        check.labels([0, 1], n=3)
    with pytest.raises(ValueError, match="whole-number"):
        check.labels([0.5, 1])
    with pytest.raises(ValueError, match="y must hold labels in 0..1, got 0..2"):
        check.labels([0, 2], n_classes=2)


def test_labels_accept_a_tensor():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(check.labels(torch.tensor([1, 2])), [1, 2])


def test_features_are_2d_numbers():
    assert check.features([[1, 2]], dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="X must be a non-empty 2-D array"):
        check.features(np.zeros(3))
    with pytest.raises(ValueError, match="hold numbers"):
        check.features([["a"]])


@pytest.mark.parametrize("shape", [(5, 784), (5, 28, 28), (5, 28, 28, 1), (5, 1, 28, 28)])
def test_every_image_layout_becomes_one(shape):
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    nhw = check.image_batch(x)
    assert nhw.shape == (5, 28, 28)
    np.testing.assert_array_equal(nhw.reshape(5, 784), x.reshape(5, 784))  # same pixels, same order
    assert check.image_batch(x, layout="nchw").shape == (5, 1, 28, 28)


def test_one_image_gets_a_batch_axis_unless_refused():
    assert check.image_batch(np.zeros((28, 28))).shape == (1, 28, 28)
    with pytest.raises(ValueError, match=r"got \(28, 28\)"):
        check.image_batch(np.zeros((28, 28)), single=False)
    with pytest.raises(ValueError, match=r"images must have shape \(n, 784\), \(n, h, w\)"):
        check.image_batch(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="x must have shape"):
        check.image_layout((2, 3), "x")


# --- _io ------------------------------------------------------------------------------------------
def test_write_json_and_text_replace_the_file_whole(tmp_path):
    path = tmp_path / "deep" / "out.json"
    assert _io.write_json(path, {"a": 1}) == path
    assert json.loads(path.read_text()) == {"a": 1}
    _io.write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def crash(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _io.atomic_write(path, crash)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_written_files_have_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = _io.write_text(tmp_path / "report.md", "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's 0600


def test_new_folder_swaps_in_whole_or_not_at_all(tmp_path):
    out = tmp_path / "edition"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), _io.new_folder(out) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("failed midway")
    assert [p.name for p in out.iterdir()] == ["old.txt"] and [p.name for p in tmp_path.iterdir()] == [
        "edition"
    ]
    with _io.new_folder(out) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"] and [p.name for p in tmp_path.iterdir()] == [
        "edition"
    ]


# --- settings -------------------------------------------------------------------------------------
def test_settings_read_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    assert settings.cache_dir() == tmp_path
    monkeypatch.delenv("DIGITLAB_HOME")
    assert settings.cache_dir() == Path.home() / ".cache" / "digitlab"
    monkeypatch.setenv("DIGITLAB_QUICK", "yes")
    assert settings.is_quick() and settings.mode() == "quick"
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    assert not settings.is_quick() and settings.mode() == "full"
    monkeypatch.setenv("DIGITLAB_WORKERS", "three")
    assert settings.workers() == 1
    monkeypatch.setenv("DIGITLAB_WORKERS", "3")
    assert settings.workers() == 3
    monkeypatch.setenv("DIGITLAB_GRADE_LOG", "")
    assert settings.grade_log() is None


def test_every_variable_the_package_reads_is_listed_in_settings():
    """A DIGITLAB_* name typed anywhere in the package is one that settings documents."""
    package = Path(settings.__file__).parent
    documented = set(re.findall(r"``(DIGITLAB_[A-Z_]+)", settings.__doc__))
    used = set()
    for path in package.rglob("*.py"):
        used |= set(re.findall(r"\b(DIGITLAB_[A-Z_]+)\b", path.read_text(encoding="utf-8")))
    assert used <= documented, sorted(used - documented)


# --- the markers of conftest.py ------------------------------------------------------------------
def collected(*args: str) -> list[str]:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--nbmake", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return [line for line in done.stdout.splitlines() if "::" in line or line.endswith(".ipynb")]


@pytest.mark.slow
def test_markers_select_what_they_say():
    both = ("book/00-meet-mnist.ipynb", "tests/test_validation.py", "tests/site/test_site_links.py")
    notebooks = collected("-m", "notebook", *both)
    assert notebooks and all(line.startswith("book/00-meet-mnist.ipynb") for line in notebooks)
    units = collected("-m", "unit", *both)
    assert units and all(line.startswith("tests/test_validation.py::") for line in units)
    sites = collected("-m", "site", *both)
    assert sites and all(line.startswith("tests/site/") for line in sites)
