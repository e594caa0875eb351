"""Hidden tests for module 02 (activations): dtypes, shapes, dims, precision, errors."""

import math

import numpy as np
import pytest

from tinytorch.core.activations import (
    GELU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    relu_zero_fraction,
    sigmoid_saturation,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import assert_close, strict_numerics

SEED = 2
ALL_ACTIVATIONS = [Sigmoid, ReLU, Tanh, GELU, Softmax]



def softmax_by_loops(x: np.ndarray, dim: int) -> np.ndarray:
    """Softmax along `dim` one 1-D slice at a time, in float64."""
    moved = np.moveaxis(x.astype(np.float64), dim, -1)
    out = np.empty_like(moved)
    for index in np.ndindex(moved.shape[:-1]):
        row = moved[index]
        e = np.exp(row - row.max())
        out[index] = e / e.sum()
    return np.moveaxis(out, -1, dim)


@pytest.mark.points(3)
def test_output_dtype_matches_input_dtype():
    x64 = np.random.default_rng(SEED).standard_normal((2, 3))
    for cls in ALL_ACTIVATIONS:
        for dtype in (np.float32, np.float64):
            out = cls()(Tensor(x64.astype(dtype)))
            assert np.dtype(out.dtype) == np.dtype(dtype), (
                f"{cls.__name__}() of a {np.dtype(dtype).name} tensor should keep dtype "
                f"{np.dtype(dtype).name}; got {np.dtype(out.dtype).name}"
            )
            assert out.shape == (2, 3), f"{cls.__name__}() of a (2, 3) tensor should have shape (2, 3); got {out.shape}"


@pytest.mark.points(2)
def test_input_tensor_is_not_modified():
    original = np.array([[-1.0, 2.0, -3.0], [0.5, -0.5, 4.0]], dtype=np.float32)
    for cls in ALL_ACTIVATIONS:
        x = Tensor(original.copy())
        out = cls()(x)
        assert out is not x, f"{cls.__name__}() should return a new Tensor, not its input"
        assert np.array_equal(x.data, original), (
            f"{cls.__name__}() changed its input in place: it became {x.data.tolist()}"
        )


@pytest.mark.points(3)
def test_softmax_dim1_of_3d_tensor():
    x = np.random.default_rng(SEED).standard_normal((2, 3, 4)).astype(np.float32) * 4
    out = Softmax(dim=1)(Tensor(x))
    assert_close(out, softmax_by_loops(x, 1), what="Softmax(dim=1) of a (2, 3, 4) tensor")
    assert_close(np.sum(out.data, axis=1), np.ones((2, 4)), what="sums along dim 1 of Softmax(dim=1)")


@pytest.mark.points(2)
def test_softmax_dim0_and_negative_dims():
    x = np.random.default_rng(SEED + 1).standard_normal((3, 2, 2)).astype(np.float32)
    assert_close(Softmax(dim=0)(Tensor(x)), softmax_by_loops(x, 0), what="Softmax(dim=0) of a (3, 2, 2) tensor")
    assert_close(Softmax(dim=-3)(Tensor(x)), softmax_by_loops(x, 0), what="Softmax(dim=-3) of a (3, 2, 2) tensor")
    assert_close(Softmax(dim=-2)(Tensor(x)), softmax_by_loops(x, 1), what="Softmax(dim=-2) of a (3, 2, 2) tensor")
    assert_close(Softmax()(Tensor(x)), softmax_by_loops(x, 2), what="Softmax() (default dim=-1) of a (3, 2, 2) tensor")


@pytest.mark.points(2)
def test_softmax_dim_out_of_range_raises_indexerror():
    x = Tensor(np.zeros((2, 3)))
    for dim in (2, 5, -3):
        with pytest.raises(IndexError) as info:
            Softmax(dim=dim)(x)
        message = str(info.value)
        assert str(dim) in message and "2" in message, (
            f"Softmax(dim={dim}) of a 2-D tensor should raise an IndexError naming dim={dim} and ndim=2; "
            f"the message was: {message}"
        )


@pytest.mark.points(1)
def test_softmax_single_element_and_single_row():
    assert_close(Softmax(dim=-1)(Tensor([[7.0]])), [[1.0]], what="Softmax(dim=-1) of [[7.0]]")
    row = np.array([[0.5, -1.0, 2.0, 0.0]], dtype=np.float32)
    assert_close(Softmax(dim=-1)(Tensor(row)), softmax_by_loops(row, -1), what="Softmax(dim=-1) of a (1, 4) tensor")
    assert_close(Softmax(dim=0)(Tensor(row)), np.ones((1, 4)), what="Softmax(dim=0) of a (1, 4) tensor (one element per slice)")


@pytest.mark.points(2)
def test_softmax_is_shift_invariant_and_stable_for_very_negative_rows():
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float64)
    shifted = np.vstack([x + 500.0, x - 1e4, x * 1e4])
    try:
        with strict_numerics():
            out = Softmax(dim=-1)(Tensor(shifted))
    except FloatingPointError as exc:
        pytest.fail(f"Softmax(dim=-1) of rows near +500, -1e4 and 3e4 raised a NumPy warning ({exc})")
    base = softmax_by_loops(x, -1)[0]
    assert_close(out, [base, base, [0.0, 0.0, 1.0]], what="Softmax(dim=-1) of [x + 500, x - 1e4, x * 1e4], x = [1, 2, 3]")


