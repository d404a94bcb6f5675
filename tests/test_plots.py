"""digitlab.plots: digit grids, label distributions and training curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from digitlab import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("shape", [(12, 784), (12, 28, 28), (12, 28, 28, 1), (12, 1, 28, 28)])
def test_plot_digits_accepts_common_layouts(shape):
    images = np.random.default_rng(0).random(shape)
    fig = plots.plot_digits(images, labels=np.arange(12) % 10, cols=5)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 12
    assert shown[0].images[0].get_array().shape == (28, 28)
    assert len(fig.axes) == 15  # 3 rows of 5, the last three left blank


def test_plot_digits_marks_wrong_predictions_in_red():
    images = np.zeros((3, 28, 28))
    fig = plots.plot_digits(images, labels=[1, 2, 3], predictions=[1, 7, 3])
    titles = [ax.title for ax in fig.axes]
    assert [t.get_text() for t in titles] == ["1 → 1", "2 → 7", "3 → 3"]
    assert matplotlib.colors.to_hex(titles[1].get_color()) != matplotlib.colors.to_hex(titles[0].get_color())


def test_plot_digits_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        plots.plot_digits(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="labels has 2 entries"):
        plots.plot_digits(np.zeros((3, 28, 28)), labels=[1, 2])
    with pytest.raises(ValueError, match="n must be"):
        plots.plot_digits(np.zeros((3, 28, 28)), n=4)


def test_label_distribution_counts_each_digit():
    y1, y2 = np.array([0, 0, 1, 9]), np.array([5])
    fig = plots.plot_label_distribution(y1, y2, names=["a", "b"])
    heights = sorted(int(p.get_height()) for p in fig.axes[0].patches if p.get_height() > 0)
    assert heights == [1, 1, 1, 2]
    with pytest.raises(ValueError, match="digits 0-9"):
        plots.plot_label_distribution(np.array([10]))
    with pytest.raises(ValueError, match="names"):
        plots.plot_label_distribution(y1, names=["a", "b"])


def test_plot_history_draws_train_and_validation_curves():
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}
    fig = plots.plot_history(history)
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1
    with pytest.raises(ValueError, match="none of the metrics"):
        plots.plot_history({"mae": [1.0]})
    with pytest.raises(ValueError, match="History"):
        plots.plot_history([1, 2])
