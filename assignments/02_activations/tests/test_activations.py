"""Visible tests for module 02 (activations). Run them with `make test M=02`.

Each expected value is computed here independently, in float64, with a formula written
differently from the one the docstrings suggest.
"""

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

SEED = 0



def sample(shape, scale=3.0, dtype=np.float32):
    return (np.random.default_rng(SEED).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.points(4)
def test_sigmoid_values():
    x = sample((3, 4))
    expected = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
    out = Sigmoid()(Tensor(x))
    assert isinstance(out, Tensor), f"Sigmoid() should return a Tensor; got {type(out).__name__}"
    assert_close(out, expected, what="Sigmoid() of a (3, 4) float32 tensor")


@pytest.mark.points(3)
def test_relu_values():
    x = np.array([[-2.5, -0.0, 0.0, 1.5], [3.0, -1e-3, 7.0, -8.0]], dtype=np.float32)
    expected = np.where(x > 0, x, 0.0)
    out = ReLU()(Tensor(x))
    assert isinstance(out, Tensor), f"ReLU() should return a Tensor; got {type(out).__name__}"
    assert_close(out, expected, what=f"ReLU() of {x.tolist()}")


@pytest.mark.points(3)
def test_tanh_values():
    x = sample((2, 5)).astype(np.float64)
    e2x = np.exp(2.0 * x)
    expected = (e2x - 1.0) / (e2x + 1.0)
    out = Tanh()(Tensor(x.astype(np.float32)))
    assert_close(out, expected, what="Tanh() of a (2, 5) float32 tensor")


@pytest.mark.points(4)
def test_gelu_values():
    x = np.linspace(-5.0, 5.0, 21)
    # 0.5 * (1 + tanh(z)) == sigmoid(2z): the same GELU, written through the sigmoid.
    z = np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)
    expected = x / (1.0 + np.exp(-2.0 * z))
    out = GELU()(Tensor(x.astype(np.float32)))
    assert_close(out, expected, what="GELU() (tanh approximation) of linspace(-5, 5, 21)")


@pytest.mark.points(4)
def test_softmax_rows_sum_to_one():
    x = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    expected = np.empty((2, 3))
    for i, row in enumerate(x.astype(np.float64)):
        e = np.exp(row)
        expected[i] = e / e.sum()
    out = Softmax(dim=-1)(Tensor(x))
    assert_close(out, expected, what="Softmax(dim=-1) of [[1, 2, 3], [1, 1, 1]]")
    assert_close(np.sum(out.data, axis=-1), np.ones(2), what="row sums of Softmax(dim=-1)")


@pytest.mark.points(3)
def test_sigmoid_large_inputs_are_stable():
    x = Tensor([-1000.0, -100.0, 0.0, 100.0, 1000.0])
    try:
        with strict_numerics():
            out = Sigmoid()(x)
    except FloatingPointError as exc:
        pytest.fail(f"Sigmoid() of [-1000, -100, 0, 100, 1000] raised a NumPy warning ({exc}): "
                    "compute exp only of values <= 0, e.g. exp(-|x|)")
    assert_close(out, [0.0, 0.0, 0.5, 1.0, 1.0], what="Sigmoid() of [-1000, -100, 0, 100, 1000]")


@pytest.mark.points(3)
def test_softmax_large_inputs_are_stable():
    x = Tensor([[1000.0, 1000.0], [0.0, -1000.0], [1e4, 0.0]])
    try:
        with strict_numerics():
            out = Softmax(dim=-1)(x)
    except FloatingPointError as exc:
        pytest.fail(f"Softmax(dim=-1) of [[1000, 1000], [0, -1000], [1e4, 0]] raised a NumPy warning "
                    f"({exc}): subtract the max along dim before exp")
    assert_close(out, [[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]],
                 what="Softmax(dim=-1) of [[1000, 1000], [0, -1000], [1e4, 0]]")


@pytest.mark.points(2)
def test_sigmoid_rejects_non_tensor():
    with pytest.raises(TypeError) as info:
        Sigmoid()(np.array([1.0, 2.0]))
    assert "ndarray" in str(info.value), (
        f"Sigmoid()(np.array([1., 2.])) should raise a TypeError naming the type it got (ndarray); "
        f"the message was: {info.value}"
    )


@pytest.mark.points(2)
def test_relu_zero_fraction():
    x = Tensor([[-3.0, -1.0, 0.5, 2.0], [1.0, -0.5, 4.0, 6.0]])
    got = relu_zero_fraction(x)
    assert isinstance(got, float), f"relu_zero_fraction should return a float; got {type(got).__name__}"
    assert got == pytest.approx(3 / 8), f"relu_zero_fraction of a tensor with 3 negatives in 8: got {got}, expected 0.375"


@pytest.mark.points(2)
def test_sigmoid_saturation():
    x = Tensor([0.0, 1.0, -2.0, 10.0, -10.0, 50.0])
    # sigmoid'(x) = s(1 - s) is 0.25, 0.197, 0.105 for the first three and < 1e-4 for the rest.
    got = sigmoid_saturation(x, threshold=0.01)
    assert isinstance(got, float), f"sigmoid_saturation should return a float; got {type(got).__name__}"
    assert got == pytest.approx(0.5), f"sigmoid_saturation of [0, 1, -2, 10, -10, 50], threshold 0.01: got {got}, expected 0.5"
