"""Unit tests of digitlab.torch_models: shapes, parameter counts, the fast iterator, one training step."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from digitlab import data, zoo  # noqa: E402
from digitlab import torch_models as tm  # noqa: E402


def test_cnn_parameter_counts():
    # conv1 208 + conv2 3,216 + 12,832 + conv3 205,056 + out 125,450
    assert tm.count_params(tm.CNN()) == 346_762
    # BatchNorm adds 2 parameters per channel; its convolutions drop their biases
    assert tm.count_params(tm.CNN(batch_norm=True, dropout=0.5)) == 346_762 + 2 * (8 + 16 + 32 + 256) - (8 + 16 + 32 + 256)


def test_stage_shapes():
    shapes = tm.stage_shapes(tm.CNN(), torch.zeros(3, 1, 28, 28))
    assert shapes == {"input": (3, 1, 28, 28), "conv1": (3, 8, 14, 14), "conv2": (3, 32, 7, 7),
                      "conv3": (3, 256, 7, 7), "flatten": (3, 12544), "out": (3, 10)}


def test_cnn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="dropout"):
        tm.CNN(dropout=1.5)
    with pytest.raises(TypeError, match="batch_norm"):
        tm.CNN(batch_norm="yes")


@pytest.mark.parametrize("shape", [(5, 784), (5, 28, 28), (5, 28, 28, 1), (5, 1, 28, 28)])
def test_as_images_accepts_every_mnist_layout(shape):
    x = np.arange(np.prod(shape)).reshape(shape) % 256
    t = tm.as_images(x.astype(np.uint8))
    assert t.shape == (5, 1, 28, 28) and t.dtype == torch.float32
    assert float(t.max()) <= 1.0
    # the same pixels whatever the layout
    assert torch.equal(t.reshape(5, 784), torch.from_numpy(x.reshape(5, 784).astype(np.float32) / 255))


def test_as_images_and_labels_reject_bad_input():
    with pytest.raises(ValueError, match="shape"):
        tm.as_images(np.zeros((5, 27, 28), np.float32))
    with pytest.raises(ValueError, match="digits 0-9"):
        tm.as_labels(np.array([1, 10]))


def test_batches_visit_every_sample_once_per_epoch():
    x = torch.arange(103).float()[:, None]
    y = torch.arange(103) % 10
    g = torch.Generator().manual_seed(0)
    loader = tm.batches(x, y, batch_size=10, generator=g)
    assert len(loader) == 11
    epochs = [[xb for xb, _ in loader] for _ in range(2)]  # two passes over the same object
    for parts in epochs:
        assert [len(p) for p in parts] == [10] * 10 + [3]
        assert sorted(torch.cat(parts)[:, 0].long().tolist()) == list(range(103))
    # pairs stay together, and each epoch has its own order
    for xb, yb in tm.batches(x, y, 7, generator=g):
        assert torch.equal(xb[:, 0].long() % 10, yb)
    assert not torch.equal(torch.cat(epochs[0]), torch.cat(epochs[1]))


def test_batches_reject_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        tm.batches(torch.zeros(4, 1), torch.zeros(4), batch_size=0)
    with pytest.raises(ValueError, match="same length"):
        tm.batches(torch.zeros(4, 1), torch.zeros(3))


def test_one_training_epoch_lowers_the_loss():
    torch.manual_seed(0)
    x = torch.rand(16, 1, 28, 28)
    y = torch.randint(0, 10, (16,))
    model = tm.CNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before, _ = tm.evaluate(model, x, y)
    for _ in range(2):
        tm.train_epoch(model, x, y, optimizer, batch_size=16)
    after, _ = tm.evaluate(model, x, y)
    assert after < before


def test_predict_proba_rows_sum_to_one():
    model = tm.CNN(batch_norm=True, dropout=0.5)
    p = tm.predict_proba(model, np.random.default_rng(0).random((7, 28, 28), dtype=np.float32), batch_size=3)
    assert p.shape == (7, 10)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)
    assert tm.predict(model, np.zeros((2, 784), np.float32)).shape == (2,)


def test_seconds_to_reach():
    history = {"val_accuracy": [0.98, 0.991, 0.993], "seconds": [10.0, 11.0, 12.0]}
    assert tm.seconds_to_reach(history, 0.99) == 21.0
    assert tm.seconds_to_reach(history, 0.995) is None
    with pytest.raises(ValueError, match="lacks"):
        tm.seconds_to_reach({"loss": [1.0]})


def test_train_validates_its_arguments():
    with pytest.raises(TypeError, match="data must be"):
        tm.train(tm.CNN(), (np.zeros((2, 28, 28)), np.zeros(2)), 1)
    empty = np.zeros((0, 28, 28), np.float32)
    no_validation = data.MNIST(np.zeros((4, 28, 28), np.float32), np.arange(4), empty, np.zeros(0, np.int64),
                               np.zeros((2, 28, 28), np.float32), np.arange(2))
    with pytest.raises(ValueError, match="validation split"):
        tm.train(tm.CNN(), no_validation, 1)


def test_train_never_looks_at_the_test_set(monkeypatch):
    """Training is monitored on the validation split: the test images are never evaluated."""
    rng = np.random.default_rng(0)
    split = data.MNIST(rng.random((16, 28, 28), dtype=np.float32), np.arange(16) % 10,
                       rng.random((6, 28, 28), dtype=np.float32), np.arange(6) % 10,
                       rng.random((5, 28, 28), dtype=np.float32), np.arange(5) % 10)
    seen = []
    real = tm.evaluate
    monkeypatch.setattr(tm, "evaluate", lambda model, x, y, *a, **k: seen.append(len(x)) or real(model, x, y))
    history = tm.train(tm.CNN(), split, 2, batch_size=8, device="cpu", progress=False, verbose=False)
    assert seen == [6, 6] and len(history["val_accuracy"]) == 2 and "test_accuracy" not in history


def test_train_on_a_tiny_set_and_zoo_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    rng = np.random.default_rng(0)
    tiny = data.MNIST(rng.random((16, 28, 28), dtype=np.float32), np.arange(16) % 10,
                      rng.random((4, 28, 28), dtype=np.float32), np.arange(4) % 10,
                      rng.random((8, 28, 28), dtype=np.float32), np.arange(8) % 10)
    model = tm.CNN(batch_norm=True, dropout=0.5)
    history = tm.train(model, tiny, 2, batch_size=8, device="cpu", progress=False, verbose=False)
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2
    facts = tm.facts(model, history, tm.evaluate(model, tiny.x_test, tiny.y_test)[1], batch_size=8)
    assert 0 <= facts["test_accuracy"] <= 1 and facts["val_accuracy"] == history["val_accuracy"][-1]
    assert facts["params"] == tm.count_params(model) and facts["epochs"] == 2
    zoo.save("torch_cnn_bn", model, facts)
    loaded = tm.load("torch_cnn_bn", zoo.model_path("torch_cnn_bn"))
    np.testing.assert_allclose(tm.predict_proba(loaded, tiny.x_test), tm.predict_proba(model, tiny.x_test),
                               atol=1e-6)
    assert zoo.card("torch_cnn_bn")["params"] == facts["params"]


def test_last_epoch_drop_lowers_only_the_last_epoch():
    from torch import nn

    def rates(epochs):
        optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
        schedule = tm.last_epoch_drop(optimizer, epochs)
        seen = []
        for _ in range(epochs):
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()  # an epoch's updates come before the schedule's step
            schedule.step()
        return seen

    assert rates(4) == pytest.approx([0.1, 0.1, 0.1, 0.1 * tm.FINAL_LR_FACTOR])
    assert rates(1) == [0.1]
    with pytest.raises(ValueError, match="epochs"):
        tm.last_epoch_drop(torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), 0)
