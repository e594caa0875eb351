"""Visible tests for module 03 (layers). Run them with `make test M=03`.

Expected values are computed here independently: the Linear forward with np.einsum in float64
on the layer's own weights; initialisations by their statistics over half a million draws from
a seeded generator; parameters() against the list a reader writes by hand.
"""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Sigmoid
from tinytorch.core.layers import (
    Dropout,
    Linear,
    Module,
    Sequential,
    layer_memory_bytes,
    linear_param_count,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import assert_close, assert_same_tensors

SEED = 0
BIG_FAN_IN, BIG_FAN_OUT = 1000, 500     # 500,000 weights: sample statistics are tight
STD_TOLERANCE = 0.02                    # relative; the sampling error is about 0.1%


def make_rng(seed=SEED):
    return np.random.default_rng(seed)


def sample(shape, seed=1):
    return make_rng(seed).standard_normal(shape).astype(np.float32)


# ----------------------------------------------------------------------------------- Linear


@pytest.mark.points(3)
def test_linear_weight_and_bias_shapes():
    layer = Linear(3, 2, rng=make_rng())
    assert (layer.in_features, layer.out_features) == (3, 2), (
        f"Linear(3, 2) should set in_features=3, out_features=2; "
        f"got {layer.in_features}, {layer.out_features}")
    assert layer.weight.shape == (3, 2), (
        f"Linear(3, 2).weight should have shape (in_features, out_features) = (3, 2) "
        f"(this course computes x @ W + b); got {layer.weight.shape}")
    assert layer.bias.shape == (2,), f"Linear(3, 2).bias should have shape (2,); got {layer.bias.shape}"
    assert np.all(layer.bias.data == 0), f"Linear(3, 2).bias should start at zeros; got {layer.bias.data}"
    for name in ("weight", "bias"):
        p = getattr(layer, name)
        assert isinstance(p, Tensor), f"Linear(3, 2).{name} should be a Tensor; got {type(p).__name__}"
        assert p.dtype == np.float32, f"Linear(3, 2).{name} should be float32; got {p.dtype}"
        assert p.requires_grad, f"Linear(3, 2).{name} should have requires_grad=True (it is trained)"
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=True)", f"repr: got {layer!r}"


@pytest.mark.points(4)
def test_linear_forward_matches_numpy():
    layer = Linear(4, 3, rng=make_rng())
    layer.bias.data[:] = [0.5, -1.0, 2.0]              # a non-zero bias, so that adding it shows
    x = sample((5, 4))
    w = layer.weight.data.astype(np.float64)
    b = layer.bias.data.astype(np.float64)
    expected = np.einsum("ni,io->no", x.astype(np.float64), w) + b
    out = layer(Tensor(x))
    assert isinstance(out, Tensor), f"Linear(4, 3)(x) should return a Tensor; got {type(out).__name__}"
    assert_close(out, expected, what="Linear(4, 3)(x) for x of shape (5, 4), bias [0.5, -1, 2]")


@pytest.mark.points(2)
def test_linear_without_bias():
    layer = Linear(4, 3, bias=False, rng=make_rng())
    assert layer.bias is None, f"Linear(4, 3, bias=False).bias should be None; got {layer.bias!r}"
    x = sample((2, 4))
    expected = np.einsum("ni,io->no", x.astype(np.float64), layer.weight.data.astype(np.float64))
    assert_close(layer(Tensor(x)), expected, what="Linear(4, 3, bias=False)(x) for x of shape (2, 4)")


@pytest.mark.points(3)
def test_linear_xavier_uniform_statistics():
    layer = Linear(BIG_FAN_IN, BIG_FAN_OUT, init="xavier", rng=make_rng())
    what = f"Linear({BIG_FAN_IN}, {BIG_FAN_OUT}, init='xavier').weight"
    w = layer.weight.data.astype(np.float64)
    assert w.shape == (BIG_FAN_IN, BIG_FAN_OUT), f"{what} should have shape {(BIG_FAN_IN, BIG_FAN_OUT)}; got {w.shape}"
    bound = np.sqrt(6.0 / (BIG_FAN_IN + BIG_FAN_OUT))
    largest = np.abs(w).max()
    assert largest <= bound * (1 + 1e-6), (
        f"{what}: every value should lie in [-a, a], a = sqrt(6 / (in + out)) = {bound:.5f}; "
        f"found {largest:.5f}")
    assert largest >= 0.99 * bound, (
        f"{what}: uniform values should fill [-a, a], a = {bound:.5f}; the largest is only {largest:.5f}")
    assert abs(w.mean()) < 0.01 * bound, f"{what}: mean should be about 0; got {w.mean():.5f}"
    want_std = bound / np.sqrt(3.0)                   # standard deviation of U(-a, a)
    assert abs(w.std() / want_std - 1) < STD_TOLERANCE, (
        f"{what}: std should be a / sqrt(3) = {want_std:.5f} (uniform); got {w.std():.5f}")


