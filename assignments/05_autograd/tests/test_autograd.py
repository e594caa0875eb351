"""Visible tests for module 05 (autograd). Run them with `make test M=05`.

Every backward rule is checked against central finite differences in float64
(`tinytorch.testing.numerical_gradient`), never against another backward. To test one rule
alone, the tests call `out.backward(w)` with a fixed random `w` of out's shape: that asks for the
gradient of sum(out * w), so every element of the rule counts, with its own weight.
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
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss, log_softmax
from tinytorch.core.tensor import Function, Tensor, _unbroadcast, graph_op
from tinytorch.testing import assert_close, numerical_gradient, sample
from tinytorch.testing import recording_on  # noqa: F401  (autouse fixture: grad mode on in every test)

SEED = 0
check_backward = partial(testing.check_backward, seed=SEED)     # its weight w drawn from this file's seed


# ------------------------------------------------------------------------------ _unbroadcast


@pytest.mark.points(2)
def test_unbroadcast_sums_the_broadcast_dims():
    g = sample((4, 3), seed=SEED)
    assert_close(_unbroadcast(g, (3,)), g.sum(axis=0), what="_unbroadcast(grad (4, 3), (3,))")
    assert_close(_unbroadcast(g, (4, 1)), g.sum(axis=1).reshape(4, 1), what="_unbroadcast(grad (4, 3), (4, 1))")
    assert_close(_unbroadcast(g, (4, 3)), g, what="_unbroadcast(grad (4, 3), (4, 3)) (nothing to sum)")


# ------------------------------------------------------------------------------ Tensor ops


ELEMENTWISE = {
    "add": (lambda a, b: a + b, "a + b", 2),
    "sub": (lambda a, b: a - b, "a - b", 2),
    "mul": (lambda a, b: a * b, "a * b", 2),
    "div": (lambda a, b: a / b, "a / b", 2),
    "neg": (lambda a: -a, "-a", 1),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("op", list(ELEMENTWISE))
def test_elementwise_backward_matches_finite_differences(op):
    fn, expr, n_inputs = ELEMENTWISE[op]
    arrays = [sample((2, 3), seed=1), sample((2, 3), seed=2, low=0.5)][:n_inputs]   # b away from 0
    check_backward(fn, arrays, expr)


@pytest.mark.points(2)
def test_reflected_ops_backward():
    check_backward(lambda a: (2.0 - a) * (3.0 / a) + 1.5 * a + (4.0 + a), [sample((3,), seed=SEED, low=0.5)],
                   "(2 - a) * (3 / a) + 1.5 * a + (4 + a)")


@pytest.mark.points(2)
def test_broadcast_bias_gradient_is_summed_over_rows():
    x, b = sample((4, 3), seed=1), sample((3,), seed=2, low=0.5)
    check_backward(lambda x, b: x + b, [x, b], "a + b (bias broadcast over rows)")
    check_backward(lambda x, b: x * b, [x, b], "a * b (b broadcast over rows)")


@pytest.mark.points(2)
def test_matmul_backward_2d():
    check_backward(lambda a, b: a @ b, [sample((4, 3), seed=1), sample((3, 2), seed=2)], "a @ b")


@pytest.mark.points(2)
def test_reshape_and_transpose_backward():
    x = sample((2, 3), seed=1)
    check_backward(lambda a: a.reshape(3, 2) * Tensor(np.arange(6.0).reshape(3, 2)), [x],
                   "a.reshape(3, 2) * [[0, 1], [2, 3], [4, 5]]")
    check_backward(lambda a: a.transpose(), [x], "a.transpose()")


REDUCTIONS = {
    "sum": (lambda a: a.sum(), "a.sum()"),
    "sum_axis1": (lambda a: a.sum(axis=1), "a.sum(axis=1)"),
    "mean_axis0_keepdims": (lambda a: a.mean(axis=0, keepdims=True), "a.mean(axis=0, keepdims=True)"),
    "max_last_axis": (lambda a: a.max(axis=-1), "a.max(axis=-1)"),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(REDUCTIONS))
def test_reduction_backward_matches_finite_differences(case):
    fn, expr = REDUCTIONS[case]
    check_backward(fn, [sample((3, 4), seed=3)], expr)            # continuous values: no ties in max


@pytest.mark.points(1)
def test_max_backward_only_the_maximum_gets_gradient():
    x = Tensor([1.0, 5.0, 2.0], requires_grad=True)
    x.max().backward()
    assert x.grad is not None, "Tensor([1, 5, 2]).max().backward(): x.grad is None"
    assert_close(x.grad, [0.0, 1.0, 0.0], what="Tensor([1, 5, 2]).max().backward(): x.grad")


@pytest.mark.points(2)
def test_getitem_backward_int_and_slice():
    x = sample((3, 4), seed=4)
    check_backward(lambda a: a[1], [x], "a[1]")
    check_backward(lambda a: a[:, 1:3], [x], "a[:, 1:3]")
    check_backward(lambda a: a[-1, ::2], [x], "a[-1, ::2]")


# ------------------------------------------------------------------------------ activations and losses


ACTIVATIONS = {
    "Sigmoid": Sigmoid(),
    "ReLU": ReLU(),
    "Tanh": Tanh(),
    "GELU": GELU(),
    "Softmax": Softmax(dim=-1),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward_matches_finite_differences(name):
    x = sample((3, 4), seed=5, low=0.05)              # no input near ReLU's kink at 0
    check_backward(ACTIVATIONS[name], [x], f"{name}(dim=-1)(a)" if name == "Softmax" else f"{name}()(a)")


TARGETS = np.array([2, 0, 1, 2])
BCE_TARGETS = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
LOSSES = {
    "log_softmax": (lambda a: log_softmax(a, dim=-1), "log_softmax(a, dim=-1)", sample((4, 3), seed=6)),
    "MSELoss": (lambda a: MSELoss()(a, sample((4, 3), seed=7)), "MSELoss()(a, target)", sample((4, 3), seed=6)),
    "CrossEntropyLoss": (lambda a: CrossEntropyLoss()(a, TARGETS), "CrossEntropyLoss()(a, targets [2, 0, 1, 2])",
                         sample((4, 3), seed=6)),
    "BinaryCrossEntropyLoss": (lambda a: BinaryCrossEntropyLoss()(a, BCE_TARGETS),
                               "BinaryCrossEntropyLoss()(a, targets [[1, 0, 1], [0, 0, 1]])",
                               np.array([[0.9, 0.2, 0.35], [0.6, 0.05, 0.7]])),   # away from the clip
}


@pytest.mark.points(1)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_backward_matches_finite_differences(name):
    fn, expr, x = LOSSES[name]
    check_backward(fn, [x], expr)             # a scalar loss, seeded with a random w: grad must be used


# ------------------------------------------------------------------------------ the graph


@pytest.mark.points(2)
def test_backward_of_x_times_x_from_a_scalar():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()                           # no gradient: the seed is 1
    assert isinstance(x.grad, Tensor), f"(x * x).sum().backward(): x.grad should be a Tensor; got {x.grad!r}"
    assert x.grad.shape == x.shape, f"x.grad should have x's shape {x.shape}; got {x.grad.shape}"
    assert_close(x.grad, [2.0, -4.0, 6.0],
                 what="x = [1, -2, 3]; (x * x).sum().backward(): x.grad (x is both inputs of *: 2x)")


@pytest.mark.points(2)
def test_diamond_both_paths_add_up():
    x = Tensor([1.0, 2.0], requires_grad=True)
    a = x * 2.0
    b = x * 3.0
    (a + b).sum().backward()
    assert_close(x.grad, [5.0, 5.0], what="a = x * 2; b = x * 3; (a + b).sum().backward(): x.grad (2 + 3)")
    check_backward(lambda x: Tanh()(x) * x + Sigmoid()(x * x), [sample((2, 3), seed=8)],
                   "tanh(a) * a + sigmoid(a * a) (a used on four paths)")


@pytest.mark.points(1)
def test_leaf_without_requires_grad_gets_no_grad():
    w = Tensor([2.0, 3.0], requires_grad=True)
    x = Tensor([4.0, 5.0])                             # data: requires_grad=False
    (w * x).sum().backward()
    assert_close(w.grad, [4.0, 5.0], what="(w * x).sum().backward(): w.grad")
    assert x.grad is None, f"x has requires_grad=False, so x.grad should stay None; got {x.grad!r}"


@pytest.mark.points(2)
def test_no_grad_records_nothing():
    w = Tensor([1.0, -2.0], requires_grad=True)
    assert is_grad_enabled(), "grad mode should be on outside no_grad()"
    with no_grad():
        assert not is_grad_enabled(), "inside `with no_grad():` is_grad_enabled() should be False"
        results = {"w * 2": w * 2, "w.sum()": w.sum(), "Sigmoid()(w)": Sigmoid()(w),
                   "MSELoss()(w, [0, 0])": MSELoss()(w, np.zeros(2))}
    assert is_grad_enabled(), "after the `with no_grad():` block ends, grad mode should be on again"
    for expr, y in results.items():
        assert not y.requires_grad, f"{expr} inside no_grad() should have requires_grad=False"
        assert y._grad_fn is None, f"{expr} inside no_grad() should record no graph node; got {y._grad_fn!r}"
    y = w * 2                                          # recording is back
    assert y.requires_grad and y._grad_fn is not None, "after no_grad(), w * 2 should record its graph again"


# ------------------------------------------------------------------------------ gradcheck, systems questions


class WrongSquareBackward(Function):
    """A deliberately wrong rule for x^2: says x instead of 2x."""

    def backward(self, grad):
        return (grad * self.saved_tensors[0],)


@graph_op(WrongSquareBackward)
def wrong_square(self):
    return Tensor(self.data ** 2)


@pytest.mark.points(2)
def test_gradcheck_passes_correct_rules_and_catches_a_wrong_one():
    a = Tensor(sample((3, 4), seed=9), requires_grad=True)
    b = Tensor(sample((4, 2), seed=10), requires_grad=True)
    result = gradcheck(lambda a, b: Tanh()(a @ b), [a, b])
    assert result is True, f"gradcheck(tanh(a @ b)) on correct rules should return True; got {result!r}"
    x = Tensor(sample((3,), seed=11), requires_grad=True)
    with pytest.raises(GradcheckError):
        gradcheck(wrong_square, [x])
    with pytest.raises(TypeError):
        gradcheck(lambda t: t * t, [Tensor(np.ones(3, dtype=np.float32), requires_grad=True)])


@pytest.mark.points(2)
def test_graph_nodes_and_graph_memory_bytes():
    w = Tensor([1.0, 2.0], requires_grad=True)
    assert graph_nodes(((w * 2) + w).sum()) == 3, "graph_nodes(((w * 2) + w).sum()) should be 3 (mul, add, sum)"
    assert graph_nodes(w) == 0, "graph_nodes of a leaf should be 0"
    got = graph_memory_bytes(10, (32, 1024), np.float32)
    assert got == 11 * 32 * 1024 * 4, (
        f"graph_memory_bytes(10, (32, 1024), float32) should be 11 arrays of 128 KiB = 1441792; got {got}")


# ------------------------------------------------------------------------------ end to end


@pytest.mark.points(2)
def test_mlp_cross_entropy_parameter_gradients_match_finite_differences():
    rng = np.random.default_rng(SEED)
    model = Sequential(Linear(4, 5, rng=rng), ReLU(), Linear(5, 3, rng=rng))
    for layer in (model[0], model[2]):                 # float64 parameters for finite differences
        layer.weight = Tensor(layer.weight.data.astype(np.float64), requires_grad=True)
        layer.bias = Tensor(rng.standard_normal(layer.bias.shape), requires_grad=True)
    x = Tensor(rng.standard_normal((6, 4)))
    targets = np.array([0, 2, 1, 1, 0, 2])
    loss_fn = CrossEntropyLoss()

    loss_fn(model(x), targets).backward()
    names = ["layer 0 weight", "layer 0 bias", "layer 2 weight", "layer 2 bias"]
    for name, p in zip(names, model.parameters()):
        expected = numerical_gradient(lambda _: loss_fn(model(x), targets).item(), p.data)   # perturbs p in place
        assert p.grad is not None, f"Linear-ReLU-Linear-CrossEntropy: after loss.backward(), {name}.grad is None"
        assert_close(p.grad, expected, rtol=1e-5, atol=1e-7,
                     what=f"Linear(4, 5)-ReLU-Linear(5, 3)-CrossEntropyLoss on 6 rows: {name}.grad")


@pytest.mark.points(1)
def test_dropout_gradient_flows_through_its_mask():
    dropout = Dropout(0.5, rng=np.random.default_rng(SEED))
    x_data = sample((4, 5), seed=12, low=0.1)
    x = Tensor(x_data, requires_grad=True)
    y = dropout(x)
    mask = y.data / x_data                             # 0 where dropped, 1 / (1 - p) = 2 where kept
    w = sample((4, 5), seed=13)
    y.backward(w)
    assert_close(x.grad, w * mask, what="y = Dropout(0.5)(x); y.backward(w): x.grad (w times the same mask)")
