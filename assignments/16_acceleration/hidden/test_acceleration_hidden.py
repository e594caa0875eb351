"""Hidden tests for module 16 (acceleration): tile counts and values of blocked_matmul on
rectangular, tiny and empty shapes, argument errors, what the timing functions time (with a fake
clock), fused GELU in float16 and inside a chain, cast errors and overflow, and the mixed-precision
trainer: float16 forward, unscaled gradients, scale growth and back-off, closeness to float32
training, masters restored after an exception; the systems functions on more inputs."""

import math

import numpy as np
import pytest

import tinytorch.optimization.acceleration as acc
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import MSELoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.optimization.acceleration import (
    MixedPrecisionTrainer,
    blocked_matmul,
    cast,
    float16_matmul_slowdown,
    float16_underflow_fraction,
    fused_gelu,
    gelu_fusion_saved_bytes,
    measure_speedups,
    mixed_precision_weight_bytes,
    vectorized_matmul,
)
from tinytorch.testing import (
    GRAD_ATOL,
    GRAD_RTOL,
    assert_close,
    fake_best_time,
    gelu_sigmoid_form,
    mlp,
    numerical_gradient,
    recording_on,  # noqa: F401  (autouse fixture: grad mode on in every test)
    regression_data,
    snapshot,
    spy,
)

SEED = 3
F32_RTOL, F32_ATOL = 1e-4, 1e-5
F16_RTOL = 1e-3                  # float16 has an 11-bit significand: 2^-11 ~ 4.9e-4 relative rounding
WEIGHTS, BIAS = [0.5, -1.5, 2.0, 1.0], -0.5


def sample(shape, seed=SEED):
    return np.random.default_rng(seed).standard_normal(shape)


def operands(args, kwargs):
    return (list(args) + [kwargs[name] for name in ("a", "b") if name in kwargs])[:2]


def setup(seed=SEED, lr=0.05, widths=(4, 16, 1), **kwargs):
    x, y = regression_data(64, seed, weights=WEIGHTS, bias=BIAS)
    model = mlp(seed, widths=widths)
    trainer = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=lr), MSELoss(), **kwargs)
    return model, trainer, (x, y)


# ------------------------------------------------------------------------ matrix products


@pytest.mark.points(2)
def test_blocked_matmul_tile_count_and_values_on_rectangular_tiny_and_empty_shapes(monkeypatch):
    calls = []
    spy(monkeypatch, acc, "_tile_matmul", calls)
    for m, k, n, block in [(70, 33, 5, 32), (3, 4, 2, 1), (10, 10, 10, 100), (0, 4, 3, 2), (9, 17, 8, 4)]:
        calls.clear()
        a, b = sample((m, k), seed=m + k), sample((k, n), seed=n)
        got = blocked_matmul(a, b, block=block)
        want = math.ceil(m / block) * math.ceil(k / block) * math.ceil(n / block)
        what = f"blocked_matmul(a {a.shape}, b {b.shape}, block={block})"
        assert len(calls) == want, f"{what} should make ceil(m/b) * ceil(k/b) * ceil(n/b) = {want} tile products; made {len(calls)}"
        assert_close(got, a @ b, what=what)


@pytest.mark.points(2)
def test_blocked_matmul_accumulates_over_k_tiles_in_float32_and_int():
    a, b = sample((10, 100), seed=1).astype(np.float32), sample((100, 10), seed=2).astype(np.float32)
    got = blocked_matmul(a, b, block=8)
    assert got.dtype == np.float32, f"blocked_matmul of float32 matrices should be float32; got {got.dtype}"
    assert_close(got, a.astype(np.float64) @ b.astype(np.float64), rtol=F32_RTOL, atol=F32_ATOL,
                 what="blocked_matmul(a (10, 100), b (100, 10), block=8): 13 k-tiles summed into each output tile")
    ai = np.arange(12).reshape(3, 4)
    bi = np.arange(8).reshape(4, 2)
    got = blocked_matmul(ai, bi, block=3)
    assert got.dtype.kind == "i" and np.array_equal(got, ai @ bi), (
        f"blocked_matmul of integer matrices should be exact, with an integer dtype; got {got!r}")


