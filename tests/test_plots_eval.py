"""Tests of the evaluation figures in digitlab.plots: what they draw, and the errors they raise."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from digitlab import metrics, plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_confusion_heatmap_shows_counts_and_percentages():
    y = np.repeat(np.arange(10), 3)
    fig = plots.plot_confusion_matrix(metrics.confusion(y, y))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 100 and texts[0] == "3" and texts[1] == "0"
    fig = plots.plot_confusion_matrix(metrics.confusion(y, y, normalize="true"), title="rows")
    ax = fig.axes[0]
    assert ax.texts[0].get_text() == "100.0" and ax.get_title() == "rows"
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"


def test_confusion_heatmap_draws_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_confusion_matrix(np.eye(2, dtype=int), ax=right) is fig
    assert len(right.texts) == 4 and not left.texts


def test_error_gallery_captions():
    images = np.zeros((3, 28, 28))
    fig = plots.plot_error_gallery(images, [4, 7, 3], [9, 1, 5], [0.991, 0.5, 0.75], cols=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["true 4 → 9\n99.1% sure", "true 7 → 1\n50.0% sure", "true 3 → 5\n75.0% sure"]


def test_roc_figure_has_one_line_per_class_and_the_macro_average():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 10)
    proba = rng.random((100, 10))
    fig = plots.plot_roc_curves(metrics.roc_curves(y, proba), log_x=True)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert len(labels) == 11 and labels[-1].startswith("macro average (AUC ")
    assert fig.axes[0].get_xscale() == "log"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: plots.plot_confusion_matrix(np.ones((2, 3))), "square"),
        (lambda: plots.plot_confusion_matrix(np.eye(2), labels=[1, 2, 3]), "labels has 3"),
        (lambda: plots.plot_error_gallery(np.zeros((2, 28, 28)), [1], [2, 3], [0.5, 0.5]), "y_true has 1"),
        (lambda: plots.plot_roc_curves({0: ([0, 1], [0, 1], 0.5)}), "metrics.roc_curves"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_plot_reliability_draws_one_bar_per_bin_and_rejects_other_tables():
    proba = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    table = metrics.reliability(np.array([0, 0, 0, 1, 0, 1]), proba, labels=[0, 1])
    fig = plots.plot_reliability(table)
    assert len(fig.axes[0].patches) == len(table) == 2
    with pytest.raises(ValueError, match="metrics.reliability"):
        plots.plot_reliability({"accuracy": [1.0]})
