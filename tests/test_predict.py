"""Tests of digitlab.predict and `digitlab predict`: a stand-in backend for the plumbing, one real model."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from digitlab import cli, data, predict, zoo
from digitlab import preprocess as pp


def count_ink(x: np.ndarray) -> np.ndarray:
    """Stand-in model: logits that pick (number of bright pixels) mod 10."""
    k = (x.reshape(len(x), -1) > 0.5).sum(axis=1) % 10
    return np.eye(10)[k] * 5.0


STAND_IN = predict.FunctionBackend(count_ink, name="stand-in")


def expected_digit(image) -> int:
    return int(count_ink(pp.to_mnist(image)[None] / 255.0).argmax())


@pytest.fixture
def pngs(tmp_path):
    """Three real PNG files (MNIST test digits, one as dark ink on light paper), a junk and a missing file."""
    (_, _), (x_test, _) = data.load_data()
    files = [pp.save_png(x_test[i], tmp_path / f"digit{i}.png") for i in range(2)]
    paper = np.full((120, 90), 230, np.uint8)
    paper[30:86, 20:76] = 230 - np.kron(x_test[2], np.ones((2, 2), np.uint8)) * 0.8
    files.append(pp.save_png(paper, tmp_path / "paper.png"))
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    return files, junk, tmp_path / "missing.png"


def test_backend_validates_shapes_and_applies_softmax():
    p = STAND_IN.predict_proba(np.zeros((3, 28, 28), np.uint8))
    assert p.shape == (3, 10) and np.allclose(p.sum(axis=1), 1) and p[0].argmax() == 0
    with pytest.raises(ValueError, match=r"\(n, 28, 28\)"):
        STAND_IN.predict_proba(np.zeros((3, 27, 28)))
    with pytest.raises(ValueError, match="10"):
        predict.FunctionBackend(lambda x: np.zeros((len(x), 3))).predict_proba(np.zeros((1, 28, 28)))


def test_probabilities_are_kept_as_they_are():
    probs = np.full((1, 10), 0.1)
    assert np.array_equal(predict._as_probabilities(probs), probs)


def test_predict_images_reports_failures_and_goes_on(pngs):
    files, junk, missing = pngs
    results = predict.predict_images([files[0], junk, missing, files[1]], STAND_IN)
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[0].digit == expected_digit(files[0]) and results[3].digit == expected_digit(files[1])
    assert "could not read image file" in results[1].error and "no such file" in results[2].error
    assert results[0].confidence == pytest.approx(max(results[0].probabilities), abs=1e-6)


def test_blank_image_is_an_error_entry():
    [result] = predict.predict_images([np.full((30, 30), 255, np.uint8)], STAND_IN)
    assert not result.ok and "blank" in result.error and "image 0" in str(result)


def test_run_prints_one_line_per_file_and_exit_status(pngs, capsys):
    files, junk, _ = pngs
    assert predict.run([str(f) for f in files], STAND_IN) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[2].startswith(str(files[2])) and "%" in lines[2]
    assert predict.run([str(files[0]), str(junk)], STAND_IN) == 1


def test_cli_json_output(pngs, capsys, monkeypatch):
    files, junk, missing = pngs
    monkeypatch.setattr(predict, "load_backend", lambda model, backend, log: STAND_IN)
    status = cli.main(["predict", str(files[2]), str(junk), str(missing), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 1 and report["model"] == "stand-in"
    good, bad, gone = report["predictions"]
    assert good["digit"] == expected_digit(files[2]) and len(good["probabilities"]) == 10
    assert good["error"] is None and bad["digit"] is None and "no such file" in gone["error"]


def test_cli_unknown_model_fails_cleanly(pngs, capfd):
    files, _, _ = pngs
    assert cli.main(["predict", str(files[0]), "--model", "no_such_model"]) == 2
    assert "digitlab predict: unknown model 'no_such_model'" in capfd.readouterr().err


def test_native_logs_are_silenced_but_messages_pass(capfd):
    with cli.native_logs_silenced() as err:
        os.write(2, b"I0000 native chatter\n")
        print("a message for the user", file=err)
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "a message for the user\nafter\n"


def test_load_backend_validates_and_prefers_onnx(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="backend"):
        predict.load_backend(backend="tflite")
    monkeypatch.setattr(predict.compress, "find_onnx", lambda model: None)
    assert predict.default_model() == predict.DEFAULT_MODEL == "torch_strong"  # what chapter 8 measures
    with pytest.raises(ValueError, match="no ONNX export"):
        predict.load_backend(backend="onnx")

    @dataclass(frozen=True)
    class NoSettings:
        version: int = 1

    fake = zoo.Recipe(
        name="fake_torch",
        framework="pytorch",
        suffix=".pt",
        settings=NoSettings(),
        train=None,
        save=None,
        load=None,
    )
    monkeypatch.setitem(zoo.REGISTRY, "fake_torch", "unused:FAKE")
    monkeypatch.setitem(zoo._RECIPES, "fake_torch", fake)
    with pytest.raises(ValueError, match="is a torch model, not a keras one"):
        predict.load_backend("fake_torch", backend="keras")
    with pytest.raises(ValueError, match="is a keras model, not a torch one"):
        predict.load_backend("keras_cnn", backend="torch")
    path = linear_onnx(tmp_path / "m.onnx", np.zeros((784, 10), np.float32), [-1, 784])
    monkeypatch.setattr(
        predict.compress,
        "find_onnx",
        lambda model: (path, {"mean": 0.5, "std": 0.25}) if model == "torch_cnn" else None,
    )
    backend = predict.load_backend("torch_cnn")
    assert (
        isinstance(backend, predict.OnnxBackend)
        and backend.mean == 0.5
        and backend.name == "torch_cnn (ONNX Runtime)"
    )


def test_a_missing_framework_is_a_clear_error(monkeypatch):
    """Without PyTorch and without an ONNX export, the default model cannot run: say what to install."""
    monkeypatch.setattr(predict.compress, "find_onnx", lambda model: None)
    real = predict.importlib.util.find_spec
    monkeypatch.setattr(
        predict.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name)
    )
    with pytest.raises(
        ValueError, match=r"needs torch, which is not installed: pip install 'digitlab\[torch\]'"
    ):
        predict.load_backend()


def test_the_torch_backend_gives_probabilities():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    p = predict.TorchBackend(net, name="linear").predict_proba(np.zeros((3, 28, 28), np.uint8))
    assert p.shape == (3, 10) and np.allclose(p.sum(axis=1), 1.0)


def test_find_onnx_finds_what_chapter_7_exports_and_predict_uses_it(monkeypatch, tmp_path):
    """compress.find_onnx: None before an export; the file and how to feed it after; the side file wins."""
    from digitlab import compress

    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path))
    assert compress.find_onnx("torch_cnn") is None
    path = compress.onnx_path("torch_cnn")
    path.parent.mkdir(parents=True)
    linear_onnx(path, np.zeros((784, 10), np.float32), [-1, 1, 28, 28])
    assert compress.find_onnx("torch_cnn") == (path, {"mean": 0.0, "std": 1.0})  # no side file: raw pixels
    path.with_name(path.name + ".json").write_text(json.dumps({"mean": 0.1307, "std": 0.3081}))
    assert compress.find_onnx("torch_cnn") == (path, {"mean": 0.1307, "std": 0.3081})
    assert compress.find_onnx("torch_cnn", "int8") is None
    backend = predict.load_backend("torch_cnn")
    assert isinstance(backend, predict.OnnxBackend) and backend.std == pytest.approx(0.3081)


def linear_onnx(path, weights, input_shape):
    """Write a one-layer ONNX model, softmax(flatten(x) @ weights), with the given input shape."""
    from onnx import TensorProto, helper, numpy_helper, save

    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["x"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"]),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", *input_shape[1:]])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", 10])],
        initializer=[numpy_helper.from_array(weights, "w")],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


@pytest.mark.parametrize("shape", [[-1, 784], [-1, 1, 28, 28], [-1, 28, 28, 1]])
def test_onnx_backend_matches_numpy(tmp_path, shape):
    w = np.random.default_rng(0).normal(size=(784, 10)).astype(np.float32)
    backend = predict.OnnxBackend(linear_onnx(tmp_path / "m.onnx", w, shape), mean=0.1307, std=0.3081)
    x = np.random.default_rng(1).integers(0, 256, (4, 28, 28)).astype(np.uint8)
    logits = ((x / 255.0 - 0.1307) / 0.3081).reshape(4, 784) @ w
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(backend.predict_proba(x), expected / expected.sum(1, keepdims=True), atol=1e-4)


def test_onnx_backend_needs_a_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="ONNX file"):
        predict.OnnxBackend(tmp_path / "nothing.onnx")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--backend", "keras"], {"keras_cnn (Keras)"}),
        ([], {"torch_strong (PyTorch)", "torch_strong (ONNX Runtime)"}),  # the default: chapter 8's model
    ],
)
def test_end_to_end_with_the_zoo_model(tmp_path, pngs, options, names):
    """`python -m digitlab predict` on real PNGs with a zoo model (quick mode: trained in seconds)."""
    (_, _), (x_test, y_test) = data.load_data()
    files = []
    for i in range(30):  # half as MNIST has them, half as dark ink on a large sheet of paper
        image = x_test[i] if i % 2 else 230 - 0.8 * np.pad(np.kron(x_test[i], np.ones((3, 3))), 40)
        files.append(str(pp.save_png(np.clip(image, 0, 255).astype(np.uint8), tmp_path / f"{i}.png")))
    junk = str(pngs[1])
    done = subprocess.run(
        [sys.executable, "-m", "digitlab", "predict", *files, junk, *options, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    digits = [p["digit"] for p in report["predictions"][:30]]
    correct = np.array(digits) == y_test[:30]
    assert report["model"] in names and "could not read" in report["predictions"][30]["error"]
    assert correct.mean() >= 0.6 and correct[::2].mean() >= 0.6, digits  # quick-mode models read ~80%
