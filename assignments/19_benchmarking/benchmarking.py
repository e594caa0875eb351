"""Module 19: benchmarking, comparing models fairly and reporting what the numbers mean.

What you build
    time_call, latency_stats     a small timer: warm-up calls, timed repeats, median and spread
    accuracy, parameter_stats, peak_memory_bytes    what a model gets right, and what it costs
    check_metrics, as_batches    the inputs of a benchmark, checked and prepared once
    measure_model                one model on one data set: every metric asked for
    pareto_frontier              the models worth keeping: nothing else is both faster and better
    plot_pareto_frontier         the frontier as a PNG (matplotlib)
    Benchmark                    models x data sets x metrics: run, to_csv, to_markdown,
                                 plot_results, generate_report
    compare_models               two models on the same data: speed-up, accuracy change, and
                                 whether the speed-up is larger than the noise

Why it matters
    "Model B is 1.4x faster" means nothing without the spread of the measurement: the second
    run of a function is often faster than the first (caches, lazy allocation), and other
    programs, the garbage collector and the CPU's clock add time to random runs. A fair
    benchmark gives every model the SAME inputs, warms each one up before timing it, repeats
    the timing, and reports the median with the spread (here the 10th and 90th percentiles):

        calls:  w w w | t t t t t t t t t t          w = warm-up (not timed), t = timed
        times (ms):     2.1 2.0 2.0 2.3 2.0 9.7 2.1 2.0 2.2 2.0
                        median 2.05   p10 2.0   p90 2.44   (the mean, 2.84, is pulled by 9.7)

    Two models whose [p10, p90] intervals overlap have not been shown to differ in speed.
    Speed alone decides nothing either: a model is worth keeping only when no other model is
    both at least as fast and at least as accurate (the Pareto frontier):

        accuracy
          ^       * C            frontier: A, B, C (each is the best at its latency)
          |   * B       x E      D and E are dominated: B is faster AND more accurate than D,
          | * A   x D            C than E
          +----------------> latency (lower is better)

Who uses it later
    milestone 5   profile, quantize and prune the CNN and the TinyGPT; compare the versions
                  with Benchmark, report the table, the plots and the Pareto frontier

Decisions (and where this differs from PyTorch)
    - A data set is a tuple (x, y) (one batch) or a list (or DataLoader) of (x, y) batches.
      It is turned into Tensors ONCE, in Benchmark(...): every model sees the very same
      arrays, and a shuffling DataLoader cannot give two models different data.
    - Latency is the time of one forward pass on the data set's FIRST batch, under no_grad,
      in eval mode; throughput is that batch's size divided by the median latency. Accuracy
      covers every batch: the arg-max of the output's last axis against the targets.
    - Rows are plain dicts, no pandas; their keys are the columns (`_columns`), the same for
      run(), to_csv() and to_markdown().
    - PyTorch's torch.utils.benchmark.Timer reports the median and the interquartile range
      (p25 to p75) and chooses the number of runs itself (blocked_autorange); here warm-up
      and repeats are arguments, and the spread is p10 to p90.
    - Memory is measured with the standard library's tracemalloc, which sees NumPy's array
      allocations: the peak number of bytes allocated during one forward pass.
    - Plots use matplotlib's Figure directly (no pyplot): nothing global to close, no window,
      the PNG is written with the Agg renderer whatever the notebook's backend.

The systems angle
    `throughput_from_latency`: samples per second from one batch's latency; `latencies_differ`:
    whether two timings differ beyond their spread; `best_batch_size`: the batch that gives the
    highest throughput within a latency budget (larger batches raise throughput and latency
    together: a server chooses the trade-off).
"""

from __future__ import annotations

import csv
import time
import tracemalloc
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import _as_tensor

METRICS = ("accuracy", "latency", "throughput", "memory", "parameters")   # what a Benchmark can measure
METRIC_COLUMNS = {                                   # metric -> the columns it adds to a result row
    "accuracy": ("accuracy",),
    "latency": ("latency_ms", "latency_p10_ms", "latency_p90_ms"),
    "throughput": ("throughput",),
    "memory": ("param_bytes", "peak_bytes"),
    "parameters": ("parameters",),
}
KEY_COLUMNS = ("model", "dataset", "batch_size")     # the first columns of every row
DEFAULT_WARMUP = 3               # untimed calls before the timed ones
DEFAULT_REPEATS = 10             # timed calls
MIN_REPEATS = 3                  # fewer timed calls give no spread worth reporting
LOW_PERCENTILE = 10              # the spread reported: p10 .. p90
HIGH_PERCENTILE = 90
MS_PER_SECOND = 1000.0
SIGNIFICANT_DIGITS = 4           # numbers in the markdown table
PLOT_COLUMNS = ("accuracy", "latency_ms", "throughput", "peak_bytes", "parameters")   # panels of plot_results
PANEL_SIZE = (4.0, 3.2)          # inches per panel of a figure
FIGURE_DPI = 100

