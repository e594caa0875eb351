"""Visible tests for module 15 (profiling). Run them with `make test M=15`.

FLOPs are checked against counts written by hand from the shapes; activation bytes against a
graph walker of `tinytorch.testing` written another way; timings against a fake clock that the
test moves itself (`FakeClock`, `ticking_layer`): no test times anything or depends on the
speed of the machine.
"""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Sigmoid, Tanh
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.autograd import graph_memory_bytes
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.spatial import BatchNorm2d, Conv2d, Flatten, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.models.transformer import GPT, gpt_param_count
from tinytorch.profiling.profiler import (
    Profiler,
    arithmetic_intensity,
    graph_flops,
    linear_arithmetic_intensity,
    node_flops,
    ridge_intensity,
    roofline_bound,
)
from tinytorch.testing import (
    FakeClock,
    assert_close,
    gpt_flops_by_hand,
    graph_bytes_reference,
    mha_flops_by_hand,
    percentile_by_rank,
    recording_on,  # noqa: F401  (autouse fixture: grad mode on in every test)
    ticking_layer,
)

SEED = 0


def rng(seed=SEED):
    return np.random.default_rng(seed)


def floats(shape, seed=SEED):
    return Tensor(rng(seed).standard_normal(shape).astype(np.float32))


# ------------------------------------------------------------------------ parameters


@pytest.mark.points(3)
def test_count_parameters_counts_numbers_once():
    profiler = Profiler()
    got = profiler.count_parameters(Linear(784, 128))
    assert got == 784 * 128 + 128, f"count_parameters(Linear(784, 128)) should be 100480 numbers; got {got!r}"
    shared = Linear(6, 6)
    got = profiler.count_parameters(Sequential(shared, ReLU(), shared))
    assert got == 42, f"count_parameters(Sequential(shared, ReLU(), shared)) with one Linear(6, 6) twice should be 42; got {got}"
    got = profiler.count_parameters(BatchNorm2d(4))
    assert got == 8, f"count_parameters(BatchNorm2d(4)) should count gamma and beta (8), not the running statistics; got {got}"
    model = GPT(11, 8, 2, 2, 6, rng=rng())
    want = gpt_param_count(11, 8, 2, 2, 6)
    got = profiler.count_parameters(model)
    assert got == want, f"count_parameters(GPT(11, 8, 2, 2, 6)) should equal gpt_param_count = {want}; got {got}"
    assert isinstance(got, int), f"count_parameters should return a Python int; got {type(got).__name__}"
    with pytest.raises(TypeError):
        profiler.count_parameters(3)


# ------------------------------------------------------------------------ FLOPs


@pytest.mark.points(2)
def test_node_flops_counts_matmuls_only():
    w = Tensor(rng().standard_normal((3, 5)), requires_grad=True)
    cases = [
        ("(4, 3) @ (3, 5)", Tensor(np.ones((4, 3))) @ w, 2 * 4 * 5 * 3),
        ("(2, 4, 3) @ (3, 5)", Tensor(np.ones((2, 4, 3))) @ w, 2 * 2 * 4 * 5 * 3),
        ("(3,) @ (3, 5)", Tensor(np.ones(3)) @ w, 2 * 5 * 3),
        ("w * 2 (element-wise)", w * 2, 0),
        ("w.sum() (a reduction)", w.sum(), 0),
    ]
    for expr, out, want in cases:
        got = node_flops(out._grad_fn)
        assert got == want, f"node_flops of the node of {expr} should be {want}; got {got!r}"
    out = (Tensor(np.ones((4, 3))) @ w + 1.0) @ Tensor(np.ones((5, 2)))
    assert graph_flops(out) == 2 * 4 * 5 * 3 + 2 * 4 * 2 * 5, (
        f"graph_flops of ((4, 3) @ (3, 5) + 1) @ (5, 2) should be 120 + 80; got {graph_flops(out)!r}")
    with pytest.raises(TypeError):
        node_flops("MatMulBackward")


