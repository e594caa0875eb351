"""Hidden tests for module 15 (profiling): FLOP counts of more layer shapes, of matmuls between
activations and of layers that count nothing; counting inside no_grad and with frozen weights;
input-shape errors; activation bytes with views and without exclusions; memory of a GPT; the
tracemalloc measurement; latency arguments and warm-up; per-layer rows of a GPT, of a shared
layer, with the clock, and the hooks removed; backward segments of a GPT; the systems questions
on more inputs and the two machine measurements with a fake clock."""

import tracemalloc

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Softmax
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Linear, Module, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.spatial import AvgPool2d, BatchNorm2d, Conv2d, Flatten, MaxPool2d, conv2d_flops
from tinytorch.core.tensor import Function, Tensor, _wrap, graph_op
from tinytorch.models.transformer import GPT, LayerNorm, gpt_flops_per_token
from tinytorch.profiling.profiler import (
    Profiler,
    conv2d_arithmetic_intensity,
    graph_activation_bytes,
    linear_arithmetic_intensity,
    measure_bandwidth_gbs,
    measure_matmul_gflops,
    peak_allocated_bytes,
    ridge_intensity,
    roofline_bound,
)
from tinytorch.text.embeddings import Embedding
from tinytorch.testing import (
    FakeClock,
    PairClock,
    assert_close,
    gpt_flops_by_hand,
    graph_bytes_reference,
    percentile_by_rank,
    recording_on,  # noqa: F401  (autouse fixture: grad mode on in every test)
    ticking_layer,
)

SEED = 7


def rng(seed=SEED):
    return np.random.default_rng(seed)


def floats(shape, seed=SEED):
    return Tensor(rng(seed).standard_normal(shape).astype(np.float32))


class TransposeViewBackward(Function):
    def backward(self, grad):
        return (grad.T,)


@graph_op(TransposeViewBackward, inputs=("x",))
def transpose_view(x):
    """x.T as a VIEW of x's array (no copy), recorded in the graph."""
    return _wrap(x.data.T)


class Gram(Module):
    """x (B, T, C) -> x @ x^T (B, T, T), then a vector product: matmuls between activations."""

    def __init__(self):
        super().__init__()
        self.v = Tensor(rng(1).standard_normal(4).astype(np.float32), requires_grad=True)

    def forward(self, x):
        scores = x @ x.transpose(-2, -1)              # (B, T, T)
        return scores[..., :4] @ self.v               # (B, T, 4) @ (4,) -> (B, T)


class Glue(Module):
    """Own ops between and after the children, and a Tensor of the own ops used by a child AND by later own ops."""

    def __init__(self):
        super().__init__()
        self.a = Linear(3, 4, rng=rng(2))
        self.b = Linear(4, 4, rng=rng(3))
        self.w = Tensor(rng(4).standard_normal((4, 4)).astype(np.float32), requires_grad=True)
        self.w2 = Tensor(rng(5).standard_normal((4, 2)).astype(np.float32), requires_grad=True)

    def forward(self, x):
        g = self.a(x) @ self.w                        # own op: its result goes to b ...
        h = self.b(g)
        return h @ self.w2 + g @ self.w2              # ... and to two more own ops


class Pair(Module):
    def forward(self, x):
        return x, x


# ------------------------------------------------------------------------ FLOPs


@pytest.mark.points(2)
def test_count_flops_conv_rectangular_kernel_stride_pair_no_bias():
    profiler = Profiler()
    cases = [((3, 5, (3, 5)), dict(stride=(2, 1), padding=(1, 2), bias=False), (2, 3, 7, 9)),
             ((4, 2, 1), dict(stride=3), (1, 4, 10, 8)),
             ((1, 3, 5), dict(padding=2), (3, 1, 5, 6))]
    for args, kwargs, shape in cases:
        got = profiler.count_flops(Conv2d(*args, **kwargs, rng=rng()), shape)
        want = conv2d_flops(shape[0], args[0], args[1], shape[2], shape[3], args[2],
                            kwargs.get("stride", 1), kwargs.get("padding", 0))
        assert got == want, f"count_flops(Conv2d{args} {kwargs}, {shape}) should be {want}; got {got!r}"


