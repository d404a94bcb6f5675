"""Tests of digitlab.augment: identity, a known rotation, ranges, shapes, dtypes and seeds."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from digitlab import augment  # noqa: E402


@pytest.fixture
def bar() -> np.ndarray:
    """One 28x28 image with a short vertical bar near the top-left corner."""
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 2:8, 3:5] = 1.0
    return x


@pytest.fixture
def batch() -> torch.Tensor:
    return torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_identity_parameters_return_the_input(bar, batch):
    np.testing.assert_allclose(augment.affine(bar), bar, atol=1e-5)
    same = augment.random_affine(batch, rotation=0, shift=0, shear=0, zoom=0, generator=1)
    torch.testing.assert_close(same, batch, atol=1e-5, rtol=0)
    torch.testing.assert_close(augment.elastic(batch, alpha=0, generator=1), batch, atol=1e-5, rtol=0)


def test_rotation_by_90_degrees_turns_anticlockwise(bar):
    turned = augment.affine(bar, angle=90)
    np.testing.assert_allclose(turned, np.rot90(bar, k=1, axes=(1, 2)), atol=1e-4)
    # the bar (top-left, vertical) now lies along the left of the bottom edge, horizontal
    rows, cols = np.nonzero(turned[0] > 0.5)
    assert rows.min() >= 20 and cols.max() <= 8 and np.ptp(cols) > np.ptp(rows)


def test_shift_moves_right_and_down(bar):
    moved = augment.affine(bar, shift=(0.25, 0.25))  # 7 pixels each way
    np.testing.assert_allclose(moved[0, 7:, 7:], bar[0, :-7, :-7], atol=1e-4)


def test_outputs_keep_range_shape_dtype_and_type(batch):
    ones = torch.ones(8, 28, 28, dtype=torch.float64)
    for x in (batch, ones, batch.numpy().transpose(0, 2, 3, 1), batch.numpy()[:, 0].astype(np.float16)):
        for out in (
            augment.random_affine(x, generator=0),
            augment.elastic(x, generator=0),
            augment.perturb_test_set(x, seed=0),
        ):
            assert type(out) is type(x) and out.shape == x.shape and out.dtype == x.dtype
            values = out if isinstance(out, np.ndarray) else out.numpy()
            assert values.min() >= 0 and values.max() <= 1


def test_same_seed_same_batch_and_other_seed_differs(batch):
    a = augment.random_affine(batch, generator=7)
    b = augment.random_affine(batch, generator=torch.Generator().manual_seed(7))
    c = augment.random_affine(batch, generator=8)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(augment.elastic(batch, generator=3), augment.elastic(batch, generator=3))
    p1, p2 = augment.perturb_test_set(batch, seed=5), augment.perturb_test_set(batch, seed=5, batch_size=3)
    assert torch.equal(p1, p2)  # batching does not change the result
    assert not torch.equal(p1, batch)


def test_probability_p_leaves_the_other_images_alone(batch):
    none = augment.random_affine(batch, p=0.0, generator=2)
    torch.testing.assert_close(none, batch, atol=1e-5, rtol=0)
    big = torch.rand(400, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    half = augment.random_affine(big, p=0.5, generator=2)
    unchanged = ((half - big).abs().amax(dim=(1, 2, 3)) < 1e-5).float().mean().item()
    assert 0.4 < unchanged < 0.6
    assert torch.equal(
        augment.random_affine(batch, generator=2), augment.random_affine(batch, p=1.0, generator=2)
    )


def test_each_image_gets_its_own_transform():
    same = torch.zeros(4, 1, 28, 28)
    same[:, :, 8:20, 12:16] = 1
    out = augment.random_affine(same, rotation=30, generator=0)
    assert not torch.equal(out[0], out[1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: augment.random_affine(np.zeros((2, 28, 28), np.uint8)), "floats"),
        (lambda: augment.random_affine(np.zeros((2, 3, 28, 28), np.float32)), "shape"),
        (lambda: augment.random_affine([[0.0]]), "tensor or a NumPy"),
        (lambda: augment.random_affine(np.zeros((2, 28, 28), np.float32), rotation=-1), "rotation"),
        (lambda: augment.random_affine(np.zeros((2, 28, 28), np.float32), generator="x"), "generator"),
        (lambda: augment.elastic(np.zeros((2, 28, 28), np.float32), sigma=0), "sigma"),
        (lambda: augment.random_affine(np.zeros((2, 28, 28), np.float32), p=1.5), "p must"),
        (lambda: augment.affine(np.zeros((2, 28, 28), np.float32), angle=[1, 2, 3]), "angle"),
        (lambda: augment.affine(np.zeros((2, 28, 28), np.float32), scale=0), "scale"),
        (lambda: augment.perturb_test_set(np.zeros((2, 28, 28), np.float32), seed=-1), "seed"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def _old_affine_matrices(angle, shift_x, shift_y, shear, scale):
    """The formula before the closed-form inverse: torch.linalg.inv, which syncs a GPU."""
    theta = torch.deg2rad(angle)
    cos, sin = torch.cos(theta), torch.sin(theta)
    rot = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)
    one, zero = torch.ones_like(shear), torch.zeros_like(shear)
    shr = torch.stack([torch.stack([one, shear], -1), torch.stack([zero, one], -1)], -2)
    inverse = torch.linalg.inv(rot @ shr * scale[:, None, None])
    t = torch.stack([2 * shift_x, 2 * shift_y], -1)[..., None]
    return torch.cat([inverse, -inverse @ t], dim=-1)


def test_the_closed_form_inverse_matches_the_old_formula_without_linalg(monkeypatch):
    g = torch.Generator().manual_seed(0)
    n = 512
    params = [
        torch.rand(n, generator=g) * 360 - 180,
        torch.rand(n, generator=g) - 0.5,
        torch.rand(n, generator=g) - 0.5,
        torch.rand(n, generator=g) * 2 - 1,
        torch.rand(n, generator=g) * 1.8 + 0.1,
    ]
    expected = _old_affine_matrices(*params)
    images = torch.rand(64, 1, 28, 28, generator=g)
    old = augment._warp_affine(images, _old_affine_matrices(*[p[:64] for p in params]))

    def no_inverse(*args, **kwargs):
        raise AssertionError("torch.linalg.inv waits for its error check on a GPU: a host sync")

    monkeypatch.setattr(torch.linalg, "inv", no_inverse)
    got = augment.affine_matrices(*params)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert got.dtype == torch.float32 and got.shape == (n, 2, 3)
    torch.testing.assert_close(augment._warp_affine(images, got[:64]), old, rtol=0, atol=1e-5)
    drawn = augment.random_matrices(16, p=0.5, generator=3)
    assert drawn.device.type == "cpu" and drawn.shape == (16, 2, 3)


def test_matrices_are_built_where_the_generator_is_and_moved_once(monkeypatch):
    moves = []
    real = augment._to_device
    monkeypatch.setattr(
        augment, "_to_device", lambda t, d: moves.append((t.device.type, d.type)) or real(t, d)
    )
    augment.random_affine(torch.rand(8, 28, 28), generator=1)
    assert moves == [("cpu", "cpu")], "one (n, 2, 3) tensor moved, not five vectors"
    t = torch.zeros(2, 2, 3)
    assert augment._to_device(t, torch.device("cpu")) is t
