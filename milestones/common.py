"""What every milestone program shares: set-up, data helpers, training with early stopping, plots,
the command line, the gate, metrics and the report.

A milestone program calls `setup()` before it imports NumPy, defines `run(ctx) -> Outcome` and
ends with `main(MILESTONE_ID, run)`. `main` checks that the modules the milestone needs have
passed (asking the grader), calls `run`, writes `metrics.json` and `report.md` into the output
folder, prints whether the success criteria hold and exits non-zero when they do not.

A program that trains hands `fit` one epoch of training and one evaluation as functions; `fit`
stops early on a validation metric and puts the best epoch back (`TrainerCheckpoint` keeps it
on disk), printing one line per epoch.

NumPy and pyplot are imported inside the functions that use them, never at the top of this
file: every program imports this file first, and `setup` must set the BLAS thread count before
NumPy loads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:          # run as a script: make `grading` and `milestones` importable
    sys.path.insert(0, str(REPO))

from tinytorch.manifest import load_course  # noqa: E402

if TYPE_CHECKING:
    import numpy as np

# ---------------------------------------------------------------------------------------------
# Set-up, and what a milestone's run gets and returns
# ---------------------------------------------------------------------------------------------


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def setup() -> None:
    """Call once, at the top of a milestone program, before it imports NumPy or pyplot.

    One BLAS thread: the matrix products of these programs are small (a batch of 128 by 784 by
    128; 64 conv filters x 288 by 16,384 patches), and on the course's 2-core reference machine,
    busy with other work, they ran 2-3x slower on two threads fighting for two cores than on one.
    BLAS reads the variables when NumPy loads; a value already in your environment wins.
    Matplotlib's Agg backend: plots go to files, never to a window (there is none on a server).
    """
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    import matplotlib

    matplotlib.use("Agg")


@dataclass
class Context:
    """What a milestone's `run` gets: where to write, how long to train, the seed."""
    out: Path
    quick: bool
    seed: int
    forced: bool
    data_dir: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)   # the program's own command-line options


@dataclass
class Outcome:
    """What `run` returns: the numbers, which criteria hold, and report lines."""
    metrics: dict
    checks: dict[str, bool]                  # criterion description -> holds
    lines: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())


# ---------------------------------------------------------------------------------------------
# Data and models (the classifiers of milestones 2 and 3)
# ---------------------------------------------------------------------------------------------


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator):
    """(train_idx, val_idx): `fraction` of each class's indices held out, chosen at random.

    Per class, so that validation has every class in its share even when a file is sorted by
    class (the local 5,000-image MNIST subset is: 500 zeros, then 500 ones, ...).
    """
    import numpy as np

    train, val = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(round(fraction * len(idx)))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def random_subset(x, y, n: int | None, rng: np.random.Generator):
    """(x, y) cut to `n` rows drawn at random (a quick run's data); as they are if n is None or no less."""
    if n is None or len(y) <= n:
        return x, y
    keep = rng.permutation(len(y))[:n]
    return x[keep], y[keep]


def load_timed(load: Callable[[], dict], note: str = "") -> tuple[dict, float]:
    """(load(), seconds), after one line on the split: `load` returns y_train, y_val, y_test and n_file."""
    started = time.perf_counter()
    data = load()
    seconds = time.perf_counter() - started
    print(f"Data: {len(data['y_train'])} train + {len(data['y_val'])} validation images (of {data['n_file']} in "
          f"the training file), {len(data['y_test'])} test; {note}{seconds:.1f} s", flush=True)
    return data, seconds


def split_sentence(n_train: int, n_val: int, n_test: int, n_file: int, val_fraction: float) -> str:
    """The report's account of the data: '4,500 training and 500 validation images (a stratified 10%
    held out of the 5,000 in the training file), 10,000 test images'."""
    source = f"the {n_file:,} in the training file"
    if n_train + n_val < n_file:
        source = f"{n_train + n_val:,} drawn at random from " + source
    return (f"{n_train:,} training and {n_val:,} validation images (a stratified {val_fraction:.0%} held out "
            f"of {source}), {n_test:,} test images")