@pytest.mark.points(3)
def test_linear_he_normal_statistics():
    layer = Linear(BIG_FAN_IN, BIG_FAN_OUT, init="he", rng=make_rng())
    what = f"Linear({BIG_FAN_IN}, {BIG_FAN_OUT}, init='he').weight"
    w = layer.weight.data.astype(np.float64)
    assert w.shape == (BIG_FAN_IN, BIG_FAN_OUT), f"{what} should have shape {(BIG_FAN_IN, BIG_FAN_OUT)}; got {w.shape}"
    want_std = np.sqrt(2.0 / BIG_FAN_IN)
    assert abs(w.mean()) < 0.01 * want_std, f"{what}: mean should be about 0; got {w.mean():.5f}"
    assert abs(w.std() / want_std - 1) < STD_TOLERANCE, (
        f"{what}: std should be sqrt(2 / in_features) = {want_std:.5f}; got {w.std():.5f}")
    # A normal distribution puts 4.55% of its values beyond 2 standard deviations; a uniform
    # distribution with the same std puts none there.
    tail = np.mean(np.abs(w) > 2 * want_std)
    assert 0.040 < tail < 0.051, (
        f"{what}: {tail:.2%} of values lie beyond 2 std; a normal distribution has 4.55% there")
    assert np.all(layer.bias.data == 0), f"Linear(..., init='he').bias should start at zeros"


@pytest.mark.points(2)
def test_linear_wrong_input_width_names_shapes():
    layer = Linear(7, 2, rng=make_rng())
    with pytest.raises(ValueError) as info:
        layer(Tensor(np.ones((4, 5), dtype=np.float32)))
    message = str(info.value)
    assert "(4, 5)" in message and "in_features" in message and "7" in message, (
        f"Linear(7, 2) on input of shape (4, 5) should raise its own ValueError naming the shape "
        f"(4, 5) and in_features (7), before the matmul; the message was: {message}")


# ----------------------------------------------------------------------------------- Module


@pytest.mark.points(4)
def test_parameters_walks_tensors_modules_and_lists():
    layer = Linear(3, 2, rng=make_rng())
    assert_same_tensors(layer.parameters(), [("weight", layer.weight), ("bias", layer.bias)],
                        "Linear(3, 2).parameters()")

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.scale = Tensor(np.ones(3), requires_grad=True)
            self.frozen = Tensor(np.ones(3))               # requires_grad=False: not a parameter
            self.encoder = Linear(3, 4, rng=make_rng(1))
            self.name = "net"
            self.heads = [Linear(4, 2, rng=make_rng(2)), Linear(4, 1, bias=False, rng=make_rng(3))]
            self.gamma = Tensor(np.ones(2), requires_grad=True)

        def forward(self, x):
            return x

    net = Net()
    assert_same_tensors(net.parameters(), [
        ("scale", net.scale),
        ("encoder.weight", net.encoder.weight), ("encoder.bias", net.encoder.bias),
        ("heads[0].weight", net.heads[0].weight), ("heads[0].bias", net.heads[0].bias),
        ("heads[1].weight", net.heads[1].weight),
        ("gamma", net.gamma),
    ], "Net().parameters() (Tensor, frozen Tensor, Linear, str, list of Linear, Tensor)")


@pytest.mark.points(3)
def test_parameters_each_tensor_once():
    class Tied(Module):
        def __init__(self):
            super().__init__()
            self.a = Linear(3, 3, rng=make_rng())
            self.b = self.a                                # the same layer again
            self.w = self.a.weight                         # the same Tensor again
            self.c = Linear(3, 3, rng=make_rng())          # equal values, but other Tensors

    tied = Tied()
    assert_same_tensors(tied.parameters(), [
        ("a.weight", tied.a.weight), ("a.bias", tied.a.bias),
        ("c.weight", tied.c.weight), ("c.bias", tied.c.bias),
    ], "Tied().parameters() (a, b = a, w = a.weight, c = a copy of a)")


