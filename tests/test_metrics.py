"""Tests of digitlab.metrics on small cases whose answers are known by hand."""

import numpy as np
import pytest

from digitlab import metrics


@pytest.fixture
def perfect():
    y = np.repeat(np.arange(10), 3)
    return y, y.copy()


def test_perfect_classifier_gives_the_identity(perfect):
    y, pred = perfect
    np.testing.assert_array_equal(metrics.confusion(y, pred, normalize="true"), np.eye(10))
    np.testing.assert_array_equal(metrics.confusion(y, pred), 3 * np.eye(10, dtype=int))
    assert metrics.accuracy(y, pred) == 1.0 and metrics.macro_f1(y, pred) == 1.0


def test_known_small_case_gives_known_precision_and_recall():
    # class 0: 4 images, 3 found; class 1: 2 images, both found, plus the missed 0
    y = np.array([0, 0, 0, 0, 1, 1])
    pred = np.array([0, 0, 0, 1, 1, 1])
    cm = metrics.confusion(y, pred, labels=[0, 1])
    np.testing.assert_array_equal(cm, [[3, 1], [0, 2]])
    table = metrics.report(y, pred, labels=[0, 1])
    assert table.loc["0", "precision"] == 1.0 and table.loc["0", "recall"] == 0.75
    assert table.loc["1", "precision"] == pytest.approx(2 / 3, abs=1e-4) and table.loc["1", "recall"] == 1.0
    assert table.loc["1", "f1-score"] == pytest.approx(0.8, abs=1e-4)
    assert list(table["support"].iloc[:2]) == [4, 2]
    np.testing.assert_allclose(
        metrics.confusion(y, pred, normalize="true", labels=[0, 1]), [[0.75, 0.25], [0, 1]]
    )


def test_confused_pairs_add_both_directions():
    y = np.array([4, 4, 4, 9, 9, 3, 5, 7, 7])
    pred = np.array([9, 9, 4, 4, 9, 5, 3, 1, 7])
    pairs = metrics.confused_pairs(y, pred, k=3)
    assert list(pairs["pair"]) == ["4-9", "3-5", "1-7"]
    assert list(pairs["total"]) == [3, 2, 1] and pairs.loc[0, "a_as_b"] == 2 and pairs.loc[0, "b_as_a"] == 1


def test_most_confident_errors_are_sorted():
    y = np.array([0, 1, 2, 0])
    proba = np.array([[0.1, 0.9, 0.0], [0.0, 1.0, 0.0], [0.4, 0.0, 0.6], [0.3, 0.7, 0.0]])
    np.testing.assert_array_equal(metrics.most_confident_errors(y, proba, k=5), [0, 3])


def test_roc_curves_of_a_separating_score_have_auc_one():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 20)
    proba = rng.random((200, 10)) * 0.5
    proba[np.arange(200), y] += 1.0  # the true class always scores highest
    curves = metrics.roc_curves(y, proba)
    assert set(curves) == set(range(10)) | {"macro"}
    assert all(curves[c][2] == 1.0 for c in range(10)) and curves["macro"][2] == 1.0
    fpr, tpr, _ = curves["macro"]
    assert fpr[0] == 0 and tpr[-1] == 1 and np.all(np.diff(tpr) >= 0)
    # a score that ignores the image is no better than chance
    noise = rng.random((200, 10))
    assert 0.35 < metrics.macro_auc(y, noise) < 0.65


def test_passing_labels_and_a_matrix_straight_to_roc_curve_fails():
    from sklearn.metrics import roc_curve

    y = np.repeat(np.arange(10), 2)
    with pytest.raises(ValueError):
        roc_curve(y, np.full((20, 10), 0.1))


def test_mcnemar_counts_disagreements():
    y = np.zeros(100, int)
    a = np.zeros(100, int)
    b = np.zeros(100, int)
    b[:20] = 1  # B is wrong on 20 images that A gets right
    a[95:] = 1  # A is wrong on 5 others
    result = metrics.mcnemar(y, a, b)
    assert (result["a_only"], result["b_only"], result["both_right"], result["both_wrong"]) == (20, 5, 75, 0)
    assert result["pvalue"] < 0.01
    assert metrics.mcnemar(y, a, a)["pvalue"] == 1.0


def test_bootstrap_interval_contains_the_difference():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 2000)
    a = np.where(rng.random(2000) < 0.95, y, (y + 1) % 10)
    b = np.where(rng.random(2000) < 0.90, y, (y + 1) % 10)
    r = metrics.bootstrap_difference(y, a, b, n_resamples=500)
    assert r["low"] < r["difference"] < r["high"]
    assert r["difference"] == pytest.approx(np.mean(a == y) - np.mean(b == y))
    assert r["low"] > 0  # a real five-point gap is not noise
    assert r == metrics.bootstrap_difference(y, a, b, n_resamples=500)  # same seed, same interval


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: metrics.confusion([0, 1], [0]), "y_pred has 1"),
        (lambda: metrics.confusion([[0, 1]], [0, 1]), "y_true must be a non-empty 1-D"),
        (lambda: metrics.confusion([0, 1], [0, 1], normalize="rows"), "normalize"),
        (lambda: metrics.accuracy([0.5, 1], [0, 1]), "whole-number"),
        (lambda: metrics.roc_curves([0, 1], np.ones((2, 3))), r"proba must have shape \(n, k\) = \(2, 10\)"),
        (lambda: metrics.macro_auc([0, 1], np.full((2, 10), np.nan)), "finite"),
        (lambda: metrics.confused_pairs([0], [0], k=0), "k must"),
        (lambda: metrics.mcnemar([0, 1], [0, 1], [0]), "pred_b"),
        (lambda: metrics.bootstrap_difference([0, 1], [0, 1], [0, 1], confidence=95), "confidence"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- calibration and abstaining ---------------------------------------------------------------------
def _two_class_case():
    # four images at 0.9 confidence (three right), two at 0.6 (one right)
    proba = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    y = np.array([0, 0, 0, 1, 0, 1])
    return y, proba


def test_reliability_bins_confidence_and_accuracy():
    y, proba = _two_class_case()
    table = metrics.reliability(y, proba, n_bins=10, labels=[0, 1])
    assert table["images"].tolist() == [2, 4]
    np.testing.assert_allclose(table["confidence"], [0.6, 0.9])
    np.testing.assert_allclose(table["accuracy"], [0.5, 0.75])


def test_expected_calibration_error_is_the_weighted_gap():
    y, proba = _two_class_case()
    ece = metrics.expected_calibration_error(y, proba, n_bins=10, labels=[0, 1])
    assert ece == pytest.approx(2 / 6 * 0.1 + 4 / 6 * 0.15)
    perfect = metrics.expected_calibration_error(
        np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]), labels=[0, 1]
    )
    assert perfect == 0.0


def test_coverage_curve_sets_aside_the_least_confident_first():
    y, proba = _two_class_case()
    curve = metrics.coverage_curve(y, proba, labels=[0, 1])
    assert curve["coverage"].iloc[-1] == 1.0 and curve["accuracy"].iloc[-1] == pytest.approx(4 / 6)
    assert curve["accuracy"].iloc[3] == pytest.approx(3 / 4)  # the four 0.9 images only
    assert curve["threshold"].is_monotonic_decreasing


def test_calibration_helpers_name_bad_arguments():
    y, proba = _two_class_case()
    with pytest.raises(ValueError, match="n_bins"):
        metrics.reliability(y, proba, n_bins=1, labels=[0, 1])
    with pytest.raises(ValueError, match="proba must have shape"):
        metrics.coverage_curve(y, proba[:3], labels=[0, 1])
