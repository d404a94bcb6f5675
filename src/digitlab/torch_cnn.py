"""Chapter 4's PyTorch network, chapter 4b's small one, a multiply-add counter, and MNIST arrays as tensors.

Importing this module imports PyTorch; ``import digitlab`` alone does not.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from digitlab import _validation as check


class CNN(nn.Module):
    """Chapter 4's network: conv1, conv2, conv3 blocks and a linear classifier (optionally BatchNorm + Dropout)."""

    def __init__(self, batch_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm must be True or False, got {batch_norm!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.conv1 = nn.Sequential(*conv_relu(1, 8, batch_norm), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(
            *conv_relu(8, 16, batch_norm), *conv_relu(16, 32, batch_norm), nn.MaxPool2d(2)
        )
        self.conv3 = nn.Sequential(*conv_relu(32, 256, batch_norm))
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.out = nn.Linear(256 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape [N, 10] for images of shape [N, 1, 28, 28]."""
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.out(self.dropout(torch.flatten(x, 1)))


def conv_relu(c_in: int, c_out: int, batch_norm: bool = False) -> list[nn.Module]:
    """A 5x5 convolution that keeps the image size, then ReLU (with BatchNorm in between if asked)."""
    if batch_norm:  # BatchNorm subtracts the mean, so the convolution's bias would be wasted
        return [nn.Conv2d(c_in, c_out, 5, stride=1, padding=2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    return [nn.Conv2d(c_in, c_out, 5, stride=1, padding=2), nn.ReLU()]


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def as_images(x) -> torch.Tensor:
    """Float32 tensor [N, 1, 28, 28] in [0, 1] from images shaped (N, 784), (N, 28, 28), (N, 28, 28, 1) or (N, 1, 28, 28)."""
    t = x.detach().cpu() if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    if t.dtype == torch.uint8:
        t = t.float() / 255.0
    elif not t.is_floating_point():
        raise TypeError(f"x must hold uint8 or float pixels, got dtype {t.dtype}")
    if t.ndim == 2 and t.shape[1] == 784:
        t = t.reshape(-1, 1, 28, 28)
    elif t.ndim == 3 and t.shape[1:] == (28, 28):
        t = t[:, None]
    elif t.ndim == 4 and t.shape[1:] == (28, 28, 1):
        t = t.permute(0, 3, 1, 2)
    elif not (t.ndim == 4 and t.shape[1:] == (1, 28, 28)):
        raise ValueError(
            f"x must have shape (N, 784), (N, 28, 28), (N, 28, 28, 1) or (N, 1, 28, 28); got {tuple(t.shape)}"
        )
    return t.float().contiguous()


def as_labels(y) -> torch.Tensor:
    """Int64 tensor of digit labels 0-9 from an array or tensor of shape (N,)."""
    t = y.detach().cpu() if isinstance(y, torch.Tensor) else torch.from_numpy(np.asarray(y))
    if t.ndim != 1 or t.is_floating_point():
        raise ValueError(f"y must be a 1-D array of integer labels, got {t.dtype} of shape {tuple(t.shape)}")
    t = t.long()
    if len(t) and (t.min() < 0 or t.max() > 9):
        raise ValueError(f"y must hold digits 0-9, got values {int(t.min())}..{int(t.max())}")
    return t


# --- chapter 4b's small network, and what a forward pass costs ---------------------------------------
class FastNet(nn.Module):
    """A small network for speed (tuomaso/train_mnist_fast's last one): two convolutions and a 256-unit layer.

    Each 2x2 max-pooling comes before its ReLU (the same result, on a quarter of the values); with
    ``batch_norm`` a BatchNorm follows each convolution, whose bias it makes redundant. With
    ``norm_after_pool`` that BatchNorm moves after the pooling: a different network (a max of
    normalized values is not a normalized max), which normalizes a quarter of the values.
    """

    def __init__(
        self,
        batch_norm: bool = True,
        widths: tuple[int, int] = (24, 32),
        hidden: int = 256,
        norm_after_pool: bool = False,
    ):
        super().__init__()
        check.flag("batch_norm", batch_norm)
        if check.flag("norm_after_pool", norm_after_pool) and not batch_norm:
            raise ValueError("norm_after_pool needs batch_norm=True")
        if len(widths) != 2 or any(not isinstance(w, int) or w < 1 for w in (*widths, hidden)):
            raise ValueError(
                f"widths must be two positive integers and hidden one, got {widths!r}, {hidden!r}"
            )
        c1, c2 = widths

        def block(c_in: int, c_out: int, kernel: int) -> list[nn.Module]:
            conv, pool = nn.Conv2d(c_in, c_out, kernel, bias=not batch_norm), nn.MaxPool2d(2)
            if not batch_norm:
                return [conv, pool, nn.ReLU()]
            norm = nn.BatchNorm2d(c_out)
            return [conv, pool, norm, nn.ReLU()] if norm_after_pool else [conv, norm, pool, nn.ReLU()]

        self.features = nn.Sequential(*block(1, c1, 5), *block(c1, c2, 3))  # 28 -> 24 -> 12 -> 10 -> 5
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * 5 * 5, hidden), nn.ReLU(), nn.Linear(hidden, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 10] for images [N, 1, 28, 28]."""
        return self.classifier(self.features(x))


def multiply_adds(model: nn.Module) -> int:
    """Multiply-adds of one forward pass of one 28x28 image through ``model``'s convolutions and linear layers."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    total = 0

    def count(module: nn.Module, inputs, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):  # each output value sums kernel area x input channels products
            kh, kw = module.kernel_size
            total += output[0].numel() * kh * kw * module.in_channels // module.groups
        else:
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 1, 28, 28, device=next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return total
