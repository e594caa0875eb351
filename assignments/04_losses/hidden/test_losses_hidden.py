"""Hidden tests for module 04 (losses): dims, dtypes, targets, clipping, errors, edge shapes."""

import math

import numpy as np
import pytest

from tinytorch.core.losses import (
    BCE_EPS,
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    MSELoss,
    exp_overflow_threshold,
    log_softmax,
    loss_memory_bytes,
)
from tinytorch.core.tensor import Tensor
from tinytorch.testing import assert_close, strict_numerics

SEED = 4



def log_softmax_by_loops(x: np.ndarray, dim: int) -> np.ndarray:
    """log_softmax along `dim`, one 1-D slice at a time, via np.logaddexp.reduce, in float64."""
    moved = np.moveaxis(x.astype(np.float64), dim, -1)
    out = np.empty_like(moved)
    for index in np.ndindex(moved.shape[:-1]):
        out[index] = moved[index] - np.logaddexp.reduce(moved[index])
    return np.moveaxis(out, -1, dim)


def cross_entropy_by_loop(logits: np.ndarray, targets) -> float:
    rows = [np.logaddexp.reduce(row) - row[int(k)] for row, k in zip(logits.astype(np.float64), targets)]
    return float(sum(rows) / len(rows))


@pytest.mark.points(3)
def test_log_softmax_dim1_and_dim0_of_3d_tensor():
    x = (np.random.default_rng(SEED).standard_normal((2, 3, 4)) * 5).astype(np.float32)
    out = log_softmax(Tensor(x), dim=1)
    assert_close(out, log_softmax_by_loops(x, 1), what="log_softmax(dim=1) of a (2, 3, 4) tensor")
    assert_close(np.exp(out.data.astype(np.float64)).sum(axis=1), np.ones((2, 4)),
                 what="sum over dim 1 of exp(log_softmax(dim=1)) of a (2, 3, 4) tensor")
    assert_close(log_softmax(Tensor(x), dim=0), log_softmax_by_loops(x, 0), what="log_softmax(dim=0) of a (2, 3, 4) tensor")
    assert_close(log_softmax(Tensor(x), dim=-3), log_softmax_by_loops(x, 0), what="log_softmax(dim=-3) of a (2, 3, 4) tensor")


@pytest.mark.points(2)
def test_log_softmax_dtype_and_input_errors():
    x = np.random.default_rng(SEED).standard_normal((3, 2))
    for dtype in (np.float32, np.float64):
        out = log_softmax(Tensor(x.astype(dtype)))
        assert np.dtype(out.dtype) == np.dtype(dtype), (
            f"log_softmax of a {np.dtype(dtype).name} tensor should keep its dtype; got {np.dtype(out.dtype).name}"
        )
    with pytest.raises(IndexError) as info:
        log_softmax(Tensor(x), dim=2)
    assert "2" in str(info.value), f"log_softmax(dim=2) of a 2-D tensor: the IndexError should name dim and ndim; got: {info.value}"
    with pytest.raises(TypeError) as info:
        log_softmax(x)
    assert "ndarray" in str(info.value), f"log_softmax(np.ndarray) should raise a TypeError naming ndarray; got: {info.value}"


@pytest.mark.points(2)
def test_mse_accepts_tensor_targets_and_keeps_dtype():
    rng = np.random.default_rng(SEED)
    pred = rng.standard_normal((3, 2))
    target = rng.standard_normal((3, 2))
    expected = float(np.sum(np.square(pred - target))) / 6
    for dtype in (np.float32, np.float64):
        out = MSELoss()(Tensor(pred.astype(dtype)), Tensor(target.astype(dtype)))
        assert np.dtype(out.dtype) == np.dtype(dtype), (
            f"MSELoss of {np.dtype(dtype).name} predictions should return {np.dtype(dtype).name}; got {np.dtype(out.dtype).name}"
        )
        assert_close(out, expected, what=f"MSELoss()(Tensor (3, 2) {np.dtype(dtype).name}, Tensor target (3, 2))")
    assert_close(MSELoss()(Tensor(pred), pred.copy()), 0.0, what="MSELoss()(x, x)")
    assert_close(MSELoss().forward(Tensor([[2.0]]), np.array([[-1.0]])), 9.0, what="MSELoss().forward(Tensor([[2.0]]), [[-1.0]])")


