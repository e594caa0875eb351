"""make bench: performance ratios, each measured side by side in one run on this machine.

Ratios, not seconds, are the result: both sides of a ratio run interleaved, in the same process
or the same shell, so a slow or busy machine moves both. Nothing here is asserted in tests.

    grading overhead   `python -m grading grade` on the reference vs a bare pytest run of the
                       same visible + hidden tests (goal: <= 1.3x)
    Tensor ops         the reference Tensor's matmul / add vs raw NumPy on the same arrays
    MLP training step  one step of a 784-128-10 ReLU MLP, batch 128 (forward, cross-entropy,
                       backward, Adam) with the reference modules 01-06 vs the same step written
                       by hand in NumPy (the floor for any NumPy framework; goal: <= 1.3x), and
                       vs PyTorch when it is installed (optional)
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


MLP_BATCH, MLP_SIZES, MLP_LR = 128, (784, 128, 10), 1e-3
MLP_SIDES = ("ours", "hand", "torch")


def _mlp_data():
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((MLP_BATCH, MLP_SIZES[0])).astype(np.float32)
    y = rng.integers(0, MLP_SIZES[-1], MLP_BATCH)
    return rng, x, y


def _mlp_step_ours():
    """The step with the reference modules 01-06: Sequential(Linear, ReLU, Linear), Adam."""
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor

    rng, x, y = _mlp_data()
    n_in, n_hidden, n_out = MLP_SIZES
    model = Sequential(Linear(n_in, n_hidden, rng=rng), ReLU(), Linear(n_hidden, n_out, rng=rng))
    optimizer, loss_fn, xt = Adam(model.parameters(), lr=MLP_LR), CrossEntropyLoss(), Tensor(x)

    def step():
        optimizer.zero_grad()
        loss_fn(model(xt), y).backward()
        optimizer.step()
    return step


def _mlp_step_hand():
    """The same step written out in NumPy: the floor for any NumPy framework."""
    import numpy as np

    rng, x, y = _mlp_data()
    n_in, n_hidden, n_out = MLP_SIZES
    rows = np.arange(MLP_BATCH)
    weights = [(rng.standard_normal((n_in, n_hidden)) * (2 / n_in) ** 0.5).astype(np.float32),   # He
               np.zeros(n_hidden, np.float32),
               (rng.standard_normal((n_hidden, n_out)) * (1 / n_hidden) ** 0.5).astype(np.float32),
               np.zeros(n_out, np.float32)]
    assert all(w.dtype == np.float32 for w in weights)
    moments = [[np.zeros_like(w), np.zeros_like(w)] for w in weights]
    count = [0]

    def step():
        w1, b1, w2, b2 = weights
        h = x @ w1 + b1                                            # (B, 128)
        a = np.maximum(h, 0)
        z = a @ w2 + b2                                            # (B, 10)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        _loss = -np.mean(np.log(p[rows, y]))
        dz = p
        dz[rows, y] -= 1
        dz /= MLP_BATCH
        dh = (dz @ w2.T) * (h > 0)
        grads = (x.T @ dh, dh.sum(axis=0), a.T @ dz, dz.sum(axis=0))
        count[0] += 1
        t = count[0]
        for w, g, mv in zip(weights, grads, moments):
            mv[0] = 0.9 * mv[0] + 0.1 * g
            mv[1] = 0.999 * mv[1] + 0.001 * (g * g)
            w -= MLP_LR * (mv[0] / (1 - 0.9 ** t)) / (np.sqrt(mv[1] / (1 - 0.999 ** t)) + 1e-8)
    return step


def _mlp_step_torch():
    import torch

    _, x, y = _mlp_data()
    n_in, n_hidden, n_out = MLP_SIZES
    model = torch.nn.Sequential(torch.nn.Linear(n_in, n_hidden), torch.nn.ReLU(), torch.nn.Linear(n_hidden, n_out))
    optimizer = torch.optim.Adam(model.parameters(), lr=MLP_LR)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(tx), ty).backward()
        optimizer.step()
    return step


def mlp_worker(side: str) -> None:
    """Time one side in this process and print microseconds per step (make bench runs this)."""
    step = {"ours": _mlp_step_ours, "hand": _mlp_step_hand, "torch": _mlp_step_torch}[side]()
    for _ in range(20):
        step()                                                      # warm up
    print(f"{_median_us(step, 100):.3f}")


def bench_mlp_step() -> list[tuple[str, float, float, float, str]]:
    """One training step: reference vs hand-written NumPy vs PyTorch, each in its own process.

    Separate processes, alternated round by round: importing torch beside NumPy changes how
    NumPy's BLAS threads behave, so the sides must not share an interpreter. Every side runs
    on one thread (BLAS and PyTorch alike): at this size two threads gain little and make the
    numbers swing with whatever else the machine runs.
    """
    try:
        import importlib.util
        sides = MLP_SIDES if importlib.util.find_spec("torch") else MLP_SIDES[:2]
    except ImportError:
        sides = MLP_SIDES[:2]
    env = {**os.environ, "TINYTORCH_SOURCE": "solutions",
           **{name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    times = {side: [] for side in sides}
    for _ in range(3):
        for side in sides:
            out = subprocess.run([sys.executable, __file__, "--mlp-worker", side], env=env, cwd=REPO,
                                 check=True, capture_output=True, text=True).stdout
            times[side].append(float(out.split()[-1]))
    best = {side: min(t) for side, t in times.items()}
    rows = [("MLP step 784-128-10, batch 128, 1 thread", best["ours"], best["hand"], best["ours"] / best["hand"],
             "<= 1.3x (baseline: hand-written NumPy)")]
    if "torch" in best:
        rows += [("  same step in PyTorch", best["torch"], best["hand"], best["torch"] / best["hand"],
                  "for scale (baseline: hand-written NumPy)"),
                 ("  ours vs PyTorch", best["ours"], best["torch"], best["ours"] / best["torch"],
                  "for scale (baseline: PyTorch)")]
    else:
        rows.append(("  PyTorch: not installed, skipped", float("nan"), float("nan"), float("nan"),
                     "pip install torch==2.13.0 to compare"))
    return rows


def main() -> int:
    course = load_course()
    print(f"make bench: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; medians of {REPEATS} interleaved runs\n")
    print(f"{'benchmark':40s} {'ours':>12s} {'baseline':>12s} {'ratio':>7s}  goal")
    for name, ours, base, ratio, goal in bench_grading(course):
        print(f"{name:40s} {ours:10.2f} s {base:10.2f} s {ratio:6.2f}x  {goal} (baseline: bare pytest)")
    for name, ours, base, ratio, goal in bench_tensor():
        print(f"{name:40s} {ours:9.1f} us {base:9.1f} us {ratio:6.2f}x  {goal} (baseline: raw NumPy)")
    for name, ours, base, ratio, goal in bench_mlp_step():
        print(f"{name:40s} {ours:9.1f} us {base:9.1f} us {ratio:6.2f}x  {goal}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--mlp-worker":
        mlp_worker(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