def count_params(model) -> int:
    """Number of trainable numbers in `model` (the sizes of its parameters)."""
    return int(sum(p.data.size for p in model.parameters()))


# ---------------------------------------------------------------------------------------------
# Training with early stopping
# ---------------------------------------------------------------------------------------------


@dataclass
class History:
    """What `fit` returns: one entry per epoch run, and which epoch it put back."""
    train_loss: list[float] = field(default_factory=list)
    val: dict[str, list[float]] = field(default_factory=dict)        # evaluate()'s numbers by name
    tracked: dict[str, list[float]] = field(default_factory=dict)    # track()'s numbers by name
    lr: list[float] = field(default_factory=list)                    # with an optimizer only
    epoch_seconds: list[float] = field(default_factory=list)         # train_epoch() alone
    best_epoch: int = 0                                              # 1-based: the one restored
    best: dict = field(default_factory=dict)                         # evaluate() at best_epoch
    seconds: float = 0.0                                             # every epoch, evaluations too
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss)

    def add(self, train_loss: float, val: dict, tracked: dict, lr: float | None, seconds: float) -> None:
        self.train_loss.append(train_loss)
        for kind, numbers in ((self.val, val), (self.tracked, tracked)):
            for name, value in numbers.items():
                kind.setdefault(name, []).append(value)
        if lr is not None:
            self.lr.append(lr)
        self.epoch_seconds.append(seconds)

    def columns(self) -> dict[str, list[float]]:
        """The per-epoch lists for metrics.json: train_loss, val_<name> of each evaluated number, lr."""
        return {"train_loss": self.train_loss, **{f"val_{name}": v for name, v in self.val.items()}, "lr": self.lr}


def _rank(val: dict, metric: str, mode: str, tie_break: str | None) -> tuple:
    """A key that grows as an evaluation gets better: `metric` (negated for "min"), then -tie_break."""
    if metric not in val or (tie_break is not None and tie_break not in val):
        raise KeyError(f"fit: evaluate() returned {sorted(val)}; early stopping needs {metric!r}"
                       + (f" and {tie_break!r}" if tie_break else ""))
    first = val[metric] if mode == "max" else -val[metric]
    return (first,) if tie_break is None else (first, -val[tie_break])


def _number(name: str, value: float) -> str:
    """'accuracy 83.17%' or 'loss 0.5558': accuracies as percentages, anything else to 4 decimals."""
    return f"{name.replace('_', ' ')} " + (f"{value:.2%}" if "accuracy" in name else f"{value:.4f}")


def _progress_line(label: str, epoch: int, epochs: int, history: History, seconds: float) -> str:
    """One epoch: '  MLP      epoch  2/40  lr 2.95e-03  train loss 0.6293  val loss ...  1.2 s  *'."""
    parts = [f"  {label:8s} epoch {epoch:2d}/{epochs}"]
    if history.lr:
        parts.append(f"lr {history.lr[-1]:.2e}")
    parts.append(f"train loss {history.train_loss[-1]:.4f}")
    parts += [f"val {_number(name, values[-1])}" for name, values in history.val.items()]
    if history.tracked:
        parts.append("(" + ", ".join(_number(name, values[-1]) for name, values in history.tracked.items()) + ")")
    parts.append(f"{seconds:.1f} s")
    return "  ".join(parts) + ("  *" if history.best_epoch == epoch else "")


