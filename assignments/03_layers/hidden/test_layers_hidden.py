"""Hidden tests for module 03 (layers): batched and 1-D inputs, seeding, argument errors,
parameters() of tuples / shared Tensors / deep trees, train/eval through containers,
Sequential edge cases, Dropout at other p, and the systems functions."""

import re

import numpy as np
import pytest

from tinytorch.core.activations import Tanh
from tinytorch.core.layers import (
    Dropout,
    Linear,
    Module,
    Sequential,
    layer_memory_bytes,
    linear_flops,
    linear_param_count,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import assert_close, assert_same_tensors

SEED = 3


def make_rng(seed=SEED):
    return np.random.default_rng(seed)


def sample(shape, seed=4):
    return make_rng(seed).standard_normal(shape).astype(np.float32)


def linear_reference(layer, x):
    """x @ W + b in float64 by an explicit sum over the input features."""
    w = layer.weight.data.astype(np.float64)
    out = np.einsum("...i,io->...o", np.asarray(x, dtype=np.float64), w)
    return out if layer.bias is None else out + layer.bias.data.astype(np.float64)


class Box(Module):
    """A Module that stores whatever attributes it is given, in the order given."""

    def __init__(self, **attributes):
        super().__init__()
        for name, value in attributes.items():
            setattr(self, name, value)

    def forward(self, x):
        return x


def param(n=2, seed=0):
    return Tensor(make_rng(seed).standard_normal(n).astype(np.float32), requires_grad=True)


# ----------------------------------------------------------------------------------- Linear


@pytest.mark.points(3)
def test_linear_batched_3d_input_matches_einsum():
    layer = Linear(5, 4, rng=make_rng())
    layer.bias.data[:] = [1.0, -2.0, 0.5, 0.0]
    x = sample((2, 3, 5))
    out = layer(Tensor(x))
    assert_close(out, linear_reference(layer, x), what="Linear(5, 4)(x) for x of shape (2, 3, 5)")


@pytest.mark.points(2)
def test_linear_1d_input_gives_1d_output():
    layer = Linear(3, 2, rng=make_rng())
    layer.bias.data[:] = [0.25, -0.25]
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    assert_close(layer(Tensor(x)), linear_reference(layer, x), what="Linear(3, 2)(x) for x of shape (3,)")


@pytest.mark.points(2)
def test_linear_seeded_rng_is_reproducible():
    for init in ("xavier", "he"):
        a = Linear(6, 4, init=init, rng=make_rng(7))
        b = Linear(6, 4, init=init, rng=make_rng(7))
        c = Linear(6, 4, init=init, rng=make_rng(8))
        assert np.array_equal(a.weight.data, b.weight.data), (
            f"Linear(6, 4, init={init!r}) with two generators seeded 7 should give equal weights: draw from rng")
        assert not np.array_equal(a.weight.data, c.weight.data), (
            f"Linear(6, 4, init={init!r}) with seeds 7 and 8 should give different weights")
    d, e = Linear(6, 4), Linear(6, 4)
    assert not np.array_equal(d.weight.data, e.weight.data), (
        "two Linear(6, 4) without rng should get different random weights (default_rng() when rng is None)")


@pytest.mark.points(1)
def test_linear_default_init_is_xavier():
    default = Linear(20, 30, rng=make_rng(5))
    xavier = Linear(20, 30, init="xavier", rng=make_rng(5))
    assert np.array_equal(default.weight.data, xavier.weight.data), (
        "Linear(20, 30) should use init='xavier' by default")


@pytest.mark.parametrize("in_features, out_features, bad", [
    (0, 2, "in_features"),
    (3, -1, "out_features"),
    (2.5, 2, "in_features"),
])
@pytest.mark.points(1)
def test_linear_rejects_bad_sizes(in_features, out_features, bad):
    with pytest.raises(ValueError) as info:
        Linear(in_features, out_features)
    assert bad in str(info.value), (
        f"Linear({in_features!r}, {out_features!r}) should raise a ValueError naming {bad}; "
        f"the message was: {info.value}")


@pytest.mark.points(1)
def test_linear_unknown_init_lists_known_ones():
    with pytest.raises(ValueError) as info:
        Linear(3, 2, init="kaiming")
    message = str(info.value)
    assert "kaiming" in message and "xavier" in message and re.search(r"\bhe\b", message), (
        f"Linear(3, 2, init='kaiming') should raise a ValueError naming 'kaiming' and the known "
        f"inits 'xavier', 'he'; the message was: {message}")


@pytest.mark.points(1)
def test_linear_without_bias_has_only_weight_parameter():
    layer = Linear(3, 2, bias=False, rng=make_rng())
    assert_same_tensors(layer.parameters(), [("weight", layer.weight)], "Linear(3, 2, bias=False).parameters()")
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)", f"repr: got {layer!r}"


