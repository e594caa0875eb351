"""Visible tests for module 09 (spatial). Run them with `make test M=09`.

Expected values are computed independently: convolution and pooling by loops over the output
positions in float64 (slow and obvious: `conv_loop` and `pool_loop` in `tinytorch.testing`), batch
normalisation from sums written out, and every backward rule against central finite differences
of those loop references (`tinytorch.testing.numerical_gradient`), never against another backward.
"""

import numpy as np
import pytest

from tinytorch.core.spatial import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    MaxPool2d,
    col2im,
    conv2d,
    conv2d_flops,
    conv_output_size,
    conv_param_count,
    dense_equivalent_param_count,
    im2col,
    im2col_bytes,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import GRAD_ATOL, GRAD_RTOL, assert_close, numerical_gradient, sample
from tinytorch.testing import conv_layer, conv_loop, distinct, pool_loop    # the loop references of module 09

SEED = 0
F32_RTOL, F32_ATOL = 1e-4, 1e-5      # float32 sums of up to ~100 products against float64 loops


# ------------------------------------------------------------------------ output size, im2col


@pytest.mark.points(2)
def test_conv_output_size():
    cases = [((32, 3, 1, 1), 32), ((7, 3, 2, 0), 3), ((28, 5, 1, 0), 24), ((8, 2, 2, 0), 4), ((5, 5, 1, 0), 1)]
    for (size, kernel, stride, padding), want in cases:
        got = conv_output_size(size, kernel, stride, padding)
        assert got == want, (f"conv_output_size(size={size}, kernel={kernel}, stride={stride}, "
                             f"padding={padding}) should be {want}; got {got}")
    with pytest.raises(ValueError):
        conv_output_size(2, 5, 1, 1)          # kernel 5 > padded size 4


@pytest.mark.points(3)
def test_im2col_columns_are_the_patches():
    x = sample((2, 3, 5, 6), seed=SEED)
    cols = im2col(x, (3, 2), (2, 1), (1, 0))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))                       # padding (1, 0)
    oh, ow = (7 - 3) // 2 + 1, (6 - 2) // 1 + 1
    expected = np.zeros((3 * 3 * 2, 2 * oh * ow))
    for n in range(2):
        for r in range(oh):
            for c in range(ow):
                expected[:, (n * oh + r) * ow + c] = xp[n, :, 2 * r:2 * r + 3, c:c + 2].reshape(-1)
    assert_close(cols, expected, what="im2col(x (2, 3, 5, 6), kernel (3, 2), stride (2, 1), padding (1, 0)): "
                                      "column (n, oh, ow) should be the patch, rows in (c, i, j) order")


@pytest.mark.points(3)
def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), c> == <x, col2im(c)> for every x and c: col2im is im2col's backward pass."""
    for kernel, stride, padding in [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (0, 2))]:
        x = sample((2, 3, 6, 5), seed=1)
        cols = im2col(x, kernel, stride, padding)
        c = sample(cols.shape, seed=2)
        back = col2im(c, x.shape, kernel, stride, padding)
        what = f"col2im(c, (2, 3, 6, 5), kernel {kernel}, stride {stride}, padding {padding})"
        assert back.shape == x.shape, f"{what} should have the input's shape (2, 3, 6, 5); got {back.shape}"
        lhs, rhs = float(np.sum(cols * c)), float(np.sum(x * back))
        assert np.isclose(lhs, rhs, rtol=1e-10), (
            f"{what}: sum(im2col(x) * c) = {lhs:.6f} but sum(x * col2im(c)) = {rhs:.6f}; every entry of "
            f"c must be added back to the pixel im2col copied it from (overlaps add up, padding is cropped)")


# ------------------------------------------------------------------------ convolution


@pytest.mark.points(4)
def test_conv2d_function_matches_loop():
    x, w = sample((2, 3, 7, 6), seed=1), sample((4, 3, 3, 3), seed=2)
    out = conv2d(Tensor(x.astype(np.float32)), Tensor(w.astype(np.float32)), stride=1, padding=1)
    assert isinstance(out, Tensor), f"conv2d should return a Tensor; got {type(out).__name__}"
    assert out.dtype == np.float32, f"conv2d of float32 inputs should stay float32; got {out.dtype}"
    assert_close(out, conv_loop(x, w, padding=1), rtol=F32_RTOL, atol=F32_ATOL,
                 what="conv2d(x (2, 3, 7, 6), w (4, 3, 3, 3), stride=1, padding=1)")


