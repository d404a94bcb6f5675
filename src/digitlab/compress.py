"""Make a trained PyTorch model smaller and faster, and measure what that costs (chapter 7).

Three maintained tools do the work; this module only wires them together and measures:

- magnitude pruning with ``torch.nn.utils.prune`` (the smallest weights become zeros);
- export to ONNX with ``torch.onnx.export`` and inference with ONNX Runtime;
- int8 quantisation with ``onnxruntime.quantization.quantize_static`` (QDQ format, calibrated on
  a few hundred training images), instead of the deprecated ``torch.ao`` eager-mode APIs.

Exported files live beside the zoo's models (``zoo.folder()``): ``<name>.onnx`` (fp32) and
``<name>.int8.onnx``, each with a JSON side file that says how to feed it. ``find_onnx`` is what
``digitlab predict`` asks for. The exported networks take pixels in [0, 1], shape (n, 1, 28, 28).

Importing this module is cheap: PyTorch and ONNX Runtime are imported by the functions that need
them, so ``digitlab predict`` can ask ``find_onnx`` without loading PyTorch.
"""

from __future__ import annotations

import copy
import gzip
import json
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digitlab import _io, runtime, zoo
from digitlab import _validation as check

if TYPE_CHECKING:
    from torch import nn

VARIANTS = ("fp32", "int8")


# --- pruning --------------------------------------------------------------------------------------
def _weights(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """The (module, "weight") pairs of every convolution and linear layer: what pruning acts on."""
    from torch import nn

    return [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def prune_model(model: nn.Module, amount: float) -> nn.Module:
    """A copy of ``model`` whose ``amount`` fraction of smallest conv/linear weights (over all layers) are zero."""
    import torch
    from torch.nn.utils import prune

    _check_module(model)
    check.number_in("amount", amount, 0, 1, high_open=True, what="a fraction")
    pruned = copy.deepcopy(model).to(memory_format=torch.contiguous_format)  # prune flattens weights
    params = _weights(pruned)
    if not params:
        raise ValueError("model has no Conv2d or Linear layer to prune")
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=float(amount))
    for module, name in params:
        prune.remove(module, name)  # make it permanent: a plain weight tensor holding zeros
    return pruned


def sparsity(model: nn.Module) -> float:
    """Fraction of conv/linear weights of ``model`` that are exactly zero."""
    _check_module(model)
    weights = [m.weight.detach() for m, _ in _weights(model)]
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total if total else 0.0


def _check_module(model) -> None:
    from torch import nn

    if not isinstance(model, nn.Module):
        raise check.InvalidParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")


# --- ONNX export ------------------------------------------------------------------------------------
def onnx_path(name: str, variant: str = "fp32") -> Path:
    """Where the ONNX export of zoo model ``name`` lives: ``<name>.onnx`` or ``<name>.int8.onnx``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a model name such as 'torch_strong', got {name!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return zoo.folder() / (f"{name}.onnx" if variant == "fp32" else f"{name}.{variant}.onnx")


def _side_file(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def export_onnx(model: nn.Module, path: str | Path, opset: int = 18) -> Path:
    """Export ``model`` (pixels in [0, 1], shape (n, 1, 28, 28)) to an ONNX file with a free batch size."""
    import torch

    _check_module(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(model).cpu().eval().to(memory_format=torch.contiguous_format)
    example = (torch.rand(2, 1, 28, 28),)
    batch = torch.export.Dim("batch", min=1)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # silence "torchvision is not installed"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(path),
            dynamo=True,
            external_data=False,
            verbose=False,
            opset_version=opset,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_shapes=({0: batch},),
        )
    _io.write_json(
        _side_file(path),
        {
            "mean": 0.0,
            "std": 1.0,
            "input": "pixels in [0, 1], (n, 1, 28, 28)",
            "output": "logits (n, 10)",
            "variant": "fp32",
        },
    )
    return path


def find_onnx(name: str, variant: str = "fp32") -> tuple[Path, dict] | None:
    """The ONNX export of zoo model ``name`` and how to feed it (``mean``, ``std``), or None if none exists."""
    path = onnx_path(name, variant)
    if not path.is_file():
        return None
    side = _side_file(path)
    settings = json.loads(side.read_text()) if side.is_file() else {}
    return path, {"mean": float(settings.get("mean", 0.0)), "std": float(settings.get("std", 1.0))}


def session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime inference session on the CPU for the file at ``path``."""
    import onnxruntime as ort

    path = check.existing_file("path", path, "ONNX file")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _as_nchw(x) -> np.ndarray:
    """Float32 images (n, 1, 28, 28) in [0, 1] from any common layout (uint8 pixels are scaled)."""
    shape = np.shape(x)
    try:
        x = check.image_batch(x, "x", layout="nchw", single=False)
    except ValueError:
        x = None
    if x is None or x.shape[1:] != (1, 28, 28):
        raise check.InvalidParameterError(
            f"x must be images shaped (n, 28, 28) or (n, 1, 28, 28), got {shape}"
        )
    if x.dtype == np.uint8:
        x = x / np.float32(255)
    return np.ascontiguousarray(x, dtype=np.float32)


# --- int8 quantisation --------------------------------------------------------------------------------
def quantize_int8(source: str | Path, target: str | Path, calibration: np.ndarray) -> Path:
    """Quantise the ONNX model ``source`` to int8 (static, QDQ, per-channel weights) into ``target``.

    ``calibration`` is a few hundred training images in [0, 1]: ONNX Runtime runs them through the
    model to choose the scale of each activation.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    source, target = check.existing_file("source", source, "ONNX file"), Path(target)
    images = _as_nchw(calibration)
    if not 16 <= len(images) <= 10_000:
        raise ValueError(f"calibration must hold between 16 and 10,000 images, got {len(images)}")

    input_name = session(source).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(images[i : i + 64] for i in range(0, len(images), 64))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {input_name: batch}

    prepared = target.with_name(target.stem + ".prep.onnx")
    try:
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        # reduce_range keeps weights in 7 bits: x86 CPUs without VNNI (AVX2, plain AVX-512) can
        # saturate int16 intermediate sums with full 8-bit weights, as ONNX Runtime's docs warn.
        quantize_static(
            str(prepared),
            str(target),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            # A BatchNorm that cannot be folded into a convolution (one after a max-pooling) keeps its
            # per-channel scale and shift, vectors whose channel axis is 0, not a kernel's 1.
            extra_options={"QDQOpTypePerChannelSupportToAxis": {"BatchNormalization": 0}},
        )
    finally:
        prepared.unlink(missing_ok=True)
    settings = json.loads(_side_file(source).read_text()) if _side_file(source).is_file() else {}
    _io.write_json(_side_file(target), dict(settings, variant="int8"))
    return target


# --- measuring ----------------------------------------------------------------------------------------
def file_size(path: str | Path, compressed: bool = False) -> int:
    """Bytes of the file at ``path`` on disk, or after gzip (what a download would weigh) if ``compressed``."""
    raw = Path(path).read_bytes()
    return len(gzip.compress(raw, compresslevel=6)) if compressed else len(raw)


def latency_ms(
    predict: Callable[[np.ndarray], object], image: np.ndarray, repeats: int = 200, warmup: int = 20
) -> float:
    """Median milliseconds of ``predict`` on a single image (batch 1), after ``warmup`` calls."""
    check.function("predict", predict)
    check.positive_int("repeats", repeats)
    x = _as_nchw(image)[:1]
    for _ in range(warmup):
        predict(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(x)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def throughput(
    predict: Callable[[np.ndarray], object],
    images: np.ndarray,
    batch_size: int = 256,
    seconds: float | None = None,
) -> float:
    """Images per second of ``predict`` on batches of ``batch_size``, measured for about ``seconds``.

    ``seconds`` defaults to 1, and to 0.2 in quick mode (the tests and previews need no precise figure).
    """
    check.function("predict", predict)
    seconds = runtime.pick(full=1.0, quick=0.2) if seconds is None else seconds
    x = _as_nchw(images)
    if len(x) < batch_size:
        raise ValueError(f"images must hold at least batch_size={batch_size} images, got {len(x)}")
    batch = x[:batch_size]
    predict(batch)  # warm-up
    done, start = 0, time.perf_counter()
    while True:
        predict(batch)
        done += batch_size
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def torch_predictor(model: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """A function from float images (n, 1, 28, 28) to logits, running ``model`` on the CPU without autograd."""
    import torch

    _check_module(model)
    model = copy.deepcopy(model).cpu().eval()

    @torch.inference_mode()
    def predict(x: np.ndarray) -> np.ndarray:
        return model(torch.from_numpy(x)).numpy()

    return predict


def onnx_predictor(path: str | Path, threads: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A function from float images (n, 1, 28, 28) to logits, running the ONNX file with ONNX Runtime."""
    sess = session(path, threads)
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: x})[0]


