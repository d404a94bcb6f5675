"""Tests for chapter 7's networks (digitlab.torch_strong) and the zoo recipes of the committee."""

import pytest

torch = pytest.importorskip("torch")
from digitlab import data, zoo  # noqa: E402
from digitlab import torch_recipes as recipes  # noqa: E402
from digitlab import torch_strong as ts  # noqa: E402
from digitlab.torch_cnn import count_params  # noqa: E402


def test_strongnet_shapes_params_and_standardisation_inside():
    model = ts.StrongNet().eval()
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert 50_000 < count_params(model) < 200_000
    assert isinstance(model.features[0], ts.Standardize)
    x = torch.full((1, 1, 28, 28), data.PIXEL_MEAN)
    assert torch.allclose(model.features[0](x), torch.zeros_like(x), atol=1e-6)


def test_strongnet_variants_and_errors():
    plain = ts.StrongNet((4, 8, 16), batch_norm=False, dropout=0.3)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert any(isinstance(m, torch.nn.Dropout) for m in plain.modules())
    assert any(isinstance(m, ts.ResidualBlock) for m in plain.modules())
    # the head reads all 7x7 positions of the last stage
    assert ts.StrongNet((4, 8, 16)).head[-1].in_features == 16 * 7 * 7
    with pytest.raises(ValueError, match="widths"):
        ts.StrongNet((8, 16))
    with pytest.raises(ValueError, match="dropout"):
        ts.StrongNet(dropout=1.0)


@pytest.mark.parametrize("kernel", [3, 5, 7])
def test_kernelnet_uses_one_kernel_size_and_keeps_the_shapes(kernel):
    model = ts.KernelNet(kernel, (4, 8, 16)).eval()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3 and all(c.kernel_size == (kernel, kernel) for c in convs)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert model.head[-1].in_features == 16 * 7 * 7


def test_kernelnet_rejects_bad_arguments():
    for kernel in (4, 0, True):
        with pytest.raises(ValueError, match="kernel"):
            ts.KernelNet(kernel)
    with pytest.raises(ValueError, match="widths"):
        ts.KernelNet(5, (8, 16))


def _around_pools(model):
    """(type before, type after) of every MaxPool2d in ``model.features``."""
    layers = list(model.features)
    return [
        (type(layers[i - 1]).__name__, type(layers[i + 1]).__name__)
        for i, m in enumerate(layers)
        if isinstance(m, torch.nn.MaxPool2d)
    ]


