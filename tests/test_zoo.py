"""digitlab.zoo: load if cached, else train and save; quick and full models kept apart."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pytest

from digitlab import zoo


@dataclass(frozen=True)
class ToySettings:
    epochs: int = 1
    widths: tuple[int, int] = (8, 16)


TRAINED: list[int] = []


def train_toy(settings: ToySettings):
    TRAINED.append(1)
    return np.arange(4.0), zoo.Card(
        test_accuracy=0.5, epochs=settings.epochs, seconds_per_epoch=0.1, params=4
    )


TOY = zoo.Recipe(
    name="toy",
    framework="numpy",
    suffix=".npy",
    settings=ToySettings(),
    train=train_toy,
    save=lambda model, path: np.save(open(path, "wb"), model),
    load=lambda path, settings: np.load(path),
    description="a toy",
)


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """The toy recipe above in the registry (a NumPy array 'model'); yields the list counting its trainings."""
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    monkeypatch.setitem(zoo.REGISTRY, "toy", f"{__name__}:TOY")
    monkeypatch.setattr(zoo, "_RECIPES", {})
    monkeypatch.setattr(zoo, "_LOADED", {})
    TRAINED.clear()
    return TRAINED


def test_get_trains_once_then_loads(toy, monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    model = zoo.get("toy")
    assert np.array_equal(model, np.arange(4.0)) and toy == [1]
    assert zoo.model_path("toy").exists()
    card = zoo.card("toy")
    assert isinstance(card, zoo.Card) and card.name == "toy"
    assert card.test_accuracy == 0.5 and card.mode == "full" and card.framework == "numpy"
    assert card.train_seconds is not None and "numpy" in card.env
    assert card.settings == {"type": "ToySettings", "epochs": 1, "widths": [8, 16]} and card.settings_hash
    zoo._LOADED.clear()
    again = zoo.get("toy")
    assert np.array_equal(again, model) and toy == [1]
    assert "loaded toy" in capsys.readouterr().out


def test_quick_and_full_models_are_kept_apart(toy, monkeypatch):
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    zoo.get("toy")
    quick_path = zoo.model_path("toy")
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    zoo.get("toy")
    assert zoo.model_path("toy") != quick_path and toy == [1, 1]
    assert quick_path.parent.name == "quick" and zoo.model_path("toy").parent.name == "full"


def test_corrupt_file_is_retrained(toy):
    zoo.get("toy")
    zoo.model_path("toy").write_bytes(b"garbage")
    zoo._LOADED.clear()
    model = zoo.get("toy")
    assert np.array_equal(model, np.arange(4.0)) and toy == [1, 1]


def test_retrain_and_forget(toy):
    zoo.get("toy")
    zoo.get("toy", retrain=True)
    assert toy == [1, 1]
    zoo.forget("toy")
    assert not zoo.model_path("toy").exists() and zoo.card("toy") is None


def test_save_is_atomic(toy, monkeypatch):
    def broken_save(model, path):
        path.write_bytes(b"half")
        raise OSError("disk full")

    zoo._RECIPES["toy"] = dataclasses.replace(TOY, save=broken_save)
    with pytest.raises(OSError, match="disk full"):
        zoo.get("toy")
    assert not zoo.model_path("toy").exists()
    assert list(zoo.folder().iterdir()) == []


def test_unknown_model_names_the_known_ones():
    with pytest.raises(KeyError, match="keras_cnn"):
        zoo.recipe("no_such_model")


def test_registry_entries_must_name_their_recipe(toy, monkeypatch):
    monkeypatch.setitem(zoo.REGISTRY, "toy2", f"{__name__}:TOY")
    with pytest.raises(TypeError, match="must be the Recipe of 'toy2'"):
        zoo.recipe("toy2")


def test_recipe_settings_must_be_a_frozen_dataclass():
    with pytest.raises(ValueError, match="frozen dataclass"):
        dataclasses.replace(TOY, settings={"epochs": 1})
    with pytest.raises(ValueError, match="requires"):
        dataclasses.replace(TOY, requires="toy")


def test_save_takes_a_card(toy):
    with pytest.raises(ValueError, match="Card"):
        zoo.save("toy", np.zeros(2), {"test_accuracy": 0.5})


def test_card_round_trips_through_json_with_extra_fields():
    card = zoo.Card(test_accuracy=0.9, epochs=2, seconds_per_epoch=1.0, params=3, extra={"loss": [0.5, 0.2]})
    again = zoo.Card.from_dict(json.loads(json.dumps(card.to_dict())))
    assert again == card and again.to_dict()["loss"] == [0.5, 0.2]
    with pytest.raises(ValueError, match="missing"):
        zoo.Card.from_dict({"test_accuracy": 0.5})


def test_requirements_are_trained_first_and_passed_in(toy, monkeypatch):
    def train_pair(settings, first):
        return np.concatenate([first, first]), zoo.Card(
            test_accuracy=1.0, epochs=0, seconds_per_epoch=0, params=0
        )

    pair = zoo.Recipe(
        name="pair",
        framework="numpy",
        suffix=".npy",
        settings=ToySettings(),
        train=train_pair,
        save=TOY.save,
        load=TOY.load,
        requires=("toy",),
    )
    monkeypatch.setitem(zoo.REGISTRY, "pair", "unused:PAIR")
    zoo._RECIPES["pair"] = pair
    assert np.array_equal(zoo.get("pair"), np.tile(np.arange(4.0), 2))
    assert toy == [1] and zoo.is_cached("toy") and zoo.is_cached("pair")


def test_card_is_json(toy):
    zoo.get("toy")
    assert json.loads(zoo.card_path("toy").read_text())["name"] == "toy"


def test_saved_models_are_readable_like_other_files(toy):
    import os
    import stat

    zoo.get("toy")
    mode = stat.S_IMODE(os.stat(zoo.model_path("toy")).st_mode)
    assert mode & stat.S_IRUSR and mode == 0o666 & ~zoo._umask()


def test_prefetch_checks_names_and_workers(toy):
    with pytest.raises(KeyError, match="unknown model"):
        zoo.prefetch(["toy", "no_such_model"])
    assert not zoo.is_cached("toy"), "nothing may train when a name is wrong"
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        zoo.prefetch(["toy"], workers=0)


def test_prefetch_with_one_worker_trains_missing_models_here(toy, capsys):
    assert zoo.prefetch(["toy", "toy"], workers=1) == ["toy"]
    assert zoo.is_cached("toy")
    assert zoo.prefetch(["toy"], workers=1) == [], "a cached model is not trained again"


@pytest.mark.slow
def test_prefetch_trains_side_by_side_in_worker_processes(monkeypatch, tmp_path, capsys):
    """Two real quick-mode PyTorch models, trained by two one-thread worker processes."""
    from digitlab import data

    home = tmp_path / "home"
    home.mkdir()
    (home / "mnist.npz").symlink_to(data.home() / "mnist.npz")  # the verified cache, not a download
    monkeypatch.setenv("DIGITLAB_HOME", str(home))
    monkeypatch.setenv("DIGITLAB_QUICK", "1")
    names = ["torch_k3", "torch_k5"]
    zoo._LOADED.clear()
    assert zoo.prefetch(names, workers=2) == names
    out = capsys.readouterr().out
    assert "2 at a time, 1 thread each" in out and "trained torch_k5" in out
    for name in names:
        card = zoo.card(name)
        assert card.side_by_side == 2 and card.mode == "quick"
        assert card.test_accuracy > 0.5, "the worker's model learned"
    assert zoo.prefetch(names, workers=2) == []
    assert zoo.prefetch(names) == [], "nothing to train: no worker is started"
    model = zoo.get("torch_k3", verbose=False)  # the worker's file loads here
    assert sum(p.numel() for p in model.parameters()) == zoo.card("torch_k3").params
    zoo._LOADED.clear()


def test_a_model_of_an_older_recipe_is_trained_again(toy, capsys):
    zoo.get("toy")
    zoo._LOADED.clear()
    zoo.get("toy")
    assert len(toy) == 1, "same settings: the cached model is loaded"
    zoo._RECIPES["toy"] = dataclasses.replace(TOY, settings=ToySettings(epochs=2))
    assert not zoo.is_cached("toy")
    assert zoo.stale_settings("toy") == "epochs: 1 -> 2"
    zoo._LOADED.clear()
    zoo.get("toy")
    assert len(toy) == 2 and zoo.card("toy").settings["epochs"] == 2 and zoo.card("toy").epochs == 2
    assert "trained with other settings (epochs: 1 -> 2); training again" in capsys.readouterr().out


def test_a_card_without_a_settings_hash_counts_as_stale(toy):
    zoo.get("toy")
    card = json.loads(zoo.card_path("toy").read_text())
    del card["settings_hash"]  # as cards written before the Card type were
    zoo.card_path("toy").write_text(json.dumps(card))
    assert zoo.stale_settings("toy") == "the card predates recipe settings"
    zoo._LOADED.clear()
    assert zoo.prefetch(["toy"], workers=1) == ["toy"] and len(toy) == 2


def test_a_card_of_the_old_format_counts_as_stale(toy):
    zoo.get("toy")
    zoo.card_path("toy").write_text(json.dumps({"name": "toy", "test_accuracy": 0.5}))
    assert zoo.stale_settings("toy") == "the card predates the Card format"
    assert not zoo.is_cached("toy")


def test_every_registered_recipe_states_its_settings():
    """Each recipe's settings are a frozen dataclass with a version; its hash goes on the card."""
    hashes = set()
    for name in zoo.names():
        settings = zoo.recipe(name).settings
        assert dataclasses.is_dataclass(settings) and settings.__dataclass_params__.frozen, name
        fields = {f.name for f in dataclasses.fields(settings)}
        assert "version" in fields and ("epochs" in fields or "members" in fields), name
        hashes.add(zoo.settings_hash(settings))
    assert len(hashes) == len(zoo.names()), "two recipes share their settings"


