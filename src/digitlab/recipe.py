"""What the zoo stores: a ``Recipe`` (how to train, save and load one named model) and its ``Card``.

Model modules build recipes from these types and never import ``digitlab.zoo``; the zoo's one
registry (``zoo.REGISTRY``) names where each recipe lives. A recipe's ``settings`` is a frozen
dataclass: the builder receives it, and its hash goes on the card, so a cached model trained with
other settings is trained again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """How to train, save and load one named model.

    ``train(settings, *models)`` returns ``(model, Card)``; ``models`` are the trained models named
    in ``requires`` (the members of an ensemble), which the zoo trains or loads first.
    ``load(path, settings)`` returns the saved model; ``save(model, path)`` writes it.
    """

    name: str
    framework: str
    suffix: str
    settings: Any
    train: Callable[..., tuple[Any, Card]]
    load: Callable[[Path, Any], Any]
    save: Callable[[Any, Path], None]
    description: str = ""
    requires: tuple[str, ...] = ()

    def __post_init__(self):
        if not dataclasses.is_dataclass(self.settings) or not self.settings.__dataclass_params__.frozen:
            raise ValueError(
                f"settings must be a frozen dataclass instance, got {type(self.settings).__name__}"
            )
        if isinstance(self.requires, str) or not all(isinstance(n, str) for n in self.requires):
            raise ValueError(f"requires must be a tuple of zoo names, got {self.requires!r}")


def settings_dict(settings) -> dict:
    """The settings dataclass as plain JSON values (tuples become lists), with its type's name."""
    return {"type": type(settings).__name__, **json.loads(json.dumps(dataclasses.asdict(settings)))}


def settings_hash(settings) -> str:
    """A short, stable hash of the settings (what the card stores to tell a stale model)."""
    text = json.dumps(settings_dict(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Card:
    """The measured facts saved beside a zoo model: what ``digitlab bench`` and the chapters read.

    The zoo fills in the identity fields (``name`` to ``trained_at``) when it saves a model; a
    recipe gives the measurements. ``extra`` holds what only some models have (a loss curve, the
    members of an ensemble, ...).
    """

    test_accuracy: float
    epochs: int
    seconds_per_epoch: float
    params: int
    batch_size: int | None = None
    val_accuracy: float | None = None
    seconds_to_99: float | None = None
    train_seconds: float | None = None
    side_by_side: int = 1
    name: str = ""
    framework: str = ""
    mode: str = ""
    settings: dict = field(default_factory=dict)
    settings_hash: str = ""
    env: dict = field(default_factory=dict)
    device: str = ""
    trained_at: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The card as the JSON object saved on disk (``extra``'s keys at the top level)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, values: dict) -> Card:
        """A card read back from its JSON object (keys that are not fields go to ``extra``)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        missing = {"test_accuracy", "epochs", "seconds_per_epoch", "params"} - set(values)
        if missing:
            raise ValueError(f"values must hold a card's measurements; missing {sorted(missing)}")
        return cls(
            **{k: v for k, v in values.items() if k in names},
            extra={k: v for k, v in values.items() if k not in names},
        )
