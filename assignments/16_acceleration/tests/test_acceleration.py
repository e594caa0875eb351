"""Visible tests for module 16 (acceleration). Run them with `make test M=16`.

No test here times anything against a threshold. Matrix products are compared with NumPy's;
the tiles of blocked_matmul are counted through `_tile_matmul`; the timing functions are
checked by replacing `_best_time` with a fake clock and watching which kernels it is given
(`spy`, `fake_best_time` in `tinytorch.testing`). One test runs the real measurement, and
asserts only an ordering with a gap of more than 100x (loops against NumPy at n = 32).
GELU is checked against its sigmoid form in float64 and against module 02's GELU; every
backward rule against central finite differences.
"""

import math

import numpy as np
import pytest

import tinytorch.optimization.acceleration as acc
from tinytorch.core.activations import GELU
from tinytorch.core.layers import Linear
from tinytorch.core.losses import MSELoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.optimization.acceleration import (
    FusedGELUBackward,
    MixedPrecisionTrainer,
    blocked_matmul,
    cast,
    float16_underflow_fraction,
    fused_gelu,
    gelu_fusion_saved_bytes,
    measure_speedups,
    mixed_precision_weight_bytes,
    unfused_gelu,
    vectorized_matmul,
)
from tinytorch.testing import (
    GRAD_ATOL,
    GRAD_RTOL,
    assert_close,
    count_graph_nodes,
    fake_best_time,
    gelu_sigmoid_form,
    mlp,
    numerical_gradient,
    recording_on,  # noqa: F401  (autouse fixture: grad mode on in every test)
    regression_data,
    snapshot,
    spy,
)

SEED = 0
F32_RTOL, F32_ATOL = 1e-4, 1e-5      # float32 products of up to 100 terms against float64


def sample(shape, seed=SEED):
    return np.random.default_rng(seed).standard_normal(shape)


def operands(args, kwargs):
    """The two matrices a spied matmul was called with, positional or by name."""
    return (list(args) + [kwargs[name] for name in ("a", "b") if name in kwargs])[:2]


# ------------------------------------------------------------------------ matrix products


@pytest.mark.points(1)
@pytest.mark.parametrize("m, k, n, block", [(37, 50, 29, 16), (5, 3, 7, 64), (64, 64, 64, 32)])
def test_blocked_matmul_matches_numpy(m, k, n, block):
    a, b = sample((m, k), seed=1), sample((k, n), seed=2)
    got = blocked_matmul(a, b, block=block)
    assert isinstance(got, np.ndarray), f"blocked_matmul should return a NumPy array; got {type(got).__name__}"
    assert_close(got, np.matmul(a, b), what=f"blocked_matmul(a {a.shape}, b {b.shape}, block={block})")


@pytest.mark.points(4)
def test_blocked_matmul_counts_one_tile_product_per_block_triple(monkeypatch):
    calls = []
    spy(monkeypatch, acc, "_tile_matmul", calls)
    a, b = sample((50, 50), seed=3), sample((50, 50), seed=4)
    blocked_matmul(a, b, block=16)
    want = math.ceil(50 / 16) ** 3
    assert len(calls) == want, (
        f"blocked_matmul(50x50, 50x50, block=16) should call _tile_matmul once per (row, column, k) tile "
        f"triple: ceil(50/16)^3 = {want} times; it was called {len(calls)} times")
    for _, (a_tile, b_tile), _ in calls:
        assert max(a_tile.shape + b_tile.shape) <= 16 and a_tile.shape[1] == b_tile.shape[0], (
            f"blocked_matmul(block=16) multiplied tiles of shapes {a_tile.shape} and {b_tile.shape}; "
            f"every tile should be at most 16x16, with matching inner sizes")
    edges = sorted({a_tile.shape for _, (a_tile, _), _ in calls})
    assert edges == [(2, 2), (2, 16), (16, 2), (16, 16)], (
        f"50 = 3 * 16 + 2: the tiles of a 50x50 matrix with block=16 should have sides 16 and 2; "
        f"the tiles of a had shapes {edges}")


