"""Hidden tests for module 01 (tensor): edge shapes, dtypes, aliasing and error messages.

Run by the grader only. Students see each test's name, outcome and a short category message,
so the names say what is checked.
"""

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor, matmul_flops, tensor_nbytes
from tinytorch.testing import assert_close

SEED = 0


def rng():
    return np.random.default_rng(SEED)


def f32(*shape):
    return rng().standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------- construction


@pytest.mark.points(1)
def test_construct_numpy_floats_keep_dtype():
    for dtype in (np.float16, np.float32):
        t = Tensor(np.ones((2, 2), dtype=dtype))
        assert t.dtype == dtype, f"Tensor({np.dtype(dtype)} array).dtype should stay {np.dtype(dtype)}; got {t.dtype}"
    t = Tensor(np.float64(1.5))
    assert t.dtype == np.float64 and t.shape == (), (
        f"Tensor(np.float64(1.5)) should be a 0-d float64 Tensor; got shape {t.shape}, dtype {t.dtype}"
    )
    assert_close(t, 1.5, what="Tensor(np.float64(1.5))")


@pytest.mark.points(1)
def test_construct_bools_and_python_floats_become_float32():
    cases = [("Tensor([True, False])", Tensor([True, False])), ("Tensor(2.5)", Tensor(2.5)),
             ("Tensor(np.array([True]))", Tensor(np.array([True]))), ("Tensor([[0.1, 0.2]])", Tensor([[0.1, 0.2]]))]
    for name, t in cases:
        assert t.dtype == np.float32, f"{name}.dtype should be float32; got {t.dtype}"
    assert_close(cases[0][1], [1.0, 0.0], what="Tensor([True, False])")


@pytest.mark.points(1)
def test_construct_from_tensor_does_not_alias():
    a = Tensor(np.array([1.0, 2.0]))
    b = Tensor(a)
    b.data[0] = 50.0
    assert a.data[0] == 1.0, "Tensor(other_tensor) should copy: changing the new Tensor changed the old one"
    assert b.dtype == np.float64, f"Tensor(float64 Tensor) should keep float64; got {b.dtype}"


@pytest.mark.points(1)
def test_construct_nested_0d_and_empty_shapes():
    t = Tensor([[[1, 2], [3, 4], [5, 6]]])
    assert t.shape == (1, 3, 2), f"Tensor([[[1, 2], [3, 4], [5, 6]]]).shape should be (1, 3, 2); got {t.shape}"
    assert t.size == 6 and t.ndim == 3, f"size/ndim should be 6/3; got {t.size}/{t.ndim}"
    s = Tensor(3.0)
    assert (s.shape, s.size, s.ndim) == ((), 1, 0), f"Tensor(3.0) shape/size/ndim should be ()/1/0; got {s.shape}/{s.size}/{s.ndim}"
    e = Tensor(np.zeros((0, 3)))
    assert (e.shape, e.size, e.ndim) == ((0, 3), 0, 2), f"Tensor (0, 3) shape/size/ndim should be (0, 3)/0/2; got {e.shape}/{e.size}/{e.ndim}"
    assert isinstance(s.size, int), f".size should be a Python int; got {type(s.size)}"


@pytest.mark.points(1)
def test_requires_grad_stored_as_bool():
    t = Tensor([1.0], requires_grad=1)
    assert t.requires_grad is True, f"Tensor(..., requires_grad=1).requires_grad should be the bool True; got {t.requires_grad!r}"
    assert t.grad is None, f".grad should start as None; got {t.grad!r}"


