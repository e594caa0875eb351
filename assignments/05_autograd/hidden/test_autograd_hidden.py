"""Hidden tests for module 05 (autograd): broadcasting in every direction, batched and 1-D
matmul, every axis form of sum/mean/max, ties in max, repeated and boolean indices, softmax and
log_softmax along other dims, saturated and clipped inputs, backward's errors, accumulation,
dtypes, long chains, each node once, no_grad nesting and exceptions, detach, gradcheck's
contract, graph_nodes and graph_memory_bytes, Linear on batched and float32 parameters.

Expected gradients come from central finite differences in float64
(`tinytorch.testing.numerical_gradient`) or are written by hand, never from a backward rule.
"""

from functools import partial

import numpy as np
import pytest

from tinytorch import testing
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import (
    GradcheckError,
    gradcheck,
    graph_memory_bytes,
    graph_nodes,
    is_grad_enabled,
    no_grad,
)
from tinytorch.core.layers import Linear
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss, log_softmax
from tinytorch.core.tensor import Function, Tensor, _unbroadcast, graph_op
from tinytorch.testing import GRAD_ATOL, GRAD_RTOL, assert_close, numerical_gradient, sample, strict_numerics
from tinytorch.testing import recording_on  # noqa: F401  (autouse fixture: grad mode on in every test)

SEED = 5
check_backward = partial(testing.check_backward, seed=SEED)     # its weight w drawn from this file's seed


# ------------------------------------------------------------------------------ broadcasting


@pytest.mark.points(1)
def test_unbroadcast_leading_and_size_one_dims_together():
    g = sample((5, 2, 4, 3), seed=SEED)
    assert_close(_unbroadcast(g, (2, 1, 3)), g.sum(axis=(0, 2)).reshape(2, 1, 3),
                 what="_unbroadcast(grad (5, 2, 4, 3), (2, 1, 3))")
    assert_close(_unbroadcast(g, ()), g.sum(), what="_unbroadcast(grad (5, 2, 4, 3), ()) (a 0-d operand)")
    assert_close(_unbroadcast(g, (1, 1)), g.sum(axis=(0, 1, 2, 3), keepdims=True)[0, 0],
                 what="_unbroadcast(grad (5, 2, 4, 3), (1, 1))")


