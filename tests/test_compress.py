"""Tests for digitlab.compress: pruning, ONNX export, int8 quantisation and the measurements."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
from torch import nn  # noqa: E402

from digitlab import compress, predict  # noqa: E402


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 28 * 28, 10)
    ).eval()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("amount", [0.0, 0.25, 0.5, 0.9])
def test_prune_model_reaches_the_sparsity_asked_and_leaves_the_original(amount):
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    pruned = compress.prune_model(model, amount)
    assert compress.sparsity(pruned) == pytest.approx(amount, abs=1e-3)
    assert compress.sparsity(model) == 0.0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert not any(name.endswith("_orig") for name, _ in pruned.named_parameters())  # made permanent


def test_prune_model_removes_the_smallest_weights_first():
    model = tiny_model()
    pruned = compress.prune_model(model, 0.5)
    kept = torch.cat([m.weight.flatten() for m in pruned.modules() if isinstance(m, (nn.Conv2d, nn.Linear))])
    dropped = torch.cat(
        [m.weight.flatten() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    )
    dropped = dropped[kept == 0].abs()
    assert dropped.max() <= kept[kept != 0].abs().min()


def test_prune_model_works_on_channels_last_weights():
    model = tiny_model().to(memory_format=torch.channels_last)
    assert compress.sparsity(compress.prune_model(model, 0.3)) == pytest.approx(0.3, abs=1e-3)


@pytest.mark.parametrize("amount", [1.0, -0.1, "half", True])
def test_prune_model_rejects_bad_amounts(amount):
    with pytest.raises(ValueError, match="amount"):
        compress.prune_model(tiny_model(), amount)


def test_prune_model_and_sparsity_reject_non_models():
    with pytest.raises(TypeError, match="model"):
        compress.prune_model(np.zeros(3), 0.5)
    with pytest.raises(TypeError, match="model"):
        compress.sparsity("model")
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        compress.prune_model(nn.ReLU(), 0.5)


def test_onnx_path_names_and_errors(home):
    assert compress.onnx_path("torch_strong").name == "torch_strong.onnx"
    assert compress.onnx_path("torch_strong", "int8").name == "torch_strong.int8.onnx"
    assert compress.onnx_path("torch_strong").parent == compress.zoo.folder()
    with pytest.raises(ValueError, match="variant"):
        compress.onnx_path("torch_strong", "fp16")
    with pytest.raises(ValueError, match="name"):
        compress.onnx_path("")
    assert compress.find_onnx("torch_strong") is None


def test_export_quantize_and_run_with_onnx_runtime(home):
    model = tiny_model()
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    fp32 = compress.export_onnx(model, compress.onnx_path("tiny"))
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    logits = compress.onnx_predictor(fp32)(x)  # exported with a batch of 2: the batch size is free
    np.testing.assert_allclose(logits, expected, atol=1e-4)

    int8 = compress.quantize_int8(fp32, compress.onnx_path("tiny", "int8"), calibration=x)
    assert compress.file_size(int8) < 0.5 * compress.file_size(fp32)
    q = compress.onnx_predictor(int8)(x)
    assert np.corrcoef(q.ravel(), expected.ravel())[0, 1] > 0.98
    assert not list(home.rglob("*.prep.onnx"))  # the intermediate file is cleaned up

    # what `digitlab predict` finds and feeds: uint8 images through ONNX Runtime
    path, settings = compress.find_onnx("tiny")
    assert path == fp32 and settings == {"mean": 0.0, "std": 1.0}
    assert json.loads(path.with_name(path.name + ".json").read_text())["variant"] == "fp32"
    assert compress.find_onnx("tiny", "int8")[0] == int8
    backend = predict.OnnxBackend(path, **settings)
    probs = backend.predict_proba((x[:5, 0] * 255).astype(np.uint8))
    assert probs.shape == (5, 10) and np.allclose(probs.sum(1), 1)

    row = compress.measure("int8", compress.onnx_predictor(int8), x, np.zeros(64, int), int8, repeats=5)
    assert set(row) == {"variant", "test_accuracy", "latency_ms", "images_per_s", "size_kb", "gzip_kb"}
    assert row["latency_ms"] > 0 and row["images_per_s"] > 0 and 0 <= row["test_accuracy"] <= 1


def test_quantize_keeps_a_batchnorm_after_pooling_per_channel(home, caplog):
    # a BatchNorm after a max-pooling stays a node of its own in ONNX; its scale is a vector
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 14 * 14, 10),
    ).eval()
    x = np.random.default_rng(0).random((32, 1, 28, 28), dtype=np.float32)
    fp32 = compress.export_onnx(model, compress.onnx_path("pooled"))
    with caplog.at_level("WARNING"):
        int8 = compress.quantize_int8(fp32, compress.onnx_path("pooled", "int8"), calibration=x)
    assert not [r for r in caplog.records if "out-of-range" in r.getMessage()], caplog.text
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    q = compress.onnx_predictor(int8)(x)
    assert np.corrcoef(q.ravel(), expected.ravel())[0, 1] > 0.98


def test_quantize_rejects_a_missing_source(home, tmp_path):
    with pytest.raises(FileNotFoundError, match="source"):
        compress.quantize_int8(tmp_path / "missing.onnx", tmp_path / "out.onnx", np.zeros((32, 28, 28)))


def test_latency_and_throughput_measure_a_function():
    x = np.zeros((300, 1, 28, 28), np.float32)
    calls = []

    def predict_fn(batch):
        calls.append(len(batch))
        return np.zeros((len(batch), 10))

    assert compress.latency_ms(predict_fn, x, repeats=7, warmup=3) >= 0
    assert calls == [1] * 10  # batch 1, warm-up included
    assert compress.throughput(predict_fn, x, batch_size=100, seconds=0.01) > 0
    with pytest.raises(ValueError, match="repeats"):
        compress.latency_ms(predict_fn, x, repeats=0)
    with pytest.raises(TypeError, match="predict"):
        compress.latency_ms("fast", x)
    with pytest.raises(ValueError, match="batch_size"):
        compress.throughput(predict_fn, x[:10], batch_size=100)
    with pytest.raises(ValueError, match="x must be images"):
        compress.latency_ms(predict_fn, np.zeros((3, 27, 27)))


def test_torch_predictor_leaves_the_model_where_it_was():
    model = tiny_model().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fn = compress.torch_predictor(model)
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    out = fn(x)
    assert out.shape == (2, 10)
    assert model.training  # still in training mode: the predictor works on its own copy
    assert all(p.device.type == "cpu" and p.requires_grad for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with torch.no_grad():
        np.testing.assert_allclose(out, model.eval()(torch.from_numpy(x)).numpy(), atol=1e-5)


def test_finding_an_export_does_not_import_pytorch():
    import subprocess
    import sys

    code = (
        "import sys; from digitlab import compress; compress.find_onnx('torch_strong'); "
        "assert 'torch' not in sys.modules, 'compress imported torch'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