@pytest.mark.points(2)
def test_count_flops_matmuls_between_activations_and_a_vector():
    got = Profiler().count_flops(Gram(), (2, 6, 5))
    want = 2 * 2 * 6 * 6 * 5 + 2 * 2 * 6 * 4
    assert got == want, (f"count_flops of x @ x^T for x (2, 6, 5), then (2, 6, 4) @ (4,): should be {want} "
                         f"(both operands of the first come from the input); got {got!r}")


@pytest.mark.points(2)
def test_count_flops_is_zero_for_norms_pools_softmax_and_lookups():
    profiler = Profiler()
    cases = [("Sequential(BatchNorm2d(3), MaxPool2d(2), AvgPool2d(2), Flatten())",
              Sequential(BatchNorm2d(3), MaxPool2d(2), AvgPool2d(2), Flatten()), (2, 3, 8, 8)),
             ("LayerNorm(6)", LayerNorm(6), (4, 6)),
             ("Sequential(ReLU(), Softmax())", Sequential(ReLU(), Softmax()), (3, 7)),
             ("Embedding(20, 6) on ids (2, 5)", Embedding(20, 6, rng=rng()), (2, 5))]
    for what, model, shape in cases:
        got = profiler.count_flops(model, shape)
        assert got == 0, f"count_flops({what}, {shape}) should be 0 (no matmul, no convolution); got {got!r}"


@pytest.mark.points(2)
def test_count_flops_gpt_other_configs_and_batch():
    profiler = Profiler()
    for (v, c, layers, heads, max_len), (b, t) in [((13, 12, 3, 3, 8), (3, 7)), ((5, 4, 1, 1, 4), (1, 1)),
                                                    ((9, 8, 2, 4, 10), (2, 10))]:
        model = GPT(v, c, layers, heads, max_len, rng=rng())
        got = profiler.count_flops(model, (b, t))
        want = gpt_flops_by_hand(v, c, layers, batch=b, seq=t)
        assert got == want == b * t * gpt_flops_per_token(v, c, layers, t), (
            f"count_flops(GPT({v}, {c}, {layers}, {heads}, {max_len}), {(b, t)}) should be {want}; got {got!r}")


@pytest.mark.points(2)
def test_count_flops_records_inside_no_grad_and_with_frozen_weights():
    model = Sequential(Linear(5, 7, rng=rng()), ReLU(), Linear(7, 3, rng=rng(1)))
    want = 2 * 4 * (5 * 7 + 7 * 3)
    with no_grad():
        got = Profiler().count_flops(model, (4, 5))
    assert got == want, f"count_flops called inside no_grad() should still count {want}; got {got!r}"
    for p in model.parameters():
        p.requires_grad = False
    got = Profiler().count_flops(model, (4, 5))
    assert got == want, f"count_flops of a model with frozen weights (requires_grad=False) should be {want}; got {got!r}"


@pytest.mark.points(2)
def test_count_flops_rejects_bad_input_shapes_and_outputs():
    profiler = Profiler()
    for shape in [(), (0, 3), [2, -1], 5, (2.0, 3), (True, 3)]:
        with pytest.raises(ValueError, match="input_shape"):
            profiler.count_flops(Linear(3, 2), shape)
    with pytest.raises(TypeError):
        profiler.count_flops(Pair(), (2, 3))


# ------------------------------------------------------------------------ memory