BINARY = {
    "add": (lambda a, b: a + b, "a + b"),
    "sub": (lambda a, b: a - b, "a - b"),
    "mul": (lambda a, b: a * b, "a * b"),
    "div": (lambda a, b: a / b, "a / b"),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("op", list(BINARY))
def test_broadcast_backward_size_one_and_leading_dims(op):
    fn, expr = BINARY[op]
    check_backward(fn, [sample((2, 1, 3), seed=1, low=0.5), sample((4, 3), seed=2, low=0.5)], expr)


@pytest.mark.points(1)
def test_broadcast_backward_bias_over_batch_and_time():
    check_backward(lambda x, b: x * 2.0 + b, [sample((2, 3, 4), seed=3), sample((4,), seed=4)],
                   "a * 2 + b (bias (C,) on (B, T, C))")


@pytest.mark.points(1)
def test_broadcast_backward_scalar_tensor_operand():
    s = np.array(1.7)
    check_backward(lambda x, s: x * s - s / x + (s - x), [sample((3, 4), seed=5, low=0.5), s],
                   "a * b - b / a + (b - a) with b a 0-d Tensor")
    check_backward(lambda x, s: x + s, [sample((3, 4), seed=5), s], "a + b with b a 0-d Tensor")


@pytest.mark.points(1)
def test_reflected_ops_backward_with_ndarray_on_the_left():
    c = sample((3,), seed=6, low=0.5)
    m = sample((2, 3), seed=7)
    check_backward(lambda a: (c - a) * (c / a) + (c + a) * (c * a), [sample((3,), seed=8, low=0.5)],
                   "(c - a) * (c / a) + (c + a) * (c * a) with c an np.ndarray")
    check_backward(lambda a: m @ a, [sample((3, 4), seed=9)], "m @ a with m an np.ndarray (2, 3)")


# ------------------------------------------------------------------------------ matmul


@pytest.mark.points(1)
def test_matmul_backward_batched_same_batch_dims():
    check_backward(lambda a, b: a @ b, [sample((2, 3, 4), seed=10), sample((2, 4, 5), seed=11)], "a @ b")


@pytest.mark.points(1)
def test_matmul_backward_batched_broadcast():
    check_backward(lambda a, b: a @ b, [sample((2, 3, 4), seed=12), sample((4, 5), seed=13)],
                   "a @ b ((B, T, C) @ (C, D): b used by every batch)")
    check_backward(lambda a, b: a @ b, [sample((1, 3, 4), seed=14), sample((2, 4, 5), seed=15)],
                   "a @ b (batch dim 1 broadcast to 2)")
    check_backward(lambda a, b: a @ b, [sample((3, 4), seed=16), sample((2, 2, 4, 5), seed=17)],
                   "a @ b (2-D a against a 4-D batch)")


MATMUL_1D = {
    "left": [((4,), (4, 3)), ((4,), (2, 4, 3))],
    "right": [((3, 4), (4,)), ((2, 3, 4), (4,))],
    "both": [((4,), (4,))],
}


@pytest.mark.points(1)
@pytest.mark.parametrize("side", list(MATMUL_1D))
def test_matmul_backward_1d_operand(side):
    for k, (shape_a, shape_b) in enumerate(MATMUL_1D[side]):
        check_backward(lambda a, b: a @ b, [sample(shape_a, seed=20 + k), sample(shape_b, seed=30 + k)],
                       f"a @ b (1-D on the {side})")


@pytest.mark.points(1)
def test_matmul_backward_only_weight_requires_grad():
    check_backward(lambda x, w: x @ w, [sample((5, 3), seed=18), sample((3, 2), seed=19)],
                   "a @ b with a data (requires_grad=False)", needs=[False, True])


# ------------------------------------------------------------------------------ shape ops


@pytest.mark.points(1)
def test_reshape_backward_inferred_dim_and_tuple_shape():
    x = sample((3, 4), seed=40)
    check_backward(lambda a: a.reshape(-1), [x], "a.reshape(-1)")
    check_backward(lambda a: a.reshape((2, -1, 3)), [x], "a.reshape((2, -1, 3))")
    check_backward(lambda a: a.reshape(6, 2).transpose(), [x], "a.reshape(6, 2).transpose()")


@pytest.mark.points(1)
def test_transpose_backward_explicit_and_default_dims():
    x = sample((2, 3, 4), seed=41)
    for dims in [(), (0, 2), (1, -1), (-3, -2), (2, 0)]:
        check_backward(lambda a: a.transpose(*dims), [x], f"a.transpose{dims}" if dims else "a.transpose()")


# ------------------------------------------------------------------------------ reductions

AXES = [(None, False), (None, True), (0, False), (-1, False), (1, True), ((0, 2), False), ((0, -1), True),
        ((0, 1, 2), False)]


@pytest.mark.points(1)
@pytest.mark.parametrize("op", ["sum", "mean", "max"])
def test_reduction_backward_every_axis_and_keepdims(op):
    x = sample((2, 3, 4), seed=42)                     # continuous values: no ties in max
    for axis, keepdims in AXES:
        check_backward(lambda a: getattr(a, op)(axis=axis, keepdims=keepdims), [x],
                       f"a.{op}(axis={axis}, keepdims={keepdims})")


@pytest.mark.points(1)
def test_max_backward_ties_split_gradient_equally():
    x = Tensor([3.0, 1.0, 3.0], requires_grad=True)
    x.max().backward()
    assert_close(x.grad, [0.5, 0.0, 0.5],
                 what="Tensor([3, 1, 3]).max().backward(): x.grad (two maxima share the gradient)")
    y = Tensor([[2.0, 2.0, 2.0], [0.0, 4.0, 1.0], [5.0, -1.0, 5.0]], requires_grad=True)
    y.max(axis=1, keepdims=True).backward(np.array([[3.0], [1.0], [2.0]]))
    assert_close(y.grad, [[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]],
                 what="y.max(axis=1, keepdims=True).backward([[3], [1], [2]]) with rows [2, 2, 2], [0, 4, 1], "
                      "[5, -1, 5]: y.grad")


# ------------------------------------------------------------------------------ indexing


@pytest.mark.points(2)
def test_getitem_backward_repeated_int_array_indices_accumulate():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2]].backward(np.ones(3))
    assert_close(x.grad, [2.0, 0.0, 1.0],
                 what="x[[0, 0, 2]].backward(ones): x.grad (index 0 read twice gets 2)")
    table = sample((5, 3), seed=43)                    # an embedding lookup, rows repeated
    check_backward(lambda w: w[np.array([4, 1, 4, 4, 0])], [table], "a[[4, 1, 4, 4, 0]]")
    check_backward(lambda w: w[Tensor([[1.0, 1.0], [3.0, 1.0]])], [table], "a[Tensor([[1, 1], [3, 1]])]")


