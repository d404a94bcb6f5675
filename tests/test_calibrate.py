"""calibrate: temperature scaling keeps every prediction, and the fitted temperature undoes a known distortion."""

import numpy as np
import pytest

from digitlab import calibrate, metrics


def sample(rng, n=4000, temperature=1.0):
    """Labels drawn from calibrated probabilities, then the probabilities sharpened by 1/temperature."""
    logits = rng.normal(0, 2.5, (n, 10))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(10, p=row) for row in p])
    return y, calibrate.scale(p, temperature)


def test_scaling_keeps_the_predictions_and_one_is_the_identity():
    rng = np.random.default_rng(0)
    _, p = sample(rng, 200)
    assert np.allclose(calibrate.scale(p, 1.0), p)
    for t in (0.5, 2.0):
        assert (calibrate.scale(p, t).argmax(1) == p.argmax(1)).all()
    assert calibrate.scale(p, 3.0).max(1).mean() < p.max(1).mean() < calibrate.scale(p, 0.5).max(1).mean()


def test_the_fitted_temperature_undoes_overconfidence():
    rng = np.random.default_rng(1)
    y, overconfident = sample(rng, temperature=0.5)  # logits doubled: too sure
    t = calibrate.fit_temperature(y, overconfident)
    assert t == pytest.approx(2.0, rel=0.1)
    fixed = calibrate.scale(overconfident, t)
    assert calibrate.nll(y, fixed) < calibrate.nll(y, overconfident)
    assert (
        metrics.expected_calibration_error(y, fixed)
        < metrics.expected_calibration_error(y, overconfident) / 2
    )


@pytest.mark.parametrize(
    ("proba", "message"),
    [
        (np.ones(10) / 10, "shape"),
        (np.full((3, 10), 0.5), "probabilities"),
        (-np.ones((2, 2)), "probabilities"),
    ],
)
def test_bad_probabilities_are_named(proba, message):
    with pytest.raises(ValueError, match=message):
        calibrate.scale(proba, 1.0)


def test_bad_labels_and_temperatures_are_named():
    p = np.full((3, 10), 0.1)
    with pytest.raises(ValueError, match="y_true must have shape"):
        calibrate.nll(np.zeros(4, int), p)
    with pytest.raises(ValueError, match="temperature"):
        calibrate.scale(p, 0.0)