RACER = """
import sys, time
from dataclasses import dataclass
import numpy as np
from pathlib import Path
from digitlab import zoo

log = Path(sys.argv[1])

@dataclass(frozen=True)
class Settings:
    version: int = 1

def train(settings):
    with log.open("a") as f:
        f.write("trained\\n")
    time.sleep(2)  # long enough for the other process to reach the lock
    return np.arange(3.0), zoo.Card(test_accuracy=0.5, epochs=1, seconds_per_epoch=2.0, params=3)

SLOW_TOY = zoo.Recipe(name="slow_toy", framework="numpy", suffix=".npy", settings=Settings(), train=train,
                      save=lambda model, path: np.save(open(path, "wb"), model),
                      load=lambda path, settings: np.load(path))
zoo.REGISTRY["slow_toy"] = "__main__:SLOW_TOY"
print("model", zoo.get("slow_toy").tolist())
"""


@pytest.mark.slow
def test_two_processes_train_a_model_once(tmp_path):
    """Two processes ask for the same missing model at once: one trains it, the other waits and loads it."""
    import os
    import subprocess
    import sys

    log = tmp_path / "trainings.txt"
    env = dict(os.environ, DIGITLAB_HOME=str(tmp_path / "home"), DIGITLAB_QUICK="1")
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(log)],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outs = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outs
    assert log.read_text() == "trained\n", "the model was trained more than once"
    stdout = [out for out, _ in outs]
    assert all("model [0.0, 1.0, 2.0]" in out for out in stdout)
    assert sum("zoo: training slow_toy" in out for out in stdout) == 1
    assert sum("zoo: loaded slow_toy" in out for out in stdout) == 1