class Progress:
    """The batches of a long loop, with a line every `every_s` seconds while it runs.

        for x, y in Progress(loader, "CNN"):                # or trainer.train_epoch(Progress(...))
    prints, every 30 s of work:
        '    CNN      step 250/704 (36%), 61 s; about 1.8 min left'
    The steps of a fit() epoch, or of fine-tuning, run for minutes between fit's epoch lines:
    this keeps a terminal or a CI log from going silent. A loop shorter than `every_s` prints
    nothing. `total` defaults to len(batches) when it has one; `clock` is for tests.
    """

    def __init__(self, batches, label: str, total: int | None = None, every_s: float = 30.0,
                 clock: Callable[[], float] = time.perf_counter):
        self.batches, self.label, self.every_s, self.clock = batches, label, every_s, clock
        self.total = total if total is not None else (len(batches) if hasattr(batches, "__len__") else None)

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError(f"Progress({self.label}): the batches have no length")
        return self.total

    def __iter__(self):
        started = self.clock()
        last = started
        for step, batch in enumerate(self.batches, start=1):
            yield batch
            now = self.clock()
            if now - last >= self.every_s:
                last = now
                print(self.line(step, now - started), flush=True)

    def line(self, step: int, seconds: float) -> str:
        """'    CNN      step 250/704 (36%), 61 s; about 1.8 min left' (no total: '    GPT      step 250, 61 s')."""
        if not self.total:
            return f"    {self.label:8s} step {step}, {seconds:.0f} s"
        left = seconds / step * (self.total - step)
        return (f"    {self.label:8s} step {step}/{self.total} ({step / self.total:.0%}), {seconds:.0f} s; "
                f"about {left / 60:.1f} min left")


def fit(train_epoch: Callable[[], float], evaluate: Callable[[], dict], *, epochs: int, patience: int,
        save_state: Callable[[], Any], load_state: Callable[[Any], None], metric: str = "accuracy",
        mode: str = "max", tie_break: str | None = None, optimizer=None,
        schedule: Callable[[int], float] | None = None, track: Callable[[], dict] | None = None,
        label: str = "", stop: Callable[[], bool] | None = None) -> History:
    """Train up to `epochs` epochs, stop after `patience` epochs without a better one, restore the best.

    Each epoch: `schedule(i)` (if given; i = epochs done, as module 07's get_lr) sets the
    optimizer's learning rate; `train_epoch()` trains and returns the mean training loss;
    `evaluate()` returns validation numbers ({"loss": ..., "accuracy": ...}); `track()` (if given)
    returns more numbers to record, never to choose by (the test accuracy of every epoch).
    The best epoch has the highest `metric` (mode "max") or the lowest ("min"); between equal
    values, the lower `tie_break` wins. On each new best `save_state()` runs and what it returns
    is kept; when training ends, `load_state(kept)` puts that epoch back, parameters and any other
    state (BatchNorm's running statistics: see TrainerCheckpoint). `optimizer`, when given, has
    its learning rate recorded. `stop()` (if given) ends training after an epoch when it says so
    (a time budget). One progress line per epoch, a star on each new best.

        MLP, CNN   train_epoch = one pass over the batches, metric="accuracy", tie_break="loss"
        GPT        train_epoch = a fixed number of steps,   metric="loss", mode="min"
    """
    if mode not in ("max", "min"):
        raise ValueError(f"fit: mode must be 'max' or 'min'; got {mode!r}")
    if epochs < 1 or patience < 1:
        raise ValueError(f"fit: epochs and patience must be at least 1; got {epochs} and {patience}")
    if schedule is not None and optimizer is None:
        raise ValueError("fit: a schedule sets the optimizer's learning rate; pass the optimizer too")
    def rank(val):
        return _rank(val, metric, mode, tie_break)

    history, kept = History(), None
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        if schedule is not None:
            optimizer.lr = schedule(epoch - 1)
        epoch_start = time.perf_counter()
        train_loss = train_epoch()
        seconds = time.perf_counter() - epoch_start
        val = evaluate()
        history.add(train_loss, val, track() if track else {},
                    float(optimizer.lr) if optimizer is not None else None, seconds)
        if history.best_epoch == 0 or rank(val) > rank(history.best):
            history.best, history.best_epoch = val, epoch
            kept = save_state()
        print(_progress_line(label, epoch, epochs, history, seconds), flush=True)
        if epoch - history.best_epoch >= patience:
            history.stopped_early = True
            print(f"  {label:8s} no better validation {metric} for {patience} epochs: stopping", flush=True)
            break
        if stop is not None and epoch < epochs and stop():
            history.stopped_early = True
            print(f"  {label:8s} time budget reached: stopping", flush=True)
            break
    history.seconds = time.perf_counter() - started
    load_state(kept)
    print(f"  {label:8s} best epoch {history.best_epoch} of {history.epochs_run} "
          f"(val {_number(metric, history.best[metric])}) restored; {history.seconds:.1f} s", flush=True)
    return history


