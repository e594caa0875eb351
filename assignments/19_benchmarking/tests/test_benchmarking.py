"""Visible tests for module 19 (benchmarking). Run them with `make test M=19`.

No test here checks how fast anything is. What is timed is checked with a fake clock that
moves only while the timed function runs (`TickingClock` in `tinytorch.testing`, put in place of
the module's `_now`) or by replacing `time_call`; real runs are checked only for what holds on
any machine (positive times, p10 <= median <= p90). Accuracies are compared with counts done
by hand on models with set weights; percentiles with a rank formula written out; files are
read back with the csv module and matplotlib.
"""

import csv

import numpy as np
import pytest

import tinytorch.benchmarking.benchmark as bm
from tinytorch.benchmarking.benchmark import (
    Benchmark,
    accuracy,
    as_batches,
    check_metrics,
    compare_models,
    latency_stats,
    parameter_stats,
    pareto_frontier,
    peak_memory_bytes,
    plot_pareto_frontier,
    throughput_from_latency,
    time_call,
)
from tinytorch.core.layers import Linear
from tinytorch.core.tensor import Tensor
from tinytorch.testing import (
    TickingClock,
    markdown_cells,
    percentile_by_rank,
    read_png,
    recording_model,
    recording_on,  # noqa: F401  (autouse fixture: grad mode on in every test)
)

SEED = 0
ALL_COLUMNS = ["model", "dataset", "batch_size", "accuracy", "latency_ms", "latency_p10_ms", "latency_p90_ms",
               "throughput", "param_bytes", "peak_bytes", "parameters"]


def linear_with(weight, bias=None) -> Linear:
    """A Linear whose weight (in, out) and bias are set by hand."""
    weight = np.asarray(weight, dtype=np.float32)
    layer = Linear(*weight.shape)
    layer.weight.data = weight
    if bias is not None:
        layer.bias.data = np.asarray(bias, dtype=np.float32)
    return layer


def classification_data(n=12, features=3, classes=3, seed=SEED):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, classes, n)


def hand_accuracy(weight, bias, x, y) -> float:
    """Fraction of rows whose largest score, computed one row at a time, sits at the target."""
    correct = 0
    for row, target in zip(np.asarray(x, dtype=np.float64), y):
        scores = [sum(row[i] * weight[i][j] for i in range(len(row))) + bias[j] for j in range(len(bias))]
        correct += int(scores.index(max(scores)) == target)
    return correct / len(y)


# ------------------------------------------------------------------------ timing


@pytest.mark.points(3)
def test_time_call_times_each_repeat_after_the_warmup(monkeypatch):
    clock = TickingClock([50.0, 40.0, 30.0, 1.0, 2.0, 3.0, 4.0, 9.0])    # 3 slow warm-up calls, then 5 timed
    monkeypatch.setattr(bm, "_now", clock.now)
    got = time_call(clock.tick, warmup=3, repeats=5)
    assert clock.calls == 8, f"time_call(fn, warmup=3, repeats=5) should call fn 8 times; it called it {clock.calls} times"
    assert isinstance(got, list) and len(got) == 5, f"time_call(fn, warmup=3, repeats=5) should return a list of 5 timings; got {got!r}"
    assert got == pytest.approx([1.0, 2.0, 3.0, 4.0, 9.0]), (
        "with a clock where the 8 calls of fn take 50, 40, 30, 1, 2, 3, 4, 9 ms, time_call(fn, warmup=3, repeats=5) "
        f"should return the last five, each on its own, in milliseconds: [1, 2, 3, 4, 9]; got {got}")


@pytest.mark.points(2)
def test_time_call_refuses_too_few_repeats_and_negative_warmup():
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, warmup=0, repeats=2)
    with pytest.raises(ValueError, match="warmup"):
        time_call(lambda: None, warmup=-1, repeats=5)


@pytest.mark.points(3)
def test_latency_stats_median_and_spread():
    times = [2.0, 2.1, 2.0, 9.7, 2.3, 2.0, 2.2, 1.9, 2.0, 2.4]
    got = latency_stats(times)
    assert isinstance(got, dict) and set(got) == {"median_ms", "p10_ms", "p90_ms"}, (
        f"latency_stats should return a dict with keys median_ms, p10_ms, p90_ms; got {got!r}")
    ordered = sorted(times)
    want = {"median_ms": (ordered[4] + ordered[5]) / 2, "p10_ms": percentile_by_rank(times, 10),
            "p90_ms": percentile_by_rank(times, 90)}
    for key, value in want.items():
        assert got[key] == pytest.approx(value), (
            f"latency_stats({times})[{key!r}] should be {value:.4f} (the median, not the mean, which is "
            f"{np.mean(times):.2f}; percentiles linear between ranks); got {got[key]}")
    with pytest.raises(ValueError):
        latency_stats([])


