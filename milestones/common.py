"""What every milestone program shares: its command line, the gate, metrics and the report.

A milestone program defines `run(ctx) -> Outcome` and ends with `main(MILESTONE_ID, run)`.
`main` checks that the modules the milestone needs have passed (asking the grader), calls
`run`, writes `metrics.json` and `report.md` into the output folder, prints whether the success
criteria hold and exits non-zero when they do not.
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

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:          # run as a script: make `grading` and `milestones` importable
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from tinytorch.manifest import load_course  # noqa: E402


@dataclass
class Context:
    """What a milestone's `run` gets: where to write, how long to train, the seed."""
    out: Path
    quick: bool
    seed: int
    forced: bool
    data_dir: Path | None = None


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


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator):
    """(train_idx, val_idx): `fraction` of each class's indices held out, chosen at random.

    Per class, so that validation has every class in its share even when a file is sorted by
    class (the local 5,000-image MNIST subset is: 500 zeros, then 500 ones, ...).
    """
    train, val = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(round(fraction * len(idx)))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def count_params(model) -> int:
    """Number of trainable numbers in `model` (the sizes of its parameters)."""
    return int(sum(p.data.size for p in model.parameters()))


def _parse(milestone, argv):
    parser = argparse.ArgumentParser(prog=f"milestone {milestone.id}", description=f"Milestone {milestone.id}: {milestone.title}")
    parser.add_argument("--out", type=Path, default=REPO / "milestones" / milestone.folder / "out",
                        help="folder for metrics.json, report.md and plots (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="a short run (the course's own tests use it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", default=os.environ.get("FORCE") == "1",
                        help="run even when required modules have not passed (also FORCE=1)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="read data sets from this folder instead of downloading (also TINYTORCH_DATA)")
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


def main(milestone_id: str, run, argv=None) -> None:
    course = load_course()
    milestone = course.milestone(milestone_id)
    args = _parse(milestone, argv)
    forced = require_unlocked(milestone_id, args.force) if not os.environ.get("TINYTORCH_MILESTONE_GATED") else False
    args.out.mkdir(parents=True, exist_ok=True)
    data_dir = args.data_dir or (Path(os.environ["TINYTORCH_DATA"]) if os.environ.get("TINYTORCH_DATA") else None)
    ctx = Context(out=args.out, quick=args.quick, seed=args.seed, forced=forced, data_dir=data_dir)
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
    sys.exit(0 if outcome.passed else 1)
