"""digitlab.zoo: load if cached, else train and save; quick and full models kept apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitlab import zoo


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A registered toy 'model' (a NumPy array) that counts how often it was trained."""
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    trained = []

    def train():
        trained.append(1)
        return np.arange(4.0), {"test_accuracy": 0.5, "epochs": 1}

    recipe = zoo.Recipe(
        name="toy", framework="numpy", train=train,
        save=lambda model, path: np.save(open(path, "wb"), model),
        load=lambda path: np.load(path), suffix=".npy", description="a toy",
    )
    zoo.register(recipe)
    zoo._LOADED.clear()
    yield trained
    zoo._RECIPES.pop("toy", None)
    zoo._LOADED.clear()


def test_get_trains_once_then_loads(toy, monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_QUICK", "0")
    model = zoo.get("toy")
    assert np.array_equal(model, np.arange(4.0)) and toy == [1]
    assert zoo.model_path("toy").exists()
    card = zoo.card("toy")
    assert card["test_accuracy"] == 0.5 and card["mode"] == "full" and card["framework"] == "numpy"
    assert "train_seconds" in card and "numpy" in card["env"]
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

    monkeypatch.setattr(zoo._RECIPES["toy"], "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        zoo.get("toy")
    assert not zoo.model_path("toy").exists()
    assert list(zoo.folder().iterdir()) == []


def test_unknown_model_names_the_known_ones():
    with pytest.raises(KeyError, match="keras_cnn"):
        zoo.recipe("no_such_model")


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
    names = ["torch_cnn", "torch_cnn_bn"]
    zoo._LOADED.clear()
    assert zoo.prefetch(names, workers=2) == names
    out = capsys.readouterr().out
    assert "2 at a time, 1 thread each" in out and "trained torch_cnn_bn" in out
    for name in names:
        card = zoo.card(name)
        assert card["side_by_side"] == 2 and card["mode"] == "quick"
        assert card["test_accuracy"] > 0.5, "the worker's model learned"
    assert zoo.prefetch(names, workers=2) == []
    assert zoo.prefetch(names) == [], "nothing to train: no worker is started"
    model = zoo.get("torch_cnn", verbose=False)  # the worker's file loads here
    assert sum(p.numel() for p in model.parameters()) == zoo.card("torch_cnn")["params"]
    zoo._LOADED.clear()


def test_a_model_of_an_older_recipe_is_trained_again(toy, capsys):
    zoo.recipe("toy").settings = {"epochs": 1, "widths": (8, 16)}
    zoo.get("toy")
    assert zoo.card("toy")["settings"] == {"epochs": 1, "widths": [8, 16]}
    zoo._LOADED.clear()
    zoo.get("toy")
    assert len(toy) == 1, "same settings: the cached model is loaded"
    zoo.recipe("toy").settings = {"epochs": 2, "widths": (8, 16)}
    assert not zoo.is_cached("toy")
    assert zoo.stale_settings("toy") == "epochs: 1 -> 2"
    zoo._LOADED.clear()
    zoo.get("toy")
    assert len(toy) == 2 and zoo.card("toy")["settings"]["epochs"] == 2
    assert "trained with other settings (epochs: 1 -> 2); training again" in capsys.readouterr().out


def test_a_card_without_settings_counts_as_stale(toy):
    zoo.get("toy")
    card = zoo.card("toy")
    del card["settings"]
    zoo.card_path("toy").write_text(json.dumps(card))
    assert zoo.stale_settings("toy") == "the card predates recipe settings"
    zoo._LOADED.clear()
    assert zoo.prefetch(["toy"], workers=1) == ["toy"] and len(toy) == 2


def test_every_registered_recipe_states_its_settings():
    for name in zoo.names():
        settings = zoo.recipe(name).settings
        version = settings.get("version")
        assert isinstance(version, int) and version >= 1 and "epochs" in settings, name


RACER = """
import sys, time
import numpy as np
from pathlib import Path
from digitlab import zoo

log = Path(sys.argv[1])

def train():
    with log.open("a") as f:
        f.write("trained\\n")
    time.sleep(2)  # long enough for the other process to reach the lock
    return np.arange(3.0), {"test_accuracy": 0.5}

zoo.register(zoo.Recipe(name="slow_toy", framework="numpy", train=train,
                        save=lambda model, path: np.save(open(path, "wb"), model),
                        load=lambda path: np.load(path), suffix=".npy"))
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
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(log)], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outs
    assert log.read_text() == "trained\n", "the model was trained more than once"
    stdout = [out for out, _ in outs]
    assert all("model [0.0, 1.0, 2.0]" in out for out in stdout)
    assert sum("zoo: training slow_toy" in out for out in stdout) == 1
    assert sum("zoo: loaded slow_toy" in out for out in stdout) == 1
