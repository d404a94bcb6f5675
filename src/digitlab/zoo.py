"""Trained models shared between chapters: load one from the cache if present, else train and save it.

A chapter asks ``zoo.get("keras_cnn")`` and gets a trained model whether or not an earlier chapter
trained it, so each chapter still runs alone (in Colab, say) while a full build trains each model
once. Models are cached under ``$DIGITLAB_HOME/zoo/<mode>/`` where mode is ``full`` or ``quick``,
so a quick test run never hands a half-trained model to a full build. Each model has a JSON card
beside it (test accuracy, epochs, seconds per epoch, versions) that ``digitlab bench`` reads.

Modules that define models register recipes with ``register``; ``PROVIDERS`` says which module
to import for each name, so asking for a PyTorch model never imports TensorFlow.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitlab import data, runtime

# name -> module whose import registers the recipe
PROVIDERS: dict[str, str] = {
    "keras_mlp": "digitlab.keras_models",
    "keras_cnn": "digitlab.keras_models",
    "torch_cnn": "digitlab.torch_models",
    "torch_cnn_bn": "digitlab.torch_models",
    "torch_strong": "digitlab.torch_models",
    "torch_strong_s1": "digitlab.torch_models",
    "torch_strong_s2": "digitlab.torch_models",
    "torch_strong_s3": "digitlab.torch_models",
    "torch_ensemble": "digitlab.torch_models",
}


@dataclass
class Recipe:
    """How to train, save and load one named model."""

    name: str
    framework: str
    train: Callable[[], tuple[Any, dict]]  # returns (model, card) where card holds measured facts
    save: Callable[[Any, Path], None]
    load: Callable[[Path], Any]
    suffix: str
    description: str = ""


_RECIPES: dict[str, Recipe] = {}
_LOADED: dict[tuple[str, str], Any] = {}


def register(recipe: Recipe) -> Recipe:
    """Make a recipe available to ``get`` under its name."""
    _RECIPES[recipe.name] = recipe
    return recipe


def names() -> list[str]:
    """Names of every model the zoo knows how to build."""
    return sorted(set(PROVIDERS) | set(_RECIPES))


def recipe(name: str) -> Recipe:
    """The recipe for ``name``, importing the module that defines it if needed."""
    if name not in _RECIPES and name in PROVIDERS:
        importlib.import_module(PROVIDERS[name])
    if name not in _RECIPES:
        raise KeyError(f"unknown model {name!r}; the zoo knows {names()}")
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


def card(name: str) -> dict | None:
    """The card saved with ``name`` (accuracy, timings, versions), or None if it was never trained."""
    path = card_path(name)
    return json.loads(path.read_text()) if path.exists() else None


def get(name: str, retrain: bool = False, verbose: bool = True) -> Any:
    """A trained model: from memory, else from the cache, else trained now and cached."""
    r = recipe(name)
    key = (mode(), name)
    if key in _LOADED and not retrain:
        return _LOADED[key]
    path = model_path(name)
    if path.exists() and card_path(name).exists() and not retrain:
        try:
            model = r.load(path)
            if verbose:
                print(f"zoo: loaded {name} from {_short(path)}")
            _LOADED[key] = model
            return model
        except Exception as e:  # a corrupt file: train again rather than fail
            print(f"zoo: could not load {_short(path)} ({type(e).__name__}: {e}); training again")
    if verbose:
        print(f"zoo: training {name} ({mode()} mode){': ' + r.description if r.description else ''}")
    start = time.perf_counter()
    model, facts = r.train()
    facts = dict(facts, name=name, framework=r.framework, mode=mode(),
                 train_seconds=round(time.perf_counter() - start, 2),
                 env={k: runtime._version(k) for k in ("numpy", "tensorflow", "keras", "torch")},
                 device=runtime.accelerator(), trained_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    save(name, model, facts)
    _LOADED[key] = model
    return model


def save(name: str, model: Any, facts: dict) -> Path:
    """Save ``model`` and its card atomically (temporary file, then rename).

    The card always says which model, framework, mode, device and library versions it describes
    (what ``digitlab bench`` reports), whether ``get`` trained the model or a chapter did.
    """
    r = recipe(name)
    facts = {"name": name, "framework": r.framework, "mode": mode(),
             "env": {k: runtime._version(k) for k in ("numpy", "tensorflow", "keras", "torch")},
             "device": runtime.accelerator(), "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **facts}
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
    card_tmp.write_text(json.dumps(facts, indent=2, default=str))
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
