"""Trained models shared between chapters: load one from the cache if present, else train and save it.

A chapter asks ``zoo.get("keras_cnn")`` and gets a trained model whether or not an earlier chapter
trained it, so each chapter still runs alone (in Colab, say) while a full build trains each model
once. Models are cached under ``$DIGITLAB_HOME/zoo/<mode>/`` where mode is ``full`` or ``quick``,
so a quick test run never hands a half-trained model to a full build. Each model has a JSON card
beside it (a ``Card``: test accuracy, epochs, seconds per epoch, settings, versions) that
``digitlab bench`` reads.

``REGISTRY`` is the one list of models: each name points to a ``Recipe`` object in a model module
(``"module:ATTRIBUTE"``), imported only when that model is asked for, so asking for a PyTorch model
never imports TensorFlow. Model modules do not import this module. A recipe that ``requires`` other
models (an ensemble and its members) gets them, trained first, as arguments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from filelock import FileLock

from digitlab import data, runtime
from digitlab.recipe import Card, Recipe, settings_dict, settings_hash
from digitlab.settings import limit_threads

__all__ = ["Card", "Recipe", "REGISTRY", "names", "recipe", "get", "card", "save", "prefetch", "forget"]

# name -> "module:ATTRIBUTE" of its Recipe
REGISTRY: dict[str, str] = {
    "keras_mlp": "digitlab.keras_models:MLP_RECIPE",
    "keras_cnn": "digitlab.keras_models:CNN_RECIPE",
    "torch_cnn": "digitlab.torch_recipes:TORCH_CNN",
    "torch_cnn_bn": "digitlab.torch_recipes:TORCH_CNN_BN",
    "torch_strong": "digitlab.torch_recipes:TORCH_STRONG",
    "torch_k3": "digitlab.torch_recipes:TORCH_K3",
    "torch_k5": "digitlab.torch_recipes:TORCH_K5",
    "torch_k7": "digitlab.torch_recipes:TORCH_K7",
    "torch_ensemble": "digitlab.torch_recipes:TORCH_ENSEMBLE",
}

_RECIPES: dict[str, Recipe] = {}  # recipes imported so far
_LOADED: dict[tuple[str, str], Any] = {}


def names() -> list[str]:
    """Names of every model the zoo knows how to build."""
    return sorted(REGISTRY)


def recipe(name: str) -> Recipe:
    """The recipe for ``name``, importing the module that defines it if needed."""
    if name not in _RECIPES:
        if name not in REGISTRY:
            raise KeyError(f"unknown model {name!r}; the zoo knows {names()}")
        module, attribute = REGISTRY[name].split(":")
        found = getattr(importlib.import_module(module), attribute)
        if not isinstance(found, Recipe) or found.name != name:
            raise TypeError(f"{REGISTRY[name]} must be the Recipe of {name!r}, got {found!r}")
        _RECIPES[name] = found
    return _RECIPES[name]


def mode() -> str:
    """``quick`` or ``full``: models of each mode are cached apart."""
    return "quick" if runtime.is_quick() else "full"


def folder() -> Path:
    """Folder holding this mode's cached models."""
    return data.home() / "zoo" / mode()


def model_path(name: str) -> Path:
    """Where the model ``name`` is cached in this mode."""
    return folder() / f"{name}{recipe(name).suffix}"


def card_path(name: str) -> Path:
    """Where the JSON card of ``name`` is kept."""
    return folder() / f"{name}.json"


def card(name: str) -> Card | None:
    """The ``Card`` saved with ``name`` (accuracy, timings, settings, versions), or None if it was never trained."""
    path = card_path(name)
    return Card.from_dict(json.loads(path.read_text())) if path.exists() else None


def get(name: str, retrain: bool = False, verbose: bool = True) -> Any:
    """A trained model: from memory, else from the cache, else trained now and cached.

    Checking, training and saving happen under a file lock, so two processes (test workers, chapters
    built side by side) never train the same model twice: the second waits, then loads it.
    """
    r = recipe(name)
    key = (mode(), name)
    if key in _LOADED and not retrain:
        return _LOADED[key]
    tried = None
    if is_cached(name) and not retrain:  # no lock needed to read a finished model
        tried = _stamp(name)
        if (model := _load(name, verbose)) is not None:
            return model
    with lock(name):
        if is_cached(name) and not retrain and _stamp(name) != tried:  # trained while we waited
            if (model := _load(name, verbose)) is not None:
                return model
        stale = stale_settings(name)
        if stale and model_path(name).exists() and not retrain:
            print(f"zoo: the cached {name} was trained with other settings ({stale}); training again")
        if verbose:
            print(f"zoo: training {name} ({mode()} mode){': ' + r.description if r.description else ''}")
        required = _required(r)
        start = time.perf_counter()
        model, measured = r.train(r.settings, *required)
        measured = dataclasses.replace(
            measured,
            train_seconds=round(time.perf_counter() - start, 2),
            side_by_side=int(os.environ.get("DIGITLAB_WORKERS", "1")),
        )
        save(name, model, measured)
    _LOADED[key] = model
    return model


def _required(r: Recipe) -> list[Any]:
    """The trained models ``r`` requires: the missing ones trained first (side by side), then all loaded."""
    if not r.requires:
        return []
    prefetch(r.requires)
    return [get(name, verbose=False) for name in r.requires]