# ------------------------------------------------------------------------ accuracy, size, memory


@pytest.mark.points(2)
def test_accuracy_exact_on_a_linear_with_set_weights():
    weight, bias = [[1.0, -1.0, 0.5], [0.0, 2.0, -1.0], [1.5, 0.0, 1.0]], [0.1, 0.0, -0.2]
    x, y = classification_data(n=20)
    got = accuracy(linear_with(weight, bias), [(Tensor(x), y)])
    want = hand_accuracy(weight, bias, x, y)
    assert isinstance(got, float) and got == pytest.approx(want, abs=1e-12), (
        f"accuracy(Linear with set weights, 20 examples) should be {want} (counted row by row); got {got!r}")


@pytest.mark.points(2)
def test_parameter_stats_counts_and_bytes():
    got = parameter_stats(Linear(784, 10))
    assert got == {"parameters": 7850, "param_bytes": 31400}, (
        f"parameter_stats(Linear(784, 10)) should be 784*10 + 10 = 7850 float32 numbers, 31400 bytes; got {got!r}")


@pytest.mark.points(2)
def test_peak_memory_bytes_sees_a_temporary_array():
    size = 250_000                                     # 2,000,000 bytes of float64, freed before fn returns
    got = peak_memory_bytes(lambda: float(np.ones(size).sum()))
    assert isinstance(got, int), f"peak_memory_bytes should return an int; got {type(got).__name__}"
    assert 8 * size <= got < 8 * size + 200_000, (
        f"peak_memory_bytes(fn) where fn allocates a temporary array of {8 * size} bytes should be about "
        f"{8 * size} (the peak, not what is left after fn); got {got}")


# ------------------------------------------------------------------------ the benchmark


@pytest.mark.points(2)
def test_check_metrics_names_the_unknown_and_the_known():
    assert check_metrics(["latency", "accuracy", "latency"]) == ("latency", "accuracy"), (
        f"check_metrics(['latency', 'accuracy', 'latency']) should be ('latency', 'accuracy'); "
        f"got {check_metrics(['latency', 'accuracy', 'latency'])!r}")
    with pytest.raises(ValueError, match=r"speed.*accuracy.*latency.*throughput.*memory.*parameters"):
        check_metrics(["accuracy", "speed"])
    with pytest.raises(ValueError, match="speed"):
        Benchmark({"a": Linear(2, 2)}, {"d": (np.ones((2, 2)), np.zeros(2))}, ["speed"])


@pytest.mark.points(3)
def test_run_rows_cover_models_times_datasets_with_every_metric():
    weight_a, bias_a = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [0.0, 0.0, 0.0]
    weight_b, bias_b = [[0.0, 1.0, 2.0], [1.0, -1.0, 0.0], [-1.0, 0.0, 1.0]], [0.5, 0.0, 0.0]
    models = {"a": linear_with(weight_a, bias_a), "b": linear_with(weight_b, bias_b)}
    x1, y1 = classification_data(n=12, seed=1)
    x2, y2 = classification_data(n=8, seed=2)
    bench = Benchmark(models, {"one": (x1, y1), "two": [(x2[:5], y2[:5]), (x2[5:], y2[5:])]}, bm.METRICS)
    rows = bench.run(warmup=1, repeats=3)
    assert isinstance(rows, list) and len(rows) == 4, f"2 models x 2 data sets should give 4 rows; got {rows!r}"
    assert bench.results == rows, "Benchmark.run should keep its rows in bench.results"
    for row in rows:
        assert list(row) == ALL_COLUMNS, f"a row with every metric should have the columns {ALL_COLUMNS}, in order; got {list(row)}"
        assert 0 < row["latency_p10_ms"] <= row["latency_ms"] <= row["latency_p90_ms"], (
            f"latencies should be positive with p10 <= median <= p90; got {row}")
        assert row["throughput"] == pytest.approx(row["batch_size"] * 1000.0 / row["latency_ms"]), (
            f"throughput should be batch_size / (latency_ms / 1000) samples per second; got {row}")
        assert row["parameters"] == 12 and row["param_bytes"] == 48 and row["peak_bytes"] > 0, (
            f"a Linear(3, 3) has 12 float32 parameters (48 bytes) and allocates memory for its output; got {row}")
    pairs = [(r["model"], r["dataset"], r["batch_size"]) for r in rows]
    assert sorted(pairs) == [("a", "one", 12), ("a", "two", 5), ("b", "one", 12), ("b", "two", 5)], (
        f"every (model, data set) once, batch_size being the first batch's size; got {pairs}")
    for row in rows:
        weight, bias = (weight_a, bias_a) if row["model"] == "a" else (weight_b, bias_b)
        x, y = (x1, y1) if row["dataset"] == "one" else (x2, y2)
        assert row["accuracy"] == pytest.approx(hand_accuracy(weight, bias, x, y), abs=1e-12), (
            f"accuracy of model {row['model']} on {row['dataset']} (every batch) should be "
            f"{hand_accuracy(weight, bias, x, y)}; got {row['accuracy']}")


