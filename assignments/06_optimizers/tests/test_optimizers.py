"""Visible tests for module 06 (optimizers). Run them with `make test M=06`.

The tests set `p.grad` by hand (a sequence of seeded random gradients), so they do not depend
on module 05's backward rules. Expected parameters are computed here independently in float64,
from the closed forms of the running averages rather than the step-by-step recurrences:

    momentum velocity   v_t = sum_{k=1..t} momentum^(t-k) g_k
    Adam moments        m_t = (1 - beta1) sum_{k=1..t} beta1^(t-k) g_k     (v_t: the same with g_k^2)
"""

from functools import partial

import numpy as np
import pytest

from tinytorch import testing
from tinytorch.core.optimizers import SGD, Adam, AdamW, Optimizer, training_memory_bytes
from tinytorch.core.tensor import Tensor
from tinytorch.testing import assert_close

SEED = 0
SHAPE = (3, 2)
STEPS = 5


make_param = partial(testing.make_param, shape=SHAPE, seed=SEED)      # this file's shape and seeds unless given
make_grads = partial(testing.make_grads, shape=SHAPE, seed=SEED + 1)


def decayed_sum(values, decay):
    """sum_k decay^(t-k) values[k], for t = len(values), in float64."""
    t = len(values)
    return sum(decay ** (t - 1 - k) * np.asarray(v, dtype=np.float64) for k, v in enumerate(values))


def adam_direction(grads, beta1, beta2, eps):
    """m_hat / (sqrt(v_hat) + eps) after len(grads) steps, from the closed forms, in float64."""
    t = len(grads)
    m = (1 - beta1) * decayed_sum(grads, beta1)
    v = (1 - beta2) * decayed_sum([np.square(np.float64(g)) for g in grads], beta2)
    return (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)


# ----------------------------------------------------------------------------------- base class


@pytest.mark.points(3)
def test_optimizer_holds_the_same_tensors_and_rejects_bad_params():
    a, b = make_param(seed=1), make_param(shape=(4,), seed=2)
    opt = SGD([a, b], lr=0.1)
    assert isinstance(opt, Optimizer), "SGD should be a subclass of Optimizer"
    assert isinstance(opt.params, list) and len(opt.params) == 2 and opt.params[0] is a and opt.params[1] is b, (
        "SGD([a, b]).params should be the list [a, b] holding these very Tensor objects (not copies)")
    with pytest.raises(ValueError):
        SGD([], lr=0.1)
    with pytest.raises(TypeError) as info:
        SGD(a, lr=0.1)
    assert "Tensor" in str(info.value), (
        f"SGD(a_single_tensor) should raise a TypeError saying params must be an iterable of Tensors; "
        f"the message was: {info.value}")
    with pytest.raises(TypeError) as info:
        Adam([a, np.ones(3)])
    assert "ndarray" in str(info.value) and "1" in str(info.value), (
        f"Adam([tensor, np.ones(3)]) should raise a TypeError naming the index (1) and the type (ndarray); "
        f"the message was: {info.value}")


@pytest.mark.points(2)
def test_zero_grad_sets_every_grad_to_none():
    a, b, c = make_param(seed=1), make_param(seed=2), make_param(seed=3)
    for opt in (SGD([a, b, c], lr=0.1), Adam([a, b, c])):
        a.grad, b.grad = Tensor(np.ones(SHAPE)), Tensor(np.full(SHAPE, 2.0))
        opt.zero_grad()
        still = [name for name, p in (("a", a), ("b", b), ("c", c)) if p.grad is not None]
        assert not still, (f"{type(opt).__name__}.zero_grad() should set .grad to None on every parameter; "
                           f"still set: {still}")


# ----------------------------------------------------------------------------------------- SGD


@pytest.mark.points(4)
def test_sgd_plain_steps_update_data_in_place():
    lr = 0.1
    p = make_param()
    data_before = p.data                                  # the array the model also sees
    expected = p.data.astype(np.float64)
    opt = SGD([p], lr=lr)
    for step, g in enumerate(make_grads(3), start=1):
        p.grad = Tensor(g)
        opt.step()
        expected = expected - lr * g
        assert_close(p.data, expected, what=f"SGD(lr={lr}): parameter after step {step} (p - lr * grad)")
    assert p.data is data_before, (
        "SGD.step() should update p.data in place (p.data -= ...), not bind a new array to p.data")
    assert p.data.dtype == np.float32, f"SGD.step() should keep a float32 parameter float32; got {p.data.dtype}"


@pytest.mark.points(5)
def test_sgd_momentum_matches_decayed_sum_of_gradients():
    lr, momentum = 0.05, 0.9
    p = make_param()
    start = p.data.astype(np.float64)
    grads = make_grads(STEPS)
    opt = SGD([p], lr=lr, momentum=momentum)
    expected = start.copy()
    for t in range(1, STEPS + 1):
        p.grad = Tensor(grads[t - 1])
        opt.step()
        velocity = decayed_sum(grads[:t], momentum)       # v_1 = g_1, v_t = momentum v_{t-1} + g_t
        expected = expected - lr * velocity
        assert_close(p.data, expected, what=f"SGD(lr={lr}, momentum={momentum}): parameter after step {t}")


@pytest.mark.points(3)
def test_sgd_weight_decay_adds_l2_gradient():
    lr, weight_decay = 0.1, 0.5
    p = make_param()
    expected = p.data.astype(np.float64)
    opt = SGD([p], lr=lr, weight_decay=weight_decay)
    for step, g in enumerate(make_grads(3), start=1):
        p.grad = Tensor(g)
        opt.step()
        expected = expected - lr * (g + weight_decay * expected)
        assert_close(p.data, expected,
                     what=f"SGD(lr={lr}, weight_decay={weight_decay}): parameter after step {step} "
                          f"(p - lr * (grad + weight_decay * p))")