@pytest.mark.points(3)
def test_vectorized_matmul_values_and_shape_error():
    a, b = sample((7, 5), seed=5), sample((5, 3), seed=6)
    assert_close(vectorized_matmul(a, b), np.matmul(a, b), what="vectorized_matmul(a (7, 5), b (5, 3))")
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        vectorized_matmul(np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        blocked_matmul(np.ones((3, 4)), np.ones((5, 2)))


@pytest.mark.points(3)
def test_measure_speedups_times_the_three_kernels(monkeypatch):
    """With a fake clock: loops 6 s, blocked 0.5 s, vectorized 0.002 s, whatever the machine."""
    calls, repeats_seen = [], []
    for name in ("matmul_loops", "blocked_matmul", "vectorized_matmul"):
        spy(monkeypatch, acc, name, calls)
    fake = {"matmul_loops": 6.0, "blocked_matmul": 0.5, "vectorized_matmul": 0.002}
    monkeypatch.setattr(acc, "_best_time", fake_best_time(calls, lambda name, args: fake[name], repeats_seen))
    rows = measure_speedups(sizes=(3, 5), repeats=4, block=2)
    assert [row["n"] for row in rows] == [3, 5], f"measure_speedups(sizes=(3, 5)) should give one row per size; got {rows}"
    want = {"loops_seconds": 6.0, "blocked_seconds": 0.5, "vectorized_seconds": 0.002, "loops_vs_blocked": 12.0,
            "loops_vs_vectorized": 3000.0, "blocked_vs_vectorized": 250.0}
    for row in rows:
        for key, value in want.items():
            assert key in row and row[key] == pytest.approx(value), (
                f"with _best_time returning 6 s for matmul_loops, 0.5 s for blocked_matmul and 0.002 s for "
                f"vectorized_matmul, row[{key!r}] should be {value}; got {row.get(key)}")
    assert repeats_seen == [4] * 6, f"measure_speedups(repeats=4) should pass repeats=4 to each of its 6 _best_time calls; got {repeats_seen}"
    for name, args, kwargs in calls:
        a, b = operands(args, kwargs)
        assert a.dtype == np.float32 and b.dtype == np.float32 and a.shape == b.shape and a.shape[0] in (3, 5), (
            f"measure_speedups should time {name} on two float32 (n, n) matrices; got {a.dtype} {a.shape} "
            f"and {b.dtype} {b.shape}")


@pytest.mark.points(2)
def test_measure_speedups_really_measures_loops_far_slower():
    """The only real timing: at n = 32, Python loops take ~1,000x longer than one NumPy call."""
    (row,) = measure_speedups(sizes=(32,), repeats=3)
    assert row["loops_vs_vectorized"] > 10 and row["loops_vs_blocked"] > 10, (
        f"measure_speedups(sizes=(32,)): 32^3 = 32768 Python multiply-adds against one NumPy call should be "
        f"far slower (usually over 1000x); got loops/vectorized = {row['loops_vs_vectorized']:.1f}, "
        f"loops/blocked = {row['loops_vs_blocked']:.1f}")


# ------------------------------------------------------------------------ fused GELU


@pytest.mark.points(3)
def test_fused_gelu_matches_gelu():
    x = np.concatenate([np.linspace(-6, 6, 25), [-1000.0, 1000.0]])
    out = fused_gelu(Tensor(x.astype(np.float32)))
    assert isinstance(out, Tensor) and out.dtype == np.float32, (
        f"fused_gelu of a float32 Tensor should return a float32 Tensor; got {type(out).__name__} "
        f"{getattr(out, 'dtype', '')}")
    assert_close(out, gelu_sigmoid_form(x), rtol=F32_RTOL, atol=F32_ATOL, what="fused_gelu(x), x in [-6, 6] and +-1000")
    assert_close(out, GELU()(Tensor(x.astype(np.float32))), rtol=F32_RTOL, atol=F32_ATOL,
                 what="fused_gelu(x) against module 02's GELU()(x)")


@pytest.mark.points(3)
def test_fused_gelu_makes_one_graph_node():
    x = Tensor(sample((3, 4)), requires_grad=True)
    out = fused_gelu(x)
    assert isinstance(out._grad_fn, FusedGELUBackward), (
        f"fused_gelu(x) with x.requires_grad should record a FusedGELUBackward node; got {out._grad_fn!r}")
    assert out._grad_fn.inputs[0] is x and len(out._grad_fn.inputs) == 1, "the node's only input should be x itself"
    nodes = count_graph_nodes(out)
    assert nodes == 1, f"fused_gelu(x) should create exactly one graph node; walking _grad_fn.inputs finds {nodes}"
    assert count_graph_nodes(unfused_gelu(x)) == 9, "unfused_gelu (given) should make 9 nodes: do not change it"


@pytest.mark.points(4)
def test_fused_gelu_backward_matches_finite_differences_and_gelu():
    x0 = np.concatenate([np.linspace(-4, 4, 11), [0.0, 1e-3]])
    w = sample(x0.shape, seed=7)
    x = Tensor(x0.copy(), requires_grad=True)
    fused_gelu(x).backward(w)
    assert x.grad is not None, "fused_gelu(x).backward(w) should fill x.grad"
    numeric = numerical_gradient(lambda v: float(np.sum(gelu_sigmoid_form(v) * w)), x0.copy())
    assert_close(x.grad, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="x.grad after fused_gelu(x).backward(w), float64 (expected: central finite differences)")
    ref = Tensor(x0.copy(), requires_grad=True)
    GELU()(ref).backward(w)
    assert_close(x.grad, ref.grad, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="x.grad after fused_gelu(x).backward(w) against module 02's GELU backward")


@pytest.mark.points(2)
def test_cast_forward_and_backward():
    x = Tensor(np.array([1.5, -2.0, 70000.0], dtype=np.float32), requires_grad=True)
    with np.errstate(over="ignore", invalid="ignore"):          # 70000 -> inf, and inf * 0 = nan, on purpose
        y = cast(x, np.float16)
        (cast(y, np.float64) * Tensor(np.array([2.0, 3.0, 0.0]))).sum().backward()
    assert y.dtype == np.float16, f"cast(x float32, np.float16) should be float16; got {y.dtype}"
    assert_close(y, np.array([1.5, -2.0, np.inf]), what="cast([1.5, -2, 70000], float16): 70000 > 65504 is inf")
    assert x.grad is not None and x.grad.dtype == np.float32, (
        "the gradient through cast(cast(x, float16), float64) should come back to x in x's dtype, float32")
    assert_close(x.grad, [2.0, 3.0, 0.0], what="x.grad of sum(cast(cast(x, f16), f64) * [2, 3, 0])")


# ------------------------------------------------------------------------ mixed precision


def regression_setup(seed=SEED, lr=0.05, **kwargs):
    x, y = regression_data(64, seed, weights=[1.0, -2.0, 0.5, 3.0], bias=1.0)
    model = mlp(seed, widths=(4, 16, 1))
    trainer = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=lr), MSELoss(), **kwargs)
    return model, trainer, (x, y)


