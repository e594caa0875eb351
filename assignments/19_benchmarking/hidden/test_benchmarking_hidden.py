"""Hidden tests for module 19 (benchmarking): edge cases and the rules behind the visible tests.

As in the visible tests, nothing is timed against a threshold: timings come from a fake clock
or a replaced `time_call`, and real runs are only checked for what holds on any machine.
"""

import csv
import tracemalloc

import numpy as np
import pytest

import tinytorch.benchmarking.benchmark as bm
from tinytorch.benchmarking.benchmark import (
    Benchmark,
    accuracy,
    as_batches,
    best_batch_size,
    check_metrics,
    compare_models,
    latencies_differ,
    latency_stats,
    measure_model,
    parameter_stats,
    pareto_frontier,
    peak_memory_bytes,
    plot_pareto_frontier,
    throughput_from_latency,
    time_call,
)
from tinytorch.core.autograd import is_grad_enabled
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.data.loader import DataLoader
from tinytorch.models.transformer import GPT
from tinytorch.testing import (
    TickingClock,
    id_dataset,
    markdown_cells,
    percentile_by_rank,
    read_png,
    recording_model,
    recording_on,  # noqa: F401  (autouse fixture: grad mode on in every test)
)


def data(n=10, features=3, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, classes, n)


def fake_time_call_by_model(log, timings, seen=None):
    """A stand-in for time_call: runs fn once, returns the timings of the model fn called (by its name in `log`)."""

    def fake(fn, warmup=3, repeats=10):
        fn()
        name = log[-1][0]
        if seen is not None:
            seen.append((name, warmup, repeats, log[-1][1]))
        return list(timings[name])

    return fake


# ------------------------------------------------------------------------ timing


@pytest.mark.points(2)
def test_time_call_without_warmup_calls_exactly_repeats_times_and_refuses_bools(monkeypatch):
    clock = TickingClock([0.5, 0.25, 0.125, 2.0])
    monkeypatch.setattr(bm, "_now", clock.now)
    got = time_call(clock.tick, warmup=0, repeats=4)
    assert clock.calls == 4 and got == pytest.approx([0.5, 0.25, 0.125, 2.0])
    with pytest.raises(ValueError):
        time_call(clock.tick, warmup=0, repeats=True)
    with pytest.raises(ValueError):
        time_call(clock.tick, warmup=1.5, repeats=3)


@pytest.mark.points(1)
@pytest.mark.parametrize("times", [[5.0, 1.0, 3.0], [4.0, 1.0, 2.0, 3.0, 100.0, 2.5], [7.0] * 5,
                                   list(np.linspace(1.0, 2.0, 11))[::-1]])
def test_latency_stats_matches_rank_percentiles_for_odd_even_and_constant_lists(times):
    got = latency_stats(times)
    ordered = sorted(times)
    n = len(ordered)
    median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    want = {"median_ms": median, "p10_ms": percentile_by_rank(times, 10), "p90_ms": percentile_by_rank(times, 90)}
    for key, value in want.items():
        assert got[key] == pytest.approx(value), f"latency_stats({times})[{key!r}] should be {value}; got {got[key]}"
    assert all(isinstance(v, float) for v in got.values())


@pytest.mark.points(1)
def test_latency_stats_refuses_negative_and_nan_timings():
    with pytest.raises(ValueError):
        latency_stats([1.0, -0.5, 2.0])
    with pytest.raises(ValueError):
        latency_stats([1.0, float("nan"), 2.0])


# ------------------------------------------------------------------------ accuracy, size, memory