# ---------------------------------------------------------------------- element-wise ops

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.points(1)
def test_ops_do_not_modify_or_alias_inputs():
    a_np, b_np = f32(2, 3), np.full((2, 3), 2.0, dtype=np.float32)
    a, b = Tensor(a_np), Tensor(b_np)
    for name, op in BINARY.items():
        out = op(a, b)
        assert np.array_equal(a.data, a_np) and np.array_equal(b.data, b_np), f"Tensor {name} Tensor changed an input Tensor"
        assert out is not a and out is not b, f"Tensor {name} Tensor should return a new Tensor, not an input"
        assert not np.shares_memory(out.data, a.data) and not np.shares_memory(out.data, b.data), (
            f"the result of Tensor {name} Tensor shares memory with an input"
        )


@pytest.mark.points(1)
@pytest.mark.parametrize("name", list(BINARY))
def test_ops_with_ndarray_operand_on_either_side(name):
    op = BINARY[name]
    x = f32(2, 3)
    y = np.array([1.0, -2.0, 4.0], dtype=np.float32)
    right, left = op(Tensor(x), y), op(y, Tensor(x))
    for expr, out, expected in [(f"Tensor {name} ndarray", right, op(x.astype(np.float64), y)),
                                (f"ndarray {name} Tensor", left, op(y.astype(np.float64), x))]:
        assert isinstance(out, Tensor), f"{expr} should return a Tensor; got {type(out)}"
        assert_close(out, expected, what=f"{expr}, shapes (2, 3) and (3,)")


@pytest.mark.points(1)
def test_float64_preserved_through_elementwise_ops():
    a, b = Tensor(np.array([1.0, 2.0])), Tensor(np.array([3.0, 4.0]))
    for name, op in BINARY.items():
        for expr, out in [(f"float64 {name} float64", op(a, b)), (f"float64 {name} 2.0", op(a, 2.0)),
                          (f"2.0 {name} float64", op(2.0, a))]:
            assert out.dtype == np.float64, f"{expr} should stay float64; got {out.dtype}"


@pytest.mark.points(1)
def test_python_scalars_keep_float32_for_all_ops():
    t = Tensor([1.0, 2.0, 4.0])
    for expr, out in [("t + 1", t + 1), ("1 + t", 1 + t), ("t - 1.5", t - 1.5), ("1.5 - t", 1.5 - t),
                      ("t * 2", t * 2), ("2 * t", 2 * t), ("t / 3.0", t / 3.0), ("3.0 / t", 3.0 / t), ("-t", -t)]:
        assert out.dtype == np.float32, f"{expr} for a float32 t should stay float32; got {out.dtype}"


@pytest.mark.points(1)
def test_float16_with_python_scalar_stays_float16():
    t = Tensor(np.array([1.0, 2.0], dtype=np.float16))
    out = t * 0.5
    assert out.dtype == np.float16, f"float16 Tensor * 0.5 should stay float16 (a Python number is weak); got {out.dtype}"
    assert_close(out, [0.5, 1.0], what="float16 Tensor([1, 2]) * 0.5")


@pytest.mark.points(1)
def test_reflected_sub_and_div_order():
    x = np.array([2.0, 4.0, -8.0], dtype=np.float32)
    t = Tensor(x)
    assert_close(10.0 - t, [8.0, 6.0, 18.0], what="10.0 - Tensor([2, 4, -8])")
    assert_close(1.0 / t, [0.5, 0.25, -0.125], what="1.0 / Tensor([2, 4, -8])")
    assert_close(np.float32(3.0) - t, [1.0, -1.0, 11.0], what="np.float32(3.0) - Tensor([2, 4, -8])")


@pytest.mark.points(1)
def test_neg_does_not_modify_input_and_keeps_dtype():
    t = Tensor(np.array([1.0, -2.0]))
    out = -t
    assert_close(t, [1.0, -2.0], what="t after -t (t must not change)")
    assert_close(out, [-1.0, 2.0], what="-Tensor([1., -2.])")
    assert out.dtype == np.float64, f"-t for a float64 t should stay float64; got {out.dtype}"