def measure(
    label: str,
    predict: Callable[[np.ndarray], np.ndarray],
    x_test: np.ndarray,
    y_test: np.ndarray,
    path: str | Path | None = None,
    repeats: int = 200,
) -> dict:
    """One row of the compression table: accuracy, batch-1 latency, throughput and size of one variant."""
    x, y = _as_nchw(x_test), np.asarray(y_test)
    if len(x) != len(y):
        raise ValueError(f"x_test and y_test must have the same length, got {len(x)} and {len(y)}")
    logits = np.concatenate([predict(x[i : i + 1000]) for i in range(0, len(x), 1000)])
    row = {
        "variant": label,
        "test_accuracy": float((logits.argmax(1) == y).mean()),
        "latency_ms": round(latency_ms(predict, x, repeats=repeats), 3),
        "images_per_s": round(throughput(predict, x, batch_size=min(256, len(x))), 1),
    }
    if path is not None:
        row["size_kb"] = round(file_size(path) / 1024, 1)
        row["gzip_kb"] = round(file_size(path, compressed=True) / 1024, 1)
    return row


def compress_all(
    model: nn.Module,
    name: str,
    x_test: np.ndarray,
    y_test: np.ndarray,
    calibration: np.ndarray,
    amount: float = 0.5,
    repeats: int = 200,
) -> list[dict]:
    """Export ``model`` (fp32), a pruned copy and an int8 version to ONNX; measure each; save the table.

    The fp32 and int8 files are saved as ``onnx_path(name)`` and ``onnx_path(name, "int8")``, the
    pruned one as ``<name>.pruned.onnx``; the table goes to ``<name>.compression.json`` beside them.
    """
    fp32 = export_onnx(model, onnx_path(name))
    pruned_path = export_onnx(prune_model(model, amount), onnx_path(name).with_name(f"{name}.pruned.onnx"))
    int8 = quantize_int8(fp32, onnx_path(name, "int8"), calibration)
    files = {"fp32": fp32, f"pruned {amount:.0%} (fp32)": pruned_path, "int8 (static, QDQ)": int8}
    rows = [
        measure(label, onnx_predictor(path), x_test, y_test, path, repeats) for label, path in files.items()
    ]
    _io.write_json(zoo.folder() / f"{name}.compression.json", rows)
    return rows