HOW_TO_READ = (
    "Each row is one model on one data set, all measured on the same inputs. Latency is the "
    "median time of one forward pass on the data set's first batch, after warm-up calls that "
    "are not timed; p10 and p90 are the spread over the timed repeats. Two models whose "
    "[p10, p90] intervals overlap have not been shown to differ in speed: repeat the run, "
    "or use more repeats, before claiming a speed-up. Throughput is that batch's size divided "
    "by the median latency (samples per second). peak_bytes is the most memory allocated "
    "during one forward pass, param_bytes the memory of the weights. The Pareto frontier "
    "lists, per data set, the models that no other model beats on both latency (lower is "
    "better) and accuracy (higher is better): the others are never the right choice."
)


# ---------------------------------------------------------------------- given helpers


def _now() -> float:
    """The clock, in seconds (given): time.perf_counter, behind one name the tests can replace.

    perf_counter is the highest-resolution clock Python has, and it never goes backwards
    (time.time can, when the system clock is set). Only differences between two readings mean
    something.
    """
    return time.perf_counter()


def _check_count(who: str, name: str, value, minimum: int) -> int:
    """`value` as an int, or a ValueError naming `who`, `name` and the value unless it is an int >= minimum (given)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{who}: {name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def _columns(metrics) -> list:
    """The columns of a result row for these metrics, in a fixed order (given).

    KEY_COLUMNS first, then the columns of each metric in the order of METRICS, whatever the
    order the metrics were asked in: the CSV header, the markdown table and every row agree.
        _columns(("latency", "accuracy"))
        ['model', 'dataset', 'batch_size', 'accuracy', 'latency_ms', 'latency_p10_ms', 'latency_p90_ms']
    """
    return [*KEY_COLUMNS, *(c for m in METRICS if m in metrics for c in METRIC_COLUMNS[m])]


def _format_value(value) -> str:
    """A cell of the markdown table (given): ints in full, floats to SIGNIFICANT_DIGITS, text with | escaped."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{SIGNIFICANT_DIGITS}g}"
    return str(value).replace("|", "\\|")


# ---------------------------------------------------------------------- timing


def time_call(fn, warmup: int = DEFAULT_WARMUP, repeats: int = DEFAULT_REPEATS) -> list:
    """Call `fn()` warmup times untimed, then `repeats` times timed; return each timed call's milliseconds.

        fn() fn() fn() | [fn()] [fn()] ... [fn()]     -> [ms_1, ms_2, ..., ms_repeats]
        warm-up          each timed on its own

    Why warm up: the first calls of a function pay one-time costs (memory the allocator has
    not handed out yet, cold caches, code paths run for the first time). They say nothing
    about the steady state a user waits for.

    TODO: Check the counts, run the warm-up calls, then time each of the `repeats` calls
    separately and return the list of their durations in milliseconds (floats).

    APPROACH:
        1. warmup: an int >= 0; repeats: an int >= MIN_REPEATS. The given _check_count raises
           the ValueError (name the function: "time_call").
        2. The warm-up calls: their results and times are thrown away.
        3. Each timed call: read the clock with the given _now() just before and just after
           the call; the difference is in seconds: convert to milliseconds.

    EXAMPLE:
        >>> times = time_call(lambda: np.ones((256, 256)) @ np.ones((256, 256)), warmup=2, repeats=5)
        >>> len(times), all(t > 0 for t in times)
        (5, True)
        >>> time_call(print, repeats=1)
        ValueError: time_call: repeats must be an int >= 3; got 1

    HINTS:
        - Call the clock through the name _now, not time.perf_counter directly: the tests
          replace _now with a fake clock to check what you time, without timing anything.
        - One timing around all the repeats divided by their number would hide the spread:
          time each call on its own.
    """
    raise NotImplementedError("Module 19 (benchmarking): write time_call (see its docstring)")