# ---------------------------------------------------------------------------------------- Adam


@pytest.mark.points(6)
def test_adam_steps_match_bias_corrected_moments():
    lr, betas, eps = 0.01, (0.9, 0.999), 1e-8
    p = make_param()
    grads = make_grads(STEPS)
    opt = Adam([p], lr=lr, betas=betas, eps=eps)
    expected = p.data.astype(np.float64)
    for t in range(1, STEPS + 1):
        p.grad = Tensor(grads[t - 1])
        opt.step()
        expected = expected - lr * adam_direction(grads[:t], *betas, eps)
        assert_close(p.data, expected, what=f"Adam(lr={lr}): parameter after step {t} (bias-corrected moments)")
    assert p.data.dtype == np.float32, f"Adam.step() should keep a float32 parameter float32; got {p.data.dtype}"


@pytest.mark.points(5)
def test_adamw_decays_the_weights_directly():
    lr, betas, eps, weight_decay = 0.01, (0.9, 0.999), 1e-8, 0.1
    p = make_param()
    grads = make_grads(STEPS)
    opt = AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    expected = p.data.astype(np.float64)
    for t in range(1, STEPS + 1):
        p.grad = Tensor(grads[t - 1])
        opt.step()
        expected = expected * (1 - lr * weight_decay)                          # decoupled decay
        expected = expected - lr * adam_direction(grads[:t], *betas, eps)      # Adam on g alone
        assert_close(p.data, expected,
                     what=f"AdamW(lr={lr}, weight_decay={weight_decay}): parameter after step {t} "
                          f"(p * (1 - lr * wd), then Adam's update with the gradient alone)")


# ------------------------------------------------------------------ parameters without a grad


@pytest.mark.points(4)
def test_parameters_without_grad_are_skipped_and_start_fresh():
    """b has no gradient for two steps: it must not move, and its first real step is a first step."""
    lr = 0.1
    grads = make_grads(4)
    for make_opt, name in ((lambda ps: SGD(ps, lr=lr, momentum=0.9), "SGD(momentum=0.9)"),
                           (lambda ps: Adam(ps, lr=lr), "Adam")):
        a, b = make_param(seed=1), make_param(seed=2)
        b_start = b.data.copy()
        opt = make_opt([a, b])
        for g in grads[:2]:
            a.grad, b.grad = Tensor(g), None
            opt.step()
        assert np.array_equal(b.data, b_start), f"{name}: a parameter whose grad is None should not change"
        a.grad, b.grad = Tensor(grads[2]), Tensor(grads[3])
        opt.step()
        if name == "Adam":
            first = adam_direction([grads[3]], 0.9, 0.999, 1e-8)               # t = 1 for b
        else:
            first = np.float64(grads[3])                                        # v = g for b
        assert_close(b.data, b_start - lr * first,
                     what=f"{name}: the first update of a parameter that had no grad before "
                          f"(its state starts now: a first step)")


# --------------------------------------------------------------------------------- convergence


@pytest.mark.points(4)
def test_optimizers_solve_least_squares():
    """Minimise mean((X w - y)^2); the gradient 2 X^T (X w - y) / N is computed here."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((40, 3))
    w_true = np.array([[1.5], [-2.0], [0.5]])
    y = x @ w_true + 0.01 * rng.standard_normal((40, 1))
    w_best = np.linalg.lstsq(x, y, rcond=None)[0]
    for make_opt, name, steps in ((lambda ps: SGD(ps, lr=0.05, momentum=0.9), "SGD(lr=0.05, momentum=0.9)", 200),
                                  (lambda ps: Adam(ps, lr=0.05), "Adam(lr=0.05)", 600)):
        w = Tensor(np.zeros((3, 1), dtype=np.float32), requires_grad=True)
        opt = make_opt([w])
        for _ in range(steps):
            opt.zero_grad()
            residual = x @ w.data.astype(np.float64) - y
            w.grad = Tensor((2 * x.T @ residual / len(x)).astype(np.float32))
            opt.step()
        error = np.abs(w.data - w_best).max()
        assert error < 1e-3, (
            f"{name}: after {steps} steps on a least-squares problem, w should reach the solution "
            f"{w_best.ravel().round(4)} within 1e-3; got {w.data.ravel().round(4)}")


# -------------------------------------------------------------------------------------- checks


@pytest.mark.points(2)
def test_hyperparameters_are_checked():
    p = make_param()
    for make, text in ((lambda: SGD([p], lr=-0.1), "lr"),
                       (lambda: Adam([p], betas=(0.9, 1.0)), "beta2"),
                       (lambda: AdamW([p], eps=0.0), "eps")):
        with pytest.raises(ValueError) as info:
            make()
        assert text in str(info.value), f"the ValueError should name {text}; the message was: {info.value}"


# ------------------------------------------------------------------------------------- systems


@pytest.mark.points(2)
def test_training_memory_bytes():
    million = 1_000_000
    for name, copies in (("sgd", 2), ("sgd_momentum", 3), ("adam", 4), ("adamw", 4)):
        got = training_memory_bytes(name, million)
        assert got == copies * million * 4, (
            f"training_memory_bytes({name!r}, 1e6): params + grads + state = {copies} float32 copies "
            f"= {copies * million * 4} bytes; got {got}")
