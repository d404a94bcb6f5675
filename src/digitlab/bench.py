"""One measured comparison of every model of the book: what ``digitlab bench`` and the results page show.

``collect`` makes sure each model of ``digitlab.zoo`` is trained (loading nothing it does not need:
a cached model's card already holds its measurements) and returns one row per model. ``write``
saves the rows with the machine and library versions as JSON; ``table`` and ``plot`` render them.
The numbers all come from the zoo cards, so a full build and ``make bench`` share each training run.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterable
from pathlib import Path

from digitlab import _io, runtime, settings, zoo
from digitlab import _validation as check

COLUMNS = (
    "name",
    "framework",
    "params",
    "epochs",
    "seconds_per_epoch",
    "train_seconds",
    "test_accuracy",
    "device",
)
LIBRARIES = ("numpy", "tensorflow", "keras", "torch", "onnxruntime", "scikit-learn")


def ensure(name: str, verbose: bool = True) -> dict:
    """The card of zoo model ``name`` as a dict, training (and caching) the model first if it never was.

    A model that requires others (an ensemble) reports its members' epochs (summed), seconds per
    epoch (averaged) and training time (``member_train_seconds``): it trains nothing itself.
    """
    if name not in zoo.names():
        raise ValueError(f"name must be a zoo model, one of {zoo.names()}; got {name!r}")
    if not zoo.is_cached(name):  # never trained, or trained by an older recipe
        zoo.get(name, verbose=verbose)
    card = zoo.card(name)
    if card is None:
        raise RuntimeError(f"zoo model {name!r} was trained but left no card at {zoo.card_path(name)}")
    out = card.to_dict()
    members = [zoo.card(member) for member in zoo.recipe(name).requires]
    members = [m for m in members if m is not None]
    if members:
        out["epochs"] = sum(m.epochs for m in members)
        out["seconds_per_epoch"] = round(sum(m.seconds_per_epoch for m in members) / len(members), 2)
        out["member_train_seconds"] = round(sum(m.train_seconds or 0 for m in members), 2)
    return out


def row(name: str, card: dict) -> dict:
    """The results row of zoo model ``name`` from its card: the common columns (missing facts are None) plus versions."""
    if isinstance(card, zoo.Card):
        card = card.to_dict()
    if not isinstance(card, dict):
        raise ValueError(f"card must be a zoo card (a dict), got {type(card).__name__}")
    out = {column: card.get(column) for column in COLUMNS}
    out["name"] = name
    out["framework"] = out["framework"] or _framework(name)
    if out["train_seconds"] is None and out["epochs"] and out["seconds_per_epoch"]:
        out["train_seconds"] = round(out["epochs"] * out["seconds_per_epoch"], 2)  # trained by a chapter
    if out["train_seconds"] is not None and card.get("member_train_seconds"):  # an ensemble: its members too
        out["train_seconds"] = round(out["train_seconds"] + card["member_train_seconds"], 2)
    out["description"] = _description(name)
    out["mode"] = card.get("mode")
    out["versions"] = {k: v for k, v in (card.get("env") or {}).items() if v}
    return out


def _framework(name: str) -> str | None:
    try:
        return zoo.recipe(name).framework
    except Exception:  # a provider that cannot be imported here
        return None


def _description(name: str) -> str:
    try:
        return zoo.recipe(name).description
    except Exception:  # a provider that cannot be imported here (no TensorFlow, say)
        return ""


def collect(names: Iterable[str] | None = None, verbose: bool = True) -> list[dict]:
    """One row per zoo model (all of them unless ``names``), trained now only where no card exists."""
    if isinstance(names, str):  # list("keras_cnn") would be its letters
        raise check.InvalidParameterError(
            f"names must be a list of zoo model names, not one string; got {names!r}"
        )
    names = zoo.names() if names is None else list(names)
    if not names:
        raise check.InvalidParameterError(f"names must be a non-empty list of zoo model names, got {names!r}")
    rows = []
    for name in names:
        start = time.perf_counter()
        card = ensure(name, verbose=verbose)
        if verbose:
            print(
                f"bench: {name:16s} test accuracy {card.get('test_accuracy', float('nan')):.4f}"
                f"  ({time.perf_counter() - start:.1f} s)",
                flush=True,
            )
        rows.append(row(name, card))
    return rows


def machine() -> dict:
    """Where the numbers were measured: platform, CPU, cores, accelerator, library versions."""
    return {
        "platform": platform.platform(terse=True),
        "processor": _cpu_name(),
        "cpu_cores": os.cpu_count(),
        "device": runtime.accelerator(),
        "python": platform.python_version(),
        "versions": {name: runtime._version(name) for name in LIBRARIES if runtime._version(name)},
    }


def _cpu_name() -> str:
    return runtime.cpu_name()


def compression(name: str = "torch_strong") -> list[dict] | None:
    """Chapter 7's compression table of ``name`` (fp32, pruned, int8 under ONNX Runtime), or None before it ran."""
    path = zoo.folder() / f"{name}.compression.json"
    return json.loads(path.read_text()) if path.is_file() else None