@pytest.mark.points(1)
@pytest.mark.parametrize("shape_a, shape_b", [
    ((2, 1, 4), (3, 1)),
    ((1,), (3, 2)),
    ((), ()),
    ((5, 1, 1), (1, 2, 3)),
], ids=["2x1x4_by_3x1", "1_by_3x2", "0d_by_0d", "5x1x1_by_1x2x3"])
def test_broadcasting_edge_shapes(shape_a, shape_b):
    g = rng()
    a = g.standard_normal(shape_a).astype(np.float32)
    b = g.standard_normal(shape_b).astype(np.float32)
    out_shape = tuple(max(x, y) for x, y in zip((1,) * (len(shape_b) - len(shape_a)) + shape_a,
                                                  (1,) * (len(shape_a) - len(shape_b)) + shape_b))
    expected = np.broadcast_to(a, out_shape).astype(np.float64) * np.broadcast_to(b, out_shape)
    assert_close(Tensor(a) * Tensor(b), expected, what=f"Tensor {shape_a} * Tensor {shape_b}")


@pytest.mark.points(1)
def test_broadcasting_with_empty_tensor():
    out = Tensor(np.zeros((0, 3), dtype=np.float32)) + Tensor([1.0, 2.0, 3.0])
    assert out.shape == (0, 3), f"Tensor (0, 3) + Tensor (3,) should have shape (0, 3); got {out.shape}"


@pytest.mark.points(1)
@pytest.mark.parametrize("name, verb_shapes", [
    ("sub", ((3, 2), (3,))),
    ("mul", ((2, 5), (2, 4))),
    ("div", ((4,), (5, 3))),
], ids=["sub", "mul", "div"])
def test_bad_broadcast_error_names_shapes_for_each_op(name, verb_shapes):
    shape_a, shape_b = verb_shapes
    a, b = Tensor(np.zeros(shape_a, dtype=np.float32)), Tensor(np.ones(shape_b, dtype=np.float32))
    with pytest.raises(ValueError) as excinfo:
        BINARY[name](a, b)
    message = str(excinfo.value)
    assert str(shape_a) in message and str(shape_b) in message, (
        f"Tensor {shape_a} {name} Tensor {shape_b} should raise ValueError naming both shapes; message was {message!r}"
    )


@pytest.mark.points(1)
def test_bad_broadcast_with_ndarray_operand_raises_value_error():
    with pytest.raises(ValueError) as excinfo:
        Tensor(np.zeros((2, 3), dtype=np.float32)) + np.zeros((2, 2))
    assert "(2, 3)" in str(excinfo.value) and "(2, 2)" in str(excinfo.value), (
        f"Tensor (2, 3) + ndarray (2, 2) should name both shapes; message was {str(excinfo.value)!r}"
    )


# ---------------------------------------------------------------------- matmul


@pytest.mark.points(1)
def test_matmul_4d_batch_broadcast():
    g = rng()
    a = g.standard_normal((2, 1, 3, 4)).astype(np.float32)   # (B, 1, T, D)
    b = g.standard_normal((5, 4, 2)).astype(np.float32)      # (H, D, T')
    out = Tensor(a) @ Tensor(b)
    expected = np.einsum("xtd,hds->xhts", a[:, 0].astype(np.float64), b)
    assert_close(out, expected, what="Tensor (2, 1, 3, 4) @ Tensor (5, 4, 2)")


@pytest.mark.points(1)
def test_matmul_attention_shapes():
    q, k = f32(2, 3, 5, 4), f32(2, 3, 5, 4)                  # (B, H, T, D)
    scores = Tensor(q) @ Tensor(k).transpose(-2, -1)          # (B, H, T, T)
    assert_close(scores, np.einsum("bhtd,bhsd->bhts", q.astype(np.float64), k),
                 what="Tensor (2, 3, 5, 4) @ Tensor (2, 3, 5, 4).transpose(-2, -1)")