@pytest.mark.points(2)
def test_blocked_matmul_argument_errors():
    a, b = np.ones((4, 3)), np.ones((3, 2))
    for block in (0, -2, True, 2.5):
        with pytest.raises(ValueError, match="block"):
            blocked_matmul(a, b, block=block)
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(2, 3\)"):
        blocked_matmul(a, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        blocked_matmul(np.ones(3), b)


@pytest.mark.points(2)
def test_vectorized_matmul_accepts_tensors_and_lists_and_rejects_non_matrices():
    a = sample((3, 4), seed=4)
    got = vectorized_matmul(Tensor(a), [[1.0], [2.0], [3.0], [4.0]])
    assert_close(got, a.astype(np.float32) @ np.array([[1.0], [2.0], [3.0], [4.0]]), rtol=F32_RTOL, atol=F32_ATOL,
                 what="vectorized_matmul(Tensor (3, 4), a (4, 1) list)")
    with pytest.raises(ValueError, match=r"\(2, 3, 4\)"):
        vectorized_matmul(np.ones((2, 3, 4)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        vectorized_matmul(np.ones((3, 4)), np.ones(4))


# ------------------------------------------------------------------------ what the timing functions time


@pytest.mark.points(1)
def test_measure_speedups_argument_errors():
    for kwargs in ({"sizes": ()}, {"sizes": (4, 0)}, {"sizes": (2,), "repeats": 0}, {"sizes": (2,), "block": 0}):
        with pytest.raises(ValueError):
            measure_speedups(**kwargs)


@pytest.mark.points(2)
def test_measure_speedups_gives_every_kernel_the_same_matrices_repeats_times(monkeypatch):
    calls = []
    for name in ("matmul_loops", "blocked_matmul", "vectorized_matmul"):
        spy(monkeypatch, acc, name, calls)
    rows = measure_speedups(sizes=(4, 2), repeats=3, block=3)
    assert len(rows) == 2 and all(row["loops_seconds"] > 0 and row["vectorized_seconds"] > 0 for row in rows), (
        f"measure_speedups(sizes=(4, 2)) should return two rows of positive times; got {rows}")
    for n in (4, 2):
        mine = [(name, operands(args, kwargs), args, kwargs) for name, args, kwargs in calls
                if operands(args, kwargs)[0].shape == (n, n)]
        counts = {name: sum(1 for c in mine if c[0] == name) for name in ("matmul_loops", "blocked_matmul", "vectorized_matmul")}
        assert counts == {"matmul_loops": 3, "blocked_matmul": 3, "vectorized_matmul": 3}, (
            f"measure_speedups(repeats=3): each kernel should run exactly 3 times on the {n}x{n} matrices; got {counts}")
        first = mine[0][1]
        for name, (a, b), args, kwargs in mine:
            assert np.array_equal(a, first[0]) and np.array_equal(b, first[1]), (
                f"all three kernels should be timed on the same {n}x{n} matrices; {name} got others")
            if name == "blocked_matmul":
                block = kwargs.get("block", args[2] if len(args) > 2 else None)
                assert block == 3, f"measure_speedups(block=3) should pass block=3 to blocked_matmul; got {block}"


@pytest.mark.points(3)
def test_float16_matmul_slowdown_is_float16_time_over_float32_time(monkeypatch):
    calls, repeats_seen = [], []
    spy(monkeypatch, acc, "vectorized_matmul", calls)
    fake = {np.dtype(np.float16): 3.0, np.dtype(np.float32): 0.5}
    monkeypatch.setattr(acc, "_best_time",
                        fake_best_time(calls, lambda name, args: fake[operands(args, {})[0].dtype], repeats_seen))
    got = float16_matmul_slowdown(n=5, repeats=2)
    assert got == pytest.approx(6.0), (
        f"with _best_time giving 3 s for the float16 product and 0.5 s for the float32 one, "
        f"float16_matmul_slowdown should return 3 / 0.5 = 6.0; got {got}")
    seen = sorted(str(operands(args, kwargs)[0].dtype) + str(operands(args, kwargs)[0].shape) for _, args, kwargs in calls)
    assert seen == ["float16(5, 5)", "float32(5, 5)"], (
        f"float16_matmul_slowdown(n=5) should time vectorized_matmul once per dtype on (5, 5) matrices; got {seen}")
    assert repeats_seen == [2, 2], f"float16_matmul_slowdown(repeats=2) should pass repeats=2 to _best_time; got {repeats_seen}"


@pytest.mark.points(1)
def test_float16_matmul_slowdown_real_run_and_errors():
    got = float16_matmul_slowdown(n=8, repeats=1)
    assert isinstance(got, float) and got > 0, f"float16_matmul_slowdown(8, 1) should be a positive float; got {got!r}"
    for kwargs in ({"n": 0}, {"n": 4, "repeats": 0}):
        with pytest.raises(ValueError):
            float16_matmul_slowdown(**kwargs)


# ------------------------------------------------------------------------ fused GELU


@pytest.mark.points(2)
def test_fused_gelu_float16_is_computed_in_float32_and_rounded_once():
    x = (sample(4000, seed=5) * 3).astype(np.float16)
    out = fused_gelu(Tensor(x))
    assert out.dtype == np.float16, f"fused_gelu of a float16 Tensor should stay float16; got {out.dtype}"
    ref = gelu_sigmoid_form(x)
    err = np.abs(out.data.astype(np.float64) - ref) / np.maximum(np.abs(ref), 1e-3)
    assert err.max() < 2 * F16_RTOL, (
        f"fused_gelu(float16 x): computed in float32 and rounded once, every value is within ~1 float16 ulp "
        f"of the exact GELU; the worst relative error is {err.max():.3g} at x = {x[np.argmax(err)]} "
        f"(float16 arithmetic all along gives errors up to ~0.4 near 0 for negative x)")


@pytest.mark.points(2)
def test_fused_gelu_gradient_at_large_inputs_and_in_float16():
    x0 = np.array([-1000.0, -10.0, -3.0, 3.0, 10.0, 1000.0])
    x = Tensor(x0.copy(), requires_grad=True)
    fused_gelu(x).backward(np.ones(6))
    numeric = numerical_gradient(lambda v: float(np.sum(gelu_sigmoid_form(v))), x0.copy())
    assert_close(x.grad, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="GELU'(x) at -1000, -10, -3, 3, 10, 1000 from fused_gelu's backward (expected: finite differences)")
    x16 = (sample(2000, seed=6) * 2).astype(np.float16)
    h = Tensor(x16, requires_grad=True)
    fused_gelu(h).backward(np.ones(2000, dtype=np.float16))
    assert h.grad.dtype == np.float16, f"the gradient of a float16 input should be float16; got {h.grad.dtype}"
    v, eps = x16.astype(np.float64), 1e-6       # element-wise: central differences of all elements at once
    numeric = (gelu_sigmoid_form(v + eps) - gelu_sigmoid_form(v - eps)) / (2 * eps)
    err = np.abs(h.grad.data.astype(np.float64) - numeric) / np.maximum(np.abs(numeric), 1e-2)
    assert err.max() < 2 * F16_RTOL, (
        f"fused_gelu's backward on float16 x, computed in float32 and rounded once, is within ~1 float16 ulp of "
        f"GELU'(x); the worst relative error is {err.max():.3g} at x = {x16[np.argmax(err)]} (float16 arithmetic "
        f"all along gives ~1e-2)")


@pytest.mark.points(1)
def test_fused_gelu_errors_shape_and_no_node_without_requires_grad():
    with pytest.raises(TypeError):
        fused_gelu(np.ones(3))
    out = fused_gelu(Tensor(sample((2, 3, 4), seed=7)))
    assert out.shape == (2, 3, 4) and out._grad_fn is None and not out.requires_grad, (
        "fused_gelu of a Tensor without requires_grad should keep the shape (2, 3, 4) and record no node")


@pytest.mark.points(2)
def test_fused_gelu_in_a_chain_passes_gradients_to_weights():
    x, w0 = sample((3, 4), seed=8), sample((4, 5), seed=9)
    g = sample((3, 5), seed=10)
    w = Tensor(w0.copy(), requires_grad=True)
    fused_gelu(Tensor(x) @ w).backward(g)
    numeric = numerical_gradient(lambda v: float(np.sum(gelu_sigmoid_form(x @ v) * g)), w0.copy())
    assert_close(w.grad, numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                 what="w.grad after fused_gelu(x @ w).backward(g) (expected: central finite differences)")


@pytest.mark.points(2)
def test_cast_errors_and_gradient_overflow_to_float16_inf():
    with pytest.raises(TypeError):
        cast(Tensor([1.0]), np.int32)
    with pytest.raises(TypeError):
        cast(np.ones(2), np.float16)
    h = Tensor(np.array([1.0, 2.0], dtype=np.float16), requires_grad=True)
    with np.errstate(over="ignore"):
        (cast(h, np.float32) * Tensor(np.array([1e5, 3.0], dtype=np.float32))).sum().backward()
    assert h.grad.dtype == np.float16, f"the gradient through cast to a float16 input should be float16; got {h.grad.dtype}"
    assert np.isinf(h.grad.data[0]) and h.grad.data[1] == 3.0, (
        f"a gradient of 1e5 does not fit in float16 (max 65504): it should arrive as inf; got {h.grad.data}")
    node = cast(h, np.float32)._grad_fn
    with np.errstate(over="ignore"):
        (dx,) = node.backward(np.array([1e5, 3.0], dtype=np.float32))
    assert dx.dtype == np.float16 and np.isinf(dx[0]), (
        f"CastBackward.backward should return the gradient in the input's dtype (float16), where 1e5 is inf; "
        f"got {dx!r}")


# ------------------------------------------------------------------------ mixed precision: checks


@pytest.mark.points(2)
def test_trainer_rejects_a_float64_parameter_naming_it():
    model = mlp(SEED, widths=(4, 8, 1))
    model.parameters()[2].data = model.parameters()[2].data.astype(np.float64)
    with pytest.raises(TypeError, match="parameter 2"):
        MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.1), MSELoss())


@pytest.mark.points(1)
def test_trainer_initial_state_hyperparameter_and_batch_errors():
    model = mlp(SEED, widths=(4, 8, 1))
    fresh = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.1), MSELoss())
    assert fresh.scale == 1024.0 and (fresh.steps, fresh.skipped_steps, fresh.good_steps) == (0, 0, 0), (
        "a new MixedPrecisionTrainer should start with scale 1024.0 and steps, skipped_steps, good_steps at 0")
    for i, (p, half) in enumerate(zip(model.parameters(), fresh.half_params)):
        assert half.dtype == np.float16 and np.array_equal(half, p.data.astype(np.float16)), (
            f"half_params[{i}] of a new trainer should be the float16 copy of parameter {i}")
    bad = [{"loss_scale": 0.0}, {"loss_scale": -4.0}, {"loss_scale": math.inf}, {"growth_interval": 0},
           {"growth_factor": 1.0}, {"backoff_factor": 1.0}, {"backoff_factor": 0.0}]
    for kwargs in bad:
        with pytest.raises(ValueError):
            MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.1), MSELoss(), **kwargs)
    trainer = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.1), MSELoss())
    for batch in (np.ones((4, 4)), (np.ones((2, 4)),), (np.ones((2, 4)), np.ones((2, 1)), None)):
        with pytest.raises(ValueError, match="batch"):
            trainer.train_step(batch)