@pytest.mark.points(2)
def test_accuracy_weighs_every_example_not_every_batch():
    layer = Linear(2, 2)
    layer.weight.data = np.eye(2, dtype=np.float32)           # predicts the larger of the two inputs
    big_x = np.array([[1.0, 0.0]] * 9 + [[0.0, 1.0]], dtype=np.float32)
    big_y = np.zeros(10, dtype=np.int64)                      # 9 of 10 right
    small_x = np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    small_y = np.array([1, 1])                                # 0 of 2 right
    got = accuracy(layer, [(Tensor(big_x), big_y), (Tensor(small_x), small_y)])
    assert got == pytest.approx(9 / 12), (
        f"accuracy over batches of 10 (9 right) and 2 (0 right) should be 9/12 = 0.75, every example once "
        f"(not the mean of 0.9 and 0.0); got {got}")
    float_targets = accuracy(layer, [(Tensor(big_x), big_y.astype(np.float32))])
    assert float_targets == pytest.approx(0.9), f"targets given as whole-number floats should work; got {float_targets}"


@pytest.mark.points(2)
def test_accuracy_of_a_gpt_over_every_position_and_target_shape_error():
    model = GPT(vocab_size=7, embed_dim=8, num_layers=1, num_heads=2, max_seq_len=6, rng=np.random.default_rng(3))
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 7, (3, 5))
    targets = rng.integers(0, 7, (3, 5))
    logits = np.asarray(model(ids).data)
    targets[0, :2] = logits[0, :2].argmax(axis=-1)            # a few sure hits
    correct = sum(int(np.argmax(logits[b, t]) == targets[b, t]) for b in range(3) for t in range(5))
    got = accuracy(model, [(Tensor(ids), targets)])
    assert got == pytest.approx(correct / 15), (
        f"accuracy of a GPT with logits (3, 5, 7) and targets (3, 5) should count all 15 positions: {correct}/15; "
        f"got {got}")
    with pytest.raises(ValueError, match=r"\(3,\)|\(3, 5\)"):
        accuracy(model, [(Tensor(ids), targets[:, 0])])


@pytest.mark.points(2)
def test_run_measures_a_dropout_model_in_eval_mode_deterministically():
    rng = np.random.default_rng(5)
    model = Sequential(Linear(4, 16, rng=rng), Dropout(0.5, rng=rng), Linear(16, 3, rng=rng))
    x, y = data(n=40, features=4, seed=6)
    model.eval()
    with_eval = accuracy(model, [(Tensor(x), y)])
    model.train()
    rows = Benchmark({"m": model}, {"d": (x, y)}, ["accuracy"]).run(warmup=0, repeats=3)
    assert rows[0]["accuracy"] == pytest.approx(with_eval) and model.training is False, (
        f"run should put the model in eval mode (Dropout off): accuracy {with_eval} expected; got {rows[0]['accuracy']}")
    assert is_grad_enabled(), "grad mode should be on again after run"


@pytest.mark.points(2)
def test_parameter_stats_counts_shared_weights_once_and_uses_real_dtypes():
    shared = Linear(5, 5)
    assert parameter_stats(Sequential(shared, shared)) == {"parameters": 30, "param_bytes": 120}, (
        f"a Linear(5, 5) used twice holds 30 parameters once; got {parameter_stats(Sequential(shared, shared))}")
    wide = Linear(3, 2)
    wide.weight.data = wide.weight.data.astype(np.float64)
    assert parameter_stats(wide) == {"parameters": 8, "param_bytes": 6 * 8 + 2 * 4}, (
        f"a float64 weight (6 numbers) and a float32 bias (2): 56 bytes; got {parameter_stats(wide)}")
    assert parameter_stats(lambda x: x) == {"parameters": 0, "param_bytes": 0}


