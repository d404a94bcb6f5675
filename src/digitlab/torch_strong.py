"""Chapter 7's networks: a compact CNN with a residual block, small CNNs of one kernel size, and an ensemble.

``train_strong`` is chapter 7's recipe (AdamW, one-cycle, label smoothing, augmentation on the
device), built on the one training loop of ``digitlab.torch_train``.
"""

from __future__ import annotations

import torch
from torch import nn

from digitlab import _validation as check
from digitlab import augment as aug
from digitlab import data as mnist_data
from digitlab import runtime
from digitlab.torch_train import fit


class Standardize(nn.Module):
    """Subtract the MNIST pixel mean and divide by its standard deviation, inside the network.

    Keeping this step in the model means the model (and its ONNX export) takes pixels in [0, 1].
    """

    def __init__(self, mean: float = mnist_data.PIXEL_MEAN, std: float = mnist_data.PIXEL_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std``."""
        return (x - self.mean) / self.std


def conv_bn(
    c_in: int, c_out: int, batch_norm: bool = True, kernel: int = 3, pool: str = ""
) -> list[nn.Module]:
    """A ``kernel`` x ``kernel`` convolution that keeps the size, BatchNorm (if asked) and ReLU.

    ``pool`` adds a 2x2 max-pooling: ``"last"`` after the ReLU, ``"first"`` straight after the
    convolution, so that BatchNorm and ReLU work on a quarter of the values. Max-pooling commutes
    with ReLU, so the two differ only in the values BatchNorm's statistics are taken over (see
    chapter 4b: BatchNorm at full resolution was most of a training step's time).
    """
    if pool not in ("", "first", "last"):
        raise ValueError(f"pool must be '', 'first' or 'last', got {pool!r}")
    conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=not batch_norm)
    rest = [nn.BatchNorm2d(c_out) if batch_norm else nn.Identity(), nn.ReLU(inplace=True)]
    if pool == "first":
        return [conv, nn.MaxPool2d(2), *rest]
    return [conv, *rest, nn.MaxPool2d(2)] if pool == "last" else [conv, *rest]


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions whose output is added to the input: ``relu(x + f(x))`` (He et al., 2016)."""

    def __init__(self, channels: int, batch_norm: bool = True):
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn(channels, channels, batch_norm),
            nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(channels) if batch_norm else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(x + body(x))``."""
        return torch.relu(x + self.body(x))


def _check_widths(widths) -> None:
    if (
        not isinstance(widths, (tuple, list))
        or len(widths) != 3
        or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)
    ):
        raise ValueError(f"widths must be three positive integers, got {widths!r}")


def _check_dropout(dropout) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")


class StrongNet(nn.Module):
    """Chapter 7's compact CNN: 3x3 conv stages at 28, 14 and 7 pixels, a residual block, a linear head.

    ``widths`` are the channels of the three stages (two convolutions at 14x14 pixels);
    ``batch_norm`` and ``dropout`` (before the classifier) can be switched off to measure what each
    brings. The head reads all 7x7 positions, so it knows where each feature is. Each pooling
    comes straight after its convolution (``norm_after_pool``, see ``conv_bn``): 15-20% less time per
    training step than after the ReLU on the book's CPU, at the same validation accuracy within the
    spread of seeds (``torch_recipes.MemberSettings``); ``norm_after_pool=False`` gives the other order.
    """

    def __init__(
        self,
        widths: tuple[int, int, int] = (16, 32, 64),
        batch_norm: bool = True,
        dropout: float = 0.0,
        norm_after_pool: bool = True,
    ):
        super().__init__()
        _check_widths(widths)
        _check_dropout(dropout)
        pool = "first" if check.flag("norm_after_pool", norm_after_pool) else "last"
        a, b, c = widths
        self.features = nn.Sequential(
            Standardize(),
            *conv_bn(1, a, batch_norm, pool=pool),  # 28 -> 14
            *conv_bn(a, b, batch_norm),
            *conv_bn(b, b, batch_norm, pool=pool),  # 14 -> 7
            *conv_bn(b, c, batch_norm),
            ResidualBlock(c, batch_norm),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout) if dropout else nn.Identity(), nn.Linear(c * 7 * 7, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 10] for pixels in [0, 1] of shape [N, 1, 28, 28]."""
        return self.head(self.features(x))


class KernelNet(nn.Module):
    """A small CNN whose convolutions all have one ``kernel`` size (after An et al., 2020): 28, 14, 7 pixels, a linear head.

    Committee members that see the digit through different window sizes make more different mistakes
    than copies of one network that differ only in their seed. ``norm_after_pool`` as in ``StrongNet``.
    """

    def __init__(
        self,
        kernel: int = 5,
        widths: tuple[int, int, int] = (16, 32, 64),
        dropout: float = 0.0,
        norm_after_pool: bool = True,
    ):
        super().__init__()
        if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be an odd positive integer, got {kernel!r}")
        _check_widths(widths)
        _check_dropout(dropout)
        pool = "first" if check.flag("norm_after_pool", norm_after_pool) else "last"
        a, b, c = widths
        self.features = nn.Sequential(
            Standardize(),
            *conv_bn(1, a, kernel=kernel, pool=pool),
            *conv_bn(a, b, kernel=kernel, pool=pool),
            *conv_bn(b, c, kernel=kernel),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout) if dropout else nn.Identity(), nn.Linear(c * 7 * 7, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, 10] for pixels in [0, 1] of shape [N, 1, 28, 28]."""
        return self.head(self.features(x))


class Ensemble(nn.Module):
    """Average the probabilities of several models; returns the log of that average (so argmax works)."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if not members or not all(isinstance(m, nn.Module) for m in members):
            raise ValueError("members must be a non-empty list of torch.nn.Module")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log of the mean softmax of the members, shape [N, 10]."""
        probs = torch.stack([torch.softmax(m(x).float(), 1) for m in self.members]).mean(0)
        return torch.log(probs.clamp_min(1e-12))


def train_strong(
    model: nn.Module,
    data: mnist_data.MNIST,
    epochs: int,
    *,
    lr: float = 3e-3,
    weight_decay: float = 5e-4,
    batch_size: int = 128,
    schedule: str = "onecycle",
    augment: bool = True,
    label_smoothing: float = 0.1,
    seed: int = 0,
    device: torch.device | str | None = None,
    precision: str | None = None,
    channels_last: bool | None = None,
    validate_every_epoch: bool = True,
    verbose: bool = True,
) -> dict[str, list[float]]:
    """Chapter 7's recipe: AdamW, a per-step schedule, label smoothing and on-device augmentation.

    ``augment=True`` applies random affine transforms to every batch. Training runs
    ``torch_train.fit`` (one loop), which monitors the validation split, never the test set, and
    returns its history.
    """
    if not isinstance(augment, bool):
        raise ValueError(f"augment must be True or False, got {augment!r}")
    runtime._check_positive_int("epochs", epochs)
    generator = torch.Generator().manual_seed(seed)
    transform = (lambda xb: aug.random_affine(xb, generator=generator)) if augment else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    return fit(
        model,
        data,
        epochs,
        optimizer=optimizer,
        lr=lr,
        schedule=schedule,
        batch_size=batch_size,
        loss_fn=nn.CrossEntropyLoss(label_smoothing=label_smoothing),
        transform=transform,
        seed=seed,
        device=device,
        precision=precision,
        channels_last=channels_last,
        validate_every_epoch=validate_every_epoch,
        verbose=verbose,
    )
