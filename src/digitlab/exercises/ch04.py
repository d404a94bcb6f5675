"""Exercises of chapter 4, "A convolutional network in PyTorch"."""

from __future__ import annotations

import numpy as np

from digitlab import data
from digitlab.exercises.core import Exercise, Wrong, as_array, as_callable, as_int, as_number, call, describe


def _in_features_of(side: int) -> int:
    """The reference: the padded 5x5 convolutions keep the side, each of the two poolings halves it."""
    return 256 * (side // 2 // 2) ** 2


def _check_in_features(answer) -> str:
    fn = as_callable(answer, "a function in_features(side)")
    for side in (32, 28, 36):
        value = as_int(call(fn, side, what=f"in_features({side})"), "a whole number (the in_features)")
        expected = _in_features_of(side)
        if side != 32 and value == _in_features_of(32):
            raise Wrong(f"in_features({side}) gave the answer for 32 pixels: compute it from `side`.")
        if value == 256 * 7 * 7 and side != 28:
            raise Wrong(
                f"12,544 is the value for 28×28 images; follow a {side}×{side} image through the two poolings."
            )
        if value == 256 * (side // 2) ** 2:
            raise Wrong(
                f"there are two max-pooling layers, each halving the side: {side} → {side // 2} → {side // 4}."
            )
        if value == (side // 4) ** 2:
            raise Wrong("that is one channel's worth; conv3 has 256 channels.")
        if value != expected:
            raise Wrong(
                f"in_features({side}) gave {value:,}: the padded 5×5 convolutions keep the size, the poolings "
                "halve it (rounding down)."
            )
    return "32 → 16 → 8, so the classifier sees 256 · 8 · 8 = 16,384 numbers; 28 gives 12,544."


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
        raise Wrong(
            "the pixels are scaled to [0, 1] but not standardised: subtract PIXEL_MEAN, divide by PIXEL_STD."
        )
    if not np.allclose(got, expected, atol=1e-4):
        raise Wrong("the pixel values differ from (x / 255 − PIXEL_MEAN) / PIXEL_STD.")
    batch, _ = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
    if tuple(batch.shape) != (4, 1, 28, 28):
        raise Wrong(
            f"a DataLoader over your dataset gives batches of shape {tuple(batch.shape)}, not (4, 1, 28, 28)."
        )
    return f"standardised images: the background is now {got.min():.4f} and full ink {got.max():.4f}."


def _layer_costs(model, shape) -> list[tuple[object, int, int]]:
    """``(layer, output values per image, MACs per output value)`` of each Conv2d and Linear layer."""
    import torch
    from torch import nn

    costs = []

    def record(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            per_value = module.in_channels // module.groups * kh * kw
        else:
            per_value = module.in_features
        costs.append((module, output[0].numel(), per_value))

    hooks = [
        m.register_forward_hook(record) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *shape))
    finally:
        for hook in hooks:
            hook.remove()
    return costs


def _mac_models():
    """Small networks (and input shapes) where parameters, input sizes and output sizes all differ."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return [
        (
            nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(4, 6, 3, stride=2),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(6 * 6 * 6, 10),
            ),
            (1, 28, 28),
        ),
        (
            nn.Sequential(
                nn.Conv2d(3, 8, 5),
                nn.ReLU(),
                nn.Conv2d(8, 8, 3, stride=2, padding=1),
                nn.Flatten(),
                nn.Linear(8 * 14 * 14, 5),
            ),
            (3, 32, 32),
        ),
    ]


def _check_macs(answer) -> str:
    from torch import nn

    for model, shape in _mac_models():
        costs = _layer_costs(model, shape)
        expected = sum(values * per_value for _, values, per_value in costs)
        got = as_int(
            call(answer, model, shape, what="count_macs(model, shape)"),
            "a whole number (multiply-accumulates for one image)",
        )
        if got == expected:
            continue
        convs = [(m, v, k) for m, v, k in costs if isinstance(m, nn.Conv2d)]
        params = sum(p.numel() for p in model.parameters())
        if got in (params, sum(m.weight.numel() for m, _, _ in costs)):
            raise Wrong(
                "that is the number of parameters; a convolution reuses each weight at every output "
                "position, so multiply by the output's height × width."
            )
        if got == sum(v * k for _, v, k in convs):
            raise Wrong(
                "you counted the convolutions only; the Linear layers multiply-accumulate too "
                "(in_features for each output)."
            )
        if got == expected + sum(v for _, v, _ in costs):
            raise Wrong("leave out the bias additions: count the multiply-accumulates of the weights only.")
        if got == sum(v * (k // m.in_channels if isinstance(m, nn.Conv2d) else k) for m, v, k in costs):
            raise Wrong(
                "each output value of a convolution sums over all its input channels: multiply by "
                "in_channels too."
            )
        if expected and got % expected == 0:
            raise Wrong(f"that is {got // expected} times the right count: count for one image, not a batch.")
        raise Wrong(
            f"for a model with input shape {shape} you counted {got:,}; add, for every Conv2d and "
            "Linear layer, its number of output values times the multiply-accumulates of each."
        )
    return (
        "a convolution's cost is its output size times in_channels × kernel area: big maps and many channels."
    )


# --- 4.4: how much is luck? ---------------------------------------------------------------------------
def _seed_accuracies(answer, key: str) -> list[float]:
    values = answer.get(key)
    if not isinstance(values, (list, tuple)) or len(values) < 3:
        raise Wrong(f'answer["{key}"] must be a list of the final validation accuracies of at least 3 seeds.')
    accuracies = [float(as_number(v, f"a validation accuracy in {key!r}")) for v in values]
    if any(a > 1 for a in accuracies):
        raise Wrong(
            f'the accuracies in answer["{key}"] look like percentages: give fractions (0.9871, not 98.71).'
        )
    if any(not 0 <= a <= 1 for a in accuracies):
        raise Wrong(f'an accuracy lies between 0 and 1; answer["{key}"] holds {accuracies}.')
    if len(set(accuracies)) == 1:
        raise Wrong(
            f'the seeds of answer["{key}"] all gave the same accuracy: call runtime.seed_everything(seed) '
            "before building each network, and pass seed=seed to fit, so that each seed starts elsewhere."
        )
    return accuracies


def _check_luck(answer) -> str:
    if not isinstance(answer, dict) or not {"plain", "batchnorm", "real"} <= set(answer):
        raise Wrong(f'expected a dict with "plain", "batchnorm" and "real", got {describe(answer)}.')
    plain, batchnorm = _seed_accuracies(answer, "plain"), _seed_accuracies(answer, "batchnorm")
    if not isinstance(answer["real"], (bool, np.bool_)):
        raise Wrong(f'answer["real"] must be True or False, got {describe(answer["real"])}.')
    apart = max(plain) < min(batchnorm) or max(batchnorm) < min(plain)
    if bool(answer["real"]) != apart:
        ranges = (
            f"plain {min(plain):.4f}–{max(plain):.4f}, BatchNorm {min(batchnorm):.4f}–{max(batchnorm):.4f}"
        )
        if apart:
            raise Wrong(f"the two ranges do not overlap ({ranges}): by the rule, the difference is real.")
        raise Wrong(
            f"the two ranges overlap ({ranges}): some seed of one network does as well as some seed of "
            "the other, so this difference could be luck."
        )
    spread = max(max(plain) - min(plain), max(batchnorm) - min(batchnorm))
    return (
        f"the seeds alone move the validation accuracy by up to {spread:.2%}: a difference between two "
        "single runs means little until it is larger than that."
    )


in_features = Exercise(
    "ch04.in_features",
    _check_in_features,
    hint="The 5×5 convolutions with padding 2 keep the image size; each MaxPool2d(2) halves it (rounding "
    "down). Multiply the final side squared by conv3's channels, or follow `torch.zeros(1, 1, side, side)` "
    "through the convolution stages and count.",
)

dataset = Exercise(
    "ch04.dataset",
    _check_dataset,
    hint="In `__getitem__`, convert the uint8 image with `torch.from_numpy(...).float() / 255`, "
    "standardise with `(x - data.PIXEL_MEAN) / data.PIXEL_STD`, then `unsqueeze(0)` for the channel.",
)

macs = Exercise(
    "ch04.macs",
    _check_macs,
    hint="Register `module.register_forward_hook(fn)` on every `nn.Conv2d` and `nn.Linear`, run one "
    "`torch.zeros(1, *shape)` through the model, and in `fn(module, inputs, output)` add "
    "`output.numel()` times `in_channels * kh * kw` (a convolution) or `in_features` (a Linear).",
)

luck = Exercise(
    "ch04.luck",
    _check_luck,
    hint="Loop over the seeds; inside, `runtime.seed_everything(seed)`, build the network, train it with "
    "`torch_train.fit(net, small, 1, ..., seed=seed)` and append `history['val_accuracy'][-1]`. The "
    "difference is real here when `max(plain) < min(batchnorm)` or `max(batchnorm) < min(plain)`.",
)