@pytest.mark.points(1)
def test_getitem_backward_boolean_mask():
    x = sample((3, 4), seed=44)
    check_backward(lambda a: a[x > 0], [x], "a[a > 0] (boolean mask)")
    check_backward(lambda a: a[np.array([True, False, True])], [x], "a[[True, False, True]] (row mask)")


@pytest.mark.points(1)
def test_getitem_backward_mixed_index_tuple():
    x = sample((3, 4, 2), seed=45)
    check_backward(lambda a: a[1:, [0, 2, 2]], [x], "a[1:, [0, 2, 2]]")
    check_backward(lambda a: a[..., -1], [x], "a[..., -1]")
    check_backward(lambda a: a[None, 0, ::-1], [x], "a[None, 0, ::-1]")


# ------------------------------------------------------------------------------ activations and losses


@pytest.mark.points(1)
@pytest.mark.parametrize("dim", [0, 1, -2])
def test_softmax_backward_along_other_dims(dim):
    check_backward(Softmax(dim=dim), [sample((2, 3, 4), seed=46)], f"Softmax(dim={dim})(a)")


@pytest.mark.points(1)
def test_log_softmax_backward_along_other_dims():
    x = sample((2, 3, 4), seed=47)
    check_backward(lambda a: log_softmax(a, dim=0), [x], "log_softmax(a, dim=0)")
    check_backward(lambda a: log_softmax(a, dim=1), [x], "log_softmax(a, dim=1)")


@pytest.mark.points(1)
def test_relu_backward_is_zero_at_zero():
    x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    ReLU()(x).backward(np.array([5.0, 5.0, 5.0]))
    assert_close(x.grad, [0.0, 0.0, 5.0], what="ReLU()(x = [-1, 0, 2]).backward([5, 5, 5]): x.grad (0 at x = 0)")


@pytest.mark.points(1)
def test_saturated_sigmoid_tanh_backward_is_finite():
    values = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    ds = np.exp(-np.abs(values)) / (1.0 + np.exp(-np.abs(values))) ** 2    # sigmoid', stable form
    dt = 4.0 * np.exp(-2.0 * np.abs(values)) / (1.0 + np.exp(-2.0 * np.abs(values))) ** 2   # 1 - tanh^2
    for name, layer, expected in (("Sigmoid", Sigmoid(), ds), ("Tanh", Tanh(), dt)):
        x = Tensor(values, requires_grad=True)
        try:
            with strict_numerics():
                layer(x).backward(np.ones(5))
        except FloatingPointError as exc:
            pytest.fail(f"{name}()(x = [-1000, -40, 0, 40, 1000]).backward raised a NumPy warning ({exc}): "
                        f"use the saved output, not exp(-x)")
        assert_close(x.grad, expected, rtol=1e-6, atol=1e-12,
                     what=f"{name}()(x = [-1000, -40, 0, 40, 1000]).backward(ones): x.grad")


@pytest.mark.points(1)
def test_cross_entropy_backward_huge_logits_is_finite():
    logits = Tensor([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]], dtype=np.float64, requires_grad=True)
    try:
        with strict_numerics():
            CrossEntropyLoss()(logits, np.array([0, 2])).backward(np.array(3.0))
    except FloatingPointError as exc:
        pytest.fail(f"CrossEntropyLoss backward on logits of 1e4 raised a NumPy warning ({exc}): subtract the row max")
    # softmax rows are one-hot at the largest logit: (p - one_hot(t)) / N * 3
    assert_close(logits.grad, [[0.0, 0.0, 0.0], [0.0, 1.5, -1.5]],
                 what="CrossEntropyLoss()(logits [[1e4, 0, -1e4], [0, 1e4, 0]], targets [0, 2]).backward(3): "
                      "logits.grad")


