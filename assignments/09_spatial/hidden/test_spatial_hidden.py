"""Hidden tests for module 09 (spatial): convolution in many configurations (stride, padding,
non-square inputs and kernels, kernel sizes 1/3/5, no bias) against a loop, their gradients
against finite differences, He init and argument errors, overlapping and non-divisible pooling,
max-pool ties, batch-norm running statistics, eval-mode gradients and errors, a whole small CNN
through gradcheck, Flatten's backward, and the systems functions on more inputs."""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import gradcheck
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.spatial import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    MaxPool2d,
    avg_pool2d,
    batch_norm2d,
    conv2d,
    conv2d_flops,
    conv_output_size,
    conv_param_count,
    dense_equivalent_param_count,
    im2col_bytes,
    max_pool2d,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import GRAD_ATOL, GRAD_RTOL, assert_close, numerical_gradient, sample
from tinytorch.testing import conv_layer, conv_loop, distinct, pool_loop    # the loop references of module 09

SEED = 5
F32_RTOL, F32_ATOL = 1e-4, 1e-5      # float32 sums of up to ~150 products against float64 loops


# ------------------------------------------------------------------------ convolution forward

# (x shape, out channels, kernel, stride, padding, bias)
CONFIGS = {
    "stride2_pad1": ((2, 3, 9, 9), 4, 3, 2, 1, True),
    "nonsquare_input_pad2": ((2, 2, 7, 11), 3, 3, 1, 2, True),
    "kernel1_pointwise": ((3, 5, 4, 6), 2, 1, 1, 0, True),
    "kernel5_no_bias": ((2, 3, 10, 8), 4, 5, 1, 0, False),
    "nonsquare_kernel_and_stride": ((2, 2, 9, 10), 3, (3, 5), (2, 1), (1, 2), True),
    "stride_larger_than_kernel": ((1, 2, 10, 10), 3, 2, 3, 0, True),
}


@pytest.mark.points(2)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_conv2d_configs_match_loop(name):
    shape, c_out, k, stride, padding, bias = CONFIGS[name]
    layer = conv_layer(shape[1], c_out, k, stride=stride, padding=padding, bias=bias, dtype=np.float32, seed=SEED)
    x = sample(shape, seed=1)
    out = layer(Tensor(x.astype(np.float32)))
    b = layer.bias.data if bias else None
    want = conv_loop(x, layer.weight.data, b, stride, padding)
    assert out.dtype == np.float32, f"Conv2d on float32 input should give float32; got {out.dtype}"
    assert_close(out, want, rtol=F32_RTOL, atol=F32_ATOL,
                 what=f"Conv2d({shape[1]}, {c_out}, {k}, stride={stride}, padding={padding}, bias={bias})(x {shape})")


# ------------------------------------------------------------------------ convolution backward

GRAD_CONFIGS = {
    "stride2_pad1": ((2, 2, 5, 5), 3, 3, 2, 1, True),
    "kernel1": ((2, 3, 3, 4), 2, 1, 1, 0, True),
    "nonsquare_kernel_no_bias": ((1, 2, 5, 6), 2, (2, 3), (1, 2), (1, 0), False),
    "stride3_kernel2_gaps": ((1, 2, 7, 7), 2, 2, 3, 0, True),
}


@pytest.mark.points(3)
@pytest.mark.parametrize("name", list(GRAD_CONFIGS))
def test_conv2d_gradients_match_finite_differences(name):
    shape, c_out, k, stride, padding, bias = GRAD_CONFIGS[name]
    layer = conv_layer(shape[1], c_out, k, stride=stride, padding=padding, bias=bias, seed=SEED)
    x = sample(shape, seed=2)
    xt = Tensor(x.copy(), requires_grad=True)
    out = layer(xt)
    g = sample(out.shape, seed=3)
    out.backward(g)
    w = layer.weight.data.copy()
    b = layer.bias.data.copy() if bias else None
    what = (f"Conv2d({shape[1]}, {c_out}, {k}, stride={stride}, padding={padding}, bias={bias}) "
            f"on x {shape}, .backward(g)")

    def loss_x(v):
        return float(np.sum(conv_loop(v, w, b, stride, padding) * g))

    def loss_w(v):
        return float(np.sum(conv_loop(x, v, b, stride, padding) * g))

    checks = [("x.grad", xt.grad, numerical_gradient(loss_x, x.copy())),
              ("weight.grad", layer.weight.grad, numerical_gradient(loss_w, w.copy()))]
    if bias:
        checks.append(("bias.grad", layer.bias.grad, g.sum(axis=(0, 2, 3))))
    for label, got, want in checks:
        assert got is not None, f"{what}: {label} is None"
        assert_close(got, want, rtol=GRAD_RTOL, atol=GRAD_ATOL, what=f"{what}: {label} (expected: finite differences)")


