"""compare: Wilson intervals, McNemar against the best with adjusted p-values, and zoo predictions."""

import numpy as np
import pytest

from digitlab import compare, zoo


def test_the_wilson_interval_holds_the_accuracy_and_narrows_with_more_images():
    low, high = compare.interval(990, 1000)
    assert low < 0.99 < high and high - low < 0.015
    wide = compare.interval(99, 100)
    assert wide[1] - wide[0] > high - low
    assert compare.interval(1000, 1000)[1] == pytest.approx(1.0)  # no error seen: still an interval below 1
    assert compare.interval(1000, 1000)[0] < 1.0


@pytest.mark.parametrize(
    ("correct", "n", "message"),
    [(5, 0, "n must be"), (-1, 10, "correct must be"), (11, 10, "correct must be at most n")],
)
def test_the_interval_refuses_impossible_counts(correct, n, message):
    with pytest.raises(ValueError, match=message):
        compare.interval(correct, n)


def test_against_best_orders_the_models_and_finds_the_real_differences():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 5000)

    def model(error_rate, seed):
        wrong = np.random.default_rng(seed).random(len(y)) < error_rate
        return np.where(wrong, (y + 1) % 10, y)

    best = model(0.01, 1)
    twin = best.copy()
    twin[np.flatnonzero(best == y)[:3]] = (y[np.flatnonzero(best == y)[:3]] + 2) % 10  # three images worse
    frame = compare.against_best({"weak": model(0.05, 2), "twin": twin, "best": best}, y)
    assert list(frame.index) == ["best", "twin", "weak"]
    assert np.isnan(frame.loc["best", "p (McNemar)"]) and not frame.loc["best", "differs from the best"]
    assert frame.loc["weak", "differs from the best"] and frame.loc["weak", "q (adjusted)"] < 1e-6
    assert not frame.loc["twin", "differs from the best"]  # 3 images of 5,000: chance
    assert frame.loc["twin", "behind the best"] == pytest.approx(3 / 5000)
    assert (frame["low"] <= frame["test accuracy"]).all() and (frame["test accuracy"] <= frame["high"]).all()
    assert (frame["q (adjusted)"].dropna() >= frame["p (McNemar)"].dropna()).all()


def test_against_best_needs_two_models():
    with pytest.raises(ValueError, match="at least two models"):
        compare.against_best({"only": np.zeros(3)}, np.zeros(3))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["keras_mlp", "torch_cnn"])
def test_predictions_reproduce_the_card(name):
    """The results page recomputes each model's test accuracy from its predictions: it must match the card."""
    from digitlab import data

    predicted = compare.predictions(name)
    y = data.load_mnist().y_test
    assert predicted.shape == y.shape
    assert np.mean(predicted == y) == pytest.approx(zoo.card(name).test_accuracy, abs=1e-3)