@pytest.mark.points(3)
def test_conv2d_layer_parameters_and_init():
    layer = Conv2d(3, 16, 3, padding=1, rng=np.random.default_rng(SEED))
    assert layer.weight.shape == (16, 3, 3, 3), (
        f"Conv2d(3, 16, 3).weight should be (16, 3, 3, 3); got {layer.weight.shape}")
    assert layer.bias.shape == (16,), f"Conv2d(3, 16, 3).bias should be (16,); got {layer.bias.shape}"
    assert np.all(layer.bias.data == 0), "Conv2d bias should start at zeros"
    for name in ("weight", "bias"):
        p = getattr(layer, name)
        assert p.dtype == np.float32 and p.requires_grad, f"Conv2d.{name} should be float32 with requires_grad=True"
    assert [id(p) for p in layer.parameters()] == [id(layer.weight), id(layer.bias)], (
        "Conv2d.parameters() should be [weight, bias]")
    assert (layer.kernel_size, layer.stride, layer.padding) == ((3, 3), (1, 1), (1, 1)), (
        f"Conv2d(3, 16, 3, padding=1): kernel_size, stride, padding should be pairs (3, 3), (1, 1), (1, 1); "
        f"got {layer.kernel_size}, {layer.stride}, {layer.padding}")
    big = Conv2d(64, 128, 3, rng=np.random.default_rng(SEED))            # 73,728 weights
    want = np.sqrt(2.0 / (64 * 9))
    std = big.weight.data.astype(np.float64).std()
    assert abs(std / want - 1) < 0.02, (
        f"Conv2d(64, 128, 3) weight std should be sqrt(2 / (64*3*3)) = {want:.5f} (He); got {std:.5f}")
    no_bias = Conv2d(2, 3, 3, bias=False, rng=np.random.default_rng(0))
    assert no_bias.bias is None, "Conv2d(bias=False).bias should be None"


@pytest.mark.points(3)
def test_conv2d_layer_forward_with_bias_and_stride():
    layer = conv_layer(3, 5, 3, stride=2, padding=1, dtype=np.float32, seed=SEED)
    x = sample((2, 3, 9, 8), seed=3)
    out = layer(Tensor(x.astype(np.float32)))
    assert_close(out, conv_loop(x, layer.weight.data, layer.bias.data, stride=2, padding=1),
                 rtol=F32_RTOL, atol=F32_ATOL, what="Conv2d(3, 5, 3, stride=2, padding=1)(x (2, 3, 9, 8))")


@pytest.mark.points(5)
def test_conv2d_backward_matches_finite_differences():
    layer = conv_layer(2, 3, 3, padding=1, seed=SEED)
    x = sample((2, 2, 5, 4), seed=4)
    out_shape = (2, 3, 5, 4)
    g = sample(out_shape, seed=5)
    xt = Tensor(x.copy(), requires_grad=True)
    layer(xt).backward(g)
    w, b = layer.weight.data.copy(), layer.bias.data.copy()

    def loss_x(v):
        return float(np.sum(conv_loop(v, w, b, padding=1) * g))

    def loss_w(v):
        return float(np.sum(conv_loop(x, v, b, padding=1) * g))

    what = "Conv2d(2, 3, 3, padding=1) on x (2, 2, 5, 4), then .backward(g)"
    for name, got, want in [("x.grad", xt.grad, numerical_gradient(loss_x, x.copy())),
                            ("weight.grad", layer.weight.grad, numerical_gradient(loss_w, w.copy())),
                            ("bias.grad", layer.bias.grad, g.sum(axis=(0, 2, 3)))]:
        assert got is not None, f"{what}: {name} is None: no gradient reached it"
        assert_close(got, want, rtol=GRAD_RTOL, atol=GRAD_ATOL, what=f"{what}: {name} (expected: finite differences)")


