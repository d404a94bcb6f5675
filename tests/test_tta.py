"""tta: the identity view alone is the plain prediction; averaging views helps a model that sees shifted digits."""

import numpy as np
import pytest
import torch

from digitlab import augment, torch_train, tta


def linear_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))


def test_one_identity_view_is_the_plain_prediction():
    x = np.random.default_rng(0).random((20, 28, 28), dtype=np.float32)
    model = linear_model()
    assert np.allclose(
        tta.predict_proba(model, x, views=[(0, 0, 0)]), torch_train.predict_proba(model, x), atol=1e-6
    )


def test_the_views_are_averaged_and_sum_to_one():
    x = np.random.default_rng(1).random((8, 28, 28), dtype=np.float32)
    model = linear_model()
    views = [(0, 0, 0), (1, 0, 0)]
    expected = (
        torch_train.predict_proba(model, x)
        + torch_train.predict_proba(model, augment.affine(x, shift=(1 / 28, 0)))
    ) / 2
    got = tta.predict_proba(model, x, views=views)
    assert np.allclose(got, expected, atol=1e-6) and np.allclose(got.sum(1), 1, atol=1e-5)
    assert tta.predict(model, x, views=views).shape == (8,)


def test_a_one_pixel_shift_is_exact():
    """augment.affine moves whole pixels exactly: the views are the shifted images, not blurred ones."""
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 10, 12] = 1.0
    moved = augment.affine(x, shift=(1 / 28, 0))
    assert moved[0, 10, 13] == pytest.approx(1.0, abs=1e-5) and moved.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("views", [[], [(1, 0)], "abc"])
def test_bad_views_are_named(views):
    with pytest.raises(ValueError, match="views must be"):
        tta.predict_proba(linear_model(), np.zeros((2, 28, 28), np.float32), views=views)
