"""Visible tests for module 01 (tensor). Run them with `make test M=01`.

Each test compares your Tensor with an independent NumPy computation (written differently
where that makes sense: a loop or `einsum` for matmul). The grader also runs hidden tests that
go deeper (edge shapes, dtypes, aliasing, error messages); passing these is the first step.
"""

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor, matmul_flops, tensor_nbytes
from tinytorch.testing import assert_close

SEED = 0


def rng():
    return np.random.default_rng(SEED)


# ---------------------------------------------------------------------- construction


@pytest.mark.points(2)
def test_construct_from_list_is_float32():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(t.data, np.ndarray), f"Tensor(list).data should be an np.ndarray; got {type(t.data)}"
    assert t.data.dtype == np.float32, f"Tensor([[1.0, 2.0], [3.0, 4.0]]).data.dtype should be float32; got {t.data.dtype}"
    assert_close(t.data, [[1, 2], [3, 4]], what="Tensor([[1.0, 2.0], [3.0, 4.0]]).data")


@pytest.mark.points(1)
def test_construct_ints_become_float32():
    from_list = Tensor([1, 2, 3])
    from_array = Tensor(np.array([1, 2, 3], dtype=np.int64))
    from_scalar = Tensor(5)
    for name, t in [("Tensor([1, 2, 3])", from_list), ("Tensor(int64 array)", from_array), ("Tensor(5)", from_scalar)]:
        assert t.data.dtype == np.float32, f"{name}.data.dtype should be float32; got {t.data.dtype}"
    assert_close(from_array.data, [1, 2, 3], what="Tensor(np.array([1, 2, 3])).data")
    assert from_scalar.data.shape == (), f"Tensor(5).data should be 0-d; got shape {from_scalar.data.shape}"


@pytest.mark.points(1)
def test_construct_keeps_float64_array():
    x = rng().standard_normal((2, 3))   # float64
    t = Tensor(x)
    assert t.data.dtype == np.float64, (
        "Tensor(float64 array) should keep float64 (module 05 checks gradients in float64); "
        f"got {t.data.dtype}"
    )
    assert np.array_equal(t.data, x), "Tensor(float64 array).data should hold exactly the same values"


@pytest.mark.points(1)
def test_construct_explicit_dtype_wins():
    t = Tensor(np.ones(3, dtype=np.float64), dtype=np.float32)
    assert t.data.dtype == np.float32, f"Tensor(float64 array, dtype=np.float32) should be float32; got {t.data.dtype}"
    u = Tensor([1, 2], dtype=np.float64)
    assert u.data.dtype == np.float64, f"Tensor([1, 2], dtype=np.float64) should be float64; got {u.data.dtype}"


@pytest.mark.points(1)
def test_construct_copies_input():
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    t = Tensor(x)
    x[0] = 100.0
    assert t.data[0] == 1.0, (
        "Tensor(x) should copy x: after x[0] = 100, the Tensor still holds 1.0 "
        f"(got {t.data[0]}). Use np.array(data, ...), which copies."
    )


@pytest.mark.points(1)
def test_construct_from_tensor():
    a = Tensor([1.0, 2.0])
    b = Tensor(a)
    assert isinstance(b.data, np.ndarray), f"Tensor(Tensor).data should be an np.ndarray; got {type(b.data)}"
    assert_close(b.data, [1, 2], what="Tensor(Tensor([1.0, 2.0])).data")


@pytest.mark.points(1)
def test_properties():
    t = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    assert t.shape == (2, 3, 4), f"Tensor(np.zeros((2, 3, 4))).shape should be (2, 3, 4); got {t.shape}"
    assert t.size == 24, f".size should be 24; got {t.size}"
    assert t.ndim == 3, f".ndim should be 3; got {t.ndim}"
    assert t.dtype == np.float64, f".dtype should be float64; got {t.dtype}"
    assert t.requires_grad is True, f".requires_grad should be True; got {t.requires_grad!r}"
    assert t.grad is None, f".grad should start as None; got {t.grad!r}"
    assert Tensor([1.0]).requires_grad is False, "requires_grad should default to False"


# ---------------------------------------------------------------------- element-wise ops

OPS = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("name", list(OPS))
def test_elementwise_op(name):
    op, np_op = OPS[name]
    g = rng()
    a = g.standard_normal((3, 4)).astype(np.float32)
    b = (g.uniform(0.5, 2.0, (3, 4)) * g.choice([-1, 1], (3, 4))).astype(np.float32)
    out = op(Tensor(a), Tensor(b))
    assert isinstance(out, Tensor), f"Tensor {name} Tensor should return a Tensor; got {type(out)}"
    expected = np_op(a.astype(np.float64), b.astype(np.float64))
    assert_close(out, expected, what=f"Tensor(a) {name} Tensor(b), shapes (3, 4)")