def latency_stats(times_ms) -> dict:
    """The median and the spread of a list of timings: {"median_ms", "p10_ms", "p90_ms"} (floats).

    The median, not the mean: one run slowed down by another program moves the mean, not the
    median. The spread is the LOW_PERCENTILE-th and HIGH_PERCENTILE-th percentiles, with linear
    interpolation between the two nearest ranks (NumPy's default method):

        sorted times t_0 <= ... <= t_(n-1); percentile q sits at rank r = q / 100 * (n - 1);
        p_q = t_floor(r) + (r - floor(r)) * (t_floor(r)+1 - t_floor(r))

    TODO: Return the dict of the three numbers; ValueError for an empty list (or one with a
    negative or non-finite time, naming it).

    APPROACH:
        1. The timings as a float64 array; empty: ValueError ("latency_stats: no timings").
           Any negative, nan or inf value: ValueError naming it.
        2. The median and the two percentiles (NumPy has a function for each), each as a
           Python float.

    EXAMPLE:
        >>> latency_stats([2.0, 1.0, 3.0, 10.0, 4.0])
        {'median_ms': 3.0, 'p10_ms': 1.4, 'p90_ms': 7.6}

    HINTS:
        - The median of an even number of timings is the mean of the two middle ones.
    """
    raise NotImplementedError("Module 19 (benchmarking): write latency_stats (see its docstring)")


# ---------------------------------------------------------------------- accuracy, size and memory


def accuracy(model, batches) -> float:
    """The fraction of targets that the model's arg-max prediction gets right, over all batches.

        logits (N, C), targets (N,)          -> N predictions
        logits (B, T, V), targets (B, T)     -> B * T predictions (a GPT's next tokens)

    The prediction is the arg-max over the LAST axis of the output; the targets have the
    output's shape without that axis. Every prediction counts once: a batch of 100 weighs ten
    times a batch of 10 (not the mean of per-batch accuracies).

    TODO: Put the model in eval mode, run every batch under no_grad, count the correct
    predictions and the targets; return the fraction correct as a Python float.

    APPROACH:
        1. batches: a list of (x, y) pairs (what as_batches returns); x goes to the model as
           it is (a Tensor), y as a NumPy array of targets.
        2. eval mode (when the model has eval(): a plain function has none) and module 05's
           no_grad around the loop: no graph, and Dropout off.
        3. Per batch: the output's values, their arg-max over the last axis, compared with the
           targets; a target shape that is not the output's shape without its last axis is a
           ValueError naming both shapes.
        4. No targets at all: ValueError.

    EXAMPLE:
        >>> layer = Linear(2, 2); layer.weight.data[:] = np.eye(2)       # predicts the larger input
        >>> accuracy(layer, [(Tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 2.0]]), np.array([0, 1, 1]))])
        0.6666666666666666

    HINTS:
        - Targets may come as float arrays (whole numbers): equality with the integer arg-max
          still works.
    """
    raise NotImplementedError("Module 19 (benchmarking): write accuracy (see its docstring)")


def parameter_stats(model) -> dict:
    """{"parameters": number of trainable numbers, "param_bytes": their bytes} of a model.

    Each parameter Tensor counts once, even when two layers share it (weight tying):
    model.parameters() already lists each once. Bytes are those of the arrays as they are
    stored (a float64 weight takes 8 bytes per number, an int8 one 1). A model without
    parameters() (a plain function) has 0 of both.

    TODO: Sum the sizes and the bytes of the parameters' arrays; return plain ints.

    APPROACH: getattr with a default tells whether the model has a parameters() method. Each
    Tensor's array knows its number of elements and its number of bytes.

    EXAMPLE:
        >>> parameter_stats(Linear(784, 10))
        {'parameters': 7850, 'param_bytes': 31400}

    HINTS:
        - A Tensor's dtype decides its bytes: do not assume 4 bytes per number.
    """
    raise NotImplementedError("Module 19 (benchmarking): write parameter_stats (see its docstring)")


def peak_memory_bytes(fn) -> int:
    """The most memory allocated at any moment while `fn()` runs, above what was allocated before.

        allocated
          ^        ___
          |     __|   |__        peak_memory_bytes = the top of the curve minus the level
          |  __|         |__     at the start (arrays that existed before do not count;
          |_|_______________|_   intermediate arrays freed before fn returns DO count)
             start       end

    tracemalloc (standard library) follows every allocation of Python objects and of NumPy
    arrays, and keeps the peak. It slows allocation down: never time code while it traces.

    TODO: Return the peak minus the starting level as an int >= 0, leaving tracemalloc as it
    was (tracing or not).

    APPROACH:
        1. Remember whether tracemalloc was already tracing (someone else may be using it);
           start it if not.
        2. Reset its peak, read the current traced size (the start level), call fn(), read
           the peak.
        3. Stop tracemalloc only if you started it, even when fn raises (try / finally).

    EXAMPLE:
        >>> peak_memory_bytes(lambda: np.ones(1_000_000).sum()) >= 8_000_000    # 1M float64, freed at once
        True

    HINTS:
        - tracemalloc.get_traced_memory() returns (current, peak); reset_peak() sets the peak
          to the current size.
    """
    raise NotImplementedError("Module 19 (benchmarking): write peak_memory_bytes (see its docstring)")


