"""Tests of chapter 2's Keras MLP in digitlab.keras_models: build_mlp, EpochTimer, make_card, the zoo recipe."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from digitlab import keras_models, zoo  # noqa: E402


def test_build_mlp_is_dense_512_then_softmax():
    model = keras_models.build_mlp()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [512, 10]
    assert dense[0].activation.__name__ == "relu" and dense[1].activation.__name__ == "softmax"
    assert model.count_params() == 784 * 512 + 512 + 512 * 10 + 10
    assert model.optimizer is not None and "rmsprop" in type(model.optimizer).__name__.lower()


def test_build_mlp_options():
    model = keras_models.build_mlp(64, dropout=0.5, l2=1e-3, compile=False)
    assert any(isinstance(layer, keras.layers.Dropout) and layer.rate == 0.5 for layer in model.layers)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert all(isinstance(d.kernel_regularizer, keras.regularizers.L2) for d in dense)
    assert getattr(model, "optimizer", None) is None  # compile=False
    model(np.ones((2, 28, 28), np.float32))
    assert len(model.losses) == 2 and all(float(loss) > 0 for loss in model.losses)  # the L2 penalties


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(hidden=0), "hidden must be a positive integer"),
        (dict(dropout=1.0), "dropout must be a rate"),
        (dict(l2=-1.0), "l2 must be a weight-decay factor"),
        (dict(n_classes=1), "n_classes must be an integer >= 2"),
    ],
)
def test_build_mlp_validates(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_models.build_mlp(**kwargs)


def test_training_a_few_steps_and_the_card():
    rng = np.random.default_rng(0)
    x, y = rng.random((256, 28, 28), dtype=np.float32), rng.integers(0, 10, 256)
    model = keras_models.build_mlp(32)
    timer = keras_models.EpochTimer()
    history = model.fit(x, y, epochs=2, batch_size=64, callbacks=[timer], verbose=0)
    assert len(history.history["loss"]) == 2 and len(timer.seconds) == 2
    card = keras_models.make_card(model, 0.5, timer, batch_size=64)
    assert isinstance(card, zoo.Card) and card.batch_size == 64
    assert card.epochs == 2 and card.params == model.count_params()
    assert card.test_accuracy == 0.5 and card.seconds_per_epoch > 0
    assert card.extra["input_shape"] == [28, 28]
    with pytest.raises(ValueError, match="EpochTimer"):
        keras_models.make_card(model, 0.5, keras_models.EpochTimer(), batch_size=64)


def test_keras_mlp_recipe_is_registered():
    recipe = zoo.recipe("keras_mlp")
    assert recipe.framework == "keras" and recipe.suffix == ".keras"
    assert recipe.train is keras_models.train_mlp and recipe.settings is keras_models.MLP_SETTINGS
    # the builder's defaults are the recipe's settings, so the two cannot drift apart
    assert keras_models.build_mlp(compile=False).layers[1].units == recipe.settings.hidden