@pytest.mark.points(1)
def test_linear_wrong_width_3d_and_0d_inputs_raise():
    layer = Linear(4, 2, rng=make_rng())
    with pytest.raises(ValueError) as info:
        layer(Tensor(np.ones((2, 3, 5), dtype=np.float32)))
    assert "(2, 3, 5)" in str(info.value), (
        f"Linear(4, 2) on input of shape (2, 3, 5) should raise a ValueError naming (2, 3, 5); "
        f"the message was: {info.value}")
    with pytest.raises(ValueError):
        layer(Tensor(1.0))


# ----------------------------------------------------------------------------------- Module


@pytest.mark.points(3)
def test_parameters_tuples_and_nested_lists():
    inner = Linear(2, 2, rng=make_rng())
    t1, t2, t3 = param(seed=1), param(seed=2), param(seed=3)
    box = Box(pair=(t1, inner), nested=[[t2], [[t3]]], empty=[], frozen=(Tensor(np.ones(2)),))
    assert_same_tensors(box.parameters(), [
        ("pair[0]", t1), ("pair[1].weight", inner.weight), ("pair[1].bias", inner.bias),
        ("nested[0][0]", t2), ("nested[1][0][0]", t3),
    ], "Module.parameters() with a tuple (Tensor, Linear) and lists nested three deep")


@pytest.mark.points(2)
def test_parameters_skip_non_parameters():
    box = Box(array=np.ones(3), number=3, text="x", nothing=None, frozen=Tensor(np.ones(2)),
              rng=make_rng(), flags=[True, 1.5])
    got = box.parameters()
    assert got == [], (
        f"parameters() of a module holding only an array, numbers, a string, None, a Tensor with "
        f"requires_grad=False, a generator and a list of numbers should be []; got {len(got)} items")
    assert Box().parameters() == [], "parameters() of a module without attributes should be []"


@pytest.mark.points(3)
def test_parameters_shared_tensor_across_submodules():
    encoder, decoder = Linear(4, 4, rng=make_rng(1)), Linear(4, 4, rng=make_rng(2))
    decoder.weight = encoder.weight                     # weight tying across two layers
    model = Sequential(encoder, Tanh(), decoder, Sequential(encoder))
    assert_same_tensors(model.parameters(), [
        ("encoder.weight", encoder.weight), ("encoder.bias", encoder.bias), ("decoder.bias", decoder.bias),
    ], "parameters() of Sequential(enc, Tanh, dec, Sequential(enc)) with dec.weight = enc.weight")


@pytest.mark.points(1)
def test_parameters_follow_attribute_insertion_order():
    z, a, m = param(seed=1), param(seed=2), param(seed=3)
    box = Box(z=z, a=a, m=m)
    assert_same_tensors(box.parameters(), [("z", z), ("a", a), ("m", m)],
                        "parameters() of a module with attributes assigned in the order z, a, m")


@pytest.mark.points(1)
def test_parameters_deeply_nested_modules():
    leaf = param(seed=5)
    tree = Box(level1=Box(level2=Box(level3=Box(level4=leaf))))
    assert_same_tensors(tree.parameters(), [("level1.level2.level3.level4", leaf)],
                        "parameters() of a module four levels deep")


@pytest.mark.points(2)
def test_train_false_and_train_through_tuples_and_nested_lists():
    d1, d2, d3 = Dropout(0.1), Dropout(0.2), Dropout(0.3)
    inner = Box(deep=[[d3]])
    box = Box(pair=(d1, Tanh()), nested=[[d2]], inner=inner)
    tree = {"box": box, "pair[0]": d1, "nested[0][0]": d2, "inner": inner, "inner.deep[0][0]": d3}
    assert box.train(False) is box, "module.train(False) should return the module itself"
    still = [name for name, m in tree.items() if m.training is not False]
    assert not still, f"after train(False), training should be False everywhere; still True: {still}"
    assert box.train(True) is box, "module.train(True) should return the module itself"
    off = [name for name, m in tree.items() if m.training is not True]
    assert not off, f"after train(True), training should be True everywhere; still False: {off}"


# ------------------------------------------------------------------------------- Sequential


@pytest.mark.points(1)
def test_sequential_len_getitem_and_nested_parameters():
    a, b = Linear(3, 4, rng=make_rng(1)), Linear(4, 2, rng=make_rng(2))
    model = Sequential(Sequential(a, Tanh()), b)
    assert len(model) == 2 and model[1] is b, "len(Sequential(s, b)) should be 2 and [1] should be b"
    assert_same_tensors(model.parameters(), [
        ("a.weight", a.weight), ("a.bias", a.bias), ("b.weight", b.weight), ("b.bias", b.bias),
    ], "Sequential(Sequential(a, Tanh()), b).parameters()")


