"""Data augmentation for digits in PyTorch, batched on the device, without torchvision.

Every image of a batch gets its own random affine transform (rotation, shift, shear, zoom) or
elastic distortion, applied in one ``affine_grid``/``grid_sample`` call, so augmentation runs where
the model runs (GPU or CPU) and costs little next to a training step.

Images are float in [0, 1] with a black (0) background. Each function accepts a batch as a torch
tensor or a NumPy array, shaped (n, h, w), (n, 1, h, w) or (n, h, w, 1), and returns the same type,
shape, dtype and device. Pixels are interpolated bilinearly and the outside is filled with 0, so
outputs stay in [0, 1].

    >>> x_aug = random_affine(x, rotation=10, shift=0.1, shear=0.1, zoom=0.1, generator=g)
    >>> x_ela = elastic(x, alpha=34, sigma=4, generator=g)
    >>> x_hard = perturb_test_set(x_test, seed=0)

Importing this module imports PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from digitlab import _validation as check

Generator = torch.Generator | int | None


# --- batches in and out ---------------------------------------------------------------------------
def _to_nchw(x, name: str = "x") -> tuple[torch.Tensor, Callable]:
    """Return ``x`` as a float (n, c, h, w) tensor and a function that restores its type and layout."""
    is_numpy = isinstance(x, np.ndarray)
    if not is_numpy and not isinstance(x, torch.Tensor):
        raise check.InvalidParameterError(
            f"{name} must be a torch tensor or a NumPy array, got {type(x).__name__}"
        )
    if not (x.dtype.is_floating_point if not is_numpy else np.issubdtype(x.dtype, np.floating)):
        raise check.InvalidParameterError(
            f"{name} must hold floats in [0, 1], got dtype {x.dtype} (divide uint8 images by 255)"
        )
    t = torch.from_numpy(np.ascontiguousarray(x)) if is_numpy else x
    layout = check.image_layout(tuple(x.shape), name)
    if layout == "flat":  # (n, 784): warping needs the 28x28 grid
        raise check.InvalidParameterError(
            f"{name} must have shape (n, h, w), (n, 1, h, w) or (n, h, w, 1), got {tuple(x.shape)}"
        )
    if layout == "nhw":
        t = t[:, None]
    elif layout == "nhwc":
        t = t.permute(0, 3, 1, 2)
    if t.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch")

    def restore(out: torch.Tensor):
        if layout == "nhw":
            out = out[:, 0]
        elif layout == "nhwc":
            out = out.permute(0, 2, 3, 1)
        return out.contiguous().numpy() if is_numpy else out.contiguous()

    return t, restore


def _generator(generator: Generator) -> torch.Generator | None:
    """A ``torch.Generator`` from a seed, a generator, or None (the global random state)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, bool) or not isinstance(generator, (int, np.integer)):
        raise check.InvalidParameterError(
            f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}"
        )
    return torch.Generator().manual_seed(int(generator))


def _uniform(n: int, low: float, high: float, gen: torch.Generator | None, device) -> torch.Tensor:
    """n uniform numbers in [low, high), drawn on the generator's device, returned on ``device``."""
    where = gen.device if gen is not None else device
    return (torch.rand(n, generator=gen, device=where) * (high - low) + low).to(device)


def _check_range(name: str, value: float, high: float) -> float:
    check.number_in(name, value, 0, high, what="a number")
    return float(value)


# --- the affine transform ---------------------------------------------------------------------------
def affine_matrices(angle, shift_x, shift_y, shear, scale) -> torch.Tensor:
    """The (n, 2, 3) matrices ``affine_grid`` needs for per-image transforms of the picture.

    ``angle`` in degrees (positive turns the digit anticlockwise), shifts as fractions of the width
    and height (positive moves right and down), ``shear`` as the horizontal shear factor
    (x moves by ``shear * y``) and ``scale`` > 1 enlarges the digit (it must be positive). Each is a
    number or a 1-D tensor of length n.
    The forward map is shift · rotate · shear · scale; ``affine_grid`` wants its inverse, because it
    asks, for every output pixel, where to read in the input.
    """
    params = [torch.as_tensor(p, dtype=torch.float32) for p in (angle, shift_x, shift_y, shear, scale)]
    angle, shift_x, shift_y, shear, scale = torch.broadcast_tensors(*[p.reshape(-1) for p in params])
    theta = torch.deg2rad(angle)
    cos, sin = torch.cos(theta), torch.sin(theta)
    # The forward linear part, rotation · shear · scale, in image coordinates (x right, y down), so
    # that a positive angle turns the picture anticlockwise as the reader sees it.
    rot = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)
    one, zero = torch.ones_like(shear), torch.zeros_like(shear)
    shr = torch.stack([torch.stack([one, shear], -1), torch.stack([zero, one], -1)], -2)
    forward = rot @ shr * scale[:, None, None]
    inverse = _inverse_2x2(forward)
    # Normalised coordinates span [-1, 1], so a shift of a fraction f of the side is 2f.
    t = torch.stack([2 * shift_x, 2 * shift_y], -1)[..., None]
    return torch.cat([inverse, -inverse @ t], dim=-1)