@pytest.mark.points(2)
def test_run_gives_every_model_the_same_inputs_in_eval_mode_without_graph():
    log = []
    models = {name: recording_model(np.eye(3) * (i + 1), log, name) for i, name in enumerate(("p", "q"))}
    x, y = classification_data(n=6)
    Benchmark(models, {"d": (x, y)}, ["accuracy", "latency"]).run(warmup=2, repeats=4)
    assert {entry[0] for entry in log} == {"p", "q"}, f"both models should be called; calls were from {sorted({e[0] for e in log})}"
    for name, given, grad_on, training in log:
        assert np.array_equal(np.asarray(getattr(given, "data", given)), x), (
            f"model {name} was called with other inputs than the data set's x: every model must see the same batch")
        assert not grad_on, f"model {name} was called while the graph was recorded: run should measure under no_grad"
        assert not training, f"model {name} was called in training mode: run should put every model in eval mode"
    counts = {name: sum(1 for e in log if e[0] == name) for name in ("p", "q")}
    assert counts["p"] == counts["q"] >= 2 + 4, (
        f"with warmup=2, repeats=4 each model should be called the same number of times (at least 6); got {counts}")


@pytest.mark.points(3)
def test_pareto_frontier_dominance_and_ties():
    rows = [{"model": "A", "latency_ms": 1.0, "accuracy": 0.80},
            {"model": "D", "latency_ms": 3.0, "accuracy": 0.90},     # B is faster, as accurate
            {"model": "B", "latency_ms": 2.0, "accuracy": 0.90},
            {"model": "C", "latency_ms": 2.0, "accuracy": 0.85},     # B is as fast, more accurate
            {"model": "E", "latency_ms": 4.0, "accuracy": 0.95},
            {"model": "F", "latency_ms": 2.0, "accuracy": 0.90},     # the same as B: both stay
            {"model": "G", "latency_ms": 5.0, "accuracy": 0.70}]     # dominated by all
    before = [dict(r) for r in rows]
    got = pareto_frontier(rows)
    names = [r["model"] for r in got]
    assert names == ["A", "B", "F", "E"], (
        "pareto_frontier (lower latency_ms and higher accuracy are better) should keep A, B, F, E, sorted by "
        f"latency (B and F tie: both stay, in input order); C, D, G are dominated; got {names}")
    assert all(any(r is s for s in rows) for r in got), "pareto_frontier should return the row dicts themselves"
    assert rows == before, "pareto_frontier must not change its input"