@pytest.mark.points(3)
def test_count_flops_linear_and_mlp_hand_counts():
    profiler = Profiler()
    cases = [
        ("Linear(5, 7) on (3, 5)", Linear(5, 7), (3, 5), 2 * 3 * 5 * 7),
        ("Linear(5, 7, bias=False) on (3, 5)", Linear(5, 7, bias=False), (3, 5), 2 * 3 * 5 * 7),
        ("Linear(5, 7) on (2, 4, 5)", Linear(5, 7), (2, 4, 5), 2 * 2 * 4 * 5 * 7),
        ("Sequential(Linear(5, 7), ReLU(), Linear(7, 2)) on (3, 5)",
         Sequential(Linear(5, 7), ReLU(), Linear(7, 2)), (3, 5), 2 * 3 * (5 * 7 + 7 * 2)),
    ]
    for what, model, shape, want in cases:
        got = profiler.count_flops(model, shape)
        assert got == want, (f"count_flops({what}) should be {want} (2 FLOPs per multiply-add of each matmul, "
                             f"the bias add not counted); got {got!r}")


@pytest.mark.points(2)
def test_count_flops_conv2d_with_stride_and_padding():
    profiler = Profiler()
    # (9 + 2 - 3) // 2 + 1 = 5 rows and columns; each output: 3 channels x 3 x 3 multiply-adds
    got = profiler.count_flops(Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 9, 9))
    want = 2 * (2 * 4 * 5 * 5) * (3 * 3 * 3)
    assert got == want, f"count_flops(Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 9, 9)) should be {want}; got {got!r}"
    # kernel (3, 2), no padding, on 6 x 5: output 4 x 4
    got = profiler.count_flops(Conv2d(2, 3, (3, 2)), (1, 2, 6, 5))
    want = 2 * (1 * 3 * 4 * 4) * (2 * 3 * 2)
    assert got == want, f"count_flops(Conv2d(2, 3, (3, 2)), (1, 2, 6, 5)) should be {want}; got {got!r}"


@pytest.mark.points(4)
def test_count_flops_multihead_attention():
    got = Profiler().count_flops(MultiHeadAttention(8, 2, rng=rng()), (2, 5, 8))
    want = mha_flops_by_hand(2, 5, 8)
    assert got == want, (
        f"count_flops(MultiHeadAttention(8, 2), (2, 5, 8)) should be {want}: 4 projections x 2*10*8*8 "
        f"+ Q @ K^T and weights @ V, 2 x 2*2*5*5*8; got {got!r}")


@pytest.mark.points(4)
def test_count_flops_gpt_counts_the_head_and_not_the_embeddings():
    model = GPT(11, 8, 2, 2, 6, rng=rng())
    got = Profiler().count_flops(model, (2, 5))
    want = gpt_flops_by_hand(11, 8, 2, batch=2, seq=5)
    assert got == want, (
        f"count_flops(GPT(11, 8, 2 layers, 2 heads, 6), (2, 5)) should be {want}: per block attention "
        f"{mha_flops_by_hand(2, 5, 8)} + MLP {2 * 2 * 10 * 8 * 32}, the head {2 * 10 * 8 * 11}, embedding "
        f"lookups 0; got {got!r}")


# ------------------------------------------------------------------------ memory