def _inverse_2x2(m: torch.Tensor) -> torch.Tensor:
    """The inverses of a stack of (2, 2) matrices in closed form (adjugate over determinant).

    ``torch.linalg.inv`` would check for singular matrices and, on a GPU, wait for that check: a
    host sync per batch. These matrices are rotation · shear · scale, so their determinant is
    scale² > 0.
    """
    a, b, c, d = m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1]
    det = a * d - b * c
    adjugate = torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2)
    return adjugate / det[:, None, None]


def _warp(t: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample ``t`` at ``grid`` (bilinear, black outside), clipped to [0, 1] against rounding."""
    out = F.grid_sample(t, grid.to(t.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.clamp_(0.0, 1.0)


def _warp_affine(t: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Apply one (2, 3) matrix per image of the (n, c, h, w) batch ``t``."""
    grid = F.affine_grid(matrices.to(t.device, torch.float32), list(t.shape), align_corners=False)
    return _warp(t, grid)


def affine(x, angle=0.0, shift=(0.0, 0.0), shear=0.0, scale=1.0):
    """Apply one given affine transform (or one per image, as 1-D arrays) to a batch of digits.

    ``angle`` in degrees, anticlockwise; ``shift`` = (x, y) as fractions of the width and height;
    ``shear`` a horizontal shear factor; ``scale`` > 1 enlarges.
    """
    t, restore = _to_nchw(x)
    n = t.shape[0]
    shift = torch.as_tensor(shift, dtype=torch.float32)
    if shift.shape[-1:] != (2,):
        raise ValueError(f"shift must be a pair (x, y) or an (n, 2) array, got shape {tuple(shift.shape)}")
    params = {
        "angle": angle,
        "shift_x": shift[..., 0],
        "shift_y": shift[..., 1],
        "shear": shear,
        "scale": scale,
    }
    for name, value in params.items():
        value = torch.as_tensor(value, dtype=torch.float32)
        if value.ndim > 1 or value.numel() not in (1, n):
            raise ValueError(
                f"{name} must be one number or one per image ({n}), got shape {tuple(value.shape)}"
            )
        params[name] = value.reshape(-1).expand(n)
    if torch.any(params["scale"] <= 0):
        raise ValueError(f"scale must be positive, got {scale!r}")
    return restore(_warp_affine(t, affine_matrices(**params)))


def random_affine(
    x,
    rotation: float = 10.0,
    shift: float = 0.1,
    shear: float = 0.1,
    zoom: float = 0.1,
    *,
    p: float = 1.0,
    generator: Generator = None,
):
    """Randomly rotate (±``rotation`` degrees), shift (±``shift`` of the side), shear and zoom each digit.

    The classic MNIST settings are the defaults. ``zoom=0.1`` scales by a factor in [0.9, 1.1]; no
    flips, because a mirrored 2, 5 or 7 is no longer that digit. Each image is transformed with
    probability ``p`` and left as it is otherwise. ``generator`` (a ``torch.Generator`` or an int
    seed) makes the batch reproducible.
    """
    t, restore = _to_nchw(x)
    matrices = random_matrices(
        t.shape[0], rotation, shift, shear, zoom, p=p, generator=generator, device=t.device
    )
    return restore(_warp_affine(t, matrices))


def random_matrices(
    n: int,
    rotation: float = 10.0,
    shift: float = 0.1,
    shear: float = 0.1,
    zoom: float = 0.1,
    *,
    p: float = 1.0,
    generator: Generator = None,
    device=None,
) -> torch.Tensor:
    """The (n, 2, 3) ``affine_grid`` matrices of ``n`` random transforms (see ``random_affine``)."""
    check.positive_int("n", n)
    rotation = _check_range("rotation", rotation, 180)
    shift = _check_range("shift", shift, 1)
    shear = _check_range("shear", shear, 1)
    zoom = _check_range("zoom", zoom, 0.9)
    p = _check_range("p", p, 1)
    gen, dev = _generator(generator), torch.device("cpu") if device is None else torch.device(device)
    where = gen.device if gen is not None else torch.device("cpu")  # drawn and built here, moved once
    angle, shift_x, shift_y = (
        _uniform(n, -rotation, rotation, gen, where),
        _uniform(n, -shift, shift, gen, where),
        _uniform(n, -shift, shift, gen, where),
    )
    shear_, scale = _uniform(n, -shear, shear, gen, where), _uniform(n, 1 - zoom, 1 + zoom, gen, where)
    if p < 1:  # images left alone get the identity: no turn, shift or shear, scale 1
        on = (_uniform(n, 0.0, 1.0, gen, where) < p).float()
        angle, shift_x, shift_y, shear_ = angle * on, shift_x * on, shift_y * on, shear_ * on
        scale = 1 + (scale - 1) * on
    matrices = affine_matrices(angle, shift_x, shift_y, shear_, scale)
    return _to_device(matrices, dev)


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` on ``device``: from the CPU to a GPU through pinned memory, without waiting for the copy."""
    if t.device == device:
        return t
    if t.device.type == "cpu" and device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


# --- elastic distortion -------------------------------------------------------------------------------
def _blur_matrix(size: int, sigma: float, device) -> torch.Tensor:
    """The (size, size) matrix that blurs a vector with a Gaussian of width ``sigma`` (zero padding)."""
    r = torch.arange(size, dtype=torch.float32, device=device)
    offsets = r[:, None] - r[None, :]
    radius = max(1, math.ceil(3 * sigma))
    weights = torch.exp(-(offsets**2) / (2 * sigma**2)) * (offsets.abs() <= radius)
    norm = torch.exp(-(torch.arange(-radius, radius + 1, device=device) ** 2) / (2 * sigma**2)).sum()
    return weights / norm


def _smooth(field: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of a (n, c, h, w) field, rows then columns, as two small matrix products.

    On 28x28 images this is much faster than a convolution with a 25-tap kernel.
    """
    h, w = field.shape[-2:]
    return _blur_matrix(h, sigma, field.device) @ field @ _blur_matrix(w, sigma, field.device).T


def elastic(x, alpha: float = 34.0, sigma: float = 4.0, *, generator: Generator = None):
    """Elastic distortion (Simard et al., 2003): move each pixel along a smooth random field.

    A field of uniform noise in [-1, 1] is blurred with a Gaussian of width ``sigma`` pixels and
    scaled by ``alpha`` pixels; large ``sigma`` gives gentle bends, small ``sigma`` random jitter.
    """
    for name, value in (("alpha", alpha), ("sigma", sigma)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if sigma == 0:
        raise ValueError("sigma must be positive, got 0")
    t, restore = _to_nchw(x)
    gen, (n, _, h, w) = _generator(generator), t.shape
    where = gen.device if gen is not None else t.device
    noise = (torch.rand((n, 2, h, w), generator=gen, device=where) * 2 - 1).to(t.device)
    field = _smooth(noise, sigma) * alpha  # displacement in pixels, (dx, dy)
    scale = torch.tensor([2.0 / w, 2.0 / h], device=t.device).view(1, 2, 1, 1)
    identity = torch.eye(2, 3, device=t.device).expand(n, 2, 3)
    grid = F.affine_grid(identity, list(t.shape), align_corners=False)
    grid = grid + (field * scale).permute(0, 2, 3, 1)
    return restore(_warp(t, grid))


# --- a harder test set ------------------------------------------------------------------------------
def perturb_test_set(
    x, seed: int = 0, rotation: float = 15.0, shift: float = 0.12, zoom: float = 0.15, batch_size: int = 2048
):
    """A fixed, reproducible perturbed copy of a test set: each digit rotated, shifted and scaled.

    The same ``seed`` always gives the same images, so models can be compared on it. The defaults
    reach a little beyond the classic training augmentation.
    """
    check.int_at_least("seed", seed, 0)
    check.positive_int("batch_size", batch_size)
    t, restore = _to_nchw(x)
    matrices = random_matrices(t.shape[0], rotation, shift, 0.0, zoom, generator=int(seed), device=t.device)
    with torch.no_grad():
        out = torch.cat(
            [
                _warp_affine(t[i : i + batch_size], matrices[i : i + batch_size])
                for i in range(0, len(t), batch_size)
            ]
        )
    return restore(out)