@pytest.mark.points(2)
def test_mse_refuses_to_broadcast_and_non_tensor_pred():
    for pred_shape, target_shape in (((3, 1), (1, 3)), ((2, 3), (3,)), ((5,), (5, 1))):
        with pytest.raises(ValueError) as info:
            MSELoss()(Tensor(np.zeros(pred_shape)), Tensor(np.zeros(target_shape)))
        message = str(info.value)
        assert str(pred_shape) in message and str(target_shape) in message, (
            f"MSELoss()(pred {pred_shape}, target {target_shape}) should raise a ValueError naming both shapes "
            f"(no broadcasting); the message was: {message}"
        )
    with pytest.raises(TypeError):
        MSELoss()(np.zeros(3), np.zeros(3))


@pytest.mark.points(3)
def test_cross_entropy_tensor_float_targets_single_row_and_uniform():
    rng = np.random.default_rng(SEED)
    logits = rng.standard_normal((3, 5))
    targets = Tensor([4.0, 0.0, 2.0])                     # float32 Tensor holding whole numbers
    for dtype in (np.float32, np.float64):
        out = CrossEntropyLoss()(Tensor(logits.astype(dtype)), targets)
        assert np.dtype(out.dtype) == np.dtype(dtype), (
            f"CrossEntropyLoss of {np.dtype(dtype).name} logits should return {np.dtype(dtype).name}; got {np.dtype(out.dtype).name}"
        )
        assert_close(out, cross_entropy_by_loop(logits.astype(dtype), [4, 0, 2]),
                     what=f"CrossEntropyLoss()(logits (3, 5) {np.dtype(dtype).name}, Tensor([4., 0., 2.]))")
    one = logits[:1]
    assert_close(CrossEntropyLoss()(Tensor(one), np.array([3])), cross_entropy_by_loop(one, [3]),
                 what="CrossEntropyLoss()(logits (1, 5), targets [3])")
    assert_close(CrossEntropyLoss()(Tensor(np.zeros((4, 10))), np.array([0, 9, 3, 3])), math.log(10),
                 what="CrossEntropyLoss() of all-zero logits (4, 10): a uniform guess costs log(10)")


@pytest.mark.points(3)
def test_cross_entropy_large_logits_are_stable():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0], [5e3, 5e3, -5e3]])
    targets = np.array([0, 2, 1])
    try:
        with strict_numerics():
            out = CrossEntropyLoss()(Tensor(logits.astype(np.float32)), targets)
    except FloatingPointError as exc:
        pytest.fail(f"CrossEntropyLoss of logits of size 1e4 raised a NumPy warning ({exc}): compute it through log_softmax")
    # row 0: confident and right (0); row 1: confident and wrong (1e4); row 2: a tie of two (log 2).
    expected = (0.0 + 1e4 + math.log(2.0)) / 3
    assert_close(out, expected, what="CrossEntropyLoss()(logits [[1e4, 0, -1e4], [0, 1e4, 0], [5e3, 5e3, -5e3]], targets [0, 2, 1])")


@pytest.mark.points(2)
def test_cross_entropy_rejects_non_integral_targets():
    logits = Tensor(np.zeros((2, 3)))
    for bad in ([0.5, 1.0], [1.0, np.nan], [0.0, 2.0001]):
        with pytest.raises(ValueError):
            CrossEntropyLoss()(logits, np.array(bad))


@pytest.mark.points(3)
def test_cross_entropy_bad_shapes_name_the_shapes():
    cases = [
        (np.zeros(3), np.array([0]), ["(3,)"]),                              # logits not 2-D
        (np.zeros((2, 3, 4)), np.array([0, 1]), ["(2, 3, 4)"]),              # logits not 2-D
        (np.zeros((2, 3)), np.array([0, 1, 2]), ["(2, 3)", "(3,)"]),         # N mismatch
        (np.zeros((2, 3)), np.array([[0], [1]]), ["(2, 3)", "(2, 1)"]),      # targets not (N,)
        (np.zeros((0, 3)), np.zeros(0, dtype=np.int64), ["(0, 3)"]),         # empty batch
    ]
    for logits, targets, names in cases:
        with pytest.raises(ValueError) as info:
            CrossEntropyLoss()(Tensor(logits), targets)
        message = str(info.value)
        assert all(name in message for name in names), (
            f"CrossEntropyLoss()(logits {logits.shape}, targets {targets.shape}) should raise a ValueError naming "
            f"{' and '.join(names)}; the message was: {message}"
        )