def lock(name: str) -> FileLock:
    """The file lock held while ``name`` is checked, trained and saved in this mode."""
    locks = data.home() / "zoo" / ".locks"  # beside the model folders, so they list models only
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(locks / f"{mode()}-{name}.lock", mode=0o666 & ~_umask())


def _stamp(name: str) -> int | None:
    """When the cached model of ``name`` was last written (None if it is not there)."""
    try:
        return model_path(name).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _load(name: str, verbose: bool) -> Any:
    """The cached model ``name``, kept in memory; None (with a note) when the file cannot be read."""
    path = model_path(name)
    try:
        model = recipe(name).load(path, recipe(name).settings)
    except Exception as e:  # a corrupt file: train again rather than fail
        print(f"zoo: could not load {_short(path)} ({type(e).__name__}: {e}); training again")
        return None
    if verbose:
        print(f"zoo: loaded {name} from {_short(path)}")
    _LOADED[(mode(), name)] = model
    return model


def is_cached(name: str) -> bool:
    """True when ``name`` has a saved model and card of the current recipe (``get`` would load it)."""
    return model_path(name).exists() and card_path(name).exists() and not stale_settings(name)


def stale_settings(name: str) -> str:
    """How the settings on the cached card of ``name`` differ from its recipe's ("" if they agree)."""
    try:
        saved = card(name)
    except ValueError:
        return "the card predates the Card format"
    if saved is None:
        return ""
    settings = recipe(name).settings
    if saved.settings_hash == settings_hash(settings):
        return ""
    if not saved.settings_hash:
        return "the card predates recipe settings"
    now, old = settings_dict(settings), saved.settings
    changed = [
        f"{key}: {old.get(key)!r} -> {now.get(key)!r}"
        for key in sorted(set(old) | set(now))
        if old.get(key) != now.get(key)
    ]
    return ", ".join(changed) or "the settings hash differs"


def prefetch(names: Iterable[str], workers: int | None = None) -> list[str]:
    """Train the models among ``names`` that are not cached yet, ``workers`` at a time; return their names.

    On a CPU, small convolutional networks use two cores poorly: two one-thread trainings side by side
    finish about a quarter sooner than the same two one after another on two threads (61 s for an
    epoch of each of chapter 7's networks against 84 s on the book's 2-core machine). So by default a
    machine without a GPU trains one model per core, each in its own process with one thread; with a
    GPU (or one core) the models train here, one after another. Each worker saves its model with
    ``save``, so a later ``get`` loads it.
    """
    names = list(names)
    for name in names:
        recipe(name)  # unknown names fail here, before any training starts
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    missing = [name for name in dict.fromkeys(names) if not is_cached(name)]
    if workers is None:
        workers = 1 if runtime.accelerator() != "CPU" else os.cpu_count() or 1
    workers = min(workers, len(missing))
    if workers <= 1:
        for name in missing:
            get(name)
        return missing
    threads = max(1, (os.cpu_count() or 1) // workers)
    print(
        f"zoo: training {', '.join(missing)} ({mode()} mode), {workers} at a time, "
        f"{threads} thread{'s' * (threads > 1)} each"
    )
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: safe inside Jupyter and with torch
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_limit_threads, initargs=(threads, workers)
    ) as pool:
        for name in pool.map(_train_in_worker, missing):
            print(f"zoo: trained {name} in {card(name).train_seconds:.0f} s")
    return missing


def _limit_threads(threads: int, workers: int) -> None:
    """Worker set-up, before any framework is imported: PyTorch, TensorFlow and BLAS read these."""
    limit_threads(threads)
    os.environ["DIGITLAB_WORKERS"] = str(workers)  # recorded on the cards: trainings side by side


def _train_in_worker(name: str) -> str:
    """Train ``name`` in a worker process (``get`` saves it and its card); return the name."""
    with contextlib.redirect_stdout(io.StringIO()):  # epoch logs of side-by-side trainings would interleave
        get(name, verbose=False)
    return name


def save(name: str, model: Any, measured: Card) -> Path:
    """Save ``model`` and its card atomically (temporary file, then rename).

    The card always says which model, framework, mode, settings, device and library versions it
    describes (what ``digitlab bench`` reports), whether ``get`` trained the model or a chapter did.
    """
    if not isinstance(measured, Card):
        raise ValueError(f"measured must be a digitlab.recipe.Card, got {type(measured).__name__}")
    r = recipe(name)
    measured = dataclasses.replace(
        measured,
        name=name,
        framework=r.framework,
        mode=mode(),
        settings=settings_dict(r.settings),
        settings_hash=settings_hash(r.settings),
        env={k: runtime._version(k) for k in ("numpy", "tensorflow", "keras", "torch")},
        device=runtime.accelerator(),
        trained_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    path = model_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=r.suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        r.save(model, tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes owner-only files; use the usual mode
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    card_tmp = card_path(name).with_suffix(".json.tmp")
    card_tmp.write_text(json.dumps(measured.to_dict(), indent=2, default=str))
    os.replace(card_tmp, card_path(name))
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def forget(name: str) -> None:
    """Delete the cached model and card of ``name`` in this mode (the next ``get`` trains it)."""
    _LOADED.pop((mode(), name), None)
    for path in (model_path(name), card_path(name)):
        path.unlink(missing_ok=True)


def _short(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