@pytest.mark.points(1)
def test_bce_backward_zero_where_probs_were_clipped():
    probs = Tensor([0.0, 1.0, 0.5, 1.0], dtype=np.float64, requires_grad=True)
    targets = np.array([0.0, 1.0, 1.0, 0.0])
    with strict_numerics():
        BinaryCrossEntropyLoss()(probs, targets).backward()
    # inside the clip only 0.5 (target 1): (p - t) / (p (1 - p) N) = -0.5 / (0.25 * 4)
    assert_close(probs.grad, [0.0, 0.0, -0.5, 0.0],
                 what="BinaryCrossEntropyLoss()(probs [0, 1, 0.5, 1], targets [0, 1, 1, 0]).backward(): probs.grad "
                      "(0 where the forward clipped p: the loss does not change there)")


@pytest.mark.points(1)
def test_mse_backward_scales_with_upstream_gradient_and_size():
    pred = Tensor([[1.0, 2.0], [3.0, 5.0]], dtype=np.float64, requires_grad=True)
    MSELoss()(pred, Tensor([[0.0, 2.0], [1.0, 1.0]])).backward(np.array(0.5))
    assert_close(pred.grad, [[0.25, 0.0], [0.5, 1.0]],
                 what="MSELoss()(pred, target).backward(0.5) for pred - target = [[1, 0], [2, 4]]: "
                      "pred.grad = 0.5 * 2 * (pred - target) / 4")


# ------------------------------------------------------------------------------ Tensor.backward


@pytest.mark.points(1)
def test_backward_twice_accumulates_grad():
    x = Tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    assert_close(x.grad, [2.0 + 3.0, -4.0 + 3.0],
                 what="(x * x).sum().backward() then (x * 3).sum().backward(): x.grad "
                      "(gradients add up, as in PyTorch)")
    w = Tensor([0.5], requires_grad=True)
    for _ in range(3):
        (w * 2.0).sum().backward()
    assert_close(w.grad, [6.0], what="(w * 2).sum().backward() three times: w.grad")


@pytest.mark.points(1)
def test_backward_nonscalar_with_gradient_and_its_shape_check():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * x
    y.backward(Tensor([[1.0, 0.0], [0.0, 2.0]]))                      # a Tensor works as the seed too
    assert_close(x.grad, [[2.0, 0.0], [0.0, 16.0]], what="(x * x).backward(Tensor([[1, 0], [0, 2]])): x.grad")
    with pytest.raises(ValueError):
        (x * x).backward(np.ones(3))
    with pytest.raises(ValueError):
        (x * x).backward(np.ones((2, 2, 1)))


@pytest.mark.points(1)
def test_backward_nonscalar_without_gradient_raises():
    x = Tensor([[2.0]], requires_grad=True)
    (x * 3.0).backward()                               # one element, shape (1, 1): seeded with 1
    assert_close(x.grad, [[3.0]], what="(x * 3).backward() for x of shape (1, 1): x.grad")
    z = Tensor([1.0, 2.0], requires_grad=True) * 2.0
    with pytest.raises(RuntimeError) as info:
        z.backward()
    assert not isinstance(info.value, NotImplementedError), "backward() is still the stub"


