"""Turn any picture of a digit into an MNIST-style 28x28 image (chapter 8).

MNIST digits are white on black, cropped to their ink, scaled so the longer side is 20 pixels
(anti-aliased, aspect ratio kept), then pasted into 28x28 so that the centre of mass of the ink
sits at pixel (14, 14). ``to_mnist`` does the same to a phone photo, a scan or a drawing; each
step is also a function of its own so chapter 8 can show it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from digitlab import _validation as check

SIZE = 28  # side of an MNIST image
BOX = 20  # side of the box the digit is scaled into
CENTER = 14.0  # where MNIST puts the centre of mass (row and column), measured on the training set
MIN_CONTRAST = 0.1  # below this range of grey levels an image counts as blank
MAX_INK = 0.9  # above this fraction of ink pixels an image counts as all ink

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601 weights, as PIL's "L" mode uses


# --- step 1: read anything as a grey image in [0, 1] ------------------------------------------------
def read_gray(image: Any) -> np.ndarray:
    """Read a path, file object, PIL image or array as a float grayscale image in [0, 1]."""
    if isinstance(image, (str, os.PathLike)) or hasattr(image, "read"):
        image = _open(image)
    if isinstance(image, Image.Image):
        image = _pil_to_array(image)
    if hasattr(image, "detach"):  # a torch tensor
        image = image.detach().cpu().numpy()
    try:
        x = np.asarray(image)
    except Exception as e:
        raise ValueError(f"image must be a path, a PIL image or an array, got {type(image).__name__}") from e
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"image must hold numbers, got an array of dtype {x.dtype}")
    if x.size == 0:
        raise ValueError(f"image is empty: its shape is {x.shape}")
    return _scale_to_unit(_to_gray(x))


def _open(path: Any) -> Image.Image:
    name = getattr(path, "name", path)
    try:
        with Image.open(path) as im:
            im.load()
            return ImageOps.exif_transpose(im)  # phone photos store their rotation in EXIF
    except FileNotFoundError:
        raise check.MissingFileError(f"could not read image file {str(name)!r}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"could not read image file {str(name)!r}: {e}") from None


def _pil_to_array(im: Image.Image) -> np.ndarray:
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode not in {"1", "L", "LA", "RGB", "RGBA", "I", "I;16", "F"}:
        im = im.convert("RGB")
    return np.asarray(im)


def _to_gray(x: np.ndarray) -> np.ndarray:
    """(h, w), (h, w, c) or (c, h, w) with c in 1-4 -> (h, w) float; alpha is laid over white."""
    while x.ndim > 3 and x.shape[0] == 1:  # a batch of one
        x = x[0]
    if x.ndim == 2:
        return x.astype(np.float64)
    if x.ndim != 3:
        raise ValueError(f"image must be 2-D, or 3-D with 1 to 4 channels, got shape {x.shape}")
    if x.shape[-1] > 4 and x.shape[0] <= 4:  # channels first
        x = np.moveaxis(x, 0, -1)
    channels = x.shape[-1]
    if channels > 4:
        raise ValueError(f"image must have 1 to 4 channels, got shape {x.shape}")
    x = x.astype(np.float64)
    if channels in (2, 4):  # grey or colour with alpha: composite over a white page
        top = 1.0 if x.max() <= 1 else 255.0
        alpha = x[..., -1:] / top
        x = x[..., :-1] * alpha + top * (1 - alpha)
    return x[..., 0] if x.shape[-1] == 1 else x @ _LUMA


def _scale_to_unit(x: np.ndarray) -> np.ndarray:
    """Map grey levels to [0, 1]: 0-1 and 0-255 stay as they are meant, 0-65535 too, else min-max."""
    if not np.all(np.isfinite(x)):
        raise ValueError("image contains NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    for top in (1.0, 255.0, 65535.0):
        if low >= 0 and high <= top:
            return x / top
    return (x - low) / (high - low)


# --- step 2: white ink on black, faint noise removed ----------------------------------------------
def background_level(gray: np.ndarray) -> float:
    """The background grey level: the median of the image's outer frame of pixels."""
    gray = _check_2d(gray, "gray")
    frame = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    return float(np.median(frame))


def to_ink(gray: np.ndarray, invert: bool | None = None) -> np.ndarray:
    """Ink as bright values on a zero background; ``invert=None`` inverts when the background is light."""
    gray = _check_2d(gray, "gray")
    if float(gray.max() - gray.min()) < MIN_CONTRAST:
        raise ValueError(
            f"image is blank: its grey levels span only {float(gray.max() - gray.min()):.3f} of the "
            "range, so there is no ink to find"
        )
    if invert is None:
        invert = background_level(gray) > 0.5
    ink = 1.0 - gray if invert else gray
    return np.clip(ink - background_level(ink), 0.0, None)