@pytest.mark.points(3)
def test_graph_activation_bytes_counts_views_once_and_excludes_parameters():
    w = Tensor(rng().standard_normal((6, 4)), requires_grad=True)               # float64
    x = Tensor(rng(1).standard_normal((6, 6)), requires_grad=True)
    out = transpose_view(x) @ w                                                   # (6, 6) view of x, then (6, 4)
    got = graph_activation_bytes(out, exclude=[w])
    want = 6 * 6 * 8 + 6 * 4 * 8                                                  # x once (the view shares it), out
    assert got == want == graph_bytes_reference(out, exclude=[w]), (
        f"graph_activation_bytes(x.T view @ w, exclude=[w]) should be {want}: x's memory once (the transpose "
        f"is a view of it) and the result; got {got!r}")
    got = graph_activation_bytes(out)
    assert got == want + 6 * 4 * 8, f"graph_activation_bytes without exclude should count w too: {want + 192}; got {got!r}"
    assert graph_activation_bytes(x) == 0, "graph_activation_bytes of a leaf (no graph) should be 0"


@pytest.mark.points(2)
def test_measure_memory_of_a_gpt_and_gradients_restored():
    model = GPT(13, 8, 2, 2, 6, rng=rng())
    params = model.parameters()
    before = [Tensor(np.ones(p.shape, dtype=np.float32)) if i % 3 == 0 else None for i, p in enumerate(params)]
    for p, g in zip(params, before):
        p.grad = g
    m = Profiler().measure_memory(model, (2, 5))
    want_params = sum(p.size for p in params) * 4
    assert m["parameter_bytes"] == want_params and m["gradient_bytes"] == want_params, (
        f"measure_memory(GPT(13, 8, 2, 2, 6), (2, 5)): parameter and gradient bytes should both be {want_params}; got {m!r}")
    assert all(p.grad is g for p, g in zip(params, before)), (
        "measure_memory must put back every parameter's previous .grad (Tensors and Nones) after measuring")
    want = graph_bytes_reference(model(np.zeros((2, 5), dtype=np.int64)), exclude=params)
    assert m["activation_bytes"] == want, f"activation_bytes of the GPT on (2, 5) should be {want}; got {m['activation_bytes']}"
    assert m["peak_bytes"] >= m["gradient_bytes"] + m["activation_bytes"], (
        f"peak_bytes should be at least gradients + activations; got {m!r}")
    assert not tracemalloc.is_tracing(), "measure_memory should leave tracemalloc stopped, as it found it"


@pytest.mark.points(2)
def test_peak_allocated_bytes_sees_temporaries_and_leaves_tracing_as_found():
    def temporary():
        big = np.ones(250_000)                      # 2 MB, freed before returning
        return float(big.sum())

    result, peak = peak_allocated_bytes(temporary)
    assert result == 250_000.0, f"peak_allocated_bytes(fn) should return fn's result first; got {result!r}"
    assert peak >= 2_000_000, f"the 2 MB temporary was alive inside fn: the peak should be >= 2,000,000; got {peak!r}"
    assert not tracemalloc.is_tracing(), "peak_allocated_bytes should stop tracemalloc if it started it"

    def fails():
        raise KeyError("inside fn")

    with pytest.raises(KeyError):
        peak_allocated_bytes(fails)
    assert not tracemalloc.is_tracing(), "an exception in fn must not leave tracemalloc running"
    tracemalloc.start()
    try:
        kept = np.ones(500_000)                     # 4 MB alive before fn starts: not fn's
        np.ones(1_000_000).sum()                    # an 8 MB peak before fn starts: not fn's either
        _, peak = peak_allocated_bytes(temporary)
        assert tracemalloc.is_tracing(), "peak_allocated_bytes must not stop tracing that was on before it"
        assert 2_000_000 <= peak < 3_000_000, (
            f"with tracing already on (4 MB held and an 8 MB peak before fn ran), fn's peak should be its 2 MB "
            f"temporary: counted from the memory in use when fn starts, with the peak reset; got {peak!r}")
        assert kept.size == 500_000
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------------ latency


