"""Tests of digitlab.numpy_nets: the hand-written perceptron, softmax regression and MLP."""

import numpy as np
import pytest

from digitlab import numpy_nets as nn


# --- the perceptron ---------------------------------------------------------------------------------
def test_perceptron_converges_on_separable_data():
    X, y = nn.blobs(n=200, gap=0.3, seed=2)
    p = nn.Perceptron(epochs=50).fit(X, y)
    assert p.converged_ and p.mistakes_[-1] == 0
    assert p.score(X, y) == 1.0
    assert len(p.history_) == len(p.mistakes_) + 1


def test_perceptron_does_not_converge_on_xor():
    X, y = nn.xor_points()
    p = nn.Perceptron(epochs=200).fit(X, y)
    assert not p.converged_
    assert len(p.mistakes_) == 200 and min(p.mistakes_) > 0
    assert p.score(X, y) <= 0.75  # no line gets all four points


def test_multiclass_perceptron_learns_three_blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 5], [5, 0], [-5, -5]])
    y = np.repeat(np.arange(3), 50)
    X = centres[y] + rng.normal(size=(150, 2))
    m = nn.MulticlassPerceptron(n_classes=3, epochs=10).fit(X, y)
    assert m.score(X, y) > 0.95
    assert m.W_.shape == (2, 3) and m.b_.shape == (3,)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(lr=0), "lr must be a positive number"),
        (dict(epochs=1.5), "epochs must be a positive integer"),
    ],
)
def test_perceptron_validates_arguments(bad, message):
    with pytest.raises(ValueError, match=message):
        nn.Perceptron(**bad)


def test_perceptron_rejects_bad_inputs():
    with pytest.raises(ValueError, match="X must be a non-empty 2-D array"):
        nn.Perceptron().fit(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="y must hold labels in 0..1"):
        nn.Perceptron().fit(np.zeros((3, 2)), [0, 1, 2])


# --- activations ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_derivatives_match_finite_differences(name):
    f, df = nn.ACTIVATIONS[name]
    z = np.linspace(-4, 4, 81) + 0.0123  # avoid the kink of ReLU at exactly 0
    h = 1e-6
    assert np.allclose(df(z), (f(z + h) - f(z - h)) / (2 * h), atol=1e-6)


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = nn.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert np.allclose(out, [0.0, 0.5, 1.0])


def test_activation_table_is_measured():
    table = nn.activation_table()
    assert list(table.index) == ["sigmoid", "tanh", "relu", "leaky_relu"]
    assert table.loc["sigmoid", "range"] == "(0, 1)" and table.loc["leaky_relu", "range"] == "(-∞, ∞)"
    assert table.loc["sigmoid", "max derivative"] == pytest.approx(0.25)
    assert "vanishing" in table.loc["tanh", "weaknesses"]
    assert "dead units" in table.loc["relu", "weaknesses"]
    assert "dead" not in table.loc["leaky_relu", "weaknesses"]
    with pytest.raises(ValueError, match="names must be among"):
        nn.activation_table(["swish"])


# --- gradient descent and softmax ------------------------------------------------------------------
def test_fit_line_converges_and_diverges():
    x, y = nn.line_points()
    good = nn.fit_line(x, y, lr=0.1, steps=500)
    assert good["w"][-1] == pytest.approx(1, abs=1e-3) and good["b"][-1] == pytest.approx(1, abs=1e-3)
    assert np.all(np.diff(good["loss"]) <= 1e-12)
    bad = nn.fit_line(x, y, lr=0.3, steps=50)
    assert bad["loss"][-1] > 1e6 * bad["loss"][0]
    with pytest.raises(ValueError, match="same length"):
        nn.fit_line([1, 2], [1, 2, 3], lr=0.1)


def test_softmax_is_stable_for_logits_of_1000():
    z = np.array([[1000.0, 1000.0, 0.0], [-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = nn.softmax(z)
        log_p = nn.log_softmax(z)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)
    assert np.allclose(p, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    assert np.all(np.isfinite(log_p))
    assert nn.cross_entropy(z, [2, 2]) == pytest.approx((1000 + np.log(2)) / 2)


def test_one_hot_and_minibatches():
    assert np.array_equal(nn.one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    batches = list(nn.minibatches(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))


def test_softmax_regression_learns():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    X = np.eye(3)[y] * 3 + rng.normal(size=(300, 3))
    m = nn.SoftmaxRegression(n_classes=3, lr=0.5, epochs=20, batch_size=32).fit(X, y)
    assert m.history_["loss"][-1] < m.history_["loss"][0]
    assert m.score(X, y) > 0.9
    assert np.allclose(m.predict_proba(X).sum(axis=1), 1, atol=1e-5)


# --- the MLP ---------------------------------------------------------------------------------------
def test_mlp_analytic_and_numerical_gradients_agree():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 7)), rng.integers(0, 4, size=6)
    for sizes in [(7, 5, 4), (7, 6, 5, 4)]:
        model = nn.MLP(sizes, seed=1, dtype=np.float64)
        assert nn.gradient_check(model, X, y) < 1e-6


def test_gradient_check_catches_a_bug():
    class Buggy(nn.MLP):
        def backward(self, logits, cache, y):
            grads = super().backward(logits, cache, y)
            grads["W1"] = grads["W1"] * 1.01
            return grads

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 7)), rng.integers(0, 4, size=6)
    assert nn.gradient_check(Buggy((7, 5, 4), dtype=np.float64), X, y) > 1e-4


def test_gradient_check_needs_float64():
    with pytest.raises(ValueError, match="float64"):
        nn.gradient_check(nn.MLP((3, 2, 2)), np.zeros((1, 3)), [0])


def test_mlp_training_on_a_small_subset_reduces_the_loss():
    from digitlab import data

    mnist = data.load_mnist(flatten=True, quick=True)
    x, y = mnist.x_train[:1000], mnist.y_train[:1000]
    model = nn.MLP((784, 32, 10), seed=0)
    before = model.loss(x, y)
    model.fit(x, y, epochs=3, lr=0.1, batch_size=64, verbose=False)
    assert model.loss(x, y) < 0.5 * before
    assert model.history_["loss"][-1] < model.history_["loss"][0]
    assert model.score(mnist.x_test, mnist.y_test) > 0.75
    assert model.params["W1"].dtype == np.float32


def test_mlp_shapes_and_validation():
    model = nn.MLP((5, 4, 3))
    assert model.count_params() == 5 * 4 + 4 + 4 * 3 + 3
    logits, cache = model.forward(np.zeros((2, 5)))
    assert logits.shape == (2, 3) and len(cache) == 2
    with pytest.raises(ValueError, match="X must have 5 features"):
        model.forward(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="sizes must list"):
        nn.MLP((5,))
    with pytest.raises(ValueError, match="momentum must be in"):
        model.fit(np.zeros((2, 5)), [0, 1], momentum=1.0)