@pytest.mark.points(3)
def test_to_csv_round_trips_every_value(tmp_path):
    x, y = classification_data(n=10)
    bench = Benchmark({"lin": Linear(3, 3), "wide, odd": Linear(3, 3)}, {"d": (x, y)}, ["parameters", "accuracy", "latency"])
    rows = bench.run(warmup=0, repeats=3)
    path = bench.to_csv(tmp_path / "results.csv")
    assert path == tmp_path / "results.csv", f"to_csv should return the Path it wrote; got {path!r}"
    with open(path, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    want_header = ["model", "dataset", "batch_size", "accuracy", "latency_ms", "latency_p10_ms", "latency_p90_ms",
                   "parameters"]
    assert table[0] == want_header, f"the CSV header should be {want_header}; got {table[0]}"
    assert len(table) == 1 + len(rows), f"the CSV should have a header and {len(rows)} lines; got {len(table)} lines"
    for line, row in zip(table[1:], rows):
        for column, text in zip(want_header, line):
            value = row[column]
            back = text if isinstance(value, str) else type(value)(text)
            assert back == value, f"CSV column {column!r} of model {row['model']!r}: wrote {text!r} for {value!r}"


@pytest.mark.points(2)
def test_to_markdown_table_has_header_separator_and_values():
    x, y = classification_data(n=10)
    bench = Benchmark({"a": Linear(3, 3), "b": Linear(3, 3)}, {"d": (x, y)}, ["accuracy", "parameters"])
    rows = bench.run(warmup=0, repeats=3)
    text = bench.to_markdown()
    cells = markdown_cells(text)
    assert cells[0] == ["model", "dataset", "batch_size", "accuracy", "parameters"], f"header cells: {cells[0]}"
    assert all(set(c) <= {"-", ":"} and c for c in cells[1]) and len(cells[1]) == 5, (
        f"the second line should be the separator |---|---|...; got {cells[1]}")
    assert len(cells) == 2 + len(rows), f"one table line per row after the header and separator; got {len(cells)} lines"
    for line, row in zip(cells[2:], rows):
        assert line[0] == row["model"] and line[1] == row["dataset"] and int(line[2]) == row["batch_size"]
        assert float(line[3]) == pytest.approx(row["accuracy"], rel=1e-3) and int(line[4]) == row["parameters"], (
            f"markdown line {line} should show the row {row}")


@pytest.mark.points(2)
def test_plots_write_readable_png_files(tmp_path):
    x, y = classification_data(n=10)
    bench = Benchmark({"a": Linear(3, 3), "b": Linear(3, 3)}, {"d": (x, y)}, ["accuracy", "latency"])
    rows = bench.run(warmup=0, repeats=3)
    for path in (bench.plot_results(tmp_path / "results.png"),
                 plot_pareto_frontier(rows, tmp_path / "frontier.png")):
        assert path.is_file() and path.stat().st_size > 0, f"{path.name} should be written and non-empty"
        pixels = read_png(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50, (
            f"{path.name} should be an image; matplotlib read an array of shape {pixels.shape}")


@pytest.mark.points(2)
def test_compare_models_speedup_is_the_ratio_of_the_medians(monkeypatch):
    log = []
    slow, fast = recording_model(np.eye(3), log, "slow"), recording_model(2 * np.eye(3), log, "fast")
    timings = {"slow": [10.0, 12.0, 11.0, 30.0], "fast": [4.0, 5.0, 4.5, 4.0]}

    def fake_time_call(fn, warmup=3, repeats=10):
        fn()
        return list(timings[log[-1][0]])

    monkeypatch.setattr(bm, "time_call", fake_time_call)
    x, y = classification_data(n=9)
    got = compare_models(slow, fast, (x, y), warmup=1, repeats=4)
    keys = {"accuracy_1", "accuracy_2", "accuracy_difference", "latency_1", "latency_2", "speedup", "latency_differs"}
    assert isinstance(got, dict) and set(got) == keys, f"compare_models should return the keys {sorted(keys)}; got {got!r}"
    assert got["latency_1"]["median_ms"] == pytest.approx(11.5) and got["latency_2"]["median_ms"] == pytest.approx(4.25), (
        f"median timings should be 11.5 ms and 4.25 ms; got {got['latency_1']} and {got['latency_2']}")
    assert got["speedup"] == pytest.approx(11.5 / 4.25), (
        f"speedup should be the ratio of the medians 11.5 / 4.25 = {11.5 / 4.25:.4f}; got {got['speedup']}")
    assert got["latency_differs"] is True, "spreads [10.3, 24.6] ms and [4.0, 4.85] ms do not overlap: latency_differs should be True"
    assert got["accuracy_difference"] == pytest.approx(got["accuracy_2"] - got["accuracy_1"])


@pytest.mark.points(2)
def test_throughput_from_latency():
    assert throughput_from_latency(20.0, batch_size=64) == pytest.approx(3200.0), (
        f"64 samples in 20 ms are 3200 samples/s; got {throughput_from_latency(20.0, batch_size=64)}")
    assert throughput_from_latency(2.5) == pytest.approx(400.0), "one sample in 2.5 ms is 400 samples/s"
    with pytest.raises(ValueError):
        throughput_from_latency(0.0, batch_size=8)


@pytest.mark.points(1)
def test_as_batches_tuple_is_one_batch():
    batches = as_batches((np.zeros((5, 3)), np.arange(5)), "toy")
    assert len(batches) == 1 and batches[0][0].shape == (5, 3) and np.array_equal(batches[0][1], np.arange(5)), (
        f"as_batches((x, y)) should be one batch [(Tensor x, y)]; got {batches!r}")
    with pytest.raises(ValueError, match="5.*4"):
        as_batches((np.zeros((5, 3)), np.arange(4)), "toy")
