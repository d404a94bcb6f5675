"""A draw-a-digit pad (chapter 8): draw with the mouse, see the 28x28 the model sees and its guesses.

The pad records your strokes as lists of points and renders them with PIL, so what the model sees
does not depend on the browser; ipycanvas only draws the ink and reports the mouse. It works in
JupyterLab and, after ``enable_custom_widget_manager`` (called for you), in Colab. Needs the
``widgets`` extra: ``pip install "digitlab[widgets]"``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from digitlab import _validation as check
from digitlab import predict, preprocess, runtime

CANVAS = 280  # pixels on screen
PEN = 22  # pen width: a digit drawn ~200 px tall and scaled to 20 px gets MNIST's ~2 px strokes
CELL = 5  # screen pixels per pixel of the 28x28 preview

Stroke = Sequence[tuple[float, float]]


def render_strokes(strokes: Sequence[Stroke], size: int = CANVAS, pen: int = PEN) -> np.ndarray:
    """Draw strokes (lists of (x, y) points) as white ink on a black ``size`` x ``size`` uint8 image."""
    check.int_at_least("size", size, 8)
    check.positive_int("pen", pen)
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in (points[0], points[-1]) if points else ():  # round ends, and dots
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return np.asarray(image)


def probability_bars(probabilities: Sequence[float]) -> str:
    """HTML bars for the ten probabilities, the most likely digit in a darker colour."""
    p = np.asarray(probabilities, dtype=float)
    if p.shape != (10,):
        raise ValueError(f"probabilities must hold 10 numbers, got shape {p.shape}")
    top = int(p.argmax())
    rows = []
    for digit, value in enumerate(p):
        colour = "#2a6fb0" if digit == top else "#9fbfdf"
        rows.append(
            f"<div style='display:flex;align-items:center;height:22px;font-family:monospace'>"
            f"<b style='width:1.5em'>{digit}</b>"
            f"<div style='width:{value * 160:.0f}px;height:14px;background:{colour}'></div>"
            f"<span style='margin-left:6px'>{value:.1%}</span></div>"
        )
    return "".join(rows)


def read_drawing(strokes: Sequence[Stroke], backend: predict.Backend) -> tuple[np.ndarray, np.ndarray]:
    """What the model sees (28x28 uint8) and its ten probabilities for a drawing."""
    mnist = preprocess.to_mnist(render_strokes(strokes))
    return mnist, backend.predict_proba(mnist[None])[0]


def snapshot(strokes: Sequence[Stroke], backend: predict.Backend):
    """A static picture of the pad for a drawing: the ink, the 28x28 and the probabilities."""
    import matplotlib.pyplot as plt

    mnist, p = read_drawing(strokes, backend)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    for ax, image, title in zip(
        axes, (render_strokes(strokes), mnist), ("what you drew", "what the model sees"), strict=False
    ):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(title)
        ax.axis("off")
    colours = ["#2a6fb0" if d == p.argmax() else "#9fbfdf" for d in range(10)]
    axes[2].barh(range(10), p, color=colours)
    axes[2].set(yticks=range(10), xlim=(0, 1), title=f"it reads a {p.argmax()} ({p.max():.0%})")
    axes[2].invert_yaxis()
    fig.tight_layout()
    return fig


class DigitPad:
    """The draw-a-digit pad: ``DigitPad(backend).show()`` displays it; strokes live in ``strokes``."""

    def __init__(self, backend: predict.Backend, every: float = 0.2):
        if not isinstance(backend, predict.Backend):
            raise ValueError(f"backend must be a digitlab.predict.Backend, got {type(backend).__name__}")
        if not every >= 0:
            raise ValueError(f"every must be a number of seconds >= 0, got {every!r}")
        self.backend, self.every = backend, float(every)
        self.strokes: list[list[tuple[float, float]]] = []
        self.mnist: np.ndarray | None = None  # what the model saw last
        self.probabilities: np.ndarray | None = None
        self._drawing, self._last = False, 0.0
        self._build()

    # --- what happens when you draw ---------------------------------------------------------------
    def mouse_down(self, x: float, y: float) -> None:
        """Start a stroke at (x, y)."""
        self._drawing = True
        self.strokes.append([(x, y)])
        self.canvas.fill_circle(x, y, PEN / 2)

    def mouse_move(self, x: float, y: float) -> None:
        """Extend the stroke; refresh the guess at most every ``every`` seconds."""
        if not self._drawing:
            return
        x0, y0 = self.strokes[-1][-1]
        self.strokes[-1].append((x, y))
        self.canvas.stroke_line(x0, y0, x, y)
        self.canvas.fill_circle(x, y, PEN / 2)
        if time.monotonic() - self._last >= self.every:
            self.update()

    def mouse_up(self, x: float, y: float) -> None:
        """End the stroke and refresh the guess."""
        if self._drawing:
            self._drawing = False
            self.update()

    def clear(self, *_) -> None:
        """Wipe the pad."""
        self.strokes, self.mnist, self.probabilities = [], None, None
        self.canvas.fill_style = "black"
        self.canvas.fill_rect(0, 0, CANVAS, CANVAS)
        self.canvas.fill_style = "white"
        self.preview.clear()
        self.bars.value = ""
        self.status.value = "Draw a digit in the black square."

    def update(self) -> None:
        """Preprocess the drawing as MNIST, classify it, and show both."""
        self._last = time.monotonic()
        try:
            self.mnist, self.probabilities = read_drawing(self.strokes, self.backend)
        except ValueError:  # nothing drawn yet
            return
        digit = int(self.probabilities.argmax())
        self.status.value = f"The model reads a <b>{digit}</b> ({self.probabilities[digit]:.0%} sure)."
        self.bars.value = probability_bars(self.probabilities)
        grey = np.repeat(self.mnist.reshape(-1, 1), 3, axis=1)
        rows, cols = np.divmod(np.arange(784), 28)
        self.preview.fill_styled_rects(cols * CELL, rows * CELL, CELL, CELL, color=grey)

    # --- the widgets --------------------------------------------------------------------------------
    def _build(self) -> None:
        try:
            import ipywidgets as w
            from ipycanvas import Canvas
        except ImportError as e:
            raise ImportError(
                'the pad needs ipywidgets and ipycanvas: pip install "digitlab[widgets]"'
            ) from e
        if runtime.in_colab():  # Colab shows third-party widgets only with its custom manager
            from google.colab import output

            output.enable_custom_widget_manager()
        self.canvas = Canvas(width=CANVAS, height=CANVAS, layout=w.Layout(border="1px solid #888"))
        self.preview = Canvas(width=28 * CELL, height=28 * CELL, layout=w.Layout(border="1px solid #888"))
        self.canvas.line_width, self.canvas.line_cap, self.canvas.stroke_style = PEN, "round", "white"
        self.bars, self.status = w.HTML(), w.HTML()
        button = w.Button(description="Clear", icon="eraser")
        button.on_click(self.clear)
        self.canvas.on_mouse_down(self.mouse_down)
        self.canvas.on_mouse_move(self.mouse_move)
        self.canvas.on_mouse_up(self.mouse_up)
        self.canvas.on_mouse_out(self.mouse_up)
        # fingers on a touch screen: each callback receives a list of (x, y), one per finger
        self.canvas.on_touch_start(lambda touches: touches and self.mouse_down(*touches[0]))
        self.canvas.on_touch_move(lambda touches: touches and self.mouse_move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self.mouse_up(0, 0))
        side = w.VBox([w.HTML("<b>What the model sees</b>"), self.preview, button])
        self.widget = w.VBox([self.status, w.HBox([self.canvas, side, self.bars])])
        self.clear()

    def show(self) -> DigitPad:
        """Display the pad in the notebook and return it."""
        from IPython.display import display

        display(self.widget)
        return self