@pytest.mark.points(1)
def test_backward_on_tensor_without_requires_grad_raises():
    w = Tensor([1.0], requires_grad=True)
    (w * 2.0).sum().backward()                         # the working case first
    y = (Tensor([1.0, 2.0]) * 2.0).sum()               # nothing requires grad
    assert not y.requires_grad, "a result whose inputs need no gradient should have requires_grad=False"
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert not isinstance(info.value, NotImplementedError), "backward() is still the stub"


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_keeps_leaf_dtype_and_shape(dtype):
    x_data = sample((3, 2), seed=50).astype(dtype)
    w_data = sample((2, 4), seed=51).astype(dtype)
    x = Tensor(x_data, requires_grad=True)
    w = Tensor(w_data, requires_grad=True)
    (Sigmoid()(x @ w) * 2.0 + x.sum(axis=1, keepdims=True)).mean().backward()
    for name, leaf in (("x", x), ("w", w)):
        assert isinstance(leaf.grad, Tensor), f"{name}.grad should be a Tensor; got {type(leaf.grad).__name__}"
        assert leaf.grad.dtype == dtype, (
            f"{name} is {np.dtype(dtype)}, so {name}.grad should be too; got {leaf.grad.dtype}")
        assert leaf.grad.shape == leaf.shape, f"{name}.grad should have shape {leaf.shape}; got {leaf.grad.shape}"
        assert not leaf.grad.requires_grad, f"{name}.grad should not itself require grad"

    def loss(xv, wv):
        return float(np.mean(2.0 / (1.0 + np.exp(-(xv @ wv))) + xv.sum(axis=1, keepdims=True)))

    x64, w64 = x_data.astype(np.float64), w_data.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else GRAD_RTOL
    assert_close(x.grad, numerical_gradient(lambda v: loss(v, w64), x64.copy()), rtol=tol, atol=tol * 1e-2,
                 what=f"{np.dtype(dtype)}: mean(2 sigmoid(x @ w) + x.sum(axis=1, keepdims=True)): x.grad")
    assert_close(w.grad, numerical_gradient(lambda v: loss(x64, v), w64.copy()), rtol=tol, atol=tol * 1e-2,
                 what=f"{np.dtype(dtype)}: mean(2 sigmoid(x @ w) + x.sum(axis=1, keepdims=True)): w.grad")


@pytest.mark.points(1)
def test_float32_params_with_float64_data_get_float32_grads():
    layer = Linear(4, 3, rng=np.random.default_rng(SEED))          # float32 weight and bias
    layer.bias.data[:] = [0.1, -0.2, 0.3]
    x = sample((5, 4), seed=52)                                     # float64 data
    target = sample((5, 3), seed=53)
    MSELoss()(layer(Tensor(x)), target).backward()
    for name in ("weight", "bias"):
        grad = getattr(layer, name).grad
        assert grad is not None and grad.dtype == np.float32, (
            f"Linear(4, 3) has float32 {name}; with float64 data its grad should still be float32; got "
            f"{None if grad is None else grad.dtype}")
    w64, b64 = layer.weight.data.astype(np.float64), layer.bias.data.astype(np.float64)
    expected_w = numerical_gradient(lambda w: float(np.mean((x @ w + b64 - target) ** 2)), w64.copy())
    expected_b = numerical_gradient(lambda b: float(np.mean((x @ w64 + b - target) ** 2)), b64.copy())
    assert_close(layer.weight.grad, expected_w, rtol=1e-4, atol=1e-6, what="MSELoss of Linear(4, 3)(x): weight.grad")
    assert_close(layer.bias.grad, expected_b, rtol=1e-4, atol=1e-6, what="MSELoss of Linear(4, 3)(x): bias.grad")


@pytest.mark.points(1)
def test_requires_grad_propagates_only_from_inputs_that_need_it():
    w = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, -4.0])
    assert not (c * 2.0).requires_grad, "c * 2 with c not requiring grad should have requires_grad=False"
    y = Sigmoid()(c * w)
    assert y.requires_grad, "Sigmoid()(c * w) with w requiring grad should have requires_grad=True"
    loss = MSELoss()(y, np.zeros(2))
    assert loss.requires_grad, "a loss of a result that requires grad should require grad"
    loss.backward()
    s = 1.0 / (1.0 + np.exp(-np.array([3.0, -8.0])))
    assert_close(w.grad, 2.0 * s / 2.0 * s * (1.0 - s) * np.array([3.0, -4.0]),
                 what="MSELoss()(Sigmoid()(c * w), 0).backward() for w = [1, 2], c = [3, -4]: w.grad")
    assert c.grad is None, "c has requires_grad=False: c.grad should stay None"


@pytest.mark.points(2)
def test_long_chain_of_10000_ops_no_recursion_error():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
        y = y - 0.5
    try:
        y.backward(np.ones(3))
    except RecursionError:
        pytest.fail("backward through a chain of 10,000 ops raised RecursionError: walk the graph with an "
                    "explicit stack (see _topological_order), not recursion")
    assert_close(x.grad, np.full(3, 1.0001 ** 5000), rtol=1e-9,
                 what="y = x, then 5000 times (y * 1.0001 - 0.5); y.backward(ones): x.grad = 1.0001^5000")