@pytest.mark.points(3)
def test_train_and_eval_reach_every_submodule():
    class Net(Module):
        def __init__(self):
            super().__init__()
            self.block = Sequential(Linear(2, 2, rng=make_rng()), Dropout(0.5, rng=make_rng()))
            self.extra = [Dropout(0.1, rng=make_rng())]

    net = Net()
    tree = {"net": net, "net.block": net.block, "net.block[0]": net.block[0],
            "net.block[1]": net.block[1], "net.extra[0]": net.extra[0]}
    not_training = [name for name, m in tree.items() if m.training is not True]
    assert not not_training, f"a new module should have training=True; these do not: {not_training}"

    returned = net.eval()
    assert returned is net, "net.eval() should return net itself"
    still = [name for name, m in tree.items() if m.training is not False]
    assert not still, f"after net.eval(), training should be False everywhere; still True: {still}"

    returned = net.train()
    assert returned is net, "net.train() should return net itself"
    off = [name for name, m in tree.items() if m.training is not True]
    assert not off, f"after net.eval() then net.train(), training should be True everywhere; False: {off}"


# ------------------------------------------------------------------------------- Sequential


@pytest.mark.points(4)
def test_sequential_matches_manual_composition():
    first, second = Linear(4, 8, rng=make_rng(1)), Linear(8, 3, rng=make_rng(2))
    first.bias.data[:] = np.linspace(-1.0, 1.0, 8)
    second.bias.data[:] = [0.3, -0.2, 0.1]
    model = Sequential(first, ReLU(), second, Sigmoid())
    x = sample((6, 4)).astype(np.float64)

    w1, b1 = first.weight.data.astype(np.float64), first.bias.data.astype(np.float64)
    w2, b2 = second.weight.data.astype(np.float64), second.bias.data.astype(np.float64)
    hidden = np.clip(np.einsum("ni,io->no", x, w1) + b1, 0.0, None)          # ReLU
    logits = np.einsum("ni,io->no", hidden, w2) + b2
    expected = np.exp(-np.logaddexp(0.0, -logits))                            # sigmoid

    out = model(Tensor(x.astype(np.float32)))
    assert_close(out, expected, what="Sequential(Linear(4, 8), ReLU(), Linear(8, 3), Sigmoid())(x)")
    assert_same_tensors(model.parameters(), [
        ("[0].weight", first.weight), ("[0].bias", first.bias),
        ("[2].weight", second.weight), ("[2].bias", second.bias),
    ], "Sequential(Linear, ReLU, Linear, Sigmoid).parameters()")


# ---------------------------------------------------------------------------------- Dropout


@pytest.mark.points(3)
def test_dropout_training_statistics():
    p = 0.3
    dropout = Dropout(p, rng=make_rng())
    x = sample((200, 500))                             # standard normal: no exact zeros
    out = dropout(Tensor(x))
    assert isinstance(out, Tensor), f"Dropout(0.3)(x) should return a Tensor; got {type(out).__name__}"
    assert out.shape == x.shape, f"Dropout(0.3)(x) should keep the shape {x.shape}; got {out.shape}"
    dropped = out.data == 0
    fraction = dropped.mean()
    assert abs(fraction - p) < 0.01, (
        f"Dropout(0.3) in training should zero about 30% of the elements; zeroed {fraction:.2%}")
    kept = ~dropped
    assert_close(out.data[kept], x[kept] / (1 - p),
                 what="Dropout(0.3): the kept elements, which should be x / (1 - p)")
    ones_out = dropout(Tensor(np.ones((200, 500), dtype=np.float32)))
    mean = ones_out.data.mean()
    assert abs(mean - 1.0) < 0.02, (
        f"Dropout(0.3) on an array of ones should keep the mean about 1 (inverted dropout); got {mean:.4f}")


@pytest.mark.points(2)
def test_dropout_eval_is_identity():
    dropout = Dropout(0.5, rng=make_rng())
    returned = dropout.eval()
    assert returned is dropout, "Dropout(0.5).eval() should return the module itself"
    x = sample((10, 20))
    out = dropout(Tensor(x))
    assert np.array_equal(np.asarray(out.data), x), (
        "Dropout(0.5) in eval mode should return its input values unchanged")


# ---------------------------------------------------------------------------------- systems


@pytest.mark.points(2)
def test_linear_param_count_and_memory():
    assert linear_param_count(784, 128) == 100_480, (
        f"linear_param_count(784, 128): expected 784*128 + 128 = 100480; got {linear_param_count(784, 128)}")
    assert linear_param_count(784, 128, bias=False) == 100_352, (
        f"linear_param_count(784, 128, bias=False): expected 100352; got {linear_param_count(784, 128, bias=False)}")
    got = layer_memory_bytes(Linear(784, 128, rng=make_rng()))
    assert got == 401_920, f"layer_memory_bytes(Linear(784, 128)): expected 100480 float32 * 4 B = 401920; got {got}"