@pytest.mark.points(2)
def test_peak_memory_bytes_ignores_earlier_arrays_and_leaves_tracemalloc_as_it_was():
    assert not tracemalloc.is_tracing()
    peak_memory_bytes(lambda: None)
    assert not tracemalloc.is_tracing(), "peak_memory_bytes started tracemalloc and left it running"
    tracemalloc.start()
    try:
        kept = np.ones(500_000)                               # 4 MB allocated before the call
        got = peak_memory_bytes(lambda: np.ones(1000).sum())
        assert got < 100_000, (
            f"peak_memory_bytes(fn) must count only what fn allocates above the starting level (about 8 KB "
            f"here), not the 4 MB allocated before; got {got}")
        assert tracemalloc.is_tracing(), "peak_memory_bytes stopped a tracemalloc that someone else had started"
        del kept
    finally:
        tracemalloc.stop()

    def boom():
        raise RuntimeError("fn failed")

    with pytest.raises(RuntimeError):
        peak_memory_bytes(boom)
    assert not tracemalloc.is_tracing(), "peak_memory_bytes should stop tracemalloc even when fn raises"


# ------------------------------------------------------------------------ inputs


@pytest.mark.points(2)
def test_as_batches_lists_dataloaders_and_bad_data_sets():
    x, y = data(n=7)
    batches = as_batches([(x[:4], y[:4]), (Tensor(x[4:]), Tensor(y[4:]))], "pair")
    assert [b[0].shape for b in batches] == [(4, 3), (3, 3)] and isinstance(batches[1][1], np.ndarray), (
        f"as_batches(list of 2 batches) should give 2 (Tensor, ndarray) batches; got {batches!r}")
    dataset, values = id_dataset(9, width=2)
    loader = DataLoader(dataset, batch_size=4, shuffle=True, seed=1)
    from_loader = as_batches(loader, "loader")
    assert [b[0].shape[0] for b in from_loader] == [4, 4, 1], "a DataLoader of 9 examples, batch 4: batches 4, 4, 1"
    seen = sorted(int(v) for b in from_loader for v in b[1])
    assert seen == list(range(9)), f"the DataLoader's examples, each once; got labels {seen}"
    with pytest.raises(ValueError, match="empty|no batch"):
        as_batches([], "empty")
    with pytest.raises(ValueError, match="3"):
        as_batches((x, y, y), "triple")
    with pytest.raises(TypeError, match="number"):
        as_batches(5, "number")


@pytest.mark.points(2)
def test_benchmark_refuses_bad_models_and_data_sets_and_copies_its_dicts():
    x, y = data()
    with pytest.raises(ValueError):
        Benchmark({}, {"d": (x, y)})
    with pytest.raises(ValueError):
        Benchmark({"a": Linear(3, 3)}, {})
    with pytest.raises(TypeError, match="'a'"):
        Benchmark({"a": 3}, {"d": (x, y)})
    with pytest.raises(ValueError):
        Benchmark({"a": Linear(3, 3)}, {"d": (x, y)}, [])
    models = {"a": Linear(3, 3)}
    bench = Benchmark(models, {"d": (x, y)}, "accuracy")
    models["b"] = Linear(3, 3)
    assert list(bench.models) == ["a"] and bench.metrics == ("accuracy",), (
        "Benchmark should keep its own copy of the models dict, and accept one metric name as a str")
    assert bench.results == [] and bench.warmup is None and bench.repeats is None
    assert check_metrics(("parameters",)) == ("parameters",)


# ------------------------------------------------------------------------ one model, the run


@pytest.mark.points(3)
def test_measure_model_times_the_first_batch_with_the_given_counts_and_derives_throughput(monkeypatch):
    log, seen = [], []
    model = recording_model(np.eye(3), log, "m")
    monkeypatch.setattr(bm, "time_call", fake_time_call_by_model(log, {"m": [2.0, 4.0, 3.0, 8.0, 4.0]}, seen))
    x, y = data(n=9)
    batches = as_batches([(x[:5], y[:5]), (x[5:], y[5:])], "d")
    row = measure_model(model, batches, ["throughput", "memory"], warmup=7, repeats=5)
    assert seen and seen[0][1:3] == (7, 5), f"measure_model should pass warmup=7, repeats=5 to time_call; got {seen}"
    assert seen[0][3] is batches[0][0], "measure_model should time the model on the FIRST batch's x (that very Tensor)"
    assert set(row) == {"batch_size", "throughput", "param_bytes", "peak_bytes"}, (
        f"only batch_size and the columns of throughput and memory should be in the row; got {sorted(row)}")
    assert row["batch_size"] == 5 and row["throughput"] == pytest.approx(5 / 0.004), (
        f"throughput = 5 samples / median 4 ms = 1250 samples/s; got {row}")
    assert row["param_bytes"] == 36 and row["peak_bytes"] > 0


