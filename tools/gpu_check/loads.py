"""Stage ``loads``: weights cross between the CPU and the GPU, and ONNX/int8 export works from a GPU model.

A network trained briefly on the device is saved and reloaded on the CPU (and a copy saved on the
CPU is loaded on the device): both must predict the same digits. Then ``compress`` exports it to
ONNX fp32 and int8 (ONNX Runtime on the CPU): fp32 must agree with PyTorch on the test set within
0.05 points, int8 stay within 0.3 points of fp32, and the model must still be on the device.
"""

from __future__ import annotations

import copy
import io
import tempfile
from pathlib import Path

import numpy as np
import torch

from digitlab import compress, data, runtime, torch_train
from digitlab.torch_cnn import CNN

from . import common


def _roundtrip(model: torch.nn.Module, to: str) -> torch.nn.Module:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    reloaded = CNN(batch_norm=True)
    reloaded.load_state_dict(torch.load(buffer, map_location=to, weights_only=True))
    return reloaded.to(to).eval()


def run() -> dict:
    failed: list[str] = []
    dev = common.device()
    split = common.mnist()
    runtime.seed_everything(0)
    model = CNN(batch_norm=True)
    torch_train.fit(model, split, 1, lr=0.1, precision="float32", verbose=False)
    x, y = split.x_test, split.y_test
    on_device = torch_train.predict(model, x)
    on_cpu = torch_train.predict(_roundtrip(model, "cpu"), x)
    back = torch_train.predict(_roundtrip(_roundtrip(model, "cpu"), str(dev)), x)
    agree = float(np.mean(on_device == on_cpu)), float(np.mean(on_device == back))
    common.check(failed, min(agree) == 1.0, f"predictions differ after moving the weights: {agree}")
    torch_acc = float(np.mean(on_device == y))
    calibration = split.x_train[data.stratified_subset(split.y_train, 256)]
    with tempfile.TemporaryDirectory() as folder:
        fp32 = compress.export_onnx(copy.deepcopy(model), Path(folder) / "m.onnx")
        common.check(failed, next(model.parameters()).device.type == dev.type, "export moved the model")
        int8 = compress.quantize_int8(fp32, Path(folder) / "m.int8.onnx", calibration)
        images, acc = compress._as_nchw(x), {}
        for name, path in (("fp32", fp32), ("int8", int8)):
            predict = compress.onnx_predictor(path)
            scores = np.concatenate([predict(images[i : i + 1000]) for i in range(0, len(images), 1000)])
            acc[name] = float(np.mean(scores.argmax(1) == y))
    common.check(
        failed, abs(acc["fp32"] - torch_acc) <= 0.0005, f"ONNX fp32 {acc['fp32']} vs torch {torch_acc}"
    )
    common.check(
        failed, acc["int8"] >= acc["fp32"] - 0.003, f"int8 {acc['int8']} below fp32 {acc['fp32']} - 0.3 pp"
    )
    return {
        "device": dev.type,
        "agreement": agree,
        "torch_accuracy": torch_acc,
        "onnx_accuracy": acc,
        "failed": failed,
    }
