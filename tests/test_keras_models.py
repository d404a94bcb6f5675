"""Unit tests of the CNN in digitlab.keras_models: architecture, parameter count, one training step, its recipe."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from digitlab import keras_models as km  # noqa: E402


@pytest.fixture(scope="module")
def cnn():
    return km.build_cnn()


def test_cnn_has_the_classic_parameter_count(cnn):
    assert cnn.count_params() == 93_322


def test_cnn_layers_and_shapes(cnn):
    kinds = [type(layer).__name__ for layer in cnn.layers]
    assert kinds == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "Flatten",
        "Dense",
        "Dense",
    ]
    shapes = [layer.output.shape[1:] for layer in cnn.layers]
    assert shapes == [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)]


def test_cnn_outputs_probabilities(cnn):
    p = np.asarray(cnn.predict(np.zeros((3, 28, 28, 1), np.float32), verbose=0))
    assert p.shape == (3, 10)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)


def test_cnn_options():
    assert km.build_cnn(dense=128, compile=False).count_params() == 93_322 + 576 * 64 + 64 + 64 * 10
    model = km.build_cnn(loss="categorical_crossentropy", optimizer="adam")
    assert model.loss == "categorical_crossentropy"


@pytest.mark.parametrize("kwargs, match", [({"dense": 0}, "dense"), ({"loss": "mse"}, "loss")])
def test_cnn_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        km.build_cnn(**kwargs)


def test_one_training_step_lowers_the_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((32, 28, 28, 1), dtype=np.float32)
    y = np.arange(32) % 10
    model = km.build_cnn()
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0)[0] < before


def test_cnn_card_needs_a_used_timer(cnn):
    with pytest.raises(ValueError, match="EpochTimer"):
        km.make_card(cnn, 0.99, km.EpochTimer(), batch_size=km.CNN_SETTINGS.batch_size)


def test_the_card_reports_the_median_epoch_after_the_first(cnn):
    """On a GPU Keras compiles with XLA in epoch 1: that epoch must not set seconds per epoch."""
    timer = km.EpochTimer()
    timer.seconds = [30.0, 2.0, 4.0, 3.0]
    assert timer.per_epoch() == 3.0
    assert km.make_card(cnn, 0.99, timer, batch_size=128).seconds_per_epoch == 3.0
    timer.seconds = [5.0]
    assert timer.per_epoch() == 5.0


def test_cnn_recipe_settings_are_the_builders_defaults():
    model = km.build_cnn(compile=False)
    assert model.layers[-2].units == km.CNN_SETTINGS.dense
    assert km.CNN_RECIPE.settings is km.CNN_SETTINGS and km.CNN_RECIPE.train is km.train_cnn