@pytest.mark.points(4)
def test_mixed_precision_trains_a_tiny_mlp():
    model, trainer, batch = regression_setup()
    losses = [trainer.train_step(batch)["loss"] for _ in range(40)]
    assert losses[-1] < 0.2 * losses[0], (
        f"40 MixedPrecisionTrainer.train_step calls with SGD(lr=0.05) on y = x @ w + 1 should cut the loss "
        f"by 5x or more; it went from {losses[0]:.4f} to {losses[-1]:.4f}")
    result = trainer.train_step(batch)
    assert set(result) == {"loss", "scale", "skipped"} and result["skipped"] is False and result["scale"] == 1024.0, (
        f"train_step should return {{'loss': float, 'scale': 1024.0, 'skipped': False}} on a good step; got {result}")
    for i, (p, half) in enumerate(zip(model.parameters(), trainer.half_params)):
        assert p.dtype == np.float32, f"master parameter {i} should stay float32 after training; got {p.dtype}"
        assert half.dtype == np.float16, f"half_params[{i}] should be float16; got {half.dtype}"
    assert trainer.steps == 41 and trainer.skipped_steps == 0, (
        f"after 41 good steps: steps 41, skipped_steps 0; got {trainer.steps}, {trainer.skipped_steps}")


@pytest.mark.points(4)
def test_overflow_skips_the_step_and_halves_the_scale():
    model, trainer, batch = regression_setup(loss_scale=2.0 ** 40)
    before = snapshot(model)
    result = trainer.train_step(batch)
    assert result["skipped"] is True, (
        f"with loss_scale=2^40, every float16 gradient overflows to inf: train_step should skip; got {result}")
    for i, (p, old) in enumerate(zip(model.parameters(), before)):
        assert p.dtype == old.dtype and np.array_equal(p.data, old), (
            f"a skipped step must leave parameter {i} exactly as it was (float32, same values)")
    assert trainer.scale == 2.0 ** 39 and result["scale"] == 2.0 ** 39, (
        f"after an overflow the scale should be halved to 2^39; got trainer.scale = {trainer.scale}, "
        f"result['scale'] = {result['scale']}")
    assert trainer.skipped_steps == 1, f"skipped_steps should be 1; got {trainer.skipped_steps}"


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_fusion_bytes_weight_bytes_and_underflow():
    probe = Tensor(np.zeros(2), requires_grad=True)
    intermediates = count_graph_nodes(unfused_gelu(probe)) - 1
    for shape, dtype in [((1024, 4096), np.float32), ((3, 5), np.float16)]:
        want = intermediates * math.prod(shape) * np.dtype(dtype).itemsize
        got = gelu_fusion_saved_bytes(shape, dtype)
        assert got == want, (f"gelu_fusion_saved_bytes({shape}, {np.dtype(dtype)}) should be {intermediates} "
                             f"intermediate arrays of {math.prod(shape)} values: {want}; got {got}")
    layer = Linear(1000, 1000, rng=np.random.default_rng(0))
    got = mixed_precision_weight_bytes(layer)
    assert got == 1_001_000 * 6, f"mixed_precision_weight_bytes(Linear(1000, 1000)): 1,001,000 values x (4 + 2) bytes = 6006000; got {got}"
    values = [1e-8, 1e-4, 0.0, 3e-9, -2e-8]
    got = float16_underflow_fraction(values)
    assert got == pytest.approx(0.75), f"float16_underflow_fraction({values}): 3 of the 4 nonzero values vanish; got {got}"
    got = float16_underflow_fraction(values, scale=1024.0)
    assert got == 0.0, f"float16_underflow_fraction({values}, scale=1024): none vanishes; got {got}"