@pytest.mark.points(2)
def test_measure_latency_warmup_zero_and_other_runs():
    clock = FakeClock()
    timed = [0.020, 0.001, 0.002, 0.030, 0.003, 0.004, 0.005]
    model = ticking_layer(clock, forward_seconds=timed)
    result = Profiler(clock=clock).measure_latency(model, floats((1, 2)), warmup=0, iterations=7)
    ms = [t * 1000 for t in timed]
    assert len(model.grad_modes) == 7, f"warmup=0, iterations=7: 7 calls; got {len(model.grad_modes)}"
    for key, want in (("median_ms", 4.0), ("p10_ms", percentile_by_rank(ms, 10)), ("p90_ms", percentile_by_rank(ms, 90))):
        assert isinstance(result[key], float), f"measure_latency(...)[{key!r}] should be a float; got {type(result[key]).__name__}"
        assert_close(result[key], want, what=f"measure_latency(...)[{key!r}] for runs of {ms} ms")

    clock = FakeClock()
    model = ticking_layer(clock, forward_seconds=[1.0] * 10 + [0.002] * 3)
    result = Profiler(clock=clock).measure_latency(model, floats((1, 2)), iterations=3)
    assert len(model.grad_modes) == 13, f"the default warmup is 10 runs: 13 calls for iterations=3; got {len(model.grad_modes)}"
    assert_close(result["median_ms"], 2.0, what="median_ms after the default 10 warm-up runs of 1 s (untimed)")


@pytest.mark.points(2)
def test_measure_latency_argument_errors():
    profiler, model, x = Profiler(clock=FakeClock()), Linear(2, 2), floats((1, 2))
    for iterations in (True, 2.5, 0, -4, "10"):
        with pytest.raises(ValueError, match="iterations"):
            profiler.measure_latency(model, x, warmup=0, iterations=iterations)
    for warmup in (-1, 1.5, None):
        with pytest.raises(ValueError, match="warmup"):
            profiler.measure_latency(model, x, warmup=warmup, iterations=3)


# ------------------------------------------------------------------------ per layer


@pytest.mark.points(3)
def test_profile_forward_pass_of_a_gpt():
    v, c, layers, b, t = 13, 8, 2, 2, 5
    model = GPT(v, c, layers, 2, 6, rng=rng())
    rows = Profiler().profile_forward_pass(model, np.zeros((b, t), dtype=np.int64))
    names = ["token_embedding", "position_embedding", "blocks.0", "blocks.1", "ln_f", "head", "(own ops)"]
    assert [r["name"] for r in rows] == names, f"a GPT's rows should be {names}; got {[r['name'] for r in rows]}"
    assert [r["type"] for r in rows] == ["Embedding", "Embedding", "TransformerBlock", "TransformerBlock", "LayerNorm",
                                         "Linear", "GPT"]
    block = (gpt_flops_by_hand(v, c, layers, b, t) - 2 * b * t * c * v) // layers
    want = [0, 0, block, block, 0, 2 * b * t * c * v, 0]
    assert [r["flops"] for r in rows] == want, f"the GPT's row FLOPs should be {want}; got {[r['flops'] for r in rows]}"
    assert sum(want) == Profiler().count_flops(model, (b, t))
    # the GPT's own ops: the token + position add, whose (B, T, C) result goes to blocks.0
    out_bytes = [b * t * c * 4, t * c * 4, b * t * c * 4, b * t * c * 4, b * t * c * 4, b * t * v * 4, b * t * c * 4]
    assert [r["output_bytes"] for r in rows] == out_bytes, f"output_bytes should be {out_bytes}; got {[r['output_bytes'] for r in rows]}"


