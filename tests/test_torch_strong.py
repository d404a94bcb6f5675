"""Tests for chapter 7's part of digitlab.torch_models: StrongNet, Ensemble, schedules, train_strong."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from digitlab import data, zoo  # noqa: E402
from digitlab import torch_models as tm  # noqa: E402


def test_strongnet_shapes_params_and_standardisation_inside():
    model = tm.StrongNet().eval()
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert 50_000 < tm.count_params(model) < 200_000
    assert isinstance(model.features[0], tm.Standardize)
    x = torch.full((1, 1, 28, 28), data.PIXEL_MEAN)
    assert torch.allclose(model.features[0](x), torch.zeros_like(x), atol=1e-6)


def test_strongnet_variants_and_errors():
    plain = tm.StrongNet((4, 8, 16), batch_norm=False, dropout=0.3, residual=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert any(isinstance(m, torch.nn.Dropout) for m in plain.modules())
    assert not any(isinstance(m, tm.ResidualBlock) for m in plain.modules())
    single = tm.StrongNet(middle_convs=1)
    assert tm.count_params(tm.StrongNet()) - tm.count_params(single) == 32 * 32 * 9 + 2 * 32  # conv + BN
    with pytest.raises(ValueError, match="middle_convs"):
        tm.StrongNet(middle_convs=0)
    pooled = tm.StrongNet(head="average")
    assert tm.count_params(tm.StrongNet()) - tm.count_params(pooled) == 64 * 48 * 10  # 49 positions, not 1
    assert pooled(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="head"):
        tm.StrongNet(head="max")
    with pytest.raises(ValueError, match="widths"):
        tm.StrongNet((8, 16))
    with pytest.raises(ValueError, match="dropout"):
        tm.StrongNet(dropout=1.0)


def test_residual_block_adds_its_input():
    block = tm.ResidualBlock(4).eval()
    for p in block.body.parameters():
        torch.nn.init.zeros_(p)  # f(x) = 0, so the block is relu(x)
    x = torch.randn(2, 4, 7, 7)
    assert torch.allclose(block(x), torch.relu(x))


def test_ensemble_averages_probabilities():
    a, b = tm.StrongNet((4, 8, 8)).eval(), tm.StrongNet((4, 8, 8)).eval()
    x = torch.rand(6, 1, 28, 28)
    with torch.no_grad():
        expected = (torch.softmax(a(x), 1) + torch.softmax(b(x), 1)) / 2
        out = tm.Ensemble([a, b])(x)
    assert torch.allclose(out.exp(), expected, atol=1e-6)
    with pytest.raises(ValueError, match="members"):
        tm.Ensemble([])


@pytest.mark.parametrize("schedule", tm.SCHEDULES)
def test_schedules_shape_the_learning_rate(schedule):
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    sched = tm.make_schedule(opt, schedule, 0.01, 100)
    lrs = []
    for _ in range(100):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    if schedule == "constant":
        assert lrs == [0.01] * 100
    else:
        assert max(lrs) == pytest.approx(0.01, rel=1e-3) and lrs[-1] < 0.001
    if schedule == "onecycle":
        assert lrs[0] < 0.001 and 20 <= int(np.argmax(lrs)) <= 30  # warm-up for a quarter


def test_make_schedule_rejects_unknown_names():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="schedule"):
        tm.make_schedule(opt, "step", 0.1, 10)


def test_train_strong_learns_a_small_subset():
    torch.manual_seed(0)
    mnist = data.load_mnist(quick=True, validation=500)
    keep = data.stratified_subset(mnist.y_train, 1500)
    small = data.MNIST(mnist.x_train[keep], mnist.y_train[keep], mnist.x_val, mnist.y_val,
                       mnist.x_test[:500], mnist.y_test[:500])
    model = tm.StrongNet((8, 16, 32))
    history = tm.train_strong(model, small, 2, batch_size=64, device="cpu", verbose=False)
    assert len(history["lr"]) == 2 * 24 and len(history["val_accuracy"]) == 2
    assert history["val_accuracy"][-1] > 0.6 and "test_accuracy" not in history
    assert not model.training
    with pytest.raises(TypeError, match="data"):
        tm.train_strong(model, (mnist.x_train, mnist.y_train), 1)
    with pytest.raises(ValueError, match="epochs"):
        tm.train_strong(model, small, 0)
    with pytest.raises(ValueError, match="augment"):
        tm.train_strong(model, small, 1, augment="mixup")
    no_validation = data.MNIST(small.x_train, small.y_train, small.x_val[:0], small.y_val[:0],
                               small.x_test, small.y_test)
    with pytest.raises(ValueError, match="validation split"):
        tm.train_strong(model, no_validation, 1)


def test_zoo_knows_the_strong_models_and_the_ensemble():
    members = [tm.strong_member(s) for s in tm.ENSEMBLE_SEEDS]
    assert members[0] == "torch_strong" and len(set(members)) == len(members) >= 3
    for name in [*members, "torch_ensemble"]:
        assert name in zoo.names()
        assert zoo.recipe(name).framework == "pytorch"
        assert zoo.PROVIDERS[name] == "digitlab.torch_models"  # found without importing TensorFlow
