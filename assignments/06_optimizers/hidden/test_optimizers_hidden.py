"""Hidden tests for module 06 (optimizers): momentum with weight decay, coupled vs decoupled decay,
per-parameter step counts, dtypes of parameters and state, lr changed between steps, defaults,
every argument error, an ill-conditioned quadratic, one step after a real backward, and the
systems functions for more optimizers and dtypes."""

from functools import partial

import numpy as np
import pytest

from tinytorch import testing
from tinytorch.core.layers import Linear
from tinytorch.core.losses import MSELoss
from tinytorch.core.optimizers import (
    SGD,
    Adam,
    AdamW,
    optimizer_state_bytes,
    training_memory_bytes,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import assert_close

SEED = 7
SHAPE = (4, 3)


make_param = partial(testing.make_param, shape=SHAPE, seed=SEED)      # this file's shape and seeds unless given
make_grads = partial(testing.make_grads, shape=SHAPE, seed=SEED + 1)


class ReferenceAdam:
    """Adam for one float64 array, one step at a time, with an explicit step counter."""

    def __init__(self, p, lr, betas=(0.9, 0.999), eps=1e-8, l2=0.0, decoupled=0.0):
        self.p = np.array(p, dtype=np.float64)
        self.lr, (self.b1, self.b2), self.eps, self.l2, self.decoupled = lr, betas, eps, l2, decoupled
        self.m = np.zeros_like(self.p)
        self.v = np.zeros_like(self.p)
        self.t = 0

    def step(self, g):
        g = np.asarray(g, dtype=np.float64) + self.l2 * self.p
        self.p = self.p - self.lr * self.decoupled * self.p
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        self.p = self.p - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return self.p


# ----------------------------------------------------------------------------------------- SGD


@pytest.mark.points(4)
def test_sgd_momentum_with_weight_decay():
    lr, momentum, wd = 0.05, 0.8, 0.3
    p = make_param()
    opt = SGD([p], lr=lr, momentum=momentum, weight_decay=wd)
    ref, velocity = p.data.astype(np.float64), None
    for step, g in enumerate(make_grads(5), start=1):
        p.grad = Tensor(g)
        opt.step()
        d = g + wd * ref
        velocity = d if velocity is None else momentum * velocity + d
        ref = ref - lr * velocity
        assert_close(p.data, ref, what=f"SGD(lr={lr}, momentum={momentum}, weight_decay={wd}) after step {step} "
                                       f"(the decay term enters the velocity)")


@pytest.mark.points(2)
def test_sgd_reads_lr_at_every_step():
    """A schedule (module 07) changes opt.lr between steps; the velocity is not rescaled."""
    p = make_param()
    opt = SGD([p], lr=0.1, momentum=0.5)
    g1, g2 = make_grads(2)
    ref = p.data.astype(np.float64)
    p.grad = Tensor(g1)
    opt.step()
    ref = ref - 0.1 * g1
    opt.lr = 0.01
    p.grad = Tensor(g2)
    opt.step()
    ref = ref - 0.01 * (0.5 * np.float64(g1) + g2)
    assert_close(p.data, ref, what="SGD(lr=0.1, momentum=0.5): second step after setting opt.lr = 0.01")


@pytest.mark.points(2)
def test_sgd_keeps_float64_parameters_float64():
    p = make_param(dtype=np.float64)
    opt = SGD([p], lr=0.1, momentum=0.9)
    g1, g2 = make_grads(2, dtype=np.float64)
    start = p.data.copy()
    for g in (g1, g2):
        p.grad = Tensor(g)
        opt.step()
    assert p.data.dtype == np.float64, f"SGD on a float64 parameter should keep float64; got {p.data.dtype}"
    expected = start - 0.1 * g1 - 0.1 * (0.9 * g1 + g2)
    assert np.allclose(p.data, expected, rtol=1e-12, atol=1e-14), (
        "SGD on a float64 parameter should compute in float64 (velocity of p's dtype); the result "
        f"differs from float64 arithmetic by {np.abs(p.data - expected).max():.3g}")


@pytest.mark.points(1)
def test_sgd_converges_faster_with_momentum_on_ill_conditioned_quadratic():
    """f(w) = 0.5 * sum(c_i w_i^2), c = [1, 100]: gradient c * w, minimum at 0."""
    curvature = np.array([1.0, 100.0], dtype=np.float32)
    distances = {}
    for momentum in (0.0, 0.9):
        w = Tensor(np.array([1.0, 1.0], dtype=np.float32), requires_grad=True)
        opt = SGD([w], lr=0.015, momentum=momentum)
        for _ in range(200):
            w.grad = Tensor(curvature * w.data)
            opt.step()
        distances[momentum] = float(np.abs(w.data).max())
    assert distances[0.9] < 1e-3, (
        f"SGD(lr=0.015, momentum=0.9) on 0.5 * (w0^2 + 100 w1^2) should reach 0 within 1e-3 in 200 steps; "
        f"distance {distances[0.9]:.3g}")
    assert distances[0.0] > 0.01, (
        f"SGD(lr=0.015) without momentum shrinks the flat direction by a factor 0.985 per step: after 200 steps "
        f"w0 should still be about 0.049; got distance {distances[0.0]:.3g}: is momentum used when it is 0?")


# ---------------------------------------------------------------------------------------- Adam


@pytest.mark.points(3)
def test_adam_weight_decay_goes_through_the_moments():
    lr, wd = 0.01, 0.2
    p = make_param()
    ref = ReferenceAdam(p.data, lr, l2=wd)
    opt = Adam([p], lr=lr, weight_decay=wd)
    for step, g in enumerate(make_grads(4), start=1):
        p.grad = Tensor(g)
        opt.step()
        assert_close(p.data, ref.step(g), what=f"Adam(lr={lr}, weight_decay={wd}) after step {step} "
                                               f"(L2: grad + wd * p, through m and v)")


@pytest.mark.points(3)
def test_adam_step_count_is_per_parameter():
    """a steps from the start; b gets its first gradient at step 3: b's bias correction uses t = 1, 2."""
    lr = 0.05
    a, b = make_param(seed=1), make_param(seed=2)
    ref_a, ref_b = ReferenceAdam(a.data, lr), ReferenceAdam(b.data, lr)
    opt = Adam([a, b], lr=lr)
    ga, gb = make_grads(5, seed=3), make_grads(5, seed=4)
    for step in range(5):
        a.grad = Tensor(ga[step])
        b.grad = Tensor(gb[step]) if step >= 2 else None
        opt.step()
        expected_a = ref_a.step(ga[step])
        expected_b = ref_b.step(gb[step]) if step >= 2 else ref_b.p
        assert_close(a.data, expected_a, what=f"Adam: parameter a (a grad at every step) after step {step + 1}")
        assert_close(b.data, expected_b, what=f"Adam: parameter b (first grad at step 3) after step {step + 1}")


@pytest.mark.points(2)
def test_adam_float64_parameter_and_other_betas():
    lr, betas, eps = 0.02, (0.5, 0.9), 1e-3
    p = make_param(dtype=np.float64)
    ref = ReferenceAdam(p.data, lr, betas=betas, eps=eps)
    opt = Adam([p], lr=lr, betas=betas, eps=eps)
    for g in make_grads(4, dtype=np.float64):
        p.grad = Tensor(g)
        opt.step()
        expected = ref.step(g)
    assert p.data.dtype == np.float64, f"Adam on a float64 parameter should keep float64; got {p.data.dtype}"
    assert np.allclose(p.data, expected, rtol=1e-12, atol=1e-14), (
        f"Adam(lr={lr}, betas={betas}, eps={eps}) on a float64 parameter after 4 steps: differs from the "
        f"float64 reference by {np.abs(p.data - expected).max():.3g}")


@pytest.mark.points(1)
def test_adam_large_and_tiny_gradients_give_steps_of_about_lr():
    """Adam is invariant to the scale of the gradient: the first step is lr * sign(g)."""
    lr = 0.01
    for scale in (1e-3, 1e3):
        p = Tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
        opt = Adam([p], lr=lr)
        g = np.array([1.0, -2.0, 3.0, -4.0], dtype=np.float32) * scale
        p.grad = Tensor(g)
        opt.step()
        assert_close(p.data, -lr * np.sign(g), rtol=1e-4,
                     what=f"Adam(lr={lr}): first step from 0 with gradients of size {scale:g} (should be -lr * sign(g))")


# --------------------------------------------------------------------------------------- AdamW


@pytest.mark.points(2)
def test_adamw_with_zero_decay_equals_adam():
    grads = make_grads(4)
    a, b = make_param(), make_param()
    opt_adam, opt_adamw = Adam([a], lr=0.03), AdamW([b], lr=0.03, weight_decay=0.0)
    for step, g in enumerate(grads, start=1):
        a.grad, b.grad = Tensor(g), Tensor(g)
        opt_adam.step()
        opt_adamw.step()
        assert_close(b.data, a.data, what=f"AdamW(weight_decay=0) vs Adam after step {step}")


@pytest.mark.points(2)
def test_adamw_default_decay_and_skipped_parameters():
    """AdamW's default weight_decay is 0.01; a parameter without grad is not decayed either."""
    lr = 0.1
    a, b = make_param(seed=1), make_param(seed=2)
    b_start = b.data.copy()
    ref = ReferenceAdam(a.data, lr, decoupled=0.01)
    opt = AdamW([a, b], lr=lr)
    for step, g in enumerate(make_grads(3), start=1):
        a.grad, b.grad = Tensor(g), None
        opt.step()
        assert_close(a.data, ref.step(g), what=f"AdamW(lr={lr}) (default weight_decay=0.01) after step {step}")
    assert np.array_equal(b.data, b_start), "AdamW: a parameter whose grad is None should not be decayed or moved"


@pytest.mark.points(2)
def test_adamw_decay_is_not_scaled_by_the_gradient_size():
    """With decoupled decay, weights with huge or tiny gradients shrink by the same factor."""
    lr, wd = 0.01, 0.5
    p = Tensor(np.array([2.0, 2.0], dtype=np.float32), requires_grad=True)
    opt = AdamW([p], lr=lr, weight_decay=wd)
    g = np.array([1e4, 1e-4], dtype=np.float32)
    p.grad = Tensor(g)
    opt.step()
    expected = 2.0 * (1 - lr * wd) - lr * np.sign(g)
    assert_close(p.data, expected, rtol=1e-4,
                 what=f"AdamW(lr={lr}, weight_decay={wd}): first step from [2, 2] with grads [1e4, 1e-4]")


# ---------------------------------------------------------------------------------- base class


@pytest.mark.points(2)
def test_optimizer_accepts_generators_and_rejects_duplicates():
    a, b = make_param(seed=1), make_param(seed=2)
    opt = SGD((p for p in [a, b]), lr=0.1)
    assert len(opt.params) == 2 and opt.params[0] is a and opt.params[1] is b, (
        "SGD(a generator of Tensors) should store a list of those Tensors")
    with pytest.raises(ValueError) as info:
        Adam([a, b, a])
    assert "0" in str(info.value) and "2" in str(info.value), (
        f"Adam([a, b, a]) should raise a ValueError naming the two positions (0 and 2) of the repeated Tensor; "
        f"the message was: {info.value}")
    with pytest.raises(TypeError):
        SGD(3, lr=0.1)


@pytest.mark.points(1)
def test_gradient_of_wrong_shape_raises():
    p = make_param(shape=(3, 2))
    p.grad = Tensor(np.ones(2, dtype=np.float32))
    for opt in (SGD([p], lr=0.1), Adam([p]), AdamW([p])):
        with pytest.raises(ValueError):
            opt.step()


@pytest.mark.parametrize("make, name", [
    (lambda p: SGD([p], lr=float("nan")), "lr"),
    (lambda p: SGD([p], lr=0.1, momentum=1.0), "momentum"),
    (lambda p: SGD([p], lr=0.1, weight_decay=-0.1), "weight_decay"),
    (lambda p: Adam([p], lr=-1e-3), "lr"),
    (lambda p: Adam([p], betas=(-0.1, 0.999)), "beta1"),
    (lambda p: AdamW([p], betas=(0.9,)), "betas"),
    (lambda p: AdamW([p], weight_decay=-0.01), "weight_decay"),
], ids=["sgd-lr-nan", "sgd-momentum-1", "sgd-wd-negative", "adam-lr-negative", "adam-beta1-negative",
        "adamw-one-beta", "adamw-wd-negative"])
@pytest.mark.points(1)
def test_bad_hyperparameters_raise_value_error_naming_them(make, name):
    with pytest.raises(ValueError) as info:
        make(make_param())
    assert name in str(info.value), f"the ValueError should name {name}; the message was: {info.value}"


@pytest.mark.points(1)
def test_zero_lr_changes_nothing_and_zero_grad_clears():
    p = make_param()
    start = p.data.copy()
    for opt in (SGD([p], lr=0.0, momentum=0.9), Adam([p], lr=0.0)):
        p.grad = Tensor(np.ones(SHAPE, dtype=np.float32))
        opt.step()
        opt.zero_grad()
        assert p.grad is None, f"{type(opt).__name__}.zero_grad() should set p.grad to None"
    assert np.array_equal(p.data, start), "an optimizer with lr=0 should leave the parameters unchanged"


# ------------------------------------------------------------------------------ with backward


@pytest.mark.points(3)
def test_sgd_step_after_backward_on_linear_regression():
    """One full step with module 05: MSE of a Linear layer; the gradient is written out here."""
    rng = np.random.default_rng(SEED)
    layer = Linear(3, 2, rng=rng)
    layer.bias.data[:] = [0.1, -0.2]
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = rng.standard_normal((5, 2)).astype(np.float32)
    w, b = layer.weight.data.astype(np.float64), layer.bias.data.astype(np.float64)
    residual = x.astype(np.float64) @ w + b - y                 # (5, 2)
    grad_w = 2 * x.T.astype(np.float64) @ residual / residual.size
    grad_b = 2 * residual.sum(axis=0) / residual.size
    opt = SGD(layer.parameters(), lr=0.5)
    opt.zero_grad()
    MSELoss()(layer(Tensor(x)), y).backward()
    opt.step()
    assert_close(layer.weight.data, w - 0.5 * grad_w,
                 what="Linear(3, 2).weight after backward of MSELoss and SGD(lr=0.5).step()")
    assert_close(layer.bias.data, b - 0.5 * grad_b,
                 what="Linear(3, 2).bias after backward of MSELoss and SGD(lr=0.5).step()")


# ------------------------------------------------------------------------------------- systems


@pytest.mark.points(2)
def test_optimizer_state_bytes_for_each_optimizer_and_dtype():
    cases = [("sgd", 1000, np.float32, 0), ("sgd_momentum", 1000, np.float32, 4000),
             ("adam", 1000, np.float64, 16000), ("adamw", 10, np.float16, 40), ("adam", 0, np.float32, 0)]
    for name, n, dtype, expected in cases:
        got = optimizer_state_bytes(name, n, dtype=dtype)
        assert got == expected, (
            f"optimizer_state_bytes({name!r}, {n}, dtype={np.dtype(dtype).name}): expected {expected}; got {got}")
    got = training_memory_bytes("sgd_momentum", 7, dtype=np.float64)
    assert got == 3 * 7 * 8, f"training_memory_bytes('sgd_momentum', 7, float64): expected 168; got {got}"
    with pytest.raises(ValueError) as info:
        optimizer_state_bytes("rmsprop", 10)
    assert "rmsprop" in str(info.value), f"an unknown optimizer name should be named in the ValueError; got: {info.value}"