# ---------------------------------------------------------------------- the inputs of a benchmark


def check_metrics(metrics) -> tuple:
    """The metric names asked for, checked: a tuple in the order given, each once.

    TODO: Accept one name (a str) or a list / tuple of names; return them as a tuple without
    repeats; ValueError for an unknown name or an empty list.

    APPROACH:
        1. A single string is one metric (not a sequence of letters).
        2. Each name must be in METRICS: otherwise a ValueError naming the unknown name AND
           listing the known ones, e.g. "unknown metric 'speed'; known metrics: accuracy,
           latency, throughput, memory, parameters".
        3. Keep the first occurrence of each name; nothing left: ValueError.

    EXAMPLE:
        >>> check_metrics(["latency", "accuracy", "latency"])
        ('latency', 'accuracy')
        >>> check_metrics("memory")
        ('memory',)

    HINTS:
        - A dict keeps insertion order: dict.fromkeys removes repeats in order.
    """
    raise NotImplementedError("Module 19 (benchmarking): write check_metrics (see its docstring)")


def as_batches(data, name: str = "data") -> list:
    """A data set as a list of (Tensor x, np.ndarray y) batches, made once and reused for every model.

        (x, y)                          a tuple: ONE batch          -> [(X, Y)]
        [(x1, y1), (x2, y2), ...]       a list (or a DataLoader)    -> [(X1, Y1), (X2, Y2), ...]

    x becomes a Tensor with module 01's _as_tensor (a Tensor passes through unchanged, an array
    is copied once); y becomes the NumPy array of its values (a Tensor's .data). Why once, here:
    every model must see the very same arrays, and a DataLoader with shuffle=True would give
    each model a different order if it were iterated again.

    TODO: Return the list of batches; clear errors for what cannot be a data set.

    APPROACH:
        1. A tuple is one (x, y) batch: it must have exactly 2 items. Anything else is iterated
           into a list of batches (TypeError naming the data set when it is not iterable).
        2. Each batch: a pair (ValueError naming the data set and the batch's index otherwise);
           x at least 1-D; y with as many entries (first dimension) as x: ValueError naming
           both sizes.
        3. No batch at all: ValueError naming the data set.

    EXAMPLE:
        >>> batches = as_batches((np.zeros((5, 3)), np.arange(5)), "toy")
        >>> len(batches), batches[0][0].shape, batches[0][1].shape
        (1, (5, 3), (5,))
        >>> as_batches((np.zeros((5, 3)), np.arange(4)), "toy")
        ValueError: dataset 'toy', batch 0: x has 5 examples but y has 4

    HINTS:
        - A 0-d target array has no first dimension: np.shape tells the difference.
    """
    raise NotImplementedError("Module 19 (benchmarking): write as_batches (see its docstring)")


# ---------------------------------------------------------------------- one model, one data set


def measure_model(model, batches, metrics, warmup: int = DEFAULT_WARMUP, repeats: int = DEFAULT_REPEATS) -> dict:
    """Measure one model on one data set (batches from as_batches): {column: value} for the metrics asked.

    Always "batch_size" (the first batch's number of examples), then per metric:
        accuracy     "accuracy"                    accuracy over every batch
        latency      "latency_ms", "latency_p10_ms", "latency_p90_ms"
                                                   latency_stats of time_call on ONE forward pass
                                                   of the first batch
        throughput   "throughput"                  throughput_from_latency(median, batch_size)
        memory       "param_bytes", "peak_bytes"   parameter_stats' bytes; peak_memory_bytes of one
                                                   forward pass of the first batch
        parameters   "parameters"                  parameter_stats' count
    (METRIC_COLUMNS lists the columns of each metric.)

    TODO: Check the metrics; in eval mode and under no_grad, measure what is asked and return
    the dict (only the columns of the metrics asked, plus batch_size).

    APPROACH:
        1. check_metrics; the model to eval mode (if it has eval()).
        2. Everything under module 05's no_grad: a benchmark measures inference, and recording
           the graph would cost time and memory that inference does not pay.
        3. Latency and throughput share ONE timing: a zero-argument function running the model
           on the first batch's x, given to time_call with warmup and repeats, then
           latency_stats. Measure the memory in its own forward pass AFTER the timing
           (tracemalloc would slow the timed calls down).

    EXAMPLE:
        >>> row = measure_model(Linear(4, 3), as_batches((np.ones((8, 4)), np.zeros(8))), ["latency", "parameters"])
        >>> sorted(row)
        ['batch_size', 'latency_ms', 'latency_p10_ms', 'latency_p90_ms', 'parameters']
        >>> row["batch_size"], row["parameters"]
        (8, 15)

    HINTS:
        - Call time_call, accuracy, parameter_stats and peak_memory_bytes by their names in
          this module: the tests replace some of them to check what you pass.
        - Throughput needs the timing even when latency is not asked for.
    """
    raise NotImplementedError("Module 19 (benchmarking): write measure_model (see its docstring)")