@pytest.mark.points(2)
def test_conv2d_errors_name_the_shapes():
    layer = Conv2d(3, 8, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError) as info:
        layer(Tensor(np.zeros((2, 4, 8, 8), dtype=np.float32)))
    message = str(info.value)
    assert "in_channels=3" in message and "4 channels" in message and "(2, 4, 8, 8)" in message, (
        f"Conv2d(3, 8, 3) on input (2, 4, 8, 8) should say e.g. 'Conv2d(in_channels=3) got input with "
        f"4 channels: shape (2, 4, 8, 8)'; the message was: {message}")
    with pytest.raises(ValueError) as info:
        layer(Tensor(np.zeros((3, 8, 8), dtype=np.float32)))
    assert "(3, 8, 8)" in str(info.value), f"a 3-D input should be named in the error; got: {info.value}"
    with pytest.raises(ValueError) as info:
        Conv2d(3, 8, 5, padding=1, rng=np.random.default_rng(0))(Tensor(np.zeros((2, 3, 2, 2), dtype=np.float32)))
    assert "(2, 3, 2, 2)" in str(info.value), (
        f"a 5x5 kernel on a padded 4x4 input should raise a ValueError naming the input shape; got: {info.value}")


# ------------------------------------------------------------------------ pooling


@pytest.mark.points(4)
def test_max_pool_forward_and_backward():
    x = distinct((2, 3, 6, 4), seed=SEED)
    xt = Tensor(x, requires_grad=True)
    out = MaxPool2d(2)(xt)
    assert_close(out, pool_loop(x, 2, 2, np.max), what="MaxPool2d(2)(x (2, 3, 6, 4))")
    g = sample(out.shape, seed=6)
    out.backward(g)
    want = numerical_gradient(lambda v: float(np.sum(pool_loop(v, 2, 2, np.max) * g)), x.copy())
    assert_close(xt.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="MaxPool2d(2)(x).backward(g): x.grad (only the maximum of each window gets g)")


@pytest.mark.points(3)
def test_avg_pool_forward_and_backward():
    x = sample((2, 2, 6, 6), seed=7)
    xt = Tensor(x, requires_grad=True)
    out = AvgPool2d(3)(xt)
    assert_close(out, pool_loop(x, 3, 3, np.mean), what="AvgPool2d(3)(x (2, 2, 6, 6))")
    g = sample(out.shape, seed=8)
    out.backward(g)
    want = numerical_gradient(lambda v: float(np.sum(pool_loop(v, 3, 3, np.mean) * g)), x.copy())
    assert_close(xt.grad, want, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="AvgPool2d(3)(x).backward(g): x.grad (each window element gets g / 9)")


# ------------------------------------------------------------------------ batch norm


def bn_reference(x, gamma, beta, eps=1e-5):
    m = x.shape[0] * x.shape[2] * x.shape[3]
    mean = x.sum(axis=(0, 2, 3)) / m
    centred = x - mean.reshape(1, -1, 1, 1)
    var = (centred ** 2).sum(axis=(0, 2, 3)) / m
    return centred / np.sqrt(var.reshape(1, -1, 1, 1) + eps) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)


@pytest.mark.points(4)
def test_batchnorm_train_normalises_and_updates_running_stats():
    bn = BatchNorm2d(3)
    assert [p.shape for p in bn.parameters()] == [(3,), (3,)], "BatchNorm2d(3).parameters() should be [gamma, beta]"
    assert np.all(np.asarray(bn.running_mean) == 0) and np.all(np.asarray(bn.running_var) == 1), (
        "running_mean should start at 0 and running_var at 1")
    x = np.random.default_rng(9).normal(3.0, 2.0, (4, 3, 5, 5)).astype(np.float32)
    out = bn(Tensor(x))
    per_channel = out.data.astype(np.float64)
    assert np.allclose(per_channel.mean(axis=(0, 2, 3)), 0, atol=1e-5) and np.allclose(
        per_channel.var(axis=(0, 2, 3)), 1, atol=1e-3), (
        f"BatchNorm2d in train mode should give each channel mean 0 and variance 1; got means "
        f"{per_channel.mean(axis=(0, 2, 3))}, variances {per_channel.var(axis=(0, 2, 3))}")
    x64 = x.astype(np.float64)
    m = 4 * 5 * 5
    mean = x64.mean(axis=(0, 2, 3))
    unbiased = ((x64 - mean.reshape(1, -1, 1, 1)) ** 2).sum(axis=(0, 2, 3)) / (m - 1)
    assert_close(bn.running_mean, 0.9 * 0 + 0.1 * mean, rtol=1e-5, atol=1e-6,
                 what="BatchNorm2d(3).running_mean after one training batch (momentum 0.1)")
    assert_close(bn.running_var, 0.9 * 1 + 0.1 * unbiased, rtol=1e-5, atol=1e-6,
                 what="BatchNorm2d(3).running_var after one training batch (momentum 0.1, unbiased variance M-1)")