@pytest.mark.points(1)
def test_matmul_1d_cases():
    g = rng()
    u = g.standard_normal(4).astype(np.float32)
    v = g.standard_normal(4).astype(np.float32)
    m = g.standard_normal((4, 3)).astype(np.float32)
    dot = Tensor(u) @ Tensor(v)
    assert dot.shape == (), f"Tensor (4,) @ Tensor (4,) should be 0-d; got shape {dot.shape}"
    assert_close(dot, sum(float(u[i]) * float(v[i]) for i in range(4)), what="Tensor (4,) @ Tensor (4,)")
    row = Tensor(u) @ Tensor(m)
    assert_close(row, [sum(float(u[p]) * float(m[p, j]) for p in range(4)) for j in range(3)], what="Tensor (4,) @ Tensor (4, 3)")
    batched = Tensor(f32(2, 3, 4)) @ Tensor(v)
    assert batched.shape == (2, 3), f"Tensor (2, 3, 4) @ Tensor (4,) should have shape (2, 3); got {batched.shape}"


@pytest.mark.points(1)
def test_matmul_0d_operand_raises():
    for a, b, call in [(Tensor(2.0), Tensor([1.0, 2.0]), "Tensor () @ Tensor (2,)"),
                       (Tensor(np.ones((2, 2))), Tensor(3.0), "Tensor (2, 2) @ Tensor ()")]:
        with pytest.raises(ValueError) as excinfo:
            a @ b
        assert "()" in str(excinfo.value), f"{call} should raise ValueError naming the shape (); message was {str(excinfo.value)!r}"


@pytest.mark.points(1)
def test_matmul_batch_and_vector_mismatch_raise():
    with pytest.raises(ValueError) as excinfo:
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((5, 4, 2)))
    message = str(excinfo.value)
    assert "(2, 3, 4)" in message and "(5, 4, 2)" in message, (
        f"Tensor (2, 3, 4) @ Tensor (5, 4, 2) should raise ValueError naming both shapes; message was {message!r}"
    )
    with pytest.raises(ValueError) as excinfo:
        Tensor(np.ones((2, 3))).matmul(Tensor(np.ones(4)))
    message = str(excinfo.value)
    assert "(2, 3)" in message and "(4,)" in message, (
        f"Tensor (2, 3).matmul(Tensor (4,)) should raise ValueError naming both shapes; message was {message!r}"
    )


@pytest.mark.points(1)
def test_rmatmul_with_ndarray_and_dtype():
    a = np.array([[1.0, 2.0]], dtype=np.float32)
    out = a @ Tensor([[3.0], [4.0]])
    assert isinstance(out, Tensor), f"ndarray @ Tensor should return a Tensor; got {type(out)}"
    assert_close(out, [[11.0]], what="np.array([[1, 2]]) @ Tensor([[3], [4]])")
    out64 = Tensor(np.eye(2)) @ Tensor(np.ones((2, 2)))
    assert out64.dtype == np.float64, f"float64 @ float64 should stay float64; got {out64.dtype}"


# ---------------------------------------------------------------------- shape ops


@pytest.mark.points(1)
def test_reshape_edge_cases():
    cases = [
        (Tensor([7.0]), ((),), ()),
        (Tensor(5.0), (1, 1), (1, 1)),
        (Tensor(np.zeros((0, 3))), (-1, 3), (0, 3)),
        (Tensor(np.zeros((2, 3, 4))), ([4, -1],), (4, 6)),
        (Tensor(np.zeros((2, 3, 4))), (-1,), (24,)),
    ]
    for t, args, shape in cases:
        out = t.reshape(*args)
        assert out.shape == shape, f"Tensor {t.shape}.reshape{args} should have shape {shape}; got {out.shape}"


@pytest.mark.points(1)
def test_reshape_errors_name_shapes_and_reject_two_minus_ones():
    with pytest.raises(ValueError):
        Tensor(np.zeros((2, 6))).reshape(-1, -1)
    with pytest.raises(ValueError) as excinfo:
        Tensor(np.zeros((3, 4))).reshape(5, -1)
    message = str(excinfo.value)
    assert "(3, 4)" in message and "(5, -1)" in message, (
        f"Tensor (3, 4).reshape(5, -1) should raise ValueError naming (3, 4) and (5, -1); message was {message!r}"
    )