# ---------------------------------------------------------------------- the Pareto frontier


def pareto_frontier(results, x: str = "latency_ms", y: str = "accuracy") -> list:
    """The rows that no other row dominates, LOWER `x` and HIGHER `y` being better, sorted by `x`.

    Row s dominates row r when s is at least as good on both and strictly better on one:
        s[x] <= r[x]  and  s[y] >= r[y]  and  (s[x] < r[x]  or  s[y] > r[y])
    Ties: rows with the same x AND the same y do not dominate each other: all of them stay.
    A row with the same x as another but a lower y is dominated (and the reverse).

        rows (x, y): A (1, 0.80)  B (2, 0.90)  C (2, 0.85)  D (3, 0.90)  E (4, 0.95)  F (2, 0.90)
        frontier:    A, B, F, E      (C: B is as fast and better; D: B is faster and as good;
                                      B and F are equal: both stay, in their input order)

    A pure function: it changes nothing and returns the row dicts themselves (not copies).
    Compare rows of ONE data set: accuracies on different data sets do not compare.

    TODO: Return the frontier as a list sorted by x ascending (rows with equal x in their input
    order); [] for no rows; ValueError for a row without the x or y column.

    APPROACH:
        1. Every row must have both columns: ValueError naming the missing column and the
           row's columns.
        2. Keep each row that no other row dominates (the rule above, written as a small
           helper). n rows: n^2 comparisons is fine for a benchmark's few rows.
        3. Sort what is kept by x with a stable sort.

    EXAMPLE:
        >>> rows = [{"model": "a", "latency_ms": 1.0, "accuracy": 0.8},
        ...         {"model": "b", "latency_ms": 2.0, "accuracy": 0.7}]
        >>> [r["model"] for r in pareto_frontier(rows)]
        ['a']

    HINTS:
        - Python's sorted is stable: equal keys keep their order.
        - Strict on both ("s[x] < r[x] and s[y] > r[y]") keeps dominated rows that tie on one
          axis.
    """
    raise NotImplementedError("Module 19 (benchmarking): write pareto_frontier (see its docstring)")


def plot_pareto_frontier(results, path, x: str = "latency_ms", y: str = "accuracy") -> Path:
    """Scatter every row (x against y), the frontier drawn as a line through its points; save a PNG.

        y ^            o frontier row (labelled with its model)
          |      o---o         . dominated row (labelled too, in grey)
          |  o---'  .
          |  .          the frontier as a step line: from each frontier point, right at its y
          +-------------> x     (lower x is better: the best models sit top left)

    TODO: Check the rows, draw the figure, save it to `path` as a PNG, return the Path.

    APPROACH:
        1. No rows: ValueError. The frontier from pareto_frontier (which also checks the
           columns).
        2. One matplotlib Figure (from matplotlib.figure, already imported: no pyplot, so there
           is nothing to close and no window) with one axes: every row as a point, the frontier
           rows marked differently and joined by a step line, each point labelled with its
           "model" (and its "dataset" when the rows come from several data sets).
        3. Axis labels naming the columns and which direction is better; a title; save with
           the PNG format and FIGURE_DPI.

    EXAMPLE:
        >>> plot_pareto_frontier(bench.results, "frontier.png")
        PosixPath('frontier.png')

    HINTS:
        - Figure.subplots() gives the axes; Axes.scatter, Axes.step (where="post"),
          Axes.annotate, Figure.savefig.
        - Rows without a "model" column still plot: label them by their position.
    """
    raise NotImplementedError("Module 19 (benchmarking): write plot_pareto_frontier (see its docstring)")


# ---------------------------------------------------------------------- the benchmark