@pytest.mark.points(2)
def test_run_orders_rows_by_dataset_then_model_and_checks_counts_first(monkeypatch):
    log, seen = [], []
    models = {name: recording_model(np.eye(3), log, name) for name in ("z", "a", "m")}
    monkeypatch.setattr(bm, "time_call", fake_time_call_by_model(log, {n: [1.0, 2.0, 3.0] for n in models}, seen))
    x, y = data()
    bench = Benchmark(models, {"second": (x, y), "first": (x[:4], y[:4])}, ["latency", "accuracy"])
    rows = bench.run(warmup=2, repeats=3)
    order = [(r["dataset"], r["model"]) for r in rows]
    assert order == [("second", "z"), ("second", "a"), ("second", "m"), ("first", "z"), ("first", "a"), ("first", "m")], (
        f"rows: data set by data set, models in dict order; got {order}")
    assert list(rows[0]) == ["model", "dataset", "batch_size", "accuracy", "latency_ms", "latency_p10_ms",
                             "latency_p90_ms"], f"row keys should follow the columns' order; got {list(rows[0])}"
    assert rows[0]["latency_ms"] == 2.0 and (bench.warmup, bench.repeats) == (2, 3)
    calls = len(log)
    only_accuracy = Benchmark(models, {"d": (x, y)}, ["accuracy"])
    with pytest.raises(ValueError, match="repeats"):
        only_accuracy.run(warmup=0, repeats=1)
    with pytest.raises(ValueError, match="warmup"):
        only_accuracy.run(warmup=-2, repeats=5)
    assert len(log) == calls, "run should check warmup and repeats before running any model"


# ------------------------------------------------------------------------ the Pareto frontier


@pytest.mark.points(3)
def test_pareto_frontier_other_columns_identical_rows_and_errors():
    rows = [{"model": "s", "parameters": 100, "accuracy": 0.9},
            {"model": "t", "parameters": 100, "accuracy": 0.9},
            {"model": "u", "parameters": 100, "accuracy": 0.9},
            {"model": "v", "parameters": 50, "accuracy": 0.6},
            {"model": "w", "parameters": 50, "accuracy": 0.6},
            {"model": "x", "parameters": 70, "accuracy": 0.6},
            {"model": "y", "parameters": 400, "accuracy": 0.95}]
    got = [r["model"] for r in pareto_frontier(rows, x="parameters", y="accuracy")]
    assert got == ["v", "w", "s", "t", "u", "y"], (
        f"pareto_frontier(x='parameters', y='accuracy'): identical rows all stay, x ties with lower y go; got {got}")
    assert pareto_frontier([]) == []
    one = [{"model": "only", "latency_ms": 3.0, "accuracy": 0.1}]
    assert pareto_frontier(one) == one
    with pytest.raises(ValueError, match="latency_ms"):
        pareto_frontier([{"model": "a", "accuracy": 0.5}])
    higher_x = [{"model": "a", "latency_ms": 1.0, "accuracy": 0.5}, {"model": "b", "latency_ms": 0.5, "accuracy": 0.5}]
    assert [r["model"] for r in pareto_frontier(higher_x)] == ["b"], "same accuracy, lower latency: only b"