class TrainerCheckpoint:
    """`save` and `load` for fit: the best epoch on disk, in module 07's checkpoint file.

    Trainer.save_checkpoint writes parameters() only. A model's buffers (BatchNorm's running mean
    and variance) are state too but not parameters: restoring the checkpoint alone would pair the
    best epoch's weights with the last epoch's statistics. `buffers()` names them ({"bn0_running_mean":
    Tensor, ...}; called at each save and load, since a layer may replace them); they are written to
    `buffers_path` beside the checkpoint and restored with it.
    """

    def __init__(self, trainer, path: Path, buffers: Callable[[], dict] | None = None,
                 buffers_path: Path | None = None):
        if buffers is not None and buffers_path is None:
            raise ValueError("TrainerCheckpoint: buffers need a buffers_path to be saved to")
        self.trainer, self.path, self.buffers, self.buffers_path = trainer, Path(path), buffers, buffers_path

    def _named_buffers(self) -> dict:
        return self.buffers() if self.buffers is not None else {}

    def save(self) -> None:
        import numpy as np

        self.trainer.save_checkpoint(self.path)
        buffers = self._named_buffers()
        if buffers:
            np.savez(self.buffers_path, **{name: tensor.data for name, tensor in buffers.items()})

    def load(self, _kept=None) -> None:
        """Put the saved epoch back (fit's load_state: what save returned, None, is not needed)."""
        import numpy as np

        self.trainer.load_checkpoint(self.path)                 # the parameters, in place
        buffers = self._named_buffers()
        if buffers:
            with np.load(self.buffers_path) as saved:
                for name, tensor in buffers.items():
                    tensor.data = np.array(saved[name], copy=True)


# ---------------------------------------------------------------------------------------------
# Plots and criteria
# ---------------------------------------------------------------------------------------------


def plot_history(ax_loss, ax_val, run: dict, label: str, color: str, val_label: str | None = None,
                 metric: str = "accuracy") -> None:
    """One model's curves from fit's columns (History.columns): its training loss on `ax_loss`, its
    validation `metric` on `ax_val`, and a circle on the epoch restored."""
    epochs = range(1, run["epochs_run"] + 1)
    best, val = run["best_epoch"], run[f"val_{metric}"]
    ax_loss.plot(epochs, run["train_loss"], color=color, lw=2, label=label)
    ax_val.plot(epochs, val, color=color, lw=2, label=val_label or label)
    ax_val.plot([best], [val[best - 1]], "o", color=color, ms=8, mfc="none", mew=2)