@pytest.mark.points(2)
def test_profile_forward_pass_shared_layer_and_no_hook_left_behind():
    shared = Linear(4, 4, rng=rng())
    act = ReLU()
    model = Sequential(shared, act, shared)
    x = floats((3, 4))
    want = model(x).data
    rows = Profiler().profile_forward_pass(model, x)
    assert [(r["name"], r["flops"], r["output_bytes"]) for r in rows] == [
            ("layers.0", 2 * 2 * 3 * 16, 2 * 48), ("layers.1", 0, 48), ("(own ops)", 0, 0)], (
        f"Sequential(shared, ReLU, shared): one row for the shared Linear with both calls summed, one for ReLU; got {rows}")
    for layer in (shared, act):
        assert "forward" not in vars(layer), f"profiling left a hook on {type(layer).__name__}: nothing may stay patched"
    assert_close(model(x), want, what="the model's output after profiling (same as before)")

    class Boom(Module):
        def forward(self, x):
            raise ArithmeticError("boom")

    boom = Boom()
    with pytest.raises(ArithmeticError):
        Profiler().profile_forward_pass(Sequential(shared, boom), x)
    assert "forward" not in vars(shared) and "forward" not in vars(boom), (
        "after an exception inside a child, the hooks must still be removed")
    class Unused(Module):
        def __init__(self):
            super().__init__()
            self.used, self.spare = Linear(4, 2, rng=rng()), Linear(4, 9, rng=rng(1))

        def forward(self, x):
            return self.used(x)

    rows = Profiler().profile_forward_pass(Unused(), x)
    want = [("used", "Linear", 2 * 3 * 4 * 2, 3 * 2 * 4), ("spare", "Linear", 0, 0), ("(own ops)", "Unused", 0, 0)]
    got = [(r["name"], r["type"], r["flops"], r["output_bytes"]) for r in rows]
    assert got == want and rows[1]["time_ms"] == 0, (
        f"a child that forward never calls still gets its row, with zeros: expected {want}; got {rows}")


@pytest.mark.points(2)
def test_profile_forward_pass_times_each_child_with_the_clock():
    clock = FakeClock()
    model = Sequential(ticking_layer(clock, 0.003, inner=Linear(2, 3, rng=rng())), ReLU(),
                       ticking_layer(clock, [0.0125]), Linear(3, 1, rng=rng(1)))
    rows = Profiler(clock=clock).profile_forward_pass(model, floats((4, 2)))
    assert_close([r["time_ms"] for r in rows], [3.0, 0.0, 12.5, 0.0, 0.0],
                 what="time_ms of children whose forwards take 3, 0, 12.5 and 0 ms by the profiler's clock")


@pytest.mark.points(2)
def test_profile_backward_pass_of_a_gpt_matches_plain_backward():
    v, b, t = 13, 2, 5
    ids = rng(3).integers(0, v, size=(b, t))
    targets = Tensor(rng(4).integers(0, v, size=(b * t,)))

    def loss_fn(logits):
        return CrossEntropyLoss()(logits.reshape(b * t, v), targets)

    plain = GPT(v, 8, 2, 2, 6, rng=rng())
    loss_fn(plain(ids)).backward()
    model = GPT(v, 8, 2, 2, 6, rng=rng())
    rows = Profiler().profile_backward_pass(model, ids, loss_fn)
    for i, (p, q) in enumerate(zip(model.parameters(), plain.parameters())):
        assert p.grad is not None, f"parameter {i} (shape {p.shape}) has no .grad after profile_backward_pass"
        assert_close(p.grad, q.grad.data, rtol=1e-4, atol=1e-6,
                     what=f"GPT parameter {i} (shape {p.shape}): .grad after profile_backward_pass vs plain backward")
    children = [("token_embedding", model.token_embedding), ("position_embedding", model.position_embedding),
                ("blocks.0", model.blocks[0]), ("blocks.1", model.blocks[1]), ("ln_f", model.ln_f), ("head", model.head)]
    want = [(name, sum(p.size for p in child.parameters()) * 4) for name, child in children] + [("(own ops)", 0)]
    got = [(r["name"], r["gradient_bytes"]) for r in rows]
    assert got == want, f"the GPT's backward rows (name, gradient_bytes) should be {want}; got {got}"