@pytest.mark.points(1)
def test_conv2d_first_layer_input_without_grad():
    """Data does not require grad: the weight still gets its gradient, the input none."""
    x = sample((2, 3, 6, 6), seed=4)
    w = Tensor(sample((4, 3, 3, 3), seed=5), requires_grad=True)
    xt = Tensor(x)
    out = conv2d(xt, w, stride=1, padding=1)
    g = sample(out.shape, seed=6)
    out.backward(g)
    want = numerical_gradient(lambda v: float(np.sum(conv_loop(x, v, None, 1, 1) * g)), w.data.copy())
    assert_close(w.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL, what="conv2d(x (no grad), w).backward(g): w.grad")
    assert xt.grad is None, "conv2d: an input with requires_grad=False must not receive a .grad"


@pytest.mark.points(1)
def test_conv2d_keeps_float64():
    x, w = sample((1, 2, 5, 5), seed=7), sample((3, 2, 3, 3), seed=8)
    out = conv2d(Tensor(x), Tensor(w), 2, 1)
    assert out.dtype == np.float64, (
        f"conv2d of float64 inputs should stay float64 (gradcheck needs it); got {out.dtype}")
    assert_close(out, conv_loop(x, w, None, 2, 1), rtol=1e-10, atol=1e-12,
                 what="conv2d(x (1, 2, 5, 5) float64, w (3, 2, 3, 3), stride 2, padding 1)")


@pytest.mark.points(2)
def test_conv2d_he_init_and_seeding():
    layer = Conv2d(16, 256, (3, 5), rng=np.random.default_rng(1))          # 61,440 weights, fan_in 240
    want = np.sqrt(2.0 / (16 * 3 * 5))
    w = layer.weight.data.astype(np.float64)
    assert w.shape == (256, 16, 3, 5), f"Conv2d(16, 256, (3, 5)).weight should be (256, 16, 3, 5); got {w.shape}"
    assert abs(w.std() / want - 1) < 0.02 and abs(w.mean()) < 0.02 * want, (
        f"Conv2d(16, 256, (3, 5)) weights should be N(0, 2 / fan_in), fan_in = 16*3*5 = 240, std {want:.5f}; "
        f"got mean {w.mean():.5f}, std {w.std():.5f}")
    again = Conv2d(16, 256, (3, 5), rng=np.random.default_rng(1))
    assert np.array_equal(layer.weight.data, again.weight.data), "two Conv2d built with the same seed should be equal"