@pytest.mark.points(3)
def test_large_inputs_stable_for_every_activation():
    x = np.array([-1e4, -1000.0, -50.0, 50.0, 1000.0, 1e4])
    expected = {
        Sigmoid: (x > 0).astype(np.float64),
        ReLU: np.where(x > 0, x, 0.0),
        Tanh: np.sign(x),
        GELU: np.where(x > 0, x, 0.0),
    }
    for cls, want in expected.items():
        try:
            with strict_numerics():
                out = cls()(Tensor(x))
        except FloatingPointError as exc:
            pytest.fail(f"{cls.__name__}() of [-1e4, -1000, -50, 50, 1000, 1e4] (float64) raised a NumPy warning ({exc})")
        assert_close(out, want, what=f"{cls.__name__}() of [-1e4, -1000, -50, 50, 1000, 1e4] (float64)")


@pytest.mark.points(2)
def test_sigmoid_tails_keep_float64_precision():
    x = np.array([-36.0, -30.0, -20.0, -5.0, 5.0, 20.0])
    expected = np.array([1.0 / (1.0 + math.exp(-v)) for v in x])
    # A formula like 1 - sigmoid(-x) for negative x loses every digit of these tiny values.
    assert_close(Sigmoid()(Tensor(x)), expected, rtol=1e-12, atol=0.0,
                 what="Sigmoid() of [-36, -30, -20, -5, 5, 20] in float64 (relative precision in the tails)")


@pytest.mark.points(3)
def test_non_tensor_input_raises_typeerror_naming_the_type():
    for cls in ALL_ACTIVATIONS:
        for bad, type_name in (([1.0, 2.0], "list"), (np.ones(3), "ndarray"), (2.5, "float")):
            with pytest.raises(TypeError) as info:
                cls()(bad)
            assert type_name in str(info.value), (
                f"{cls.__name__}()({bad!r}) should raise a TypeError naming the type it got ({type_name}); "
                f"the message was: {info.value}"
            )


@pytest.mark.points(1)
def test_gelu_known_values_and_minimum():
    out = GELU()(Tensor(np.array([-1.0, 0.0, 1.0, 3.0])))
    # The tanh approximation evaluated once with Python's math module, in double precision.
    assert_close(out, [-0.15880800939172324, 0.0, 0.8411919906082768, 2.996362607918227],
                 rtol=1e-9, atol=1e-12, what="GELU() of [-1, 0, 1, 3] in float64")
    grid = np.linspace(-3.0, 0.0, 3001)
    lowest = float(np.min(GELU()(Tensor(grid)).data))
    assert -0.171 < lowest < -0.169, f"the minimum of GELU() on [-3, 0] should be about -0.170; got {lowest:.4f}"


@pytest.mark.points(2)
def test_relu_zero_fraction_counts_zeros_and_accepts_arrays():
    x = np.array([[0.0, 0.0, -1.0], [2.0, 0.0, 5.0], [-3.0, 1.0, 1.0]])
    got = relu_zero_fraction(x)
    assert got == pytest.approx(5 / 9), f"relu_zero_fraction of a (3, 3) array with 3 zeros and 2 negatives: got {got}, expected 5/9"
    rng = np.random.default_rng(SEED)
    gaussian = Tensor(rng.standard_normal(10_000))
    frac = relu_zero_fraction(gaussian)
    expected = float(np.count_nonzero(gaussian.data <= 0)) / gaussian.size
    assert frac == pytest.approx(expected), f"relu_zero_fraction of 10,000 standard normals: got {frac}, expected {expected}"
    with pytest.raises(ValueError):
        relu_zero_fraction(Tensor(np.zeros((0, 3))))


@pytest.mark.points(3)
def test_sigmoid_saturation_matches_derivative_via_tanh():
    x = np.random.default_rng(SEED).standard_normal(5000) * 6.0
    # sigmoid'(x) = s(1 - s) = 0.25 * (1 - tanh(x / 2)^2), written without the sigmoid.
    derivative = 0.25 * (1.0 - np.tanh(x / 2.0) ** 2)
    for threshold in (0.01, 0.1, 0.2):
        got = sigmoid_saturation(Tensor(x), threshold=threshold)
        expected = float(np.mean(derivative < threshold))
        assert got == pytest.approx(expected, abs=1e-3), (
            f"sigmoid_saturation of 5000 normals * 6 at threshold {threshold}: got {got}, expected {expected:.4f}"
        )
    assert sigmoid_saturation(Tensor(x), threshold=0.3) == 1.0, "every input is saturated when threshold > 0.25"
    assert sigmoid_saturation(np.array([0.0, 1000.0, -1000.0])) == pytest.approx(2 / 3), (
        "sigmoid_saturation(np.array([0, 1000, -1000])) with the default threshold should be 2/3"
    )
    with pytest.raises(ValueError):
        sigmoid_saturation(Tensor(x), threshold=0.0)


@pytest.mark.points(1)
def test_zero_dim_and_four_dim_inputs_keep_their_shape():
    scalar = ReLU()(Tensor(-2.0))
    assert scalar.shape == (), f"ReLU() of a 0-d tensor should have shape (); got {scalar.shape}"
    assert_close(scalar, 0.0, what="ReLU()(Tensor(-2.0))")
    x = np.random.default_rng(SEED).standard_normal((2, 3, 2, 2)).astype(np.float32)
    assert_close(Sigmoid()(Tensor(x)), 1.0 / (1.0 + np.exp(-x.astype(np.float64))), what="Sigmoid() of a (2, 3, 2, 2) tensor")
