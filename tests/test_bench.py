"""Tests for digitlab.bench and `digitlab bench`: one row per zoo model, trained once, written as JSON."""

import dataclasses
import json
from dataclasses import dataclass

import pytest

from digitlab import bench, cli, zoo


@dataclass(frozen=True)
class FakeSettings:
    framework: str
    version: int = 1


CALLS: list[int] = []


def train_fake(settings: FakeSettings):
    CALLS.append(1)
    return {"weights": [1, 2]}, zoo.Card(
        test_accuracy=0.9 + 0.01 * len(CALLS), epochs=2, seconds_per_epoch=1.5, params=2
    )


def _fake(name: str, framework: str) -> zoo.Recipe:
    return zoo.Recipe(
        name=name,
        framework=framework,
        suffix=".json",
        settings=FakeSettings(framework),
        train=train_fake,
        description=f"{name} model",
        save=lambda model, path: path.write_text(json.dumps(model)),
        load=lambda path, settings: json.loads(path.read_text()),
    )


FAKE_A, FAKE_B = _fake("fake_a", "pytorch"), _fake("fake_b", "keras")


def train_pair(settings: FakeSettings, a, b):
    return {"members": [a, b]}, zoo.Card(test_accuracy=0.99, epochs=0, seconds_per_epoch=0.0, params=4)


FAKE_PAIR = dataclasses.replace(
    _fake("fake_pair", "pytorch"), train=train_pair, requires=("fake_a", "fake_b")
)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Two zoo recipes that 'train' instantly; yields the list counting their trainings."""
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    monkeypatch.setattr(zoo, "_LOADED", {})
    monkeypatch.setattr(zoo, "_RECIPES", {})
    monkeypatch.setitem(zoo.REGISTRY, "fake_a", f"{__name__}:FAKE_A")
    monkeypatch.setitem(zoo.REGISTRY, "fake_b", f"{__name__}:FAKE_B")
    monkeypatch.setitem(zoo.REGISTRY, "fake_pair", f"{__name__}:FAKE_PAIR")
    CALLS.clear()
    return CALLS


def test_collect_trains_each_missing_model_once_then_reads_cards(fake):
    rows = bench.collect(["fake_a", "fake_b"], verbose=False)
    assert len(fake) == 2
    assert [r["name"] for r in rows] == ["fake_a", "fake_b"]
    assert rows[0]["framework"] == "pytorch" and rows[1]["framework"] == "keras"
    assert set(bench.COLUMNS) <= set(rows[0])
    assert rows[0]["description"] == "fake_a model"
    assert rows[0]["versions"]["numpy"]
    again = bench.collect(["fake_a", "fake_b"], verbose=False)
    assert len(fake) == 2  # nothing trained twice
    assert again[0]["test_accuracy"] == rows[0]["test_accuracy"]


def test_row_fills_what_a_chapter_saved_without_get(fake):
    zoo.save("fake_a", {"w": 1}, zoo.Card(test_accuracy=0.95, epochs=3, seconds_per_epoch=2.0, params=2))
    r = bench.row("fake_a", zoo.card("fake_a"))
    assert r["framework"] == "pytorch" and r["device"] and r["train_seconds"] == 6.0
    with pytest.raises(ValueError, match="card"):
        bench.row("fake_a", None)


def test_an_ensemble_reports_its_members_training(fake, monkeypatch):
    monkeypatch.setattr(zoo.os, "cpu_count", lambda: 1)  # members train in this process, where the fakes live
    card = bench.ensure("fake_pair", verbose=False)
    assert len(fake) == 2, "the members were trained first"
    assert card["epochs"] == 4 and card["seconds_per_epoch"] == 1.5
    assert card["member_train_seconds"] == round(
        sum(zoo.card(n).train_seconds for n in ("fake_a", "fake_b")), 2
    )


def test_row_of_an_ensemble_counts_its_members_training():
    card = {
        "test_accuracy": 0.997,
        "epochs": 48,
        "seconds_per_epoch": 60.0,
        "train_seconds": 13.0,
        "member_train_seconds": 2900.0,
        "framework": "pytorch",
    }
    assert bench.row("torch_ensemble", card)["train_seconds"] == 2913.0


def test_collect_rejects_unknown_or_empty_names(fake):
    with pytest.raises(ValueError, match="zoo model"):
        bench.collect(["no_such_model"], verbose=False)
    with pytest.raises(ValueError, match="names"):
        bench.collect([], verbose=False)
    with pytest.raises(ValueError, match="not one string"):  # not its letters, one by one
        bench.collect("fake_a", verbose=False)


def test_write_and_read_round_trip(fake, tmp_path):
    rows = bench.collect(["fake_a", "fake_b"], verbose=False)
    path = bench.write(rows, tmp_path / "out" / "results.json")
    report = bench.read(path)
    assert report["models"] == json.loads(json.dumps(rows))
    assert report["mode"] == zoo.mode()
    assert report["machine"]["cpu_cores"] >= 1 and "numpy" in report["machine"]["versions"]
    assert report["compression"] is None
    with pytest.raises(FileNotFoundError, match="results file"):
        bench.read(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="models"):
        bench.read(tmp_path / "bad.json")


def test_compression_table_is_read_when_chapter_7_wrote_it(fake):
    table = [{"variant": "fp32", "test_accuracy": 0.99}]
    zoo.folder().mkdir(parents=True, exist_ok=True)
    (zoo.folder() / "torch_strong.compression.json").write_text(json.dumps(table))
    assert bench.compression() == table


def test_table_sorts_by_accuracy_and_plot_draws_every_model(fake):
    import matplotlib

    matplotlib.use("Agg")
    rows = bench.collect(["fake_a", "fake_b"], verbose=False)
    frame = bench.table(rows)
    assert list(frame["name"]) == ["fake_b", "fake_a"]  # fake_b trained second: higher accuracy
    assert frame["test_error_%"].iloc[0] == pytest.approx(
        100 * (1 - frame["test accuracy"].iloc[0]), abs=0.01
    )
    fig = bench.plot(rows)
    assert len(fig.axes[0].texts) == 2
    with pytest.raises(ValueError, match="empty"):
        bench.table([])


def test_cli_bench_writes_the_results_file(fake, tmp_path, capsys):
    out = tmp_path / "results.json"
    assert cli.main(["bench", "--models", "fake_a,fake_b", "--out", str(out)]) == 0
    assert [m["name"] for m in bench.read(out)["models"]] == ["fake_a", "fake_b"]
    printed = capsys.readouterr().out
    assert "fake_a" in printed and "wrote" in printed
    assert cli.main(["bench", "--models", "nope"]) == 2
    assert "unknown model" in capsys.readouterr().err