class Benchmark:
    """Every model on every data set, measured the same way: a table, plots and a report.

        bench = Benchmark({"mlp": mlp, "pruned": pruned}, {"test": (x_test, y_test)},
                          ["accuracy", "latency", "memory"])
        rows = bench.run(warmup=3, repeats=10)       # one dict per (data set, model)
        bench.to_csv("results.csv"); print(bench.to_markdown())
        bench.plot_results("results.png"); print(bench.generate_report())

    Attributes: models (dict name -> model), datasets (dict name -> list of (Tensor, array)
    batches, made once by as_batches), metrics (the tuple from check_metrics), results (the
    rows of the last run(), [] before), warmup and repeats (those of the last run, None before).
    """

    def __init__(self, models: dict, datasets: dict, metrics=METRICS):
        """Check and store the models, the data sets (as batches) and the metrics.

        TODO: After checking the arguments, set self.models, self.datasets, self.metrics,
        self.results (an empty list), self.warmup and self.repeats (None until a run).

        APPROACH:
            1. models: a non-empty dict; each key a str, each value callable (a Module or a
               function): TypeError naming the model and its type otherwise. Keep a copy of
               the dict (a later change by the caller must not change the benchmark).
            2. datasets: a non-empty dict of str names; each value through as_batches (with its
               name, for the error messages).
            3. metrics through check_metrics.

        EXAMPLE:
            >>> Benchmark({"a": Linear(2, 2)}, {"toy": (np.ones((4, 2)), np.zeros(4))}, ["accuracy"]).metrics
            ('accuracy',)
            >>> Benchmark({"a": 3}, {"toy": (np.ones((4, 2)), np.zeros(4))})
            TypeError: Benchmark: model 'a' is not callable (int)

        HINTS:
            - An empty dict of models or data sets would give an empty table: refuse it with
              a ValueError.
        """
        raise NotImplementedError("Module 19 (benchmarking): write Benchmark.__init__ (see its docstring)")

    def _require_results(self, who: str) -> list:
        """The rows of the last run(), or a RuntimeError saying to call run() first (given)."""
        if not self.results:
            raise RuntimeError(f"Benchmark.{who}: no results yet; call run() first")
        return self.results

    def run(self, warmup: int = DEFAULT_WARMUP, repeats: int = DEFAULT_REPEATS) -> list:
        """Measure every model on every data set; return (and keep in self.results) one row each.

        Row order: data set by data set (in the dict's order), and within one, the models in
        their dict's order. Each row: {"model": name, "dataset": name, then what measure_model
        returns}, its keys in the order of _columns(self.metrics).

        TODO: Check warmup and repeats; build the rows with measure_model; store them and the
        counts in self.results, self.warmup, self.repeats; return the rows.

        APPROACH:
            1. warmup (int >= 0) and repeats (int >= MIN_REPEATS) with _check_count, naming
               "Benchmark.run", before anything runs (even when no timing is asked for).
            2. Two nested loops; the row's values reordered by _columns so that every row,
               the CSV and the table have the same columns in the same order.

        EXAMPLE:
            >>> rows = Benchmark({"a": model_a, "b": model_b}, {"test": (x, y)}, ["accuracy"]).run()
            >>> [(r["model"], r["dataset"]) for r in rows]
            [('a', 'test'), ('b', 'test')]

        HINTS:
            - The batches were made once in __init__: pass the same list to every model.
        """
        raise NotImplementedError("Module 19 (benchmarking): write Benchmark.run (see its docstring)")

    def to_csv(self, path) -> Path:
        """Write the results as CSV: a header of the columns, then one line per row; return the Path.

            model,dataset,batch_size,accuracy,latency_ms,latency_p10_ms,latency_p90_ms
            mlp,test,256,0.9712,3.1811,3.0402,3.5177

        Numbers are written in full (Python's str of a float reads back as the same float), so
        the file holds exactly the values of the rows.

        TODO: RuntimeError before run() (the given _require_results); write the file with the
        columns of _columns(self.metrics), in that order; return the path as a pathlib.Path.

        APPROACH: The standard csv module: a writer over a file opened for writing text with
        newline="" (the csv module writes its own line ends). The header, then each row's
        values in the columns' order.

        EXAMPLE:
            >>> bench.run(); bench.to_csv("results.csv")
            PosixPath('results.csv')

        HINTS:
            - csv quotes a model name that holds a comma: do not build the lines by hand.
        """
        raise NotImplementedError("Module 19 (benchmarking): write Benchmark.to_csv (see its docstring)")

    def to_markdown(self) -> str:
        """The results as a markdown table: a header, a separator, one line per row.

            | model | dataset | batch_size | accuracy | latency_ms |
            |---|---|---|---|---|
            | mlp | test | 256 | 0.9712 | 3.181 |

        TODO: RuntimeError before run(); return the table as one string, lines joined by "\\n"
        (no line end after the last), cells written with the given _format_value.

        APPROACH: The columns from _columns(self.metrics); every line starts and ends with "|"
        and has one cell per column, separated by " | ".

        EXAMPLE:
            >>> print(bench.to_markdown())
            | model | dataset | batch_size | accuracy |
            |---|---|---|---|
            | a | toy | 4 | 0.75 |

        HINTS:
            - _format_value keeps 4 significant digits of a float: a table is for reading; the
              CSV keeps every digit.
        """
        raise NotImplementedError("Module 19 (benchmarking): write Benchmark.to_markdown (see its docstring)")

    def plot_results(self, path) -> Path:
        """One bar chart per measured column of PLOT_COLUMNS, models side by side per data set; save a PNG.

              accuracy              latency_ms (p10..p90)       ...
            |  _   _            |      _                      one panel per column present in
            | | | | |  _        |  _  | |I   _                the rows (latency with error bars
            | | | | | | |       | | |I| |   | |I              from p10 to p90); within a panel,
            +--a---b---a--      +--a---b-----a--              a group of bars per data set, one
               test    train       test      train             bar per model

        TODO: RuntimeError before run(); draw the panels into one Figure, save it as a PNG at
        `path`, return the path as a pathlib.Path.

        APPROACH:
            1. The panels: the columns of PLOT_COLUMNS that the rows have.
            2. One Figure (PANEL_SIZE per panel, side by side), one axes per panel; for data
               set j and model i, a bar at position j + an offset for i (width 1 / (models + 1)),
               coloured by model, with a legend of the models and the data sets as tick labels.
            3. Latency: error bars from p10 to p90 (asymmetric: median - p10 below, p90 -
               median above).
            4. Titles naming the columns; save as PNG with FIGURE_DPI.

        EXAMPLE:
            >>> bench.plot_results("results.png")
            PosixPath('results.png')

        HINTS:
            - Axes.bar takes yerr as a (2, n) array: the lengths below, then above.
        """
        raise NotImplementedError("Module 19 (benchmarking): write Benchmark.plot_results (see its docstring)")

    def generate_report(self) -> str:
        """A markdown report: what was measured, the table, the Pareto frontier, how to read it.

            # Benchmark report
            2 models on 1 data set; metrics: accuracy, latency. Timing: 3 warm-up calls, then
            10 timed repeats per model, on the same inputs for every model.

            | model | dataset | ... |          (to_markdown)

            ## Pareto frontier
            - test: fast (latency 0.8 ms, accuracy 0.91), big (latency 3.2 ms, accuracy 0.97)

            ## How to read this report
            (HOW_TO_READ)

        TODO: RuntimeError before run(); return the report as one string.

        APPROACH:
            1. A heading and one sentence: the number of models and data sets, the metrics,
               the warm-up and repeats of the last run.
            2. The table from to_markdown.
            3. "## Pareto frontier": when both "accuracy" and "latency" were measured, one line
               per data set listing its frontier (pareto_frontier of that data set's rows,
               latency_ms against accuracy) with each model's latency and accuracy; otherwise
               one sentence saying the frontier needs both metrics.
            4. "## How to read this report" and the given HOW_TO_READ text.

        EXAMPLE:
            >>> report = bench.generate_report()
            >>> report.splitlines()[0], "## Pareto frontier" in report
            ('# Benchmark report', True)

        HINTS:
            - _format_value writes the numbers the way the table does.
        """
        raise NotImplementedError("Module 19 (benchmarking): write Benchmark.generate_report (see its docstring)")


