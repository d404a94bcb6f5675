"""Unit tests of chapter 4's network (digitlab.torch_cnn) and the one training loop (digitlab.torch_train)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from digitlab import data, runtime, zoo  # noqa: E402
from digitlab import torch_recipes as recipes  # noqa: E402
from digitlab import torch_train as tt  # noqa: E402
from digitlab.torch_cnn import CNN, as_images, as_labels, count_params  # noqa: E402


def tiny_split(seed=0, n_train=16, n_val=6, n_test=5):
    rng = np.random.default_rng(seed)
    return data.MNIST(
        rng.random((n_train, 28, 28), dtype=np.float32),
        np.arange(n_train) % 10,
        rng.random((n_val, 28, 28), dtype=np.float32),
        np.arange(n_val) % 10,
        rng.random((n_test, 28, 28), dtype=np.float32),
        np.arange(n_test) % 10,
    )


def test_cnn_parameter_counts():
    # conv1 208 + conv2 3,216 + 12,832 + conv3 205,056 + out 125,450
    assert count_params(CNN()) == 346_762
    # BatchNorm adds 2 parameters per channel; its convolutions drop their biases
    assert count_params(CNN(batch_norm=True, dropout=0.5)) == 346_762 + 2 * (8 + 16 + 32 + 256) - (
        8 + 16 + 32 + 256
    )


def test_cnn_stages_shrink_the_image_as_chapter_4_says():
    model, x = CNN(), torch.zeros(3, 1, 28, 28)
    with torch.no_grad():
        shapes = [tuple(x.shape)]
        for stage in (model.conv1, model.conv2, model.conv3):
            x = stage(x)
            shapes.append(tuple(x.shape))
    assert shapes == [(3, 1, 28, 28), (3, 8, 14, 14), (3, 32, 7, 7), (3, 256, 7, 7)]
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_cnn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="dropout"):
        CNN(dropout=1.5)
    with pytest.raises(TypeError, match="batch_norm"):
        CNN(batch_norm="yes")


@pytest.mark.parametrize("shape", [(5, 784), (5, 28, 28), (5, 28, 28, 1), (5, 1, 28, 28)])
def test_as_images_accepts_every_mnist_layout(shape):
    x = np.arange(np.prod(shape)).reshape(shape) % 256
    t = as_images(x.astype(np.uint8))
    assert t.shape == (5, 1, 28, 28) and t.dtype == torch.float32
    assert float(t.max()) <= 1.0
    # the same pixels whatever the layout
    assert torch.equal(t.reshape(5, 784), torch.from_numpy(x.reshape(5, 784).astype(np.float32) / 255))


def test_as_images_and_labels_reject_bad_input():
    with pytest.raises(ValueError, match="shape"):
        as_images(np.zeros((5, 27, 28), np.float32))
    with pytest.raises(ValueError, match="digits 0-9"):
        as_labels(np.array([1, 10]))


def test_batches_visit_every_sample_once_per_epoch():
    x = torch.arange(103).float()[:, None]
    y = torch.arange(103) % 10
    g = torch.Generator().manual_seed(0)
    epochs = [[xb for xb, _ in tt.batches(x, y, 10, generator=g)] for _ in range(2)]
    for parts in epochs:
        assert [len(p) for p in parts] == [10] * 10 + [3]
        assert sorted(torch.cat(parts)[:, 0].long().tolist()) == list(range(103))
    # pairs stay together, and each epoch has its own order
    for xb, yb in tt.batches(x, y, 7, generator=g):
        assert torch.equal(xb[:, 0].long() % 10, yb)
    assert not torch.equal(torch.cat(epochs[0]), torch.cat(epochs[1]))
    in_order = torch.cat([xb for xb, _ in tt.batches(x, y, 10, shuffle=False)])
    assert torch.equal(in_order, x)


def test_batches_reject_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        next(tt.batches(torch.zeros(4, 1), torch.zeros(4), batch_size=0))
    with pytest.raises(ValueError, match="same length"):
        next(tt.batches(torch.zeros(4, 1), torch.zeros(3)))


@pytest.mark.parametrize("precision", tt.PRECISIONS)
@pytest.mark.parametrize("channels_last", [False, True])
def test_train_epoch_lowers_the_loss_and_returns_its_mean(precision, channels_last):
    torch.manual_seed(0)
    x = torch.rand(16, 1, 28, 28)
    y = torch.randint(0, 10, (16,))
    model = CNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before, _ = tt.evaluate(model, x, y)
    losses = [
        tt.train_epoch(
            model, x, y, optimizer, batch_size=16, precision=precision, channels_last=channels_last
        )
        for _ in range(3)
    ]
    after, _ = tt.evaluate(model, x, y)
    assert after < before and all(isinstance(v, float) for v in losses)
    assert losses[0] == pytest.approx(before, rel=0.05), "one full batch: the mean loss before its step"
    assert model.conv3[0].weight.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_train_epoch_steps_the_scheduler_every_batch_and_applies_the_transform():
    model = CNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = tt.make_schedule(optimizer, "constant", 0.1, epochs=1, steps_per_epoch=3)
    seen = []
    tt.train_epoch(
        model,
        torch.rand(10, 1, 28, 28),
        torch.arange(10),
        optimizer,
        batch_size=4,
        scheduler=scheduler,
        transform=lambda xb: seen.append(len(xb)) or xb,
    )
    assert seen == [4, 4, 2] and scheduler.last_epoch == 3


def test_autocast_rejects_unknown_precisions():
    with pytest.raises(ValueError, match="precision"):
        tt.autocast(torch.device("cpu"), "float8")
    with pytest.raises(ValueError, match="precision"):
        tt.evaluate(CNN(), np.zeros((2, 784), np.float32), np.zeros(2, np.int64), precision="half")


def test_runtime_precision_follows_the_override(monkeypatch):
    monkeypatch.setenv("DIGITLAB_PRECISION", "float32")
    assert runtime.precision() == "float32"
    monkeypatch.setenv("DIGITLAB_PRECISION", "bfloat16")
    assert runtime.precision() == "bfloat16"
    monkeypatch.setenv("DIGITLAB_PRECISION", "fp8")
    with pytest.raises(ValueError, match="DIGITLAB_PRECISION"):
        runtime.precision()
    monkeypatch.delenv("DIGITLAB_PRECISION")
    assert runtime.precision() in tt.PRECISIONS


def test_predict_proba_rows_sum_to_one():
    model = CNN(batch_norm=True, dropout=0.5)
    p = tt.predict_proba(model, np.random.default_rng(0).random((7, 28, 28), dtype=np.float32), batch_size=3)
    assert p.shape == (7, 10)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)
    assert tt.predict(model, np.zeros((2, 784), np.float32)).shape == (2,)
    assert tt.predict_proba(model, np.zeros((0, 784), np.float32)).shape == (0, 10)


def test_evaluate_agrees_with_predict():
    model = CNN().eval()
    split = tiny_split()
    loss, accuracy = tt.evaluate(model, split.x_val, split.y_val, batch_size=4)
    probs = tt.predict_proba(model, split.x_val)
    assert accuracy == pytest.approx(float((probs.argmax(1) == split.y_val).mean()))
    assert loss == pytest.approx(float(-np.log(probs[np.arange(len(probs)), split.y_val]).mean()), rel=1e-4)


def test_seconds_to_reach():
    history = {"val_accuracy": [0.98, 0.991, 0.993], "seconds": [10.0, 11.0, 12.0]}
    assert tt.seconds_to_reach(history, 0.99) == 21.0
    assert tt.seconds_to_reach(history, 0.995) is None
    with pytest.raises(ValueError, match="lacks"):
        tt.seconds_to_reach({"loss": [1.0]})


def test_fit_validates_its_arguments():
    with pytest.raises(TypeError, match="data must be"):
        tt.fit(CNN(), (np.zeros((2, 28, 28)), np.zeros(2)), 1)
    split = tiny_split()
    no_validation = data.MNIST(
        split.x_train, split.y_train, split.x_val[:0], split.y_val[:0], split.x_test, split.y_test
    )
    with pytest.raises(ValueError, match="validation split"):
        tt.fit(CNN(), no_validation, 1)
    with pytest.raises(ValueError, match="precision"):
        tt.fit(CNN(), split, 1, precision="fp16")
    with pytest.raises(ValueError, match="schedule"):
        tt.fit(CNN(), split, 1, schedule="step", device="cpu")


def test_fit_never_looks_at_the_test_set(monkeypatch):
    """Training is monitored on the validation split: the test images are never evaluated."""
    seen = []
    real = tt.evaluate
    monkeypatch.setattr(tt, "evaluate", lambda model, x, y, *a, **k: seen.append(len(x)) or real(model, x, y))
    history = tt.fit(CNN(), tiny_split(), 2, batch_size=8, device="cpu", verbose=False)
    assert seen == [6, 6] and len(history["val_accuracy"]) == 2 and "test_accuracy" not in history
    assert len(history["lr"]) == 2 * 2, "one rate per step"


@pytest.mark.parametrize("precision", tt.PRECISIONS)
def test_fit_uses_channels_last_under_half_precision_unless_told(precision):
    model = CNN()
    seen = []
    real = tt.train_epoch
    tt.train_epoch = lambda *a, **k: seen.append(k["channels_last"]) or real(*a, **k)
    try:
        tt.fit(model, tiny_split(), 1, batch_size=8, device="cpu", precision=precision, verbose=False)
        tt.fit(
            CNN(),
            tiny_split(),
            1,
            batch_size=8,
            device="cpu",
            precision=precision,
            channels_last=False,
            verbose=False,
        )
    finally:
        tt.train_epoch = real
    assert seen == [precision != "float32", False]
    # the model comes back in the usual layout, so a reloaded copy computes exactly the same
    assert model.conv3[0].weight.is_contiguous()
    copy = CNN()
    copy.load_state_dict(model.state_dict())
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), copy.eval()(x))


@pytest.mark.parametrize("schedule", tt.SCHEDULES)
def test_schedules_shape_the_learning_rate(schedule):
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    sched = tt.make_schedule(opt, schedule, 0.01, epochs=4, steps_per_epoch=25)
    lrs = []
    for _ in range(100):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    if schedule == "constant":
        assert lrs == [0.01] * 100
    elif schedule == "last_epoch_drop":
        assert lrs == pytest.approx([0.01] * 75 + [0.01 * tt.FINAL_LR_FACTOR] * 25)
    else:
        assert max(lrs) == pytest.approx(0.01, rel=1e-3) and lrs[-1] < 0.001
    if schedule == "onecycle":
        assert lrs[0] < 0.001 and 20 <= int(np.argmax(lrs)) <= 30  # warm-up for a quarter


def test_make_schedule_rejects_bad_arguments():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="schedule"):
        tt.make_schedule(opt, "step", 0.1, 1, 10)
    with pytest.raises(ValueError, match="epochs"):
        tt.make_schedule(opt, "constant", 0.1, 0, 10)


def test_fit_on_a_tiny_set_and_zoo_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    tiny = tiny_split(n_val=4, n_test=8)
    model = CNN(batch_norm=True, dropout=0.5)
    history = tt.fit(model, tiny, 2, batch_size=8, device="cpu", verbose=False)
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2
    card = recipes.make_card(model, history, tt.evaluate(model, tiny.x_test, tiny.y_test)[1], batch_size=8)
    assert 0 <= card.test_accuracy <= 1 and card.val_accuracy == history["val_accuracy"][-1]
    assert (
        card.params == count_params(model) and card.epochs == 2 and card.extra["precision"] in tt.PRECISIONS
    )
    zoo.save("torch_cnn_bn", model, card)
    loaded = recipes.load_cnn(zoo.model_path("torch_cnn_bn"), zoo.recipe("torch_cnn_bn").settings)
    np.testing.assert_allclose(
        tt.predict_proba(loaded, tiny.x_test), tt.predict_proba(model, tiny.x_test), atol=1e-6
    )
    assert zoo.card("torch_cnn_bn").params == card.params and zoo.is_cached("torch_cnn_bn")