@pytest.mark.parametrize(
    "make", [lambda **kw: ts.StrongNet((4, 8, 16), **kw), lambda **kw: ts.KernelNet(5, (4, 8, 16), **kw)]
)
def test_norm_after_pool_pools_before_batchnorm_on_a_quarter_of_the_values(make):
    before, after = make(norm_after_pool=False), make(norm_after_pool=True)
    assert _around_pools(before) == [("ReLU", "Conv2d")] * 2
    assert _around_pools(after) == [("Conv2d", "BatchNorm2d")] * 2
    assert count_params(before) == count_params(after)
    seen = []
    first_norm = next(m for m in after.modules() if isinstance(m, torch.nn.BatchNorm2d))
    first_norm.register_forward_hook(lambda module, inputs, output: seen.append(tuple(inputs[0].shape)))
    assert after(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert seen == [(2, 4, 14, 14)]  # normalised after 28x28 -> 14x14 pooling


def test_without_batchnorm_the_two_orders_are_the_same_network():
    # max-pooling commutes with ReLU, so only BatchNorm's statistics can tell the orders apart
    torch.manual_seed(0)
    last = ts.StrongNet((4, 8, 16), batch_norm=False, norm_after_pool=False).eval()
    first = ts.StrongNet((4, 8, 16), batch_norm=False, norm_after_pool=True).eval()
    first.load_state_dict(last.state_dict())
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(first(x), last(x), atol=1e-6)


def test_norm_after_pool_and_pool_reject_bad_values():
    with pytest.raises(ValueError, match="norm_after_pool must be True or False, got 'yes'"):
        ts.StrongNet(norm_after_pool="yes")
    with pytest.raises(ValueError, match="norm_after_pool"):
        ts.KernelNet(3, norm_after_pool=1)
    with pytest.raises(ValueError, match="pool must be '', 'first' or 'last', got 'middle'"):
        ts.conv_bn(1, 4, pool="middle")


def test_residual_block_adds_its_input():
    block = ts.ResidualBlock(4).eval()
    for p in block.body.parameters():
        torch.nn.init.zeros_(p)  # f(x) = 0, so the block is relu(x)
    x = torch.randn(2, 4, 7, 7)
    assert torch.allclose(block(x), torch.relu(x))


def test_ensemble_averages_probabilities():
    a, b = ts.StrongNet((4, 8, 8)).eval(), ts.KernelNet(5, (4, 8, 8)).eval()
    x = torch.rand(6, 1, 28, 28)
    with torch.no_grad():
        expected = (torch.softmax(a(x), 1) + torch.softmax(b(x), 1)) / 2
        out = ts.Ensemble([a, b])(x)
    assert torch.allclose(out.exp(), expected, atol=1e-6)
    with pytest.raises(ValueError, match="members"):
        ts.Ensemble([])


def test_train_strong_learns_a_small_subset():
    torch.manual_seed(0)
    mnist = data.load_mnist(quick=True, validation=500)
    keep = data.stratified_subset(mnist.y_train, 1500)
    small = data.MNIST(
        mnist.x_train[keep],
        mnist.y_train[keep],
        mnist.x_val,
        mnist.y_val,
        mnist.x_test[:500],
        mnist.y_test[:500],
    )
    model = ts.StrongNet((8, 16, 32))
    history = ts.train_strong(model, small, 2, batch_size=64, device="cpu", verbose=False)
    assert len(history["lr"]) == 2 * 24 and len(history["val_accuracy"]) == 2
    assert history["val_accuracy"][-1] > 0.6 and "test_accuracy" not in history
    assert not model.training
    with pytest.raises(TypeError, match="data"):
        ts.train_strong(model, (mnist.x_train, mnist.y_train), 1)
    with pytest.raises(ValueError, match="epochs"):
        ts.train_strong(model, small, 0)
    with pytest.raises(ValueError, match="augment"):
        ts.train_strong(model, small, 1, augment="mixup")
    no_validation = data.MNIST(
        small.x_train, small.y_train, small.x_val[:0], small.y_val[:0], small.x_test, small.y_test
    )
    with pytest.raises(ValueError, match="validation split"):
        ts.train_strong(model, no_validation, 1)


def test_the_committee_is_declared_in_the_zoo():
    ensemble = zoo.recipe("torch_ensemble")
    assert (
        ensemble.requires == ensemble.settings.members == ("torch_strong", "torch_k3", "torch_k5", "torch_k7")
    )
    nets = [type(recipes.build_member(zoo.recipe(name).settings)).__name__ for name in ensemble.requires]
    kernels = [zoo.recipe(name).settings.kernel for name in ensemble.requires]
    assert nets == ["StrongNet", "KernelNet", "KernelNet", "KernelNet"] and kernels == [3, 3, 5, 7], (
        "members differ in what they see, not only in their seed"
    )
    for name in [*ensemble.requires, "torch_ensemble"]:
        assert zoo.recipe(name).framework == "pytorch"
        assert zoo.REGISTRY[name].startswith("digitlab.torch_recipes:")  # found without importing TensorFlow


def test_ensemble_recipe_takes_its_members_as_arguments_and_loads_back(tmp_path):
    settings = zoo.recipe("torch_ensemble").settings
    with pytest.raises(ValueError, match="members"):
        recipes.train_ensemble(settings, ts.StrongNet())
    members = [recipes.build_member(zoo.recipe(name).settings).eval() for name in settings.members]
    path = tmp_path / "ensemble.pt"
    recipes.save_state(ts.Ensemble(members), path)
    loaded = recipes.load_ensemble(path, settings)
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(loaded.cpu()(x), ts.Ensemble(members)(x), atol=1e-5)