REFLECTED = {
    "2.0 + t": (lambda t: 2.0 + t, lambda x: x + 2.0),
    "2.0 - t": (lambda t: 2.0 - t, lambda x: 2.0 - x),
    "2.0 * t": (lambda t: 2.0 * t, lambda x: x * 2.0),
    "2.0 / t": (lambda t: 2.0 / t, lambda x: 2.0 * np.reciprocal(x)),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("expr", list(REFLECTED))
def test_reflected_op_with_scalar(expr):
    op, expected_fn = REFLECTED[expr]
    x = np.array([[1.0, -2.0, 4.0], [0.5, 8.0, -1.0]], dtype=np.float32)
    out = op(Tensor(x))
    assert isinstance(out, Tensor), f"{expr} should return a Tensor; got {type(out)}"
    assert_close(out, expected_fn(x.astype(np.float64)), what=f"{expr} with t = Tensor({x.tolist()})")


@pytest.mark.points(1)
def test_scalar_on_the_right():
    x = np.array([1.0, -2.0, 4.0], dtype=np.float32)
    t = Tensor(x)
    assert_close(t + 1, x + 1.0, what="Tensor([1, -2, 4]) + 1")
    assert_close(t - 1, x - 1.0, what="Tensor([1, -2, 4]) - 1")
    assert_close(t * 3, x * 3.0, what="Tensor([1, -2, 4]) * 3")
    assert_close(t / 4, x * 0.25, what="Tensor([1, -2, 4]) / 4")


@pytest.mark.points(1)
def test_neg():
    x = np.array([[1.0, -2.0], [0.0, 3.5]], dtype=np.float32)
    out = -Tensor(x)
    assert isinstance(out, Tensor), f"-Tensor should return a Tensor; got {type(out)}"
    assert_close(out, 0.0 - x, what="-Tensor([[1, -2], [0, 3.5]])")


@pytest.mark.points(1)
@pytest.mark.parametrize("shape_a, shape_b, shape_out", [
    ((2, 3), (3,), (2, 3)),
    ((4, 1), (1, 5), (4, 5)),
    ((2, 3), (), (2, 3)),
], ids=["2x3_by_3", "4x1_by_1x5", "2x3_by_scalar"])
def test_broadcasting(shape_a, shape_b, shape_out):
    g = rng()
    a = g.standard_normal(shape_a).astype(np.float32)
    b = g.standard_normal(shape_b).astype(np.float32)
    out = Tensor(a) + Tensor(b)
    # independent: tile both operands to the output shape explicitly
    expected = np.broadcast_to(a, shape_out).astype(np.float64) + np.broadcast_to(b, shape_out)
    assert_close(out, expected, what=f"Tensor of shape {shape_a} + Tensor of shape {shape_b}")


@pytest.mark.points(1)
def test_python_float_keeps_float32():
    t = Tensor([1.0, 2.0])
    for expr, out in [("t + 0.5", t + 0.5), ("0.5 * t", 0.5 * t), ("t / 3.0", t / 3.0), ("1.0 - t", 1.0 - t)]:
        assert out.dtype == np.float32, f"{expr} for a float32 t should stay float32; got {out.dtype}"


@pytest.mark.points(2)
def test_bad_broadcast_names_both_shapes():
    a = Tensor(np.zeros((2, 3), dtype=np.float32))
    b = Tensor(np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError) as excinfo:
        a + b
    message = str(excinfo.value)
    assert "(2, 3)" in message and "(4,)" in message, (
        f"Tensor (2, 3) + Tensor (4,) should raise ValueError naming both shapes; message was {message!r}"
    )


# ---------------------------------------------------------------------- matmul


@pytest.mark.points(2)
def test_matmul_2d():
    g = rng()
    a = g.standard_normal((3, 4)).astype(np.float32)
    b = g.standard_normal((4, 2)).astype(np.float32)
    expected = np.zeros((3, 2))
    for i in range(3):
        for j in range(2):
            expected[i, j] = sum(float(a[i, p]) * float(b[p, j]) for p in range(4))
    assert_close(Tensor(a) @ Tensor(b), expected, what="Tensor (3, 4) @ Tensor (4, 2)")
    assert_close(Tensor(a).matmul(Tensor(b)), expected, what="Tensor (3, 4).matmul(Tensor (4, 2))")


@pytest.mark.points(2)
def test_matmul_batched():
    g = rng()
    a = g.standard_normal((5, 3, 4)).astype(np.float32)   # (B, T, C)
    w = g.standard_normal((4, 2)).astype(np.float32)      # (C, D)
    b = g.standard_normal((5, 4, 6)).astype(np.float32)   # (B, C, T')
    assert_close(Tensor(a) @ Tensor(w), np.einsum("btc,cd->btd", a.astype(np.float64), w),
                 what="Tensor (5, 3, 4) @ Tensor (4, 2)")
    assert_close(Tensor(a) @ Tensor(b), np.einsum("btc,bcs->bts", a.astype(np.float64), b),
                 what="Tensor (5, 3, 4) @ Tensor (5, 4, 6)")


@pytest.mark.points(1)
def test_matmul_1d():
    g = rng()
    m = g.standard_normal((3, 4)).astype(np.float32)
    v = g.standard_normal(4).astype(np.float32)
    expected = np.array([sum(float(m[i, p]) * float(v[p]) for p in range(4)) for i in range(3)])
    assert_close(Tensor(m) @ Tensor(v), expected, what="Tensor (3, 4) @ Tensor (4,)")


@pytest.mark.points(2)
def test_matmul_shape_mismatch_names_both_shapes():
    a = Tensor(np.zeros((2, 3), dtype=np.float32))
    b = Tensor(np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(ValueError) as excinfo:
        a @ b
    message = str(excinfo.value)
    assert "(2, 3)" in message and "(4, 5)" in message, (
        f"Tensor (2, 3) @ Tensor (4, 5) should raise ValueError naming both shapes; message was {message!r}"
    )


# ---------------------------------------------------------------------- shape ops


@pytest.mark.points(1)
def test_reshape():
    x = np.arange(12, dtype=np.float32)
    t = Tensor(x)
    for args, shape in [((3, 4), (3, 4)), (((2, 6),), (2, 6)), ((2, -1, 3), (2, 2, 3)), ((-1,), (12,))]:
        out = t.reshape(*args)
        assert isinstance(out, Tensor), f"reshape should return a Tensor; got {type(out)}"
        call = f"Tensor(arange(12)).reshape{args if len(args) > 1 else '(' + repr(args[0]) + ')'}"
        # independent: element order is row-major, so the flat values are unchanged
        assert out.shape == shape, f"{call}.shape should be {shape}; got {out.shape}"
        assert_close(out.data.ravel(), x, what=f"{call} flattened")


@pytest.mark.points(1)
def test_reshape_impossible_raises():
    t = Tensor(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError) as excinfo:
        t.reshape(4, 2)
    message = str(excinfo.value)
    assert "(2, 3)" in message and "(4, 2)" in message, (
        f"Tensor (2, 3).reshape(4, 2) should raise ValueError naming both shapes; message was {message!r}"
    )


@pytest.mark.points(1)
def test_transpose():
    x = rng().standard_normal((2, 3, 4)).astype(np.float32)
    t = Tensor(x)
    expected_default = np.array([[[x[b, i, j] for i in range(3)] for j in range(4)] for b in range(2)])
    assert_close(t.transpose(), expected_default, what="Tensor (2, 3, 4).transpose()")
    assert_close(t.transpose(0, 2), np.einsum("abc->cba", x), what="Tensor (2, 3, 4).transpose(0, 2)")
    assert_close(t.transpose(-3, -2), np.einsum("abc->bac", x), what="Tensor (2, 3, 4).transpose(-3, -2)")


@pytest.mark.points(1)
def test_transpose_bad_dim_raises():
    t = Tensor(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(IndexError):
        t.transpose(0, 2)
    with pytest.raises(IndexError):
        Tensor([1.0, 2.0, 3.0]).transpose()


# ---------------------------------------------------------------------- reductions

X23 = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], dtype=np.float32)


@pytest.mark.points(2)
def test_sum():
    t = Tensor(X23)
    rows = [[float(v) for v in r] for r in X23]
    assert_close(t.sum(), sum(sum(r) for r in rows), what="Tensor (2, 3).sum()")
    assert_close(t.sum(axis=0), [rows[0][j] + rows[1][j] for j in range(3)], what="Tensor (2, 3).sum(axis=0)")
    assert_close(t.sum(axis=1, keepdims=True), [[sum(r)] for r in rows], what="Tensor (2, 3).sum(axis=1, keepdims=True)")
    assert_close(t.sum(axis=(0, 1)), sum(sum(r) for r in rows), what="Tensor (2, 3).sum(axis=(0, 1))")


@pytest.mark.points(1)
def test_mean():
    t = Tensor(X23)
    assert_close(t.mean(), X23.astype(np.float64).sum() / 6, what="Tensor (2, 3).mean()")
    assert_close(t.mean(axis=-1), X23.astype(np.float64).sum(axis=1) / 3, what="Tensor (2, 3).mean(axis=-1)")
    assert_close(t.mean(axis=0, keepdims=True), X23.astype(np.float64).sum(axis=0, keepdims=True) / 2,
                 what="Tensor (2, 3).mean(axis=0, keepdims=True)")


@pytest.mark.points(1)
def test_max():
    t = Tensor(X23)
    assert_close(t.max(), 5.0, what="Tensor (2, 3).max()")
    assert_close(t.max(axis=0), [4.0, 5.0, 3.0], what="Tensor (2, 3).max(axis=0)")
    assert_close(t.max(axis=1, keepdims=True), [[3.0], [5.0]], what="Tensor (2, 3).max(axis=1, keepdims=True)")


# ---------------------------------------------------------------------- indexing & access


@pytest.mark.points(2)
def test_getitem():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = Tensor(x)
    cases = [
        ("t[1]", t[1], [4, 5, 6, 7]),
        ("t[:, 2]", t[:, 2], [2, 6, 10]),
        ("t[1:, ::2]", t[1:, ::2], [[4, 6], [8, 10]]),
        ("t[2, 3]", t[2, 3], 11),
        ("t[[0, 2, 0]]", t[[0, 2, 0]], [[0, 1, 2, 3], [8, 9, 10, 11], [0, 1, 2, 3]]),
        ("t[np.array([2, 0]), 1]", t[np.array([2, 0]), 1], [9, 1]),
    ]
    for call, out, expected in cases:
        assert isinstance(out, Tensor), f"{call} should return a Tensor; got {type(out)}"
        assert_close(out, np.array(expected, dtype=np.float64), what=f"{call} with t = Tensor(arange(12).reshape(3, 4))")


@pytest.mark.points(1)
def test_len_item_numpy():
    t = Tensor(np.zeros((4, 3), dtype=np.float32))
    assert len(t) == 4, f"len(Tensor (4, 3)) should be 4; got {len(t)}"
    value = Tensor([[2.5]]).item()
    assert type(value) is float and value == 2.5, f"Tensor([[2.5]]).item() should be the Python float 2.5; got {value!r}"
    arr = t.numpy()
    assert isinstance(arr, np.ndarray) and arr.shape == (4, 3), f"Tensor (4, 3).numpy() should be a (4, 3) ndarray; got {arr!r}"
    with pytest.raises(ValueError):
        Tensor([1.0, 2.0]).item()


@pytest.mark.points(1)
def test_repr():
    text = repr(Tensor([[1.0, 2.0]]))
    assert text.startswith("Tensor("), f"repr should start with 'Tensor('; got {text!r}"
    assert "(1, 2)" in text, f"repr(Tensor([[1., 2.]])) should show the shape (1, 2); got {text!r}"
    assert "1." in text and "2." in text, f"repr(Tensor([[1., 2.]])) should show the values; got {text!r}"
    grad_text = repr(Tensor([1.0], requires_grad=True))
    assert "requires_grad=True" in grad_text, f"repr of a Tensor with requires_grad=True should say so; got {grad_text!r}"


# ---------------------------------------------------------------------- systems questions


@pytest.mark.points(1)
def test_matmul_flops():
    assert matmul_flops(2, 3, 4) == 48, f"matmul_flops(2, 3, 4) should be 2*2*3*4 = 48; got {matmul_flops(2, 3, 4)}"
    assert matmul_flops(1, 1, 1) == 2, f"matmul_flops(1, 1, 1) should be 2 (one multiply, one add); got {matmul_flops(1, 1, 1)}"


@pytest.mark.points(1)
def test_tensor_nbytes():
    got = tensor_nbytes((32, 1024, 768))
    assert got == 32 * 1024 * 768 * 4, f"tensor_nbytes((32, 1024, 768)) (float32) should be {32 * 1024 * 768 * 4}; got {got}"
    got64 = tensor_nbytes((2, 3), np.float64)
    assert got64 == 48, f"tensor_nbytes((2, 3), np.float64) should be 48; got {got64}"