CALLS = []


class CountingIdentityBackward(Function):
    """Identity whose backward records each call: a node must be visited once."""

    def backward(self, grad):
        CALLS.append(id(self))
        return (grad,)


@graph_op(CountingIdentityBackward)
def counted(self):
    return Tensor(self.data)


def diamond_ladder(x, depth):
    """depth times: c = counted(h); h = c + c. Every c is shared by two paths: 2^depth paths in all."""
    h = x
    for _ in range(depth):
        c = counted(h)
        h = c + c
    return h


@pytest.mark.points(2)
def test_diamond_ladder_calls_each_backward_once():
    CALLS.clear()
    x = Tensor([1.0, -1.0], requires_grad=True)
    h = diamond_ladder(x, 12)
    h.backward(np.array([1.0, 2.0]))
    assert_close(x.grad, [4096.0, 8192.0], what="12 levels of c = identity(h); h = c + c; backward([1, 2]): x.grad")
    assert len(CALLS) == 12 and len(set(CALLS)) == 12, (
        f"each of the 12 nodes' backward should run exactly once (after all its consumers); ran {len(CALLS)} times "
        f"for {len(set(CALLS))} nodes: visit nodes in topological order, not once per path")


# ------------------------------------------------------------------------------ no_grad, detach


@pytest.mark.points(1)
def test_no_grad_nested_blocks_restore_previous_mode():
    w = Tensor([1.0], requires_grad=True)
    with no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled(), "after an inner no_grad() ends inside an outer one, recording should stay off"
        y = w * 2.0
        assert not y.requires_grad and y._grad_fn is None, "w * 2 after the inner block should not be recorded"
    assert is_grad_enabled(), "after the outer no_grad() ends, recording should be on again"


@pytest.mark.points(1)
def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError):
        with no_grad():
            raise ValueError("raised inside no_grad")
    assert is_grad_enabled(), "an exception inside `with no_grad():` should still switch recording back on"
    with no_grad():
        try:
            with no_grad():
                raise KeyError("inner")
        except KeyError:
            pass
        assert not is_grad_enabled(), "an exception in an inner no_grad() should restore the outer (off) mode"
    assert is_grad_enabled()


@pytest.mark.points(1)
def test_detach_shares_data_and_cuts_graph():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    d = y.detach()
    assert not d.requires_grad and d._grad_fn is None, "y.detach() should require no grad and record no node"
    assert np.shares_memory(d.data, y.data), "y.detach() should share y's data"
    (d * x).sum().backward()
    assert_close(x.grad, [1.0, 4.0, 9.0],
                 what="y = x * x; (y.detach() * x).sum().backward(): x.grad (the detached y is a constant)")


# ------------------------------------------------------------------------------ gradcheck


class IgnoresGradSquareBackward(Function):
    """x^2 with a classic bug: the rule forgets to multiply by the upstream gradient."""

    def backward(self, grad):
        return (2.0 * self.saved_tensors[0],)


@graph_op(IgnoresGradSquareBackward)
def square_ignoring_grad(self):
    return Tensor(self.data ** 2)


@pytest.mark.points(1)
def test_gradcheck_rejects_float32_and_non_tensor_inputs():
    assert gradcheck(lambda t: t * t, [Tensor(sample((3,), seed=SEED), requires_grad=True)]) is True
    with pytest.raises(TypeError):
        gradcheck(lambda t: t * t, [Tensor(sample((3,), seed=SEED).astype(np.float32), requires_grad=True)])
    with pytest.raises(TypeError):
        gradcheck(lambda t: t * t, [sample((3,), seed=SEED)])


@pytest.mark.points(1)
def test_gradcheck_catches_rule_that_ignores_upstream_grad():
    # Right when the upstream gradient is all ones: caught only with random output weights.
    x = Tensor(sample((2, 3), seed=60), requires_grad=True)
    before = x.data.copy()
    with pytest.raises(GradcheckError):
        gradcheck(square_ignoring_grad, [x])
    assert np.array_equal(x.data, before), "gradcheck should restore every probed value, even when it fails"
    assert is_grad_enabled(), "gradcheck should leave grad mode on"


