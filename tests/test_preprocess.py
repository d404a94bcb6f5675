"""Tests of digitlab.preprocess: each step, each bad input, and properties of to_mnist."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from scipy import ndimage

from digitlab import preprocess as pp


def stroke(h: int = 60, w: int = 40, value: int = 255) -> np.ndarray:
    """A dark canvas with one thick bright bar and a foot: a crude 1, not centred."""
    x = np.zeros((h, w), np.uint8)
    x[10:50, 8:14] = value
    x[44:50, 8:30] = value
    return x


# --- reading ----------------------------------------------------------------------------------------
def test_read_gray_uint8_scales_to_unit():
    g = pp.read_gray(stroke())
    assert g.dtype == np.float64 and g.min() == 0 and g.max() == 1


@pytest.mark.parametrize(
    "convert",
    [
        lambda x: np.stack([x] * 3, -1),  # RGB
        lambda x: np.stack([x] * 3 + [np.full_like(x, 255)], -1),  # opaque RGBA
        lambda x: x[..., None],  # one channel last
        lambda x: x[None],  # one channel first
        lambda x: np.stack([x] * 3),  # RGB channels first
        lambda x: x[None, ..., None],  # a batch of one
        lambda x: x.astype(np.float32) / 255,  # float in [0, 1]
        lambda x: x.astype(np.uint16) * 257,  # 16-bit
        lambda x: x > 0,  # bool
        lambda x: Image.fromarray(x),  # PIL "L"
        lambda x: Image.fromarray(x).convert("RGB"),
        lambda x: Image.fromarray(x).convert("P"),
        lambda x: Image.fromarray(x).convert("1"),
    ],
)
def test_read_gray_accepts_many_formats(convert):
    np.testing.assert_allclose(pp.read_gray(convert(stroke())), stroke() / 255, atol=1e-6)


def test_read_gray_alpha_is_laid_over_white():
    x = np.zeros((30, 30, 4), np.uint8)  # black ink, transparent background
    x[5:25, 12:16, 3] = 255
    g = pp.read_gray(x)
    assert g[0, 0] == 1.0 and g[10, 13] == 0.0


def test_read_gray_from_png_file(tmp_path):
    path = pp.save_png(stroke(), tmp_path / "one.png")
    np.testing.assert_allclose(pp.read_gray(path), stroke() / 255)
    np.testing.assert_allclose(pp.read_gray(str(path)), stroke() / 255)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((0, 5)), "empty"),
        (np.zeros((4, 4, 7, 3)), "shape"),
        (np.zeros((5, 5, 7)), "channels"),
        (np.array([[1.0, np.nan], [0, 0]]), "NaN"),
        (np.array([["a", "b"]]), "numbers"),
    ],
)
def test_read_gray_rejects_bad_arrays(bad, message):
    with pytest.raises(ValueError, match=message):
        pp.read_gray(bad)


def test_unreadable_and_missing_files(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not a PNG")
    with pytest.raises(ValueError, match="could not read image file .*junk.png"):
        pp.to_mnist(junk)
    with pytest.raises(
        FileNotFoundError, match="no such file"
    ):  # also a ValueError: predict reports it per picture
        pp.to_mnist(tmp_path / "missing.png")


# --- ink, noise ------------------------------------------------------------------------------------
def test_background_level_is_the_frame_median():
    g = np.full((10, 10), 0.8)
    g[3:7, 3:7] = 0.0
    assert pp.background_level(g) == pytest.approx(0.8)


def test_to_ink_inverts_a_light_background_only():
    dark = stroke() / 255
    light = 1 - dark
    np.testing.assert_allclose(pp.to_ink(light), dark)
    np.testing.assert_allclose(pp.to_ink(dark), dark)
    np.testing.assert_allclose(pp.to_ink(dark, invert=True), np.zeros_like(dark))  # forced: no ink left


def test_to_ink_subtracts_a_grey_background():
    g = np.full((20, 20), 0.3)
    g[5:15, 9:11] = 0.9
    ink = pp.to_ink(g)
    assert ink[0, 0] == 0 and ink[10, 10] == pytest.approx(0.6)


@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_images_are_rejected(value):
    with pytest.raises(ValueError, match="blank"):
        pp.to_mnist(np.full((40, 40), value, np.uint8))


def test_faint_noise_alone_counts_as_blank():
    noise = np.random.default_rng(0).normal(0.5, 0.01, (50, 50))
    with pytest.raises(ValueError, match="blank"):
        pp.to_mnist(noise)


def test_all_ink_is_rejected():
    x = np.zeros((40, 40), np.uint8)  # black everywhere except a white frame: the frame is the background
    x[[0, -1], :] = x[:, [0, -1]] = 255
    with pytest.raises(ValueError, match="all ink"):
        pp.to_mnist(x)


def test_denoise_removes_faint_pixels_and_specks():
    ink = np.zeros((40, 40))
    ink[5:35, 18:22] = 1.0  # the digit
    ink[0:3, 0:3] = 0.1  # faint haze
    ink[38, 38] = 1.0  # a bright speck
    out = pp.denoise(ink)
    assert out[1, 1] == 0 and out[38, 38] == 0 and out[20, 20] == 1.0


def test_denoise_validates_its_arguments():
    with pytest.raises(ValueError, match="level"):
        pp.denoise(np.ones((3, 3)), level=1.5)
    with pytest.raises(ValueError, match="blank"):
        pp.denoise(np.zeros((3, 3)))


# --- geometry --------------------------------------------------------------------------------------
def test_crop_is_the_bounding_box():
    assert pp.crop(stroke() / 255).shape == (40, 22)
    with pytest.raises(ValueError, match="blank"):
        pp.crop(np.zeros((4, 4)))


@pytest.mark.parametrize(
    "shape, expected", [((40, 22), (20, 11)), ((10, 50), (4, 20)), ((5, 5), (20, 20)), ((100, 1), (20, 1))]
)
def test_fit_box_keeps_the_aspect_ratio(shape, expected):
    out = pp.fit_box(np.ones(shape))
    assert out.shape == expected and out.max() == pytest.approx(1.0)


def test_fit_box_validates_box():
    with pytest.raises(ValueError, match="box"):
        pp.fit_box(np.ones((3, 3)), box=0)


def test_center_puts_the_centre_of_mass_at_14():
    box = np.zeros((20, 12))
    box[:, 2:5] = 1.0
    box[15:, :] = 1.0
    out = pp.center(box)
    assert out.shape == (28, 28) and out.sum() == pytest.approx(box.sum())
    cy, cx = ndimage.center_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_center_clips_instead_of_failing():
    box = np.zeros((20, 20))
    box[0, 0] = 1.0  # all the mass in a corner: most of the box falls off the canvas
    assert pp.center(box).shape == (28, 28)


def test_to_mnist_of_an_mnist_digit_is_close_to_it():
    from digitlab import data

    (_, _), (x_test, _) = data.load_data()
    corr = [np.corrcoef(pp.to_mnist(x).ravel(), x.ravel())[0, 1] for x in x_test[:100]]
    assert np.median(corr) > 0.98 and np.mean(np.array(corr) > 0.7) > 0.9  # MNIST is nearly a fixed point


def test_to_mnist_undoes_inversion_offset_and_scale():
    digit = stroke()
    reference = pp.to_mnist(digit)
    big = np.zeros((300, 200), np.uint8)
    big[200:260, 150:190] = digit
    photo = 235 - (big.astype(float) * 0.8)  # dark ink on light paper
    out = pp.to_mnist(photo)
    assert np.abs(out.astype(int) - reference).mean() < 8


def test_naive_squashes_to_28x28():
    out = pp.naive(stroke())
    assert out.shape == (28, 28) and out.dtype == np.uint8


def test_steps_lists_every_stage():
    assert list(pp.steps(stroke())) == ["gray", "ink", "denoised", "cropped", "box", "centred", "mnist"]


def test_save_png_rejects_3d(tmp_path):
    with pytest.raises(ValueError, match="2-D"):
        pp.save_png(np.zeros((2, 2, 2)), tmp_path / "x.png")


# --- properties ------------------------------------------------------------------------------------
def _has_ink(x: np.ndarray) -> bool:
    try:
        pp.denoise(pp.to_ink(pp.read_gray(x)))
    except ValueError:
        return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    arrays(
        st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int64]),
        st.tuples(st.integers(1, 60), st.integers(1, 60)),
        elements=st.integers(0, 255),
    )
)
def test_to_mnist_returns_28x28_uint8_or_a_clear_error(x):
    try:
        out = pp.to_mnist(x)
    except ValueError as e:
        assert "blank" in str(e) or "all ink" in str(e)
        return
    assert out.shape == (28, 28) and out.dtype == np.uint8 and out.max() > 0


@settings(max_examples=40, deadline=None)
@given(
    st.integers(8, 120),
    st.integers(8, 120),
    st.integers(0, 3),
    st.integers(0, 10_000),
    st.sampled_from(["L", "RGB", "RGBA"]),
)
def test_any_drawn_stroke_yields_a_valid_digit(h, w, light, seed, mode):
    rng = np.random.default_rng(seed)
    x = np.zeros((h, w), np.uint8)
    r0, c0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
    x[r0 : r0 + max(2, h // 3), c0 : c0 + max(2, w // 6)] = 255  # a bar of ink somewhere
    if light:
        x = 255 - x
    image = Image.fromarray(x).convert(mode)
    assume(_has_ink(np.asarray(image)))
    out = pp.to_mnist(image)
    assert out.shape == (28, 28) and out.dtype == np.uint8 and out.max() == 255
    cy, cx = ndimage.center_of_mass(out.astype(float))
    assert abs(cy - 14) < 1.5 and abs(cx - 14) < 1.5


def test_uci_digits_come_back_mnist_style_with_their_labels():
    images, labels = pp.uci_digits()
    assert images.shape == (1797, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1797,) and np.bincount(labels).min() >= 170
    com = ndimage.center_of_mass(images[0].astype(float))
    assert abs(com[0] - pp.CENTER) < 1.5 and abs(com[1] - pp.CENTER) < 1.5


def test_upsample_uci_rejects_what_is_not_a_uci_digit():
    assert pp.upsample_uci(np.full((8, 8), 16.0)).shape == (32, 32)
    with pytest.raises(ValueError, match="8x8 UCI digit"):
        pp.upsample_uci(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="8x8 UCI digit"):
        pp.upsample_uci(np.full((8, 8), 255.0))
