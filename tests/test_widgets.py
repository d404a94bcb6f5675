"""Tests of digitlab.widgets: the draw-a-digit pad runs headless with a stand-in model."""

import matplotlib
import numpy as np
import pytest

from digitlab import predict, widgets

matplotlib.use("Agg")

SEVEN = [[(60, 50), (220, 50), (130, 240)]]


def ink_count(x):
    """Stand-in model: logits that pick (number of bright pixels) mod 10."""
    return np.eye(10)[(x.reshape(len(x), -1) > 0.5).sum(axis=1) % 10] * 5.0


BACKEND = predict.FunctionBackend(ink_count, name="stand-in")


def test_render_strokes_draws_white_ink_on_black():
    image = widgets.render_strokes(SEVEN)
    assert image.shape == (280, 280) and image.dtype == np.uint8
    assert image[50, 140] == 255 and image[0, 0] == 0 and image[200, 40] == 0
    dot = widgets.render_strokes([[(100, 100)]])
    assert dot[100, 100] == 255 and 0 < (dot > 0).sum() < 600


def test_render_strokes_validates():
    with pytest.raises(ValueError, match="size"):
        widgets.render_strokes(SEVEN, size=2)
    with pytest.raises(ValueError, match="pen"):
        widgets.render_strokes(SEVEN, pen=0)


def test_probability_bars_has_ten_rows():
    html = widgets.probability_bars(np.full(10, 0.1))
    assert html.count("<b style") == 10
    with pytest.raises(ValueError, match="10"):
        widgets.probability_bars([0.5, 0.5])


def test_pad_follows_the_mouse_and_clears():
    pad = widgets.DigitPad(BACKEND, every=0)
    pad.update()  # nothing drawn: no guess, no error
    assert pad.probabilities is None
    pad.mouse_down(60, 50)
    for x, y in [(220, 50), (130, 240)]:
        pad.mouse_move(x, y)
    pad.mouse_up(130, 240)
    expected, probs = widgets.read_drawing(SEVEN, BACKEND)
    assert np.array_equal(pad.mnist, expected) and np.allclose(pad.probabilities, probs)
    assert f"<b>{probs.argmax()}</b>" in pad.status.value and pad.bars.value
    pad.mouse_move(10, 10)  # not drawing: ignored
    assert pad.strokes == [[(60, 50), (220, 50), (130, 240)]]
    pad.clear()
    assert pad.strokes == [] and pad.probabilities is None and pad.bars.value == ""


def test_pad_needs_a_backend():
    with pytest.raises(ValueError, match="backend"):
        widgets.DigitPad(lambda x: x)


def test_snapshot_is_a_figure():
    fig = widgets.snapshot(SEVEN, BACKEND)
    assert len(fig.axes) == 3


def send(pad, event, *points):
    """Deliver an event as the browser would: ipycanvas's handler of frontend messages."""
    if event.startswith("touch"):
        content = {"event": event, "touches": [{"x": x, "y": y} for x, y in points]}
    else:
        content = {"event": event, "x": points[0][0], "y": points[0][1]}
    pad.canvas._handle_frontend_event(None, content, [])


@pytest.mark.parametrize("kind", ["mouse", "touch"])
def test_pad_is_wired_to_the_canvas_events(kind):
    pad = widgets.DigitPad(BACKEND, every=0)
    down, move, up = (
        ("mouse_down", "mouse_move", "mouse_up")
        if kind == "mouse"
        else ("touch_start", "touch_move", "touch_end")
    )
    send(pad, down, SEVEN[0][0])
    for point in SEVEN[0][1:]:
        send(pad, move, point)
    send(pad, up, SEVEN[0][-1])
    assert pad.strokes == SEVEN
    assert np.array_equal(pad.mnist, widgets.read_drawing(SEVEN, BACKEND)[0])