@pytest.mark.points(1)
def test_gradcheck_multiple_inputs_skips_constants_and_restores_values():
    a = Tensor(sample((3, 4), seed=61), requires_grad=True)
    b = Tensor(sample((4,), seed=62, low=0.5), requires_grad=True)
    c = Tensor(sample((3, 1), seed=63))                      # a constant: not checked
    before = [t.data.copy() for t in (a, b, c)]
    assert gradcheck(lambda a, b, c: GELU()(a / b) * c, [a, b, c]) is True
    assert gradcheck(lambda z: CrossEntropyLoss()(z, np.array([1, 0, 3])), [a]) is True
    for name, t, old in zip("abc", (a, b, c), before):
        assert np.array_equal(t.data, old), f"gradcheck should leave input {name}'s values as they were"


# ------------------------------------------------------------------------------ systems questions


@pytest.mark.points(1)
def test_graph_nodes_counts_shared_nodes_once_and_zero_under_no_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    a = x * 2.0
    d = ((a * a) + a).sum()                             # mul, mul, add, sum; a shared
    assert graph_nodes(d) == 4, f"graph_nodes(((a * a) + a).sum()) with a = x * 2 should be 4; got {graph_nodes(d)}"
    h = diamond_ladder(x, 12)
    assert graph_nodes(h) == 24, (
        f"graph_nodes of a 12-level diamond ladder should be 24 (each node once); got {graph_nodes(h)}")
    with no_grad():
        e = (x * 2.0 + x).sum()
    assert graph_nodes(e) == 0, f"graph_nodes of a result computed under no_grad() should be 0; got {graph_nodes(e)}"


@pytest.mark.points(1)
def test_graph_memory_bytes_values_dtypes_and_errors():
    cases = [((0, (3,), np.float64), 24), ((5, 7, np.float16), 84), ((3, (), np.float32), 16),
             ((2, (0, 5), np.float32), 0), ((1, (2, 3, 4), np.float64), 384)]
    for args, expected in cases:
        got = graph_memory_bytes(*args)
        assert got == expected, f"graph_memory_bytes{args} should be {expected}; got {got!r}"
    with pytest.raises(ValueError):
        graph_memory_bytes(-1, (3,))
    with pytest.raises(ValueError):
        graph_memory_bytes(2, (3, -1))


@pytest.mark.points(1)
def test_graph_memory_bytes_matches_arrays_a_real_chain_holds():
    x = Tensor(sample((8, 16), seed=70).astype(np.float32), requires_grad=True)
    y = x
    for layer in (Tanh(), ReLU(), Sigmoid(), GELU(), Tanh()):
        y = layer(y)
    held, stack, seen = {}, [y], set()                  # every array the graph's nodes keep
    while stack:
        t = stack.pop()
        if id(t) in seen or t._grad_fn is None:
            continue
        seen.add(id(t))
        for arr in (*t._grad_fn.saved_tensors, t._grad_fn.output):
            held[id(arr)] = arr.nbytes
        stack.extend(t._grad_fn.inputs)
    expected = graph_memory_bytes(5, (8, 16), np.float32)
    assert expected == sum(held.values()), (
        f"a chain of 5 activations on a float32 (8, 16) Tensor keeps {len(held)} arrays, {sum(held.values())} bytes; "
        f"graph_memory_bytes(5, (8, 16), float32) gives {expected}")


# ------------------------------------------------------------------------------ layers


@pytest.mark.points(1)
def test_linear_on_batched_3d_input_gradients():
    layer = Linear(4, 3, rng=np.random.default_rng(SEED))
    layer.weight = Tensor(layer.weight.data.astype(np.float64), requires_grad=True)
    layer.bias = Tensor(sample((3,), seed=71), requires_grad=True)
    x = Tensor(sample((2, 5, 4), seed=72), requires_grad=True)
    w = sample((2, 5, 3), seed=73)

    def loss(_):
        return float(np.sum(layer(x).data * w))

    layer(x).backward(w)
    for name, t in (("weight", layer.weight), ("bias", layer.bias), ("x", x)):
        assert_close(t.grad, numerical_gradient(loss, t.data), rtol=GRAD_RTOL, atol=GRAD_ATOL,
                     what=f"Linear(4, 3)(x) for x of shape (2, 5, 4), .backward(w): {name}.grad")