@pytest.mark.points(1)
def test_sequential_empty_returns_input():
    x = Tensor(sample((2, 3)))
    out = Sequential()(x)
    assert_close(out, x.data, what="Sequential()(x) (no layers)")


@pytest.mark.points(2)
def test_sequential_eval_turns_inner_dropout_off():
    layer = Linear(6, 5, rng=make_rng())
    layer.bias.data[:] = 1.0
    model = Sequential(layer, Dropout(0.9, rng=make_rng(1)))
    x = sample((40, 6))
    model.eval()
    assert_close(model(Tensor(x)), linear_reference(layer, x),
                 what="Sequential(Linear(6, 5), Dropout(0.9)) after eval(): Dropout should pass through")
    model.train()
    zeros = np.mean(model(Tensor(x)).data == 0)
    assert zeros > 0.8, (
        f"Sequential(Linear, Dropout(0.9)) after train(): about 90% of outputs should be 0; got {zeros:.1%}")


# ---------------------------------------------------------------------------------- Dropout


@pytest.mark.parametrize("p", [0.1, 0.75])
@pytest.mark.points(2)
def test_dropout_statistics_at_other_p(p):
    dropout = Dropout(p, rng=make_rng())
    x = sample((200, 500))
    out = dropout(Tensor(x)).data
    dropped = out == 0
    assert abs(dropped.mean() - p) < 0.01, (
        f"Dropout({p}) in training should zero a fraction {p} of the elements; zeroed {dropped.mean():.3f}")
    assert_close(out[~dropped], x[~dropped] / (1 - p),
                 what=f"Dropout({p}): kept elements, which should be x / (1 - p)")
    mean = dropout(Tensor(np.ones((200, 500), dtype=np.float32))).data.mean()
    assert abs(mean - 1.0) < 0.03, f"Dropout({p}) on ones should keep the mean about 1; got {mean:.4f}"


@pytest.mark.points(1)
def test_dropout_p_zero_is_identity_in_training():
    dropout = Dropout(0.0, rng=make_rng())
    assert dropout.training, "a new Dropout should be in training mode"
    x = sample((8, 9))
    assert np.array_equal(np.asarray(dropout(Tensor(x)).data), x), (
        "Dropout(0.0) in training should return its input values unchanged")


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
@pytest.mark.points(1)
def test_dropout_rejects_p_outside_range(p):
    with pytest.raises(ValueError) as info:
        Dropout(p)
    assert str(p) in str(info.value), (
        f"Dropout({p}) should raise a ValueError naming p = {p}; the message was: {info.value}")


@pytest.mark.points(1)
def test_dropout_new_mask_each_call_and_seeded():
    x = Tensor(np.ones((30, 30), dtype=np.float32))
    dropout = Dropout(0.5, rng=make_rng(11))
    first, second = dropout(x).data, dropout(x).data
    assert not np.array_equal(first, second), "Dropout should draw a new mask on every call in training"
    again = Dropout(0.5, rng=make_rng(11))(x).data
    assert np.array_equal(first, again), "two Dropout(0.5) with generators seeded alike should drop alike"
    assert dropout.parameters() == [], "Dropout has no trainable parameters"


# ---------------------------------------------------------------------------------- systems


@pytest.mark.points(2)
def test_layer_memory_bytes_uses_dtypes_and_counts_shared_once():
    layer = Linear(10, 5, rng=make_rng())
    model = Sequential(layer, Tanh(), layer)
    got = layer_memory_bytes(model)
    assert got == (10 * 5 + 5) * 4, (
        f"layer_memory_bytes of Sequential(layer, Tanh(), layer), layer = Linear(10, 5): the shared "
        f"layer counts once: expected 220; got {got}")
    box = Box(w64=Tensor(np.zeros((3, 4), dtype=np.float64), requires_grad=True),
              w16=Tensor(np.zeros(6, dtype=np.float16), requires_grad=True))
    got = layer_memory_bytes(box)
    assert got == 12 * 8 + 6 * 2, f"layer_memory_bytes of 12 float64 + 6 float16 parameters: expected 108; got {got}"
    assert linear_param_count(10, 5) == 55, f"linear_param_count(10, 5): expected 55; got {linear_param_count(10, 5)}"


@pytest.mark.points(1)
def test_linear_flops():
    assert linear_flops(32, 784, 128) == 2 * 32 * 784 * 128 + 32 * 128, (
        f"linear_flops(32, 784, 128): expected 2*32*784*128 + 32*128 = 6426624; got {linear_flops(32, 784, 128)}")
    assert linear_flops(1, 3, 2, bias=False) == 12, (
        f"linear_flops(1, 3, 2, bias=False): expected 2*1*3*2 = 12; got {linear_flops(1, 3, 2, bias=False)}")
