"""Exercises of chapter 4, "A convolutional network in PyTorch"."""

from __future__ import annotations

import numpy as np

from digitlab import data
from digitlab.exercises.core import Exercise, Wrong, as_array, as_int, describe


def _check_in_features(answer) -> str:
    value = as_int(answer, "a whole number (the in_features of the final Linear layer)")
    if value == 256 * 7 * 7:
        raise Wrong("12,544 is the value for 28×28 images; follow a 32×32 image through the two poolings.")
    if value == 256 * 16 * 16:
        raise Wrong("there are two max-pooling layers, each halving the side: 32 → 16 → 8.")
    if value == 8 * 8:
        raise Wrong("that is one channel's worth; conv3 has 256 channels.")
    if value != 256 * 8 * 8:
        raise Wrong(f"{value:,} is not it: the padded 5×5 convolutions keep the size, the poolings halve it.")
    return "32 → 16 → 8, so the classifier sees 256 · 8 · 8 = 16,384 numbers."


def _sample():
    (_, _), (x_test, y_test) = data.load_data()
    return x_test[:5], y_test[:5]


def _check_dataset(answer) -> str:
    import torch

    if not isinstance(answer, type):
        raise Wrong(f"expected a Dataset class (the class itself, not an instance), got {describe(answer)}.")
    images, labels = _sample()
    dataset = answer(images, labels)
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise Wrong("a Dataset needs __len__ and __getitem__.")
    if len(dataset) != len(labels):
        raise Wrong(f"len() of a dataset over {len(labels)} images returned {len(dataset)}.")
    item = dataset[2]
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise Wrong(f"dataset[i] should return a pair (image, label), got {describe(item)}.")
    x, y = item
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != (1, 28, 28) or x.dtype != torch.float32:
        raise Wrong(f"the image should be a float32 tensor of shape (1, 28, 28), got {describe(x)}.")
    if int(y) != int(labels[2]):
        raise Wrong(f"dataset[2] returned label {int(y)}, but the third image is a {int(labels[2])}.")
    expected = (images[2].astype(np.float32) / 255 - data.PIXEL_MEAN) / data.PIXEL_STD
    got = as_array(x)[0]
    if np.allclose(got, images[2] / 255, atol=1e-5):
        raise Wrong("the pixels are scaled to [0, 1] but not standardised: subtract PIXEL_MEAN, divide by PIXEL_STD.")
    if not np.allclose(got, expected, atol=1e-4):
        raise Wrong("the pixel values differ from (x / 255 − PIXEL_MEAN) / PIXEL_STD.")
    batch, _ = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
    if tuple(batch.shape) != (4, 1, 28, 28):
        raise Wrong(f"a DataLoader over your dataset gives batches of shape {tuple(batch.shape)}, not (4, 1, 28, 28).")
    return f"standardised images: the background is now {got.min():.4f} and full ink {got.max():.4f}."


def _check_strided(answer) -> str:
    import torch
    from torch import nn

    model = answer() if isinstance(answer, type) else answer
    if not isinstance(model, nn.Module):
        raise Wrong(f"expected an nn.Module class or instance, got {describe(answer)}.")
    modules = list(model.modules())
    if any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in modules):
        raise Wrong("the model still pools; replace each MaxPool2d by a stride-2 Conv2d.")
    strided = [m for m in modules if isinstance(m, nn.Conv2d) and tuple(m.stride) == (2, 2)]
    if len(strided) < 2:
        raise Wrong(f"expected two Conv2d layers with stride=2 where the poolings were, found {len(strided)}.")
    with torch.no_grad():
        out = model.eval()(torch.zeros(3, 1, 28, 28, device=next(model.parameters()).device))
    if tuple(out.shape) != (3, 10):
        raise Wrong(f"a batch of shape (3, 1, 28, 28) should give logits of shape (3, 10), got {tuple(out.shape)}.")
    params = sum(p.numel() for p in model.parameters())
    return f"{params:,} parameters and no pooling: the network now learns how to downsample."


in_features = Exercise(
    "ch04.in_features", _check_in_features,
    hint="The 5×5 convolutions with padding 2 keep the image size; each MaxPool2d(2) halves it. "
    "Multiply the final side squared by conv3's channels.",
)

dataset = Exercise(
    "ch04.dataset", _check_dataset,
    hint="In `__getitem__`, convert the uint8 image with `torch.from_numpy(...).float() / 255`, "
    "standardise with `(x - data.PIXEL_MEAN) / data.PIXEL_STD`, then `unsqueeze(0)` for the channel.",
)

strided = Exercise(
    "ch04.strided", _check_strided,
    hint="`nn.Conv2d(8, 8, 2, stride=2)` turns 28×28 into 14×14 just like `nn.MaxPool2d(2)`, and learns "
    "its weights.",
)