@pytest.mark.points(2)
def test_profile_backward_pass_times_each_segment_with_the_clock():
    clock = FakeClock()
    model = Sequential(ticking_layer(clock, backward_seconds=0.004, inner=Linear(3, 3, rng=rng())),
                       ticking_layer(clock, backward_seconds=0.001), ReLU(),
                       ticking_layer(clock, backward_seconds=0.020, inner=Linear(3, 2, rng=rng(1))))
    rows = Profiler(clock=clock).profile_backward_pass(model, floats((4, 3)), lambda out: out.sum())
    assert_close([r["time_ms"] for r in rows], [4.0, 1.0, 0.0, 20.0, 0.0],
                 what="backward time_ms of children whose backward takes 4, 1, 0 and 20 ms by the profiler's clock")


@pytest.mark.points(3)
def test_profile_multihead_attention_puts_the_attention_core_in_own_ops():
    b, t, c = 2, 5, 8
    model = MultiHeadAttention(c, 2, rng=rng())
    x = floats((b, t, c))
    rows = Profiler().profile_forward_pass(model, x)
    proj = 2 * b * t * c * c
    want = [("q_proj", proj), ("k_proj", proj), ("v_proj", proj), ("out_proj", proj), ("(own ops)", 2 * 2 * b * t * t * c)]
    got = [(r["name"], r["flops"]) for r in rows]
    assert got == want, (f"MultiHeadAttention(8, 2) on (2, 5, 8): each projection {proj} FLOPs, and Q @ K^T + weights @ V "
                         f"computed by its own forward between v_proj and out_proj; expected {want}, got {got}")
    assert rows[-1]["type"] == "MultiHeadAttention" and rows[-1]["output_bytes"] == b * t * c * 4, (
        f"the own-ops row of a MultiHeadAttention: type 'MultiHeadAttention', and the (2, 5, 8) Tensor it passes to "
        f"out_proj ({b * t * c * 4} bytes); got {rows[-1]}")

    plain = MultiHeadAttention(c, 2, rng=rng())
    weights = Tensor(rng(9).standard_normal((b, t, c)).astype(np.float32))
    (plain(Tensor(x.data, requires_grad=True)) * weights).sum().backward()
    rows = Profiler().profile_backward_pass(model, x, lambda out: (out * weights).sum())
    for i, (p, q) in enumerate(zip(model.parameters(), plain.parameters())):
        assert p.grad is not None, f"MultiHeadAttention parameter {i}: no .grad after profile_backward_pass"
        assert_close(p.grad, q.grad.data, rtol=1e-4, atol=1e-6,
                     what=f"MultiHeadAttention parameter {i} (shape {p.shape}): .grad after profile_backward_pass "
                          f"(through the attention core's own segment) vs a plain backward")


@pytest.mark.points(2)
def test_profile_counts_own_ops_used_twice_once():
    x = floats((5, 3))
    model = Glue()
    rows = Profiler().profile_forward_pass(model, x)
    n = 5
    want = [("a", 2 * n * 3 * 4), ("b", 2 * n * 4 * 4), ("(own ops)", 2 * n * 4 * 4 + 2 * (2 * n * 4 * 2))]
    got = [(r["name"], r["flops"]) for r in rows]
    assert got == want, (f"a model whose own ops make g = a(x) @ w, pass g to b and use g again afterwards: each node "
                         f"counted once; expected {want}, got {got}")
    assert sum(f for _, f in got) == Profiler().count_flops(model, (5, 3))

    plain = Glue()
    (plain(Tensor(x.data, requires_grad=True)) * 1.0).sum().backward()
    rows = Profiler().profile_backward_pass(model, x, lambda out: (out * 1.0).sum())
    for name in ("a.weight", "a.bias", "b.weight", "b.bias", "w", "w2"):
        mine = _attr(model, name)
        ref = _attr(plain, name)
        assert mine.grad is not None, f"{name}: no .grad after profile_backward_pass"
        assert_close(mine.grad, ref.grad.data, rtol=1e-4, atol=1e-6,
                     what=f"{name}.grad after profile_backward_pass vs a plain backward (g reaches the loss two ways)")
    assert rows[-1]["gradient_bytes"] == (16 + 8) * 4, (
        f"the own-ops row's gradient_bytes should be the model's own parameters w (4, 4) and w2 (4, 2): 96; got {rows[-1]}")