def write(rows: list[dict], path: str | Path) -> Path:
    """Save ``rows``, the machine and chapter 7's compression table (if any) as JSON at ``path``, atomically."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError("rows must be a list of dicts from bench.collect()")
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "mode": settings.mode(),
        "machine": machine(),
        "models": rows,
        "compression": compression(),
    }
    return _io.write_json(path, report, default=str)


def read(path: str | Path) -> dict:
    """A results file written by ``write`` (``make bench``)."""
    path = check.existing_file("path", path, "results file written by `digitlab bench`")
    report = json.loads(path.read_text())
    if "models" not in report:
        raise ValueError(f"{path} is not a results file: it has no 'models' list")
    return report


def table(rows: list[dict]):
    """The rows as a pandas DataFrame, best test accuracy first, with readable column names."""
    import pandas as pd

    if not rows:
        raise ValueError("rows is empty: nothing to tabulate")
    frame = pd.DataFrame([{k: r.get(k) for k in COLUMNS} for r in rows])
    frame = frame.sort_values("test_accuracy", ascending=False, na_position="last")
    frame["test_error_%"] = (100 * (1 - frame["test_accuracy"])).round(2)
    return frame.rename(
        columns={"seconds_per_epoch": "s/epoch", "train_seconds": "train s", "test_accuracy": "test accuracy"}
    ).reset_index(drop=True)


def plot(rows: list[dict]):
    """Test error (log scale) against training time, one labelled point per model, coloured by framework."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    frame = table(rows).dropna(subset=["test accuracy"])
    frame["train s"] = frame["train s"].fillna(0).clip(lower=0.1)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sns.scatterplot(data=frame, x="train s", y="test_error_%", hue="framework", s=80, ax=ax)
    for _, r in frame.iterrows():
        ax.annotate(
            r["name"],
            (r["train s"], r["test_error_%"]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="training time (s, log scale)",
        ylabel="test error (%, log scale)",
        title="Every model of the book: error against training time",
    )
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def run(
    out: str | Path | None = None, names: Iterable[str] | None = None, verbose: bool = True
) -> list[dict]:
    """Collect every model's row, print the table and, if ``out`` is given, write the JSON file."""
    start = time.perf_counter()
    rows = collect(names, verbose=verbose)
    if verbose:
        print(table(rows).to_string(index=False))
        print(f"bench: {len(rows)} models in {time.perf_counter() - start:.1f} s ({settings.mode()} mode)")
        compressed = compression()
        if compressed:
            import pandas as pd

            print("chapter 7's compression of torch_strong (ONNX Runtime, this CPU):")
            print(pd.DataFrame(compressed).to_string(index=False))
        else:
            print("bench: no compression table yet (chapter 7 writes it)")
    if out is not None:
        path = write(rows, out)
        if verbose:
            print(f"bench: wrote {path}")
    return rows