@pytest.mark.points(3)
def test_measure_memory_counts_and_measures():
    model = Sequential(Linear(16, 32, rng=rng()), ReLU(), Linear(32, 8, rng=rng(1)))
    sentinel = Tensor(np.full(32, 7.0, dtype=np.float32))
    model[0].bias.grad = sentinel
    m = Profiler().measure_memory(model, (4, 16))
    assert isinstance(m, dict) and set(m) == {"parameter_bytes", "gradient_bytes", "activation_bytes", "peak_bytes"}, (
        f"measure_memory should return a dict with keys parameter_bytes, gradient_bytes, activation_bytes, "
        f"peak_bytes; got {m!r}")
    params = (16 * 32 + 32 + 32 * 8 + 8) * 4
    assert m["parameter_bytes"] == params, f"parameter_bytes of Linear(16, 32), Linear(32, 8) should be {params}; got {m['parameter_bytes']}"
    assert m["gradient_bytes"] == params, f"gradient_bytes should be {params} (one float32 gradient per parameter); got {m['gradient_bytes']}"
    assert model[0].bias.grad is sentinel and model[2].weight.grad is None, (
        "measure_memory must leave every parameter's .grad as it found it (a Tensor, or None)")

    x = Tensor(np.zeros((4, 16), dtype=np.float32), requires_grad=True)
    want = graph_bytes_reference(model(x), exclude=model.parameters())
    assert m["activation_bytes"] == want, (
        f"activation_bytes for input (4, 16) should be {want}: the input, x @ W, + b, relu, ... once each, "
        f"parameters left out; got {m['activation_bytes']}")
    assert m["peak_bytes"] >= m["gradient_bytes"] + m["activation_bytes"] >= m["parameter_bytes"], (
        f"peak_bytes (measured by tracemalloc) should be at least gradients + activations, all alive at the end "
        f"of the backward; got {m!r}")

    chain = Profiler().measure_memory(Sequential(ReLU(), Tanh(), Sigmoid()), (8, 16))
    want = graph_memory_bytes(3, (8, 16), np.float32)
    assert (chain["parameter_bytes"], chain["activation_bytes"]) == (0, want), (
        f"measure_memory(Sequential(ReLU(), Tanh(), Sigmoid()), (8, 16)): no parameters, and the graph keeps the "
        f"input and 3 results = graph_memory_bytes(3, (8, 16)) = {want}; got {chain!r}")


# ------------------------------------------------------------------------ latency


@pytest.mark.points(4)
def test_measure_latency_median_and_spread_of_timed_runs():
    clock = FakeClock()
    timed = [0.004, 0.001, 0.003, 0.010, 0.002]                  # seconds per timed run
    model = ticking_layer(clock, forward_seconds=[5.0, 5.0] + timed)
    x = floats((2, 3))
    result = Profiler(clock=clock).measure_latency(model, x, warmup=2, iterations=5)
    assert len(model.grad_modes) == 7, (
        f"measure_latency(warmup=2, iterations=5) should call the model 7 times; it called it {len(model.grad_modes)}")
    assert not any(model.grad_modes), "measure_latency should run the model under no_grad (inference: no graph)"
    ms = [t * 1000 for t in timed]
    want = {"median_ms": 3.0, "p10_ms": percentile_by_rank(ms, 10), "p90_ms": percentile_by_rank(ms, 90),
            "iterations": 5}
    assert set(result) == set(want), f"measure_latency should return the keys {sorted(want)}; got {result!r}"
    for key in ("median_ms", "p10_ms", "p90_ms"):
        assert_close(result[key], want[key], what=f"measure_latency(...)[{key!r}] for timed runs of {ms} ms "
                                                  f"(the 2 warm-up runs of 5 s must not be timed)")
    assert result["iterations"] == 5, f"measure_latency(...)['iterations'] should be 5; got {result['iterations']!r}"


@pytest.mark.points(2)
def test_measure_latency_needs_three_iterations():
    profiler, model, x = Profiler(clock=FakeClock()), Linear(3, 2), floats((2, 3))
    with pytest.raises(ValueError, match="iterations"):
        profiler.measure_latency(model, x, warmup=0, iterations=2)
    with pytest.raises(ValueError, match="warmup"):
        profiler.measure_latency(model, x, warmup=-1, iterations=5)
    result = profiler.measure_latency(model, x, warmup=0, iterations=3)
    assert result["iterations"] == 3, f"measure_latency(iterations=3) is allowed; got {result!r}"


# ------------------------------------------------------------------------ per layer


