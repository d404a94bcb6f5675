"""Test-time augmentation (chapter 6): a better prediction from a trained model, without retraining.

Each test image is shown to the model several times, slightly changed in ways that keep its label
(a one-pixel shift, a small turn), and the model's probabilities are averaged. Where one view puts
a stroke just past what the model learned, another does not. The views are made with
``augment.affine`` and scored with ``torch_train.predict_proba``, the book's own functions (imports
PyTorch).
"""

from __future__ import annotations

import numpy as np

from digitlab import _validation as check

SIZE = 28  # MNIST's side: a shift of one pixel is 1 / SIZE of it
# (dx, dy) in pixels and an angle in degrees: the image itself, four one-pixel shifts, two small turns.
VIEWS = ((0, 0, 0.0), (1, 0, 0.0), (-1, 0, 0.0), (0, 1, 0.0), (0, -1, 0.0), (0, 0, 5.0), (0, 0, -5.0))


def _check_views(views) -> tuple[tuple[float, float, float], ...]:
    try:
        checked = tuple(tuple(float(v) for v in view) for view in views)
    except (TypeError, ValueError):
        checked = ()
    if not checked or any(len(view) != 3 for view in checked):
        raise check.InvalidParameterError(
            f"views must be a non-empty list of (dx, dy, angle) triples, got {views!r}"
        )
    return checked


def predict_proba(model, x, views=VIEWS, batch_size: int = 1000) -> np.ndarray:
    """The model's probabilities (n, 10), averaged over ``views`` of each image (float images in [0, 1])."""
    from digitlab import augment, torch_train

    views = _check_views(views)
    x = np.asarray(x, dtype=np.float32)
    total = 0
    for dx, dy, angle in views:
        view = (
            x
            if (dx, dy, angle) == (0.0, 0.0, 0.0)
            else augment.affine(x, angle=angle, shift=(dx / SIZE, dy / SIZE))
        )
        total = total + torch_train.predict_proba(model, view, batch_size=batch_size)
    return total / len(views)


def predict(model, x, views=VIEWS, batch_size: int = 1000) -> np.ndarray:
    """The digits the averaged probabilities choose."""
    return predict_proba(model, x, views, batch_size).argmax(axis=1)