# ---------------------------------------------------------------------- two models, head to head


def compare_models(model1, model2, test_data, warmup: int = DEFAULT_WARMUP, repeats: int = DEFAULT_REPEATS) -> dict:
    """Accuracy and latency of two models on the same data, and whether the speed-up beats the noise.

    Returns
        {"accuracy_1": float, "accuracy_2": float,
         "accuracy_difference": accuracy_2 - accuracy_1,          (< 0: model 2 is less accurate)
         "latency_1": {"median_ms", "p10_ms", "p90_ms"}, "latency_2": {...},
         "speedup": median of model 1 / median of model 2,         (> 1: model 2 is faster)
         "latency_differs": bool}                  (latencies_differ of the two latency dicts)

    TODO: Measure both with a Benchmark (accuracy and latency) on test_data, then build the
    dict above.

    APPROACH:
        1. A Benchmark of the two models (any two names) on one data set made of test_data,
           metrics accuracy and latency; run it with warmup and repeats.
        2. Its two rows give the accuracies and the three latency numbers of each model.
        3. The speed-up is the ratio of the MEDIANS; whether it means anything is
           latencies_differ of the two latency dicts.

    EXAMPLE:
        >>> result = compare_models(big, pruned, (x_test, y_test))
        >>> round(result["speedup"], 2), round(result["accuracy_difference"], 3), result["latency_differs"]
        (2.31, -0.004, True)

    HINTS:
        - The Benchmark gives both models the same batches and the same timing procedure:
          that is what makes the comparison fair.
    """
    raise NotImplementedError("Module 19 (benchmarking): write compare_models (see its docstring)")