# ------------------------------------------------------------------------ mixed precision: the step


class Probe:
    """A model that records the dtypes it computes with (and the weights it sees) on every call."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def parameters(self):
        return self.inner.parameters()

    def __call__(self, x):
        self.seen.append((x.dtype, [p.data.copy() for p in self.inner.parameters()]))
        return self.inner(x)


@pytest.mark.points(2)
def test_train_step_runs_the_forward_in_float16_and_the_loss_in_float32():
    inner = mlp(SEED, widths=(4, 8, 1))
    model, losses_seen = Probe(inner), []

    def loss_fn(pred, y):
        losses_seen.append(pred.dtype)
        return MSELoss()(pred, y)

    trainer = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.05), loss_fn)
    x, y = regression_data(16, SEED, weights=WEIGHTS, bias=BIAS)
    masters = [p.data.copy() for p in model.parameters()]
    trainer.train_step((x, y))
    x_dtype, weights = model.seen[0]
    assert x_dtype == np.float16, f"train_step should give the model a float16 input; it got {x_dtype}"
    for i, (w, m) in enumerate(zip(weights, masters)):
        assert w.dtype == np.float16 and np.array_equal(w, m.astype(np.float16)), (
            f"during the forward, parameter {i} should hold the float16 copy of its master; got {w.dtype}")
    assert losses_seen == [np.float32], f"loss_fn should receive the output cast to float32; it got {losses_seen}"
    assert all(p.dtype == np.float32 for p in model.parameters()), "after train_step every parameter is float32 again"


@pytest.mark.points(2)
def test_gradients_given_to_the_optimizer_are_unscaled_float32():
    model, trainer, (x, y) = setup(lr=0.0)
    twin = mlp(SEED, widths=(4, 16, 1))
    MSELoss()(twin(Tensor(x)), y).backward()
    trainer.train_step((x, y))
    for i, (p, q) in enumerate(zip(model.parameters(), twin.parameters())):
        assert p.grad is not None and p.grad.dtype == np.float32, (
            f"after train_step, parameter {i}'s grad should be a float32 Tensor (unscaled); got "
            f"{None if p.grad is None else p.grad.dtype}")
        assert_close(p.grad, q.grad, rtol=2e-2, atol=2e-3,
                     what=f"parameter {i}'s grad after train_step (scale 1024, unscaled) against float32 backward")


@pytest.mark.points(2)
def test_loss_scale_grows_after_growth_interval_good_steps_and_resets_after_a_skip():
    model = mlp(SEED, widths=(4, 8, 1))
    trainer = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.1), MSELoss(), loss_scale=8.0,
                                    growth_interval=3, growth_factor=4.0, backoff_factor=0.25)
    history = []
    for found_inf in (False, False, False, False, False, True, False, False, False):
        trainer.update_scale(found_inf)
        history.append(trainer.scale)
    want = [8.0, 8.0, 32.0, 32.0, 32.0, 8.0, 8.0, 8.0, 32.0]
    assert history == want, (
        f"update_scale with growth_interval=3, growth_factor=4, backoff_factor=0.25 from 8, on good, good, good, good, "
        f"good, inf, good, good, good, should give scales {want}; got {history}")
    assert trainer.skipped_steps == 1 and trainer.good_steps == 0, (
        f"skipped_steps 1 and good_steps 0 after that; got {trainer.skipped_steps}, {trainer.good_steps}")
    model, trainer, batch = setup(growth_interval=2)
    scales = [trainer.train_step(batch)["scale"] for _ in range(4)]
    assert scales == [1024.0, 2048.0, 2048.0, 4096.0], f"train_step with growth_interval=2 should double every 2 steps; got {scales}"


@pytest.mark.points(2)
def test_mixed_precision_lands_close_to_float32_training():
    model, trainer, (x, y) = setup(lr=0.05)
    twin = mlp(SEED, widths=(4, 16, 1))
    opt = SGD(twin.parameters(), lr=0.05)
    for _ in range(30):
        result = trainer.train_step((x, y))
        opt.zero_grad()
        loss = MSELoss()(twin(Tensor(x)), y)
        loss.backward()
        opt.step()
    assert result["loss"] == pytest.approx(float(loss.data), rel=0.05), (
        f"after 30 steps, the mixed-precision loss {result['loss']:.5f} should be within 5% of float32 training's "
        f"{float(loss.data):.5f}")
    for i, (p, q) in enumerate(zip(model.parameters(), twin.parameters())):
        assert_close(p, q, rtol=2e-2, atol=1e-2, what=f"parameter {i} after 30 mixed-precision steps vs 30 float32 steps")


@pytest.mark.points(1)
def test_a_good_step_after_an_overflow_starts_from_fresh_gradients():
    model, trainer, batch = setup(loss_scale=2.0 ** 40, backoff_factor=2.0 ** -30)
    first = trainer.train_step(batch)
    before = snapshot(model)
    second = trainer.train_step(batch)
    assert first["skipped"] and not second["skipped"] and second["scale"] == 1024.0, (
        f"scale 2^40 overflows, then backoff 2^-30 brings it to 1024: the second step should not be skipped "
        f"(its gradients must not include the first step's inf); got {first}, then {second}")
    assert any(not np.array_equal(p.data, old) for p, old in zip(model.parameters(), before)), (
        "the good second step should update the weights")


@pytest.mark.points(2)
def test_an_exception_in_the_forward_restores_the_float32_masters():
    model = mlp(SEED, widths=(4, 8, 1))
    before = snapshot(model)

    def broken_loss(pred, y):
        raise RuntimeError("broken loss")

    trainer = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.1), broken_loss)
    x, y = regression_data(8, SEED, weights=WEIGHTS, bias=BIAS)
    with pytest.raises(RuntimeError, match="broken loss"):
        trainer.train_step((x, y))
    for i, (p, old) in enumerate(zip(model.parameters(), before)):
        assert p.dtype == np.float32 and np.array_equal(p.data, old), (
            f"after an exception inside train_step, parameter {i} should hold its float32 master again; "
            f"got dtype {p.dtype}")


@pytest.mark.points(2)
def test_unscale_gradients_divides_every_gradient_into_float32():
    model = Sequential(Linear(2, 3, rng=np.random.default_rng(0)), ReLU(), Linear(3, 1, rng=np.random.default_rng(1)))
    trainer = MixedPrecisionTrainer(model, SGD(model.parameters(), lr=0.1), MSELoss(), loss_scale=1024.0)
    w0, b0, w1, b1 = model.parameters()
    w0.grad = Tensor(np.full((2, 3), 2048.0, dtype=np.float16))
    w1.grad = Tensor(np.array([[512.0], [-1024.0], [2.0 ** -20]], dtype=np.float16))   # 2^-20 / 1024 is 0 in float16
    b0.grad = b1.grad = None
    assert trainer.unscale_gradients() is True, "unscale_gradients() should return True when every gradient is finite"
    assert w0.grad.dtype == np.float32 and np.all(w0.grad.data == 2.0), f"2048 / 1024 = 2 in float32; got {w0.grad.data}"
    assert_close(w1.grad, [[0.5], [-1.0], [2.0 ** -30]], rtol=1e-6, atol=0.0,
                 what="w1.grad [512, -1024, 2^-20] (float16) unscaled by 1024 in float32: 2^-30 must not underflow")
    assert b0.grad is None and b1.grad is None, "a parameter without a gradient should keep grad None"
    w0.grad = Tensor(np.array([[np.inf, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=np.float16))
    w1.grad = Tensor(np.full((3, 1), 4096.0, dtype=np.float16))
    assert trainer.unscale_gradients() is False, "unscale_gradients() should return False when a gradient is inf"
    assert w1.grad.dtype == np.float32 and np.all(w1.grad.data == 4.0), (
        f"every gradient is unscaled, also those after an inf: w1.grad should be 4096 / 1024 = 4; got {w1.grad.data}")


@pytest.mark.points(1)
def test_scale_loss_stays_in_the_graph_and_scales_every_gradient():
    model, trainer, _ = setup(loss_scale=64.0)
    w = Tensor(np.array([1.0, -2.0], dtype=np.float32), requires_grad=True)
    scaled = trainer.scale_loss((w * w).sum())
    assert isinstance(scaled, Tensor) and scaled.item() == 5.0 * 64.0, f"scale_loss(5.0) with scale 64 should be 320; got {scaled!r}"
    scaled.backward()
    assert_close(w.grad, [128.0, -256.0], what="w.grad of scale_loss(sum(w * w)) with scale 64: 64 * 2w")


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_systems_questions_more_inputs():
    assert gelu_fusion_saved_bytes((7,), np.float64) == 8 * 7 * 8, "gelu_fusion_saved_bytes((7,), float64): 8 arrays x 56 bytes"
    with pytest.raises(ValueError):
        gelu_fusion_saved_bytes((3, -1))
    shared = Linear(10, 10, rng=np.random.default_rng(0))
    got = mixed_precision_weight_bytes(Sequential(shared, ReLU(), shared))
    assert got == 110 * 6, f"a layer used twice is one set of weights: 110 values x 6 bytes = 660; got {got}"
    grads = np.exp(np.random.default_rng(11).uniform(np.log(1e-10), np.log(1e-2), 2000))
    for scale in (1.0, 256.0, 65536.0):
        want = float(np.mean(grads * scale <= 2.0 ** -25))        # rounds to 0 in float16
        got = float16_underflow_fraction(Tensor(grads), scale=scale)
        assert got == pytest.approx(want, abs=1e-3), (
            f"float16_underflow_fraction of 2000 log-uniform values in [1e-10, 1e-2], scale {scale}: "
            f"should be {want:.4f}; got {got}")
    for values, scale in (([0.0, 0.0], 1.0), ([1e-3], 0.0), ([1e-3], -1.0)):
        with pytest.raises(ValueError):
            float16_underflow_fraction(values, scale=scale)