def denoise(ink: np.ndarray, level: float = 0.3, min_blob: float = 0.05) -> np.ndarray:
    """Zero pixels fainter than ``level`` of the brightest ink and blobs under ``min_blob`` of the largest one."""
    ink = _check_2d(ink, "ink")
    for name, value in (("level", level), ("min_blob", min_blob)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")
    top = float(ink.max())
    if top <= 0:
        raise ValueError("image is blank: no pixel is brighter than the background")
    ink = np.where(ink >= level * top, ink / top, 0.0)
    blobs, count = ndimage.label(ink > 0, structure=np.ones((3, 3)))
    if count > 1:
        sizes = np.bincount(blobs.ravel())[1:]
        keep = np.flatnonzero(sizes >= min_blob * sizes.max()) + 1
        ink = np.where(np.isin(blobs, keep), ink, 0.0)
    if (ink > 0).mean() > MAX_INK:
        raise ValueError(
            f"image is all ink: {(ink > 0).mean():.0%} of its pixels are ink, so no digit shape "
            "stands out from a background"
        )
    return ink


# --- step 3: crop, scale into the 20x20 box, centre by mass ---------------------------------------
def crop(ink: np.ndarray) -> np.ndarray:
    """The smallest rectangle holding every non-zero pixel."""
    ink = _check_2d(ink, "ink")
    rows, cols = np.nonzero(ink)
    if rows.size == 0:
        raise ValueError("image is blank: there is no ink to crop to")
    return ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def fit_box(ink: np.ndarray, box: int = BOX) -> np.ndarray:
    """Resize so the longer side is ``box`` pixels, keeping the aspect ratio, with anti-aliasing."""
    ink = _check_2d(ink, "ink")
    check.positive_int("box", box)
    h, w = ink.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL wants (width, height)
    resized = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    out = np.clip(np.asarray(resized, dtype=np.float64), 0.0, None)
    return out / out.max() if out.max() > 0 else out


def center(box: np.ndarray, size: int = SIZE, at: float = CENTER) -> np.ndarray:
    """Paste ``box`` into a ``size`` x ``size`` canvas so its centre of mass lands on pixel (``at``, ``at``)."""
    box = _check_2d(box, "box")
    if box.sum() <= 0:
        raise ValueError("box is blank: its centre of mass is undefined")
    cy, cx = ndimage.center_of_mass(box)
    top, left = int(round(at - cy)), int(round(at - cx))
    canvas = np.zeros((size, size))
    h, w = box.shape
    r0, c0 = max(top, 0), max(left, 0)  # clip whatever would fall off the canvas
    r1, c1 = min(top + h, size), min(left + w, size)
    canvas[r0:r1, c0:c1] = box[r0 - top : r1 - top, c0 - left : c1 - left]
    return canvas


# --- the whole pipeline ---------------------------------------------------------------------------
def steps(image: Any, invert: bool | None = None) -> dict[str, np.ndarray]:
    """Every intermediate image of ``to_mnist``, in order, keyed by the name of the step."""
    out = {"gray": read_gray(image)}
    out["ink"] = to_ink(out["gray"], invert)
    out["denoised"] = denoise(out["ink"])
    out["cropped"] = crop(out["denoised"])
    out["box"] = fit_box(out["cropped"])
    out["centred"] = center(out["box"])
    out["mnist"] = to_uint8(out["centred"])
    return out


def to_mnist(image: Any, invert: bool | None = None) -> np.ndarray:
    """Any picture of one digit (path, PIL image or array) as a 28x28 uint8 MNIST-style image."""
    return steps(image, invert)["mnist"]


def naive(image: Any) -> np.ndarray:
    """The naive alternative: grayscale and squash the whole picture to 28x28, nothing else."""
    gray = read_gray(image)
    resized = Image.fromarray(gray.astype(np.float32)).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    return to_uint8(np.asarray(resized))


# --- other writers: scikit-learn's UCI digits ------------------------------------------------------
def upsample_uci(image: Any, size: int = 32) -> np.ndarray:
    """An 8x8 UCI digit (counts 0..16) back at the 32x32 resolution it was scanned at, as uint8."""
    x = _check_2d(image, "image")
    if x.shape != (8, 8) or x.min() < 0 or x.max() > 16:
        raise ValueError(f"image must be an 8x8 UCI digit with counts 0..16, got shape {x.shape}")
    big = Image.fromarray((x * 255 / 16).astype(np.float32)).resize((size, size), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(big), 0, 255).astype(np.uint8)


def uci_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 UCI digits (13 writers, none in MNIST) as MNIST-style uint8 images, and labels."""
    from sklearn.datasets import load_digits

    uci = load_digits()
    return np.stack([to_mnist(upsample_uci(x)) for x in uci.images]), uci.target.astype(np.int64)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Clip a float image to [0, 1] and scale it to uint8 0-255."""
    return np.rint(np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0) * 255).astype(np.uint8)


def _check_2d(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D image, got shape {x.shape}")
    return x


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a 2-D uint8 (or [0, 1] float) image as a grayscale PNG and return its path."""
    x = np.asarray(image)
    if x.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {x.shape}")
    if x.dtype != np.uint8:
        x = to_uint8(x)
    path = Path(path)
    Image.fromarray(x).save(path)
    return path