@pytest.mark.points(2)
def test_plot_pareto_frontier_of_several_datasets_and_empty_rows(tmp_path):
    rows = [{"model": m, "dataset": d, "latency_ms": l, "accuracy": a}
            for m, d, l, a in [("a", "one", 1.0, 0.8), ("b", "one", 2.0, 0.9), ("a", "two", 1.5, 0.7),
                               ("b", "two", 1.2, 0.75)]]
    path = plot_pareto_frontier(rows, str(tmp_path / "f.png"))
    assert read_png(path).shape[0] > 50
    with pytest.raises(ValueError):
        plot_pareto_frontier([], tmp_path / "empty.png")


# ------------------------------------------------------------------------ files and report


def small_bench(metrics, names=("a", "b")):
    x, y = data(n=10)
    return Benchmark({n: Linear(3, 3, rng=np.random.default_rng(i)) for i, n in enumerate(names)},
                     {"d": (x, y)}, metrics)


@pytest.mark.points(2)
def test_files_and_tables_need_a_run_first(tmp_path):
    bench = small_bench(["accuracy"])
    for call in (lambda: bench.to_csv(tmp_path / "r.csv"), bench.to_markdown, bench.generate_report,
                 lambda: bench.plot_results(tmp_path / "r.png")):
        with pytest.raises(RuntimeError, match="run"):
            call()


@pytest.mark.points(2)
def test_to_csv_and_markdown_of_one_metric_and_odd_names(tmp_path):
    bench = small_bench(["memory"], names=("pipe|name", "comma, name"))
    rows = bench.run(warmup=0, repeats=3)
    with open(bench.to_csv(str(tmp_path / "r.csv")), newline="", encoding="utf-8") as f:
        read = list(csv.DictReader(f))
    assert [list(r) for r in read] == [["model", "dataset", "batch_size", "param_bytes", "peak_bytes"]] * 2
    assert [(r["model"], int(r["peak_bytes"])) for r in read] == [(r["model"], r["peak_bytes"]) for r in rows]
    cells = markdown_cells(bench.to_markdown())
    assert [c[0] for c in cells[2:]] == ["pipe|name", "comma, name"], (
        f"a '|' in a model name must be escaped in the markdown table; read back {[c[0] for c in cells[2:]]}")
    assert all(len(c) == 5 for c in cells), "every table line should have one cell per column"


@pytest.mark.points(2)
def test_generate_report_has_table_frontier_per_dataset_and_how_to_read(monkeypatch):
    log = []
    models = {"fast": recording_model(np.eye(3), log, "fast"), "slow": recording_model(-np.eye(3), log, "slow"),
              "best": recording_model(np.eye(3), log, "best")}
    timings = {"fast": [1.0] * 3, "slow": [5.0] * 3, "best": [3.0] * 3}
    monkeypatch.setattr(bm, "time_call", fake_time_call_by_model(log, timings))
    x = np.array([[3.0, 1.0, 0.0]] * 4, dtype=np.float32)      # fast and best predict class 0, slow class 2
    bench = Benchmark(models, {"d": (x, np.zeros(4)), "e": (x, np.full(4, 2))}, ["accuracy", "latency"])
    bench.run(warmup=3, repeats=3)
    report = bench.generate_report()
    assert report.splitlines()[0] == "# Benchmark report" and bench.to_markdown() in report
    assert "## Pareto frontier" in report and "## How to read this report" in report and bm.HOW_TO_READ in report
    lines = {d: [line for line in report.splitlines() if line.startswith(f"- {d}")] for d in ("d", "e")}
    assert len(lines["d"]) == 1 and "fast" in lines["d"][0] and "slow" not in lines["d"][0] \
        and "best" not in lines["d"][0], (
        f"on d, fast is as accurate as best and faster than both: the frontier of d is only 'fast'; got {lines['d']}")
    assert len(lines["e"]) == 1 and "fast" in lines["e"][0] and "slow" in lines["e"][0] \
        and "best" not in lines["e"][0], (
        f"on e only slow is right: the frontier of e (its own rows only) is fast and slow; got {lines['e']}")
    no_latency = small_bench(["accuracy"])
    no_latency.run(warmup=0, repeats=3)
    assert "needs both" in no_latency.generate_report(), "without latency, the report should say the frontier needs both metrics"


