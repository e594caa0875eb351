"""Visible tests for module 04 (losses). Run them with `make test M=04`.

Expected values are computed here independently in float64, most of them one row or one
element at a time in a plain loop.
"""

import math

import numpy as np
import pytest

from tinytorch.core.losses import (
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    MSELoss,
    exp_overflow_threshold,
    log_softmax,
    loss_memory_bytes,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import assert_close, strict_numerics

SEED = 0



def assert_scalar_tensor(out, what):
    assert isinstance(out, Tensor), f"{what} should return a Tensor; got {type(out).__name__}"
    assert out.shape == (), f"{what} should return a scalar Tensor of shape (); got shape {out.shape}"


@pytest.mark.points(4)
def test_log_softmax_values():
    x = (np.random.default_rng(SEED).standard_normal((2, 4)) * 2).astype(np.float32)
    x64 = x.astype(np.float64)
    probs = np.exp(x64) / np.exp(x64).sum(axis=1, keepdims=True)
    out = log_softmax(Tensor(x))
    assert isinstance(out, Tensor), f"log_softmax should return a Tensor; got {type(out).__name__}"
    assert_close(out, np.log(probs), what="log_softmax of a (2, 4) float32 tensor (dim=-1)")


@pytest.mark.points(4)
def test_log_softmax_large_logits_are_stable():
    x = Tensor([[1e4, 0.0, -1e4], [1e4, 1e4, 0.0]])
    try:
        with strict_numerics():
            out = log_softmax(x, dim=-1)
    except FloatingPointError as exc:
        pytest.fail(f"log_softmax of logits of size 1e4 raised a NumPy warning ({exc}): use the log-sum-exp trick")
    ln2 = math.log(2.0)
    expected = [[0.0, -1e4, -2e4], [-ln2, -ln2, -1e4 - ln2]]
    assert_close(out, expected, what="log_softmax of [[1e4, 0, -1e4], [1e4, 1e4, 0]]")


@pytest.mark.points(4)
def test_mse_loss_value():
    rng = np.random.default_rng(SEED)
    pred = rng.standard_normal((4, 3)).astype(np.float32)
    target = rng.standard_normal((4, 3)).astype(np.float32)
    total = 0.0
    for p, t in zip(pred.ravel().tolist(), target.ravel().tolist()):
        total += (p - t) ** 2
    out = MSELoss()(Tensor(pred), target)
    assert_scalar_tensor(out, "MSELoss()(pred (4, 3), target (4, 3))")
    assert_close(out, total / pred.size, what="MSELoss()(pred (4, 3), target ndarray (4, 3))")


@pytest.mark.points(2)
def test_mse_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as info:
        MSELoss()(Tensor(np.zeros((4, 1))), np.zeros(4))
    message = str(info.value)
    assert "(4, 1)" in message and "(4,)" in message, (
        f"MSELoss()(pred (4, 1), target (4,)) should raise a ValueError naming both shapes; the message was: {message}"
    )


@pytest.mark.points(5)
def test_cross_entropy_matches_loop_over_rows():
    rng = np.random.default_rng(SEED)
    logits = (rng.standard_normal((5, 4)) * 3).astype(np.float32)
    targets = np.array([0, 3, 1, 1, 2])
    total = 0.0
    for row, k in zip(logits.astype(np.float64), targets):
        total += -math.log(math.exp(row[k]) / sum(math.exp(v) for v in row))
    out = CrossEntropyLoss()(Tensor(logits), targets)
    assert_scalar_tensor(out, "CrossEntropyLoss()(logits (5, 4), targets (5,))")
    assert_close(out, total / 5, what="CrossEntropyLoss()(logits (5, 4), targets [0, 3, 1, 1, 2])")


@pytest.mark.points(2)
def test_cross_entropy_target_out_of_range():
    with pytest.raises(ValueError) as info:
        CrossEntropyLoss()(Tensor(np.zeros((2, 4))), np.array([1, 7]))
    message = str(info.value)
    assert "7" in message and "4" in message, (
        "CrossEntropyLoss()(logits (2, 4), targets [1, 7]) should raise a ValueError naming the bad target 7 "
        f"and the number of classes 4; the message was: {message}"
    )


@pytest.mark.points(4)
def test_binary_cross_entropy_values():
    probs = np.array([[0.9, 0.2, 0.6], [0.05, 0.7, 0.5]], dtype=np.float32)
    targets = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    total = 0.0
    for p, t in zip(probs.astype(np.float64).ravel(), targets.ravel()):
        total += -math.log(p) if t == 1.0 else -math.log(1.0 - p)
    out = BinaryCrossEntropyLoss()(Tensor(probs), targets)
    assert_scalar_tensor(out, "BinaryCrossEntropyLoss()(probs (2, 3), targets (2, 3))")
    assert_close(out, total / probs.size, what="BinaryCrossEntropyLoss()(probs (2, 3), 0/1 targets (2, 3))")


@pytest.mark.points(3)
def test_loss_memory_bytes():
    cases = [((64, 10, np.float32), 2 * 64 * 10 * 4), ((32, 1000, np.float64), 2 * 32 * 1000 * 8)]
    for (n, c, dtype), expected in cases:
        got = loss_memory_bytes(n, c, dtype=dtype)
        assert got == expected, (
            f"loss_memory_bytes({n}, {c}, dtype={np.dtype(dtype).name}) should be logits + softmax = {expected}; got {got}"
        )
    assert loss_memory_bytes(8, 5) == 320, "loss_memory_bytes(8, 5) with the default float32 should be 320"


@pytest.mark.points(2)
def test_exp_overflow_threshold_float32():
    got = exp_overflow_threshold(np.float32)
    # float32's largest value is just below 2**128, so its log is just below 128 * ln 2.
    expected = 128 * math.log(2.0)
    assert isinstance(got, float), f"exp_overflow_threshold should return a float; got {type(got).__name__}"
    assert abs(got - expected) < 1e-3, f"exp_overflow_threshold(np.float32) should be about {expected:.4f}; got {got}"