def _attr(obj, dotted):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_intensity_of_conv_and_linear_on_more_inputs():
    n, c, o, h, w, (kh, kw), (sh, sw), (ph, pw) = 3, 5, 6, 11, 9, (3, 2), (2, 1), (1, 0)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    flops = 2 * n * o * oh * ow * c * kh * kw
    for dtype, size in ((np.float32, 4), (np.float64, 8)):
        moved = (n * c * h * w + o * c * kh * kw + n * o * oh * ow) * size
        assert_close(conv2d_arithmetic_intensity(n, c, o, h, w, (kh, kw), (sh, sw), (ph, pw), dtype=dtype),
                     flops / moved, what=f"conv2d_arithmetic_intensity(3, 5, 6, 11, 9, (3, 2), (2, 1), (1, 0), {dtype.__name__})")
    assert_close(linear_arithmetic_intensity(3, 10, 20, dtype=np.float64), 2 * 3 * 10 * 20 / ((30 + 200 + 60) * 8),
                 what="linear_arithmetic_intensity(3, 10, 20, float64)")
    low, high = linear_arithmetic_intensity(1, 1024, 1024), linear_arithmetic_intensity(1024, 1024, 1024)
    assert high > 100 * low, f"a Linear at batch 1024 should be far more intense than at batch 1; got {low} and {high}"
    for bad in ((0, 3, 3), (2, True, 3)):
        with pytest.raises(ValueError):
            linear_arithmetic_intensity(*bad)
    with pytest.raises(ValueError):
        conv2d_arithmetic_intensity(1, 3, 4, 5, 5, 3, stride=0)


@pytest.mark.points(1)
def test_roofline_and_ridge_on_more_inputs():
    for intensity, want in ((0.0, 0.0), (2.0, 30.0), (4.0, 60.0), (4.5, 60.0), (1e6, 60.0)):
        assert_close(roofline_bound(intensity, 60.0, 15.0), want, what=f"roofline_bound({intensity}, peak 60, bandwidth 15)")
    assert_close(ridge_intensity(60.0, 15.0), 4.0, what="ridge_intensity(60, 15)")
    for args in ((-1.0, 60.0, 15.0), (1.0, 0.0, 15.0), (1.0, 60.0, -2.0), (float("nan"), 60.0, 15.0)):
        with pytest.raises(ValueError):
            roofline_bound(*args)
    with pytest.raises(ValueError):
        ridge_intensity(60.0, 0)


@pytest.mark.points(2)
def test_machine_measurements_with_a_fake_clock():
    clock = PairClock([0.3, 0.1, 0.2])
    got = measure_matmul_gflops(n=16, repeats=3, clock=clock)
    assert clock.reads == 6, f"measure_matmul_gflops(repeats=3) should read the clock twice per timed product; read it {clock.reads} times"
    assert_close(got, 2 * 16 ** 3 / 0.1 / 1e9, what="measure_matmul_gflops(16) with products timed 0.3, 0.1, 0.2 s (the fastest counts)")
    clock = PairClock([0.5, 0.25])
    got = measure_bandwidth_gbs(nbytes=4096, repeats=2, clock=clock)
    assert_close(got, 2 * 4096 / 0.25 / 1e9, what="measure_bandwidth_gbs(4096 bytes) with copies timed 0.5, 0.25 s: read + write")
    assert measure_matmul_gflops(n=8, repeats=1) > 0 and measure_bandwidth_gbs(nbytes=1 << 16, repeats=1) > 0
    for call in (lambda: measure_matmul_gflops(n=0), lambda: measure_matmul_gflops(n=4, repeats=0),
                 lambda: measure_bandwidth_gbs(nbytes=2), lambda: measure_bandwidth_gbs(repeats=0)):
        with pytest.raises(ValueError):
            call()