@pytest.mark.points(1)
def test_reshape_and_transpose_results_do_not_alias():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor(x)
    r, tr = t.reshape(3, 2), t.transpose()
    r.data[0, 0] = 99.0
    tr.data[0, 0] = 77.0
    assert_close(t, np.arange(6).reshape(2, 3), what="Tensor (2, 3) after changing its reshape(3, 2) and transpose() results (it must not change)")


@pytest.mark.points(1)
def test_transpose_4d_negative_and_same_dims():
    x = f32(2, 3, 4, 5)
    t = Tensor(x)
    assert_close(t.transpose(1, -1), np.einsum("abcd->adcb", x), what="Tensor (2, 3, 4, 5).transpose(1, -1)")
    assert_close(t.transpose(), np.einsum("abcd->abdc", x), what="Tensor (2, 3, 4, 5).transpose()")
    assert_close(t.transpose(2, 2), x, what="Tensor (2, 3, 4, 5).transpose(2, 2)")


@pytest.mark.points(1)
def test_transpose_out_of_range_message_names_dim():
    with pytest.raises(IndexError) as excinfo:
        Tensor(np.zeros((2, 3, 4))).transpose(0, 5)
    message = str(excinfo.value)
    assert "5" in message and "3" in message, (
        f"Tensor (2, 3, 4).transpose(0, 5) should raise IndexError naming dim 5 and ndim 3; message was {message!r}"
    )
    with pytest.raises(IndexError):
        Tensor(np.zeros((2, 3))).transpose(-3, 0)
    with pytest.raises(IndexError):
        Tensor(1.0).transpose()


# ---------------------------------------------------------------------- reductions


@pytest.mark.points(1)
def test_sum_negative_and_tuple_axes_keepdims():
    x = f32(2, 3, 4)
    t = Tensor(x)
    x64 = x.astype(np.float64)
    loop = np.zeros(3)
    for a in range(2):
        for c in range(4):
            loop += x64[a, :, c]
    assert_close(t.sum(axis=(0, -1)), loop, what="Tensor (2, 3, 4).sum(axis=(0, -1))")
    assert_close(t.sum(axis=(2, 0), keepdims=True), loop.reshape(1, 3, 1), what="Tensor (2, 3, 4).sum(axis=(2, 0), keepdims=True)")
    assert_close(t.sum(axis=-2), x64[:, 0] + x64[:, 1] + x64[:, 2], what="Tensor (2, 3, 4).sum(axis=-2)")
    assert_close(t.sum(keepdims=True), np.full((1, 1, 1), x64.sum()), what="Tensor (2, 3, 4).sum(keepdims=True)")


@pytest.mark.points(1)
def test_reductions_keep_dtype():
    for dtype in (np.float32, np.float64):
        t = Tensor(np.ones((2, 3), dtype=dtype))
        for name, out in [("sum", t.sum(axis=0)), ("mean", t.mean()), ("max", t.max(axis=1))]:
            assert out.dtype == dtype, f"Tensor ({np.dtype(dtype)}).{name}(...) should stay {np.dtype(dtype)}; got {out.dtype}"


@pytest.mark.points(1)
def test_reduction_bad_axis_raises():
    t = Tensor(np.zeros((2, 3)))
    for call, fn in [("sum(axis=2)", lambda: t.sum(axis=2)), ("mean(axis=-3)", lambda: t.mean(axis=-3)),
                     ("max(axis=(0, 5))", lambda: t.max(axis=(0, 5)))]:
        with pytest.raises((IndexError, ValueError)):
            fn()
    with pytest.raises((IndexError, ValueError)):
        t.sum(axis=(0, -2))   # the same dim twice


