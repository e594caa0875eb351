"""make bench: performance ratios, each measured side by side in one run on this machine.

Ratios, not seconds, are the result: both sides of a ratio run interleaved, in the same process
or the same shell, so a slow or busy machine moves both. Nothing here is asserted in tests.

    grading overhead   `python -m grading grade` on the reference vs a bare pytest run of the
                       same visible + hidden tests (goal: <= 1.3x)
    Tensor ops         the reference Tensor's matmul / add vs raw NumPy on the same arrays
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TINYTORCH_SOURCE", "solutions")

from tinytorch.manifest import load_course  # noqa: E402

REPEATS = 5


def _reference_submission(course, dest: Path) -> Path:
    for m in course.modules:
        target = dest / m.student_file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(course.root / m.solution_file, target)
    return dest


def _time(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_grading(course) -> list[tuple[str, float, float, float, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYTORCH_")}
    with tempfile.TemporaryDirectory() as tmp:
        ref = _reference_submission(course, Path(tmp))
        grade = [sys.executable, "-m", "grading", "grade", str(ref), "--quiet"]
        tests = [str(REPO / "assignments" / m.folder / sub) for m in course.modules for sub in ("tests", "hidden")]
        bare = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
        bare_env = {**env, "TINYTORCH_SOURCE": "solutions"}
        _time(grade, env)                      # warm: the plan is collected once and cached
        g, f, b = [], [], []
        for _ in range(REPEATS):               # interleaved, so drift hits every side
            g.append(_time(grade, env))
            f.append(_time(grade + ["--no-fork"], env))
            b.append(_time(bare, bare_env))
    gm, fm, bm = statistics.median(g), statistics.median(f), statistics.median(b)
    last = course.modules[-1].id
    return [(f"grade reference (01-{last}, all tests)", gm, bm, gm / bm, "<= 1.3x"),
            (f"  same, --no-fork (interpreter per module)", fm, bm, fm / bm, "for comparison")]


def _median_us(fn, number: int) -> float:
    runs = timeit.repeat(fn, number=number, repeat=REPEATS)
    return statistics.median(runs) / number * 1e6


def bench_tensor() -> list[tuple[str, float, float, float, str]]:
    import numpy as np
    from tinytorch.core.tensor import Tensor

    rng = np.random.default_rng(0)
    rows = []
    for n, number in ((64, 2000), (256, 200), (1024, 10)):
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        ta, tb = Tensor(a), Tensor(b)
        for name, ours, theirs in ((f"matmul {n}x{n}", lambda: ta @ tb, lambda: a @ b),
                                   (f"add {n}x{n}", lambda: ta + tb, lambda: a + b)):
            o, t = [], []
            for _ in range(3):
                o.append(_median_us(ours, number))
                t.append(_median_us(theirs, number))
            om, tm = min(o), min(t)
            rows.append((f"Tensor {name}", om, tm, om / tm, "overhead only"))
    return rows


def main() -> int:
    course = load_course()
    print(f"make bench: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; medians of {REPEATS} interleaved runs\n")
    print(f"{'benchmark':40s} {'ours':>12s} {'baseline':>12s} {'ratio':>7s}  goal")
    for name, ours, base, ratio, goal in bench_grading(course):
        print(f"{name:40s} {ours:10.2f} s {base:10.2f} s {ratio:6.2f}x  {goal} (baseline: bare pytest)")
    for name, ours, base, ratio, goal in bench_tensor():
        print(f"{name:40s} {ours:9.1f} us {base:9.1f} us {ratio:6.2f}x  {goal} (baseline: raw NumPy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