# ---------------------------------------------------------------------- systems questions


def throughput_from_latency(latency_ms: float, batch_size: int = 1) -> float:
    """Samples per second when one batch of `batch_size` samples takes `latency_ms` milliseconds.

    TODO: Return batch_size samples divided by the latency in seconds, as a float.

    APPROACH: Convert the milliseconds to seconds first. latency_ms must be a number > 0 and
    batch_size an int >= 1: ValueError naming the value otherwise.

    EXAMPLE:
        >>> throughput_from_latency(20.0, batch_size=64)       # 64 samples in 0.02 s
        3200.0
        >>> throughput_from_latency(2.5)                       # one sample at a time
        400.0

    HINTS:
        - Latency and throughput are not inverses of each other unless the batch holds one
          sample: a batch of 64 in 20 ms is 3200 samples/s, a batch of 1 in 1 ms only 1000.
    """
    raise NotImplementedError("Module 19 (benchmarking): write throughput_from_latency (see its docstring)")


def latencies_differ(a: dict, b: dict) -> bool:
    """Whether two latency measurements (latency_stats dicts) differ beyond their spread.

    True when their [p10, p90] intervals do not overlap: every typical run of one is faster
    than every typical run of the other. Intervals that touch or overlap: False (the medians
    may differ, but the noise could explain it).

        a: |---[=====]----------|        a: |---[=====]----|
        b: |------------[===]---|        b: |-------[=====]|
           differ: True                     overlap: False

    TODO: Return the bool; ValueError when a dict lacks "p10_ms" or "p90_ms" (naming it).

    APPROACH: The intervals are disjoint exactly when one ends before the other begins.

    EXAMPLE:
        >>> latencies_differ({"median_ms": 2.0, "p10_ms": 1.8, "p90_ms": 2.4},
        ...                  {"median_ms": 5.0, "p10_ms": 4.5, "p90_ms": 6.0})
        True

    HINTS:
        - A benchmark with few repeats has a wide spread: it proves fewer differences.
    """
    raise NotImplementedError("Module 19 (benchmarking): write latencies_differ (see its docstring)")


def best_batch_size(latency_by_batch: dict, budget_ms: float) -> int:
    """The batch size with the highest throughput among those whose latency fits in `budget_ms`.

    A server can wait for several requests and run them as one batch: the throughput grows
    with the batch (the per-call overhead is shared), and so does the latency every request in
    it waits. Given the measured latency of each batch size, pick the best one within budget.

        batch   1      8      32     128
        ms      1.0    2.0    5.0    30.0       budget 10 ms -> 32 (6400 samples/s; 128 is too slow)

    TODO: Return the chosen batch size (an int); ties in throughput go to the smaller batch;
    ValueError when no batch size fits the budget (naming the budget and the fastest latency).

    APPROACH: Keep the batch sizes whose latency is at most the budget; for each, its
    throughput (throughput_from_latency); the largest wins.

    EXAMPLE:
        >>> best_batch_size({1: 1.0, 8: 2.0, 32: 5.0, 128: 30.0}, budget_ms=10.0)
        32
        >>> best_batch_size({1: 1.0, 8: 2.0, 32: 5.0, 128: 30.0}, budget_ms=0.5)
        ValueError: best_batch_size: no batch size fits a budget of 0.5 ms (the fastest takes 1.0 ms)

    HINTS:
        - The largest batch that fits is usually, not always, the best: latency can grow faster
          than the batch (caches overflow), and then a smaller batch gives more samples/s.
    """
    raise NotImplementedError("Module 19 (benchmarking): write best_batch_size (see its docstring)")