# ------------------------------------------------------------------------ comparing two models


@pytest.mark.points(2)
def test_compare_models_overlapping_spreads_and_accuracy_change(monkeypatch):
    log = []
    good = recording_model(np.eye(2), log, "good")
    bad = recording_model(-np.eye(2), log, "bad")
    timings = {"good": [3.0, 4.0, 5.0, 6.0], "bad": [3.5, 4.5, 5.5, 6.5]}
    monkeypatch.setattr(bm, "time_call", fake_time_call_by_model(log, timings))
    x = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]], dtype=np.float32)
    y = np.array([0, 1, 0, 1])
    got = compare_models(good, bad, (x, y), warmup=0, repeats=4)
    assert got["accuracy_1"] == 1.0 and got["accuracy_2"] == 0.0 and got["accuracy_difference"] == -1.0, (
        f"model 1 gets all 4 right, model 2 none: accuracy_difference = 0 - 1 = -1; got {got}")
    assert got["speedup"] == pytest.approx(4.5 / 5.0) and got["latency_differs"] is False, (
        f"medians 4.5 and 5.0 ms with overlapping spreads: speedup 0.9, latency_differs False; got {got}")
    assert set(got["latency_1"]) == {"median_ms", "p10_ms", "p90_ms"}
    given = {name: [np.asarray(entry[1].data) for entry in log if entry[0] == name] for name in ("good", "bad")}
    assert all(np.array_equal(a, x) for a in given["good"] + given["bad"]), "both models should get the same x"


# ------------------------------------------------------------------------ systems questions


@pytest.mark.points(2)
def test_latencies_differ_touching_overlapping_and_disjoint_spreads():
    a = {"median_ms": 2.0, "p10_ms": 1.5, "p90_ms": 2.5}
    cases = [({"median_ms": 3.0, "p10_ms": 2.6, "p90_ms": 3.5}, True),
             ({"median_ms": 3.0, "p10_ms": 2.5, "p90_ms": 3.5}, False),      # touching: not shown to differ
             ({"median_ms": 1.0, "p10_ms": 0.5, "p90_ms": 1.4}, True),
             ({"median_ms": 2.1, "p10_ms": 1.0, "p90_ms": 3.0}, False)]
    for b, want in cases:
        assert latencies_differ(a, b) is want and latencies_differ(b, a) is want, (
            f"latencies_differ({a}, {b}) should be {want}")
    with pytest.raises(ValueError, match="p10_ms"):
        latencies_differ({"median_ms": 1.0, "p90_ms": 2.0}, a)


@pytest.mark.points(2)
def test_best_batch_size_within_budget_ties_and_no_fit():
    measured = {1: 1.0, 8: 2.0, 32: 5.0, 128: 15.0}          # 1000, 4000, 6400, 8533 samples/s
    assert best_batch_size(measured, 10.0) == 32 and best_batch_size(measured, 100.0) == 128
    assert best_batch_size(measured, 1.0) == 1
    assert best_batch_size({4: 1.5, 16: 8.0, 8: 2.0}, 10.0) == 8, (
        "16 in 8 ms is 2000 samples/s, 8 in 2 ms is 4000: the larger batch is not always better")
    assert best_batch_size({4: 2.0, 8: 4.0}, 10.0) == 4, "equal throughput: the smaller batch (lower latency)"
    with pytest.raises(ValueError, match="0.5"):
        best_batch_size(measured, 0.5)


@pytest.mark.points(1)
def test_throughput_from_latency_refuses_bad_values():
    assert throughput_from_latency(1.0, batch_size=np.int64(3)) == pytest.approx(3000.0)
    for latency, batch in ((-1.0, 1), (float("inf"), 1), (1.0, 0), (1.0, 2.5)):
        with pytest.raises(ValueError):
            throughput_from_latency(latency, batch_size=batch)