@pytest.mark.points(3)
def test_batchnorm_eval_uses_running_stats():
    bn = BatchNorm2d(2)
    bn.running_mean.data[:] = [1.0, -2.0]
    bn.running_var.data[:] = [4.0, 0.25]
    bn.gamma.data[:] = [2.0, 1.0]
    bn.beta.data[:] = [0.0, 3.0]
    assert bn.eval() is bn and not bn.training
    x = sample((3, 2, 2, 2), seed=10).astype(np.float32)
    out = bn(Tensor(x))
    mean = np.array([1.0, -2.0]).reshape(1, 2, 1, 1)
    std = np.sqrt(np.array([4.0, 0.25]) + 1e-5).reshape(1, 2, 1, 1)
    want = (x - mean) / std * np.array([2.0, 1.0]).reshape(1, 2, 1, 1) + np.array([0.0, 3.0]).reshape(1, 2, 1, 1)
    assert_close(out, want, rtol=F32_RTOL, atol=F32_ATOL,
                 what="BatchNorm2d(2) in eval mode (running mean [1, -2], var [4, 0.25])")
    assert_close(bn.running_mean, [1.0, -2.0], what="running_mean after an eval-mode call (must not change)")


@pytest.mark.points(3)
def test_batchnorm_backward_matches_finite_differences():
    bn = BatchNorm2d(2)
    gamma, beta = np.array([1.5, -0.5]), np.array([0.2, 0.1])
    bn.gamma.data, bn.beta.data = gamma.copy(), beta.copy()
    x = sample((3, 2, 3, 2), seed=11)
    g = sample(x.shape, seed=12)
    xt = Tensor(x.copy(), requires_grad=True)
    bn(xt).backward(g)
    what = "BatchNorm2d(2) in train mode on x (3, 2, 3, 2), then .backward(g)"
    checks = [
        ("x.grad", xt.grad, numerical_gradient(lambda v: float(np.sum(bn_reference(v, gamma, beta) * g)), x.copy())),
        ("gamma.grad", bn.gamma.grad,
         numerical_gradient(lambda v: float(np.sum(bn_reference(x, v, beta) * g)), gamma.copy())),
        ("beta.grad", bn.beta.grad, g.sum(axis=(0, 2, 3))),
    ]
    for name, got, want in checks:
        assert got is not None, f"{what}: {name} is None"
        assert_close(got, want, rtol=1e-4, atol=1e-6, what=f"{what}: {name} (expected: finite differences)")


# ------------------------------------------------------------------------ Flatten and systems


@pytest.mark.points(1)
def test_flatten_keeps_the_batch_dimension():
    x = Tensor(np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5))
    out = Flatten()(x)
    assert out.shape == (2, 60), f"Flatten()(x (2, 3, 4, 5)) should have shape (2, 60); got {out.shape}"
    assert_close(out, x.data.reshape(2, 60), what="Flatten()(x (2, 3, 4, 5))")


@pytest.mark.points(2)
def test_systems_questions():
    assert conv2d_flops(1, 3, 32, 32, 32, 3, padding=1) == 2 * 32 * 32 * 32 * 27, (
        f"conv2d_flops(1, 3, 32, 32, 32, 3, padding=1): 32*32*32 outputs x 27 multiply-adds x 2 = 1769472; "
        f"got {conv2d_flops(1, 3, 32, 32, 32, 3, padding=1)}")
    assert im2col_bytes(64, 32, 16, 16, 3, padding=1) == 64 * 16 * 16 * 32 * 9 * 4, (
        f"im2col_bytes(64, 32, 16, 16, 3, padding=1) should be 18874368; "
        f"got {im2col_bytes(64, 32, 16, 16, 3, padding=1)}")
    assert conv_param_count(3, 32, 3) == 896, (
        f"conv_param_count(3, 32, 3) should be 896; got {conv_param_count(3, 32, 3)}")
    got = dense_equivalent_param_count(3, 32, 32, 32, 3, padding=1)
    assert got == 3072 * 32768 + 32768, (
        f"dense_equivalent_param_count(3, 32, 32, 32, 3, padding=1) should be 100696064; got {got}")