@pytest.mark.points(1)
def test_sum_of_empty_is_zero():
    t = Tensor(np.zeros((0, 3)))
    assert_close(t.sum(), 0.0, what="Tensor (0, 3).sum()")
    assert_close(t.sum(axis=0), [0.0, 0.0, 0.0], what="Tensor (0, 3).sum(axis=0)")


@pytest.mark.points(1)
def test_mean_and_max_of_empty_raise():
    t = Tensor(np.zeros((0, 3)))
    for call, fn in [("mean()", t.mean), ("max()", t.max), ("mean(axis=0)", lambda: t.mean(axis=0)),
                     ("max(axis=0)", lambda: t.max(axis=0))]:
        with pytest.raises(ValueError) as excinfo:
            fn()
        assert "(0, 3)" in str(excinfo.value), (
            f"Tensor (0, 3).{call} should raise ValueError naming the shape (0, 3); message was {str(excinfo.value)!r}"
        )


@pytest.mark.points(1)
def test_max_of_all_negative_values():
    x = -np.abs(f32(3, 4)) - 1.0
    t = Tensor(x)
    expected_rows = [max(float(v) for v in row) for row in x]
    assert_close(t.max(axis=-1), expected_rows, what="Tensor (3, 4) of negatives .max(axis=-1)")
    assert_close(t.max(), max(expected_rows), what="Tensor (3, 4) of negatives .max()")


@pytest.mark.points(1)
def test_mean_keepdims_broadcasts_back():
    x = f32(4, 5)
    t = Tensor(x)
    centered = t - t.mean(axis=-1, keepdims=True)
    assert centered.shape == (4, 5), f"t - t.mean(axis=-1, keepdims=True) should keep shape (4, 5); got {centered.shape}"
    assert_close(centered.sum(axis=-1), np.zeros(4), what="rows of t - t.mean(axis=-1, keepdims=True), summed", atol=1e-5)


@pytest.mark.points(1)
def test_reductions_of_0d_tensor():
    t = Tensor(4.0)
    for name, out in [("sum", t.sum()), ("mean", t.mean()), ("max", t.max())]:
        assert_close(out, 4.0, what=f"Tensor(4.0).{name}()")


# ---------------------------------------------------------------------- indexing & access


@pytest.mark.points(1)
def test_getitem_negative_ellipsis_newaxis():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = Tensor(x)
    assert_close(t[-1, -2], x[1, 1], what="t[-1, -2] of arange(24).reshape(2, 3, 4)")
    assert_close(t[..., 0], [[x[a, b, 0] for b in range(3)] for a in range(2)], what="t[..., 0]")
    out = t[None, 0]
    assert out.shape == (1, 3, 4), f"t[None, 0] should have shape (1, 3, 4); got {out.shape}"


@pytest.mark.points(1)
def test_getitem_integer_arrays_and_tensor_index():
    w = f32(5, 3)                                 # an embedding table (vocab, C)
    ids = np.array([[0, 4], [2, 2]])              # (B, T)
    out = Tensor(w)[ids]
    expected = np.stack([np.stack([w[i] for i in row]) for row in ids])
    assert_close(out, expected, what="Tensor (5, 3)[int array of shape (2, 2)]")
    assert_close(Tensor(w)[Tensor([4, 1])], np.stack([w[4], w[1]]), what="Tensor (5, 3)[Tensor([4, 1])]")


@pytest.mark.points(1)
def test_getitem_boolean_mask():
    x = np.array([1.0, -2.0, 3.0, -4.0], dtype=np.float32)
    out = Tensor(x)[x > 0]
    assert_close(out, [1.0, 3.0], what="Tensor([1, -2, 3, -4])[mask of positives]")


@pytest.mark.points(1)
def test_getitem_result_is_a_copy():
    t = Tensor(np.zeros((3, 3), dtype=np.float32))
    row = t[0]
    row.data[:] = 5.0
    assert np.all(t.data == 0.0), "changing t[0] changed t: __getitem__ should return a new Tensor (a copy)"