@pytest.mark.points(3)
def test_profile_forward_pass_rows_cover_every_child_and_sum_to_count_flops():
    model = Sequential(Conv2d(3, 4, 3, padding=1, rng=rng()), ReLU(), MaxPool2d(2), Flatten(), Linear(64, 5, rng=rng(1)))
    rows = Profiler().profile_forward_pass(model, floats((2, 3, 8, 8)))
    names = [r["name"] for r in rows] if isinstance(rows, list) else rows
    want = [f"layers.{i}" for i in range(5)] + ["(own ops)"]
    assert names == want, f"profile_forward_pass of a 5-layer Sequential should give rows {want}; got {names}"
    assert [r["type"] for r in rows] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "Sequential"], (
        f"each row's type should be its layer's class name (the model's for '(own ops)'); got {[r['type'] for r in rows]}")
    conv, linear = 2 * (2 * 4 * 8 * 8) * 27, 2 * 2 * 64 * 5
    assert [r["flops"] for r in rows] == [conv, 0, 0, 0, linear, 0], (
        f"row FLOPs should be [{conv}, 0, 0, 0, {linear}, 0]; got {[r['flops'] for r in rows]}")
    total = Profiler().count_flops(model, (2, 3, 8, 8))
    assert sum(r["flops"] for r in rows) == total, f"the rows' FLOPs should add up to count_flops = {total}"
    bytes_ = [2 * 4 * 8 * 8 * 4, 2 * 4 * 8 * 8 * 4, 2 * 4 * 4 * 4 * 4, 2 * 64 * 4, 2 * 5 * 4, 0]
    assert [r["output_bytes"] for r in rows] == bytes_, f"output_bytes should be {bytes_}; got {[r['output_bytes'] for r in rows]}"

    clock = FakeClock()
    timed = Sequential(ticking_layer(clock, 0.002, inner=Linear(3, 4)), ticking_layer(clock, 0.005))
    rows = Profiler(clock=clock).profile_forward_pass(timed, floats((2, 3)))
    assert_close([r["time_ms"] for r in rows], [2.0, 5.0, 0.0],
                 what="time_ms of two layers whose forward takes 2 ms and 5 ms by the profiler's clock, and of "
                      "the Sequential's own ops (0 ms: the clock did not move outside its children)")


@pytest.mark.points(3)
def test_profile_backward_pass_gives_the_gradients_of_a_plain_backward():
    def build():
        return Sequential(Linear(4, 6, rng=rng(2)), Tanh(), Linear(6, 3, rng=rng(3)))

    x = rng(4).standard_normal((5, 4)).astype(np.float32)
    target = Tensor(rng(5).standard_normal((5, 3)).astype(np.float32))

    def loss_fn(out):
        return ((out - target) * (out - target)).sum()

    plain = build()
    loss_fn(plain(Tensor(x))).backward()
    model = build()
    rows = Profiler().profile_backward_pass(model, Tensor(x), loss_fn)
    assert [r["name"] for r in rows] == ["layers.0", "layers.1", "layers.2", "(own ops)"], (
        f"rows should be layers.0 .. 2 and (own ops); got {rows}")
    for p, q, name in zip(model.parameters(), plain.parameters(), ("w0", "b0", "w2", "b2")):
        assert p.grad is not None, f"after profile_backward_pass, {name}.grad is None: the segments' backward did not reach it"
        assert_close(p.grad, q.grad.data, what=f"{name}.grad after profile_backward_pass vs after a plain loss.backward()")
    want = [(4 * 6 + 6) * 4, 0, (6 * 3 + 3) * 4, 0]
    assert [r["gradient_bytes"] for r in rows] == want, f"gradient_bytes per row should be {want}; got {[r['gradient_bytes'] for r in rows]}"


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(3)
def test_arithmetic_intensity_and_the_roofline():
    assert_close(arithmetic_intensity(100, 400), 0.25, what="arithmetic_intensity(100 FLOPs, 400 bytes)")
    b, n_in, n_out = 8, 64, 32
    want = 2 * b * n_in * n_out / ((b * n_in + n_in * n_out + b * n_out) * 4)
    assert_close(linear_arithmetic_intensity(b, n_in, n_out), want,
                 what="linear_arithmetic_intensity(8, 64, 32): 2*8*64*32 FLOPs over x, W and y in float32")
    assert_close(roofline_bound(0.5, 100.0, 20.0), 10.0, what="roofline_bound(0.5, peak 100, bandwidth 20): memory-bound")
    assert_close(roofline_bound(50.0, 100.0, 20.0), 100.0, what="roofline_bound(50, peak 100, bandwidth 20): compute-bound")
    assert_close(ridge_intensity(100.0, 20.0), 5.0, what="ridge_intensity(peak 100 GFLOP/s, bandwidth 20 GB/s)")
    with pytest.raises(ValueError):
        arithmetic_intensity(100, 0)