@pytest.mark.points(2)
def test_cross_entropy_negative_and_tensor_targets_out_of_range():
    logits = Tensor(np.zeros((3, 3)))
    for targets, bad in ((np.array([0, -1, 2]), "-1"), (Tensor([0.0, 1.0, 5.0]), "5")):
        with pytest.raises(ValueError) as info:
            CrossEntropyLoss()(logits, targets)
        message = str(info.value)
        assert bad in message and "3" in message, (
            f"CrossEntropyLoss() with target {bad} and 3 classes should raise a ValueError naming {bad} and 3; "
            f"the message was: {message}"
        )


@pytest.mark.points(3)
def test_binary_cross_entropy_clips_probabilities_of_zero_and_one():
    probs = np.array([0.0, 1.0, 1.0, 0.0])
    targets = np.array([0.0, 1.0, 0.0, 1.0])
    try:
        with strict_numerics():
            out = BinaryCrossEntropyLoss()(Tensor(probs), targets)
    except FloatingPointError as exc:
        pytest.fail(f"BinaryCrossEntropyLoss of probabilities 0 and 1 raised a NumPy warning ({exc}): clip them first")
    assert BCE_EPS == 1e-7, f"BCE_EPS should be 1e-7; got {BCE_EPS}"
    right = -math.log1p(-1e-7)          # the two right answers, clipped to 1 - eps
    wrong = -math.log(1e-7)             # the two wrong answers, clipped to eps
    assert_close(out, (2 * right + 2 * wrong) / 4, rtol=1e-9, atol=1e-12,
                 what="BinaryCrossEntropyLoss()(probs [0, 1, 1, 0] float64, targets [0, 1, 0, 1])")


@pytest.mark.points(2)
def test_binary_cross_entropy_soft_targets_dtype_and_shape_errors():
    probs = np.array([0.3, 0.8, 0.5])
    targets = np.array([0.25, 1.0, 0.5])
    expected = float(np.mean([-(t * math.log(p) + (1 - t) * math.log(1 - p)) for p, t in zip(probs, targets)]))
    out32 = BinaryCrossEntropyLoss()(Tensor(probs.astype(np.float32)), Tensor(targets))
    assert out32.shape == () and np.dtype(out32.dtype) == np.float32, (
        f"BinaryCrossEntropyLoss of float32 probs should return a float32 scalar; got shape {out32.shape}, dtype {out32.dtype}"
    )
    assert_close(out32, expected, what="BinaryCrossEntropyLoss()(probs [0.3, 0.8, 0.5], soft targets [0.25, 1, 0.5])")
    with pytest.raises(ValueError) as info:
        BinaryCrossEntropyLoss()(Tensor(np.full((2, 2), 0.5)), np.ones(4))
    message = str(info.value)
    assert "(2, 2)" in message and "(4,)" in message, (
        f"BinaryCrossEntropyLoss()(probs (2, 2), targets (4,)) should raise a ValueError naming both shapes; the message was: {message}"
    )


@pytest.mark.points(1)
def test_loss_memory_bytes_float16_and_bad_arguments():
    assert loss_memory_bytes(8192, 50257, dtype=np.float16) == 2 * 8192 * 50257 * 2, (
        "loss_memory_bytes(8192, 50257, dtype=float16) should be 2 * 8192 * 50257 * 2"
    )
    for n, c in ((0, 10), (-4, 10), (4, 0), (2.5, 10), (True, 10)):
        with pytest.raises(ValueError):
            loss_memory_bytes(n, c)


@pytest.mark.points(2)
def test_exp_overflow_threshold_is_the_overflow_boundary():
    for dtype in (np.float16, np.float32, np.float64):
        t = exp_overflow_threshold(dtype)
        margin = 0.002 * t
        with np.errstate(over="ignore"):
            below = np.exp(np.array(t - margin, dtype=dtype))
            above = np.exp(np.array(t + margin, dtype=dtype))
        name = np.dtype(dtype).name
        assert np.isfinite(below), f"exp(exp_overflow_threshold({name}) - {margin:.3g}) should be finite in {name}; got {below}"
        assert np.isinf(above), f"exp(exp_overflow_threshold({name}) + {margin:.3g}) should overflow to inf in {name}; got {above}"
    with pytest.raises(ValueError):
        exp_overflow_threshold(np.int32)