def save_figure(fig, path: Path, dpi: int = 120) -> None:
    """Lay out, write to `path` and close (a closed figure frees its memory)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def accuracy_check(accuracy: float, target: float, quick_target: float | None = None,
                   chance: float | None = None) -> dict[str, bool]:
    """A classifier's criterion: test accuracy >= target; given a quick run's lower `quick_target`, that."""
    if quick_target is None:
        return {f"test accuracy >= {target:.0%}": accuracy >= target}
    chance_note = f"chance {chance:.0%}; " if chance is not None else ""
    return {f"quick run: test accuracy >= {quick_target:.0%} ({chance_note}the full run needs {target:.0%})":
            accuracy >= quick_target}


# ---------------------------------------------------------------------------------------------
# The command line, the gate, metrics.json and report.md
# ---------------------------------------------------------------------------------------------


def milestone_program(folder: str):
    """Another milestone's program as a module (`milestone_program("04_tinygpt").load_checkpoint`).

    Its file name starts with a digit, so it cannot be imported by name; its `main` runs only
    under `__main__`, so loading it defines its functions and settings and runs nothing else.
    """
    import importlib.util

    path = REPO / "milestones" / folder
    scripts = sorted(p for p in path.glob("*.py") if p.name != "__init__.py")
    if len(scripts) != 1:
        raise FileNotFoundError(f"milestones/{folder}: expected one program, found {[p.name for p in scripts]}")
    name = f"milestone_{folder}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, scripts[0])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _parse(milestone, argv, add_arguments=None):
    parser = argparse.ArgumentParser(prog=f"milestone {milestone.id}", description=f"Milestone {milestone.id}: {milestone.title}")
    parser.add_argument("--out", type=Path, default=REPO / "milestones" / milestone.folder / "out",
                        help="folder for metrics.json, report.md and plots (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="a short run (the course's own tests use it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", default=os.environ.get("FORCE") == "1",
                        help="run even when required modules have not passed (also FORCE=1)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="read data sets from this folder instead of downloading (also TINYTORCH_DATA)")
    if add_arguments is not None:
        add_arguments(parser)
    return parser.parse_args(argv)


def require_unlocked(milestone_id: str, force: bool) -> bool:
    """Ask the grader whether the milestone is unlocked; exit with the missing modules if not."""
    from grading.milestone import check_unlocked

    course = load_course()
    milestone = course.milestone(milestone_id)
    print(f"Checking modules {', '.join(milestone.requires)} before milestone {milestone.id} ...", flush=True)
    verdict, statuses = check_unlocked(course, milestone_id)
    if verdict.unlocked:
        return False
    missing = "\n".join(f"  {m}: {statuses.get(m, 'not graded')}" for m in verdict.missing)
    if not force:
        sys.exit(f"Milestone {milestone.id} ({milestone.title}) is locked: these modules have not passed yet:\n"
                 f"{missing}\nFinish them (make test M=NN), or run anyway with FORCE=1 to explore.")
    print(f"FORCE: running milestone {milestone.id} although these modules have not passed:\n{missing}", flush=True)
    return True


COMMON_OPTIONS = ("out", "quick", "seed", "force", "data_dir")


def main(milestone_id: str, run, argv=None, add_arguments=None) -> None:
    """Parse, check the gate, run, write metrics.json and report.md, exit 0 when the criteria hold.

    `add_arguments(parser)` adds the program's own options; their values are `ctx.options`.
    """
    course = load_course()
    milestone = course.milestone(milestone_id)
    args = _parse(milestone, argv, add_arguments)
    forced = require_unlocked(milestone_id, args.force) if not os.environ.get("TINYTORCH_MILESTONE_GATED") else False
    args.out.mkdir(parents=True, exist_ok=True)
    data_dir = args.data_dir or (Path(os.environ["TINYTORCH_DATA"]) if os.environ.get("TINYTORCH_DATA") else None)
    options = {k: v for k, v in vars(args).items() if k not in COMMON_OPTIONS}
    ctx = Context(out=args.out, quick=args.quick, seed=args.seed, forced=forced, data_dir=data_dir, options=options)
    started = time.perf_counter()
    outcome: Outcome = run(ctx)
    seconds = time.perf_counter() - started
    metrics = {
        "milestone": milestone.id, "slug": milestone.slug, "quick": ctx.quick, "forced": forced,
        "seed": ctx.seed, "seconds": round(seconds, 2), "passed": outcome.passed,
        "criteria": outcome.checks, "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        **outcome.metrics,
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    verdict = "PASSED" if outcome.passed else "NOT MET"
    report = [f"# Milestone {milestone.id}: {milestone.title} — {verdict}", ""]
    if forced:
        report += ["*Run with FORCE: required modules had not all passed; this result does not count.*", ""]
    report += ["| criterion | holds |", "|---|---|"] + [f"| {k} | {'yes' if v else 'no'} |" for k, v in outcome.checks.items()]
    report += ["", *outcome.lines, ""] + [f"![{p}]({p})" for p in outcome.plots]
    report += ["", f"{seconds:.1f} s on {os.cpu_count()} CPUs, seed {ctx.seed}{', quick run' if ctx.quick else ''}."]
    (args.out / "report.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    for criterion, holds in outcome.checks.items():
        print(f"  [{'x' if holds else ' '}] {criterion}")
    print(f"Milestone {milestone.id} {verdict} in {seconds:.1f} s; results in {args.out}")
    if forced:
        print(f"FORCED: modules {', '.join(milestone.requires)} have not all passed, so this result does not count.")
    sys.exit(0 if outcome.passed else 1)