@pytest.mark.points(1)
def test_getitem_out_of_range_raises_index_error():
    t = Tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError) as excinfo:
        t[5]
    assert "(2, 3)" in str(excinfo.value), f"Tensor (2, 3)[5] should raise IndexError naming the shape; message was {str(excinfo.value)!r}"


@pytest.mark.points(1)
def test_len_of_0d_raises_type_error():
    with pytest.raises(TypeError):
        len(Tensor(3.0))
    assert len(Tensor(np.zeros((0, 2)))) == 0, "len(Tensor (0, 2)) should be 0"


@pytest.mark.points(1)
def test_item_of_0d_and_errors_name_shape():
    v = Tensor(np.float64(2.25)).item()
    assert type(v) is float and v == 2.25, f"Tensor(np.float64(2.25)).item() should be the Python float 2.25; got {v!r}"
    for shape in [(2, 2), (0,)]:
        with pytest.raises(ValueError) as excinfo:
            Tensor(np.zeros(shape)).item()
        assert str(shape) in str(excinfo.value), (
            f"Tensor {shape}.item() should raise ValueError naming the shape; message was {str(excinfo.value)!r}"
        )


@pytest.mark.points(1)
def test_numpy_returns_the_underlying_array():
    t = Tensor([1.0, 2.0])
    assert t.numpy() is t.data, "Tensor.numpy() should return the underlying array itself (t.data), not a copy"


@pytest.mark.points(1)
def test_repr_multirow_and_requires_grad():
    t = Tensor(np.arange(6).reshape(2, 3), requires_grad=True)
    text = repr(t)
    for part in ["Tensor(", "(2, 3)", "requires_grad=True", "5."]:
        assert part in text, f"repr(Tensor (2, 3), requires_grad=True) should contain {part!r}; got {text!r}"
    assert "requires_grad" not in repr(Tensor([1.0])), "repr should mention requires_grad only when it is set"


# ---------------------------------------------------------------------- systems questions


@pytest.mark.points(1)
def test_matmul_flops_matches_counted_loop():
    for m, k, n in [(3, 4, 5), (1, 7, 2), (0, 3, 3), (4, 0, 2)]:
        counted = 0
        for _ in range(m):
            for _ in range(n):
                for _ in range(k):
                    counted += 2          # one multiply + one add
        got = matmul_flops(m, k, n)
        assert got == counted, f"matmul_flops({m}, {k}, {n}) should be {counted}; got {got}"
    big = matmul_flops(1024, 768, 3072)
    assert big == 2 * 1024 * 768 * 3072 and isinstance(big, int), f"matmul_flops(1024, 768, 3072) should be the int {2 * 1024 * 768 * 3072}; got {big!r}"


@pytest.mark.points(1)
def test_systems_functions_reject_negative_dims():
    for args in [(-1, 2, 3), (2, -3, 3), (2, 3, -4)]:
        with pytest.raises(ValueError):
            matmul_flops(*args)
    for shape in [(2, -3), -1]:
        with pytest.raises(ValueError):
            tensor_nbytes(shape)


@pytest.mark.points(1)
def test_tensor_nbytes_matches_numpy_for_dtypes_and_shapes():
    for shape in [(), (7,), (2, 3, 4), (0, 5)]:
        for dtype in (np.float16, np.float32, np.float64, np.int8):
            expected = np.zeros(shape, dtype=dtype).nbytes
            got = tensor_nbytes(shape, dtype)
            assert got == expected and isinstance(got, int), (
                f"tensor_nbytes({shape}, {np.dtype(dtype)}) should be the int {expected}; got {got!r}"
            )
    assert tensor_nbytes((3, 3)) == 36, f"tensor_nbytes((3, 3)) should default to float32 (36 bytes); got {tensor_nbytes((3, 3))}"