@pytest.mark.points(2)
def test_conv2d_argument_errors():
    bad = [
        (lambda: Conv2d(0, 8, 3), "in_channels=0"),
        (lambda: Conv2d(3, True, 3), "out_channels=True"),
        (lambda: Conv2d(3, 8, 0), "kernel_size=0"),
        (lambda: Conv2d(3, 8, 3, stride=0), "stride=0"),
        (lambda: Conv2d(3, 8, 3, padding=-1), "padding=-1"),
    ]
    for make, label in bad:
        with pytest.raises(ValueError):
            make()
    layer = Conv2d(2, 4, 3, rng=np.random.default_rng(0))
    with pytest.raises((TypeError, ValueError)):
        layer(np.zeros((1, 2, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError) as info:
        conv2d(Tensor(np.zeros((1, 3, 5, 5))), Tensor(np.zeros((4, 2, 3, 3))))
    assert "(1, 3, 5, 5)" in str(info.value) and "(4, 2, 3, 3)" in str(info.value), (
        f"conv2d with 3 input channels and a weight for 2 should name both shapes; got: {info.value}")


# ------------------------------------------------------------------------ pooling

POOL_CASES = {
    "overlapping_k3_s1": (3, 1),
    "rect_kernel_k23_s12": ((2, 3), (1, 2)),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", list(POOL_CASES))
def test_pool_overlapping_and_rectangular(kind, case):
    kernel, stride = POOL_CASES[case]
    fn, reduce = (max_pool2d, np.max) if kind == "max" else (avg_pool2d, np.mean)
    x = distinct((2, 2, 6, 7), seed=8)
    xt = Tensor(x, requires_grad=True)
    out = fn(xt, kernel, stride)
    what = f"{fn.__name__}(x (2, 2, 6, 7), kernel_size={kernel}, stride={stride})"
    assert_close(out, pool_loop(x, kernel, stride, reduce), what=what)
    g = sample(out.shape, seed=9)
    out.backward(g)
    want = numerical_gradient(lambda v: float(np.sum(pool_loop(v, kernel, stride, reduce) * g)), x.copy())
    assert_close(xt.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what=f"{what}.backward(g): x.grad (overlapping windows add their gradients)")


@pytest.mark.points(2)
def test_max_pool_ties_go_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = [[1.0, 5.0], [5.0, 5.0]]             # window (1, 1): three tied maxima
    xt = Tensor(x, requires_grad=True)
    MaxPool2d(2)(xt).backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    want = np.zeros((4, 4))
    want[0, 0], want[0, 2], want[2, 0], want[2, 3] = 1.0, 2.0, 3.0, 4.0
    assert_close(xt.grad.data[0, 0], want,
                 what="MaxPool2d(2) on windows of tied maxima, .backward([[1, 2], [3, 4]]): x.grad "
                      "(each window's gradient goes once, to its first maximum in row-major order)")


@pytest.mark.points(2)
def test_pool_size_not_divisible_by_kernel():
    x = distinct((2, 3, 7, 5), seed=10)
    for layer, reduce in [(MaxPool2d(2), np.max), (AvgPool2d(2), np.mean)]:
        xt = Tensor(x, requires_grad=True)
        out = layer(xt)
        name = type(layer).__name__
        assert out.shape == (2, 3, 3, 2), (
            f"{name}(2) on (2, 3, 7, 5) should give (2, 3, 3, 2) (partial windows dropped); got {out.shape}")
        assert_close(out, pool_loop(x, 2, 2, reduce), what=f"{name}(2)(x (2, 3, 7, 5))")
        out.backward(np.ones(out.shape))
        assert np.all(xt.grad.data[:, :, 6, :] == 0) and np.all(xt.grad.data[:, :, :, 4] == 0), (
            f"{name}(2) on (2, 3, 7, 5): the last row and column are in no window; their gradient must be 0")
        assert np.isclose(xt.grad.data.sum(), out.size), (
            f"{name}(2).backward(ones): the gradients should add up to the number of outputs ({out.size}); "
            f"got {xt.grad.data.sum()}")


@pytest.mark.points(1)
def test_pool_errors():
    with pytest.raises(ValueError) as info:
        MaxPool2d(3)(Tensor(np.zeros((1, 2, 2, 4))))
    assert "(1, 2, 2, 4)" in str(info.value), f"a 3x3 pool on a 2x4 input should name the shape; got: {info.value}"
    with pytest.raises(ValueError):
        AvgPool2d(2)(Tensor(np.zeros((2, 4, 4))))


# ------------------------------------------------------------------------ batch norm


@pytest.mark.points(3)
def test_batchnorm_running_stats_over_steps():
    bn = BatchNorm2d(2, momentum=0.3)
    rm, rv = np.zeros(2), np.ones(2)
    for step in range(3):
        x = np.random.default_rng(20 + step).normal(step, 1.0 + step, (5, 2, 3, 3)).astype(np.float32)
        bn(Tensor(x))
        x64 = x.astype(np.float64)
        mean = x64.mean(axis=(0, 2, 3))
        unbiased = x64.var(axis=(0, 2, 3), ddof=1)
        rm, rv = 0.7 * rm + 0.3 * mean, 0.7 * rv + 0.3 * unbiased
        what = f"BatchNorm2d(2, momentum=0.3) after {step + 1} batches"
        assert_close(bn.running_mean, rm, rtol=1e-5, atol=1e-6, what=f"{what}: running_mean")
        assert_close(bn.running_var, rv, rtol=1e-5, atol=1e-6, what=f"{what}: running_var (unbiased batch variance)")
    assert [id(p) for p in bn.parameters()] == [id(bn.gamma), id(bn.beta)], (
        "BatchNorm2d.parameters() should be [gamma, beta]: the running statistics are buffers, not parameters")


@pytest.mark.points(3)
def test_batchnorm_train_gradients_with_eps_and_batch_of_one_image():
    """One image (N = 1): the statistics are over H and W only; eps = 0.1 must be used as given."""
    gamma, beta = np.array([0.7, -1.2, 2.0]), np.array([0.5, 0.0, -0.3])
    x = sample((1, 3, 4, 3), seed=11) * 3 + 1
    g = sample(x.shape, seed=12)
    xt, gt, bt = (Tensor(a.copy(), requires_grad=True) for a in (x, gamma, beta))
    batch_norm2d(xt, gt, bt, eps=0.1).backward(g)

    def ref(x, gamma, beta):
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        var = ((x - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
        return (x - mean) / np.sqrt(var + 0.1) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)

    assert_close(batch_norm2d(Tensor(x), Tensor(gamma), Tensor(beta), eps=0.1), ref(x, gamma, beta),
                 rtol=1e-10, atol=1e-12, what="batch_norm2d(x (1, 3, 4, 3), gamma, beta, eps=0.1)")
    what = "batch_norm2d(x (1, 3, 4, 3), gamma, beta, eps=0.1).backward(g)"
    for name, got, want in [
        ("x.grad", xt.grad, numerical_gradient(lambda v: float(np.sum(ref(v, gamma, beta) * g)), x.copy())),
        ("gamma.grad", gt.grad, numerical_gradient(lambda v: float(np.sum(ref(x, v, beta) * g)), gamma.copy())),
        ("beta.grad", bt.grad, numerical_gradient(lambda v: float(np.sum(ref(x, gamma, v) * g)), beta.copy())),
    ]:
        assert got is not None, f"{what}: {name} is None"
        assert_close(got, want, rtol=1e-5, atol=1e-7, what=f"{what}: {name} (expected: finite differences)")


@pytest.mark.points(2)
def test_batchnorm_eval_gradients_and_frozen_stats():
    bn = BatchNorm2d(2)
    bn.running_mean.data[:] = [0.5, -1.0]
    bn.running_var.data[:] = [2.0, 0.5]
    gamma, beta = np.array([1.5, 0.5]), np.array([-1.0, 2.0])
    bn.gamma.data, bn.beta.data = gamma.copy(), beta.copy()
    bn.eval()
    x = sample((2, 2, 3, 3), seed=13)
    g = sample(x.shape, seed=14)
    xt = Tensor(x.copy(), requires_grad=True)
    bn(xt).backward(g)
    mean = bn.running_mean.data.astype(np.float64).reshape(1, 2, 1, 1)
    std = np.sqrt(bn.running_var.data.astype(np.float64) + 1e-5).reshape(1, 2, 1, 1)

    def ref(x, gamma, beta):
        return (x - mean) / std * gamma.reshape(1, 2, 1, 1) + beta.reshape(1, 2, 1, 1)

    what = "BatchNorm2d(2) in eval mode, .backward(g)"
    for name, got, want in [
        ("x.grad", xt.grad, g * (gamma.reshape(1, 2, 1, 1) / std)),
        ("gamma.grad", bn.gamma.grad, numerical_gradient(lambda v: float(np.sum(ref(x, v, beta) * g)), gamma.copy())),
        ("beta.grad", bn.beta.grad, g.sum(axis=(0, 2, 3))),
    ]:
        assert got is not None, f"{what}: {name} is None"
        assert_close(got, want, rtol=1e-5, atol=1e-6, what=f"{what}: {name}")
    assert_close(bn.running_mean, [0.5, -1.0], what="running_mean after eval-mode calls (must not change)")
    assert_close(bn.running_var, [2.0, 0.5], what="running_var after eval-mode calls (must not change)")


@pytest.mark.points(1)
def test_batchnorm_errors():
    with pytest.raises(ValueError) as info:
        BatchNorm2d(16)(Tensor(np.zeros((2, 8, 3, 3))))
    message = str(info.value)
    assert "16" in message and "8" in message and "(2, 8, 3, 3)" in message, (
        f"BatchNorm2d(16) on (2, 8, 3, 3) should name num_features, the channels and the shape; got: {message}")
    with pytest.raises(ValueError):
        BatchNorm2d(2)(Tensor(np.ones((1, 2, 1, 1))))           # one value per channel in training
    with pytest.raises(ValueError):
        BatchNorm2d(0)


# ------------------------------------------------------------------------ together


@pytest.mark.points(3)
def test_small_cnn_passes_gradcheck():
    """Conv -> BatchNorm -> ReLU -> MaxPool -> Conv -> AvgPool -> Flatten -> Linear, float64."""
    rng = np.random.default_rng(30)
    model = Sequential(Conv2d(2, 3, 3, padding=1, rng=rng), BatchNorm2d(3), ReLU(), MaxPool2d(2),
                       Conv2d(3, 2, 2, stride=1, rng=rng), AvgPool2d(2, stride=1), Flatten(), Linear(2, 2, rng=rng))
    for p in model.parameters():
        p.data = p.data.astype(np.float64) + 0.1 * rng.standard_normal(p.shape)
    x = Tensor(distinct((2, 2, 6, 6), seed=31) * 0.3, requires_grad=True)
    params = model.parameters()
    assert len(params) == 8, (
        f"the model should have 8 parameters (2 per Conv2d, BatchNorm2d, Linear); got {len(params)}")
    assert gradcheck(lambda x, *ps: model(x), [x, *params])


@pytest.mark.points(1)
def test_flatten_backward_and_errors():
    x = Tensor(sample((2, 3, 2, 2), seed=15), requires_grad=True)
    g = sample((2, 12), seed=16)
    Flatten()(x).backward(g)
    assert_close(x.grad, g.reshape(2, 3, 2, 2), what="Flatten()(x (2, 3, 2, 2)).backward(g): x.grad")
    with pytest.raises(ValueError):
        Flatten()(Tensor(np.zeros(5)))


@pytest.mark.points(3)
def test_systems_questions_more_inputs():
    cases = [
        (conv2d_flops(8, 16, 32, 15, 15, 3, stride=2, padding=1), 2 * 8 * 32 * 8 * 8 * 16 * 9,
         "conv2d_flops(8, 16, 32, 15, 15, 3, stride=2, padding=1) (output 8x8)"),
        (conv2d_flops(1, 3, 4, 10, 12, (3, 5)), 2 * 4 * 8 * 8 * 3 * 15,
         "conv2d_flops(1, 3, 4, 10, 12, (3, 5)) (output 8x8)"),
        (im2col_bytes(2, 3, 32, 32, 5, dtype=np.float64), 2 * 28 * 28 * 3 * 25 * 8,
         "im2col_bytes(2, 3, 32, 32, 5, dtype=float64)"),
        (im2col_bytes(4, 8, 9, 9, 3, stride=2), 4 * 4 * 4 * 8 * 9 * 4, "im2col_bytes(4, 8, 9, 9, 3, stride=2)"),
        (conv_param_count(64, 128, 3, bias=False), 64 * 128 * 9, "conv_param_count(64, 128, 3, bias=False)"),
        (conv_param_count(3, 8, (1, 7)), 3 * 8 * 7 + 8, "conv_param_count(3, 8, (1, 7))"),
        (dense_equivalent_param_count(1, 4, 8, 8, 3, stride=2, bias=False), 64 * 4 * 3 * 3,
         "dense_equivalent_param_count(1, 4, 8, 8, 3, stride=2, bias=False) (output 4x3x3)"),
        (conv_output_size(224, 7, 2, 3), 112, "conv_output_size(224, 7, 2, 3)"),
    ]
    for got, want, what in cases:
        assert got == want, f"{what} should be {want}; got {got}"
