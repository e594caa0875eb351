"""Milestone 3's CNN: the reference TinyTorch against PyTorch, on this machine.

Two comparisons, each printed as a ratio (reference / PyTorch):

    time to 75%      PyTorch trains the same network with the same schedule on the same data
                     (the settings recorded in the milestone's metrics.json), evaluating the test
                     set after every epoch, and records when it first reaches the target; the
                     reference's time comes from the same per-epoch record of a full milestone run
                     (`make milestone N=3` or --run-reference). Goal: <= 3x.
    conv and pool    Conv2d forward + backward (batch 64, 3x3, padding 1: 3->32 channels on
                     32x32, 32->64 on 16x16) and MaxPool2d 2x2 forward + backward, each side in
                     its own worker process (importing torch into the process that runs NumPy
                     slows NumPy's OpenBLAS), interleaved, medians. Goal: <= 4x.

    python benchmarks/cnn_vs_torch.py                       # micro-benchmarks + PyTorch training
    python benchmarks/cnn_vs_torch.py --micro-only          # seconds, not minutes
    python benchmarks/cnn_vs_torch.py --run-reference       # run the full milestone first (long)

PyTorch is only needed here (it is not a dependency of the course). Data: TINYTORCH_DATA or
--data-dir, as for the milestone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
METRICS = REPO / "milestones" / "03_cnn" / "out" / "metrics.json"
MICRO_CASES = {                    # name -> (kind, batch, in_channels, out_channels, size)
    "conv 3->32 on 32x32": ("conv", 64, 3, 32, 32),
    "conv 32->64 on 16x16": ("conv", 64, 32, 64, 16),
    "maxpool 2x2, 32 ch on 32x32": ("pool", 64, 32, 32, 32),
}
MICRO_REPEATS = 7                  # rounds; each round runs both sides once, in turn
MICRO_CALLS = 10                   # forward + backward calls per measurement (after 3 warm-up calls)
MICRO_GOAL, TRAIN_GOAL = 4.0, 3.0


# ---------------------------------------------------------------------------------------------
# Workers (each runs in its own process)
# ---------------------------------------------------------------------------------------------


def _micro_ours(kind, n, c, o, size):
    """Median seconds of one forward + backward with the reference modules."""
    sys.path.insert(0, str(REPO))
    os.environ["TINYTORCH_SOURCE"] = "solutions"
    import numpy as np
    from tinytorch.core.spatial import Conv2d, MaxPool2d
    from tinytorch.core.tensor import Tensor

    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((n, c, size, size)).astype(np.float32), requires_grad=True)
    layer = Conv2d(c, o, 3, padding=1, rng=rng) if kind == "conv" else MaxPool2d(2)
    out_shape = layer(x).shape
    grad = rng.standard_normal(out_shape).astype(np.float32)

    def call():
        layer(x).backward(grad)
    return call


def _micro_torch(kind, n, c, o, size):
    import torch

    torch.manual_seed(0)
    x = torch.randn(n, c, size, size, requires_grad=True)
    layer = torch.nn.Conv2d(c, o, 3, padding=1) if kind == "conv" else torch.nn.MaxPool2d(2)
    grad = torch.randn(layer(x).shape)

    def call():
        layer(x).backward(grad)
    return call


def micro_worker(side: str, case: str) -> None:
    call = (_micro_ours if side == "ours" else _micro_torch)(*MICRO_CASES[case])
    for _ in range(3):
        call()
    start = time.perf_counter()
    for _ in range(MICRO_CALLS):
        call()
    print(json.dumps({"seconds": (time.perf_counter() - start) / MICRO_CALLS}))


def _cifar(data_dir):
    """CIFAR-10 through the course's own reader (no student code): uint8 arrays."""
    sys.path.insert(0, str(REPO))
    import numpy as np
    from tinytorch.datasets import fetch, read_cifar_batch

    folder = Path(fetch("cifar10", data_dir)) / "cifar-10-batches-py"
    train = [read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = read_cifar_batch(folder / "test_batch")
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), x_test, y_test)


def train_worker(settings_file: str, data_dir: str | None, target: float, threads: int) -> None:
    """Train the milestone's network in PyTorch with the milestone's settings; print JSON."""
    import numpy as np
    import torch

    s = json.loads(Path(settings_file).read_text())
    torch.set_num_threads(threads)
    torch.manual_seed(s["seed"])
    rng = np.random.default_rng(s["seed"])
    x_train, y_train, x_test, y_test = _cifar(data_dir)
    # The same preparation as the milestone: a stratified validation split held out, pixels in
    # [0, 1] standardised per channel with the training split's statistics.
    val = np.concatenate([rng.permutation(np.flatnonzero(y_train == k))[:round(s["val_fraction"] * np.sum(y_train == k))]
                          for k in range(10)])
    keep = np.setdiff1d(np.arange(len(y_train)), val)
    x_train, y_train = x_train[keep].astype(np.float32) / 255, y_train[keep]
    x_test = x_test.astype(np.float32) / 255
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    layers, c_in = [], 3
    for c_out in s["channels"]:
        conv = torch.nn.Conv2d(c_in, c_out, s["kernel_size"], padding=s["kernel_size"] // 2, bias=s["conv_bias"])
        torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")       # He, as Conv2d here
        layers += [conv, torch.nn.BatchNorm2d(c_out), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        c_in = c_out
    width = c_in * (32 // 2 ** len(s["channels"])) ** 2
    head = [torch.nn.Flatten()]
    if s["hidden"]:
        head += [torch.nn.Dropout(s["dropout"]), torch.nn.Linear(width, s["hidden"]), torch.nn.ReLU()]
        width = s["hidden"]
    head += [torch.nn.Dropout(s["dropout"]), torch.nn.Linear(width, 10)]
    for layer in head:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(layer.weight)                        # as Linear here
            torch.nn.init.zeros_(layer.bias)
    model = torch.nn.Sequential(*layers, *head)
    opt = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
    tx_test, ty_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
    pad, batch = s["crop_padding"], s["batch_size"]

    def augment(images):                      # random crop from the zero-padded image, then flip
        n = len(images)
        padded = np.zeros((n, 3, 32 + 2 * pad, 32 + 2 * pad), np.float32)
        padded[:, :, pad:pad + 32, pad:pad + 32] = images
        top, left = rng.integers(0, 2 * pad + 1, n), rng.integers(0, 2 * pad + 1, n)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (32, 32), axis=(2, 3))
        out = windows[np.arange(n), :, top, left]
        flip = rng.random(n) < 0.5
        out[flip] = out[flip, ..., ::-1]
        return np.ascontiguousarray(out)

    epochs, seconds, reached = [], 0.0, None
    for epoch in range(s["epochs"]):
        lr = s["min_lr"] + (s["lr"] - s["min_lr"]) * (1 + math.cos(math.pi * epoch / s["epochs"])) / 2
        for group in opt.param_groups:
            group["lr"] = lr
        started = time.perf_counter()
        model.train()
        order = rng.permutation(len(y_train))
        for b in range(len(order) // batch if s["drop_last"] else math.ceil(len(order) / batch)):
            idx = order[b * batch:(b + 1) * batch]
            xb, yb = torch.from_numpy(augment(x_train[idx])), torch.from_numpy(y_train[idx])
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        seconds += time.perf_counter() - started
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(tx_test[i:i + 1000]).argmax(1) == ty_test[i:i + 1000]).sum())
                          for i in range(0, len(ty_test), 1000))
        accuracy = correct / len(ty_test)
        epochs.append({"epoch": epoch + 1, "test_accuracy": accuracy, "train_seconds": round(seconds, 1)})
        print(f"  PyTorch epoch {epoch + 1}: test accuracy {accuracy:.2%}, {seconds:.0f} s of training",
              file=sys.stderr, flush=True)
        if reached is None and accuracy >= target:
            reached = seconds
            if not s.get("full", False):
                break
    print(json.dumps({"epochs": epochs, "seconds_to_target": reached, "threads": threads}))


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------


def _worker(args: list[str], env: dict | None = None, show_progress: bool = False) -> dict:
    """Run this file as a worker process; its last line of output is JSON."""
    proc = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE,
                          stderr=None if show_progress else subprocess.PIPE, text=True, check=True, cwd=REPO, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def micro(threads: int) -> list[tuple[str, float, float, float]]:
    env = {**os.environ, **{k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
    rows = []
    for case in MICRO_CASES:
        ours, theirs = [], []
        for _ in range(MICRO_REPEATS):                       # interleaved: drift hits both sides
            ours.append(_worker(["--worker", "micro", "--side", "ours", "--case", case], env)["seconds"])
            theirs.append(_worker(["--worker", "micro", "--side", "torch", "--case", case], env)["seconds"])
        o, t = statistics.median(ours), statistics.median(theirs)
        rows.append((case, o * 1000, t * 1000, o / t))
    return rows


def reference_time_to(metrics: dict, target: float) -> float | None:
    """Training seconds of the milestone's CNN until its test accuracy first reached `target`."""
    cnn = metrics["cnn"]
    for accuracy, seconds in zip(cnn["test_accuracy_per_epoch"], cnn["train_seconds_per_epoch_cumulative"]):
        if accuracy >= target:
            return seconds
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=Path, default=METRICS, help="a full milestone 3 run's metrics.json")
    parser.add_argument("--run-reference", action="store_true", help="run the full milestone first (tens of minutes)")
    parser.add_argument("--micro-only", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads (default: 1 per side in the micro-benchmarks, the milestone's setting; "
                             "PyTorch's default of 2 for its training)")
    parser.add_argument("--data-dir", default=os.environ.get("TINYTORCH_DATA"))
    parser.add_argument("--worker", choices=("micro", "train"), help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    parser.add_argument("--target", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "micro":
        return micro_worker(args.side, args.case)
    if args.worker == "train":
        return train_worker(args.settings, args.data_dir, args.target, args.threads or 2)

    load = os.getloadavg()[0]
    threads = args.threads or 1
    print(f"Load average {load:.2f} on {os.cpu_count()} CPUs (other work moves both sides alike).")
    print(f"\nConv2d / MaxPool2d forward + backward, {threads} thread(s) per side, median of {MICRO_REPEATS}:")
    print(f"  {'case':32s} {'reference':>11s} {'PyTorch':>9s} {'ratio':>7s}   goal <= {MICRO_GOAL:g}x")
    for name, o, t, r in micro(threads):
        print(f"  {name:32s} {o:9.2f} ms {t:7.2f} ms {r:6.1f}x")
    if args.micro_only:
        return

    if args.run_reference:
        script = REPO / "milestones" / "03_cnn" / "cnn.py"
        env = {**os.environ, "TINYTORCH_SOURCE": "solutions", "TINYTORCH_MILESTONE_GATED": "1"}
        subprocess.run([sys.executable, str(script), "--out", str(args.metrics.parent)], cwd=REPO, check=False, env=env)
    if not args.metrics.is_file():
        sys.exit(f"\nNo {args.metrics}: run the full milestone first (make milestone N=3, or --run-reference).")
    metrics = json.loads(args.metrics.read_text())
    if metrics.get("quick"):
        sys.exit(f"\n{args.metrics} is from a --quick run; the comparison needs a full run.")
    target = metrics["criteria_target"]
    settings = {**metrics["settings"], "seed": metrics["seed"]}
    torch_threads = args.threads or 2
    print(f"\nPyTorch: the same network and schedule ({settings['epochs']} epochs at most), "
          f"{torch_threads} thread(s), test accuracy after every epoch ...", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(settings, f)
    try:
        cmd = ["--worker", "train", "--settings", f.name, "--target", str(target), "--threads", str(torch_threads)]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        theirs = _worker(cmd, show_progress=True)
    finally:
        os.unlink(f.name)
    ours = reference_time_to(metrics, target)
    print(f"\nTime to {target:.0%} test accuracy (training time only, evaluation excluded):")
    t = theirs["seconds_to_target"]
    print(f"  reference TinyTorch: {'not reached' if ours is None else f'{ours:.0f} s'}"
          f" ({metrics['cnn']['epochs_run']} epochs run, load average then: {metrics['cnn'].get('load_average', '?')})")
    per_epoch = ", ".join(f"{e['test_accuracy']:.1%}" for e in theirs["epochs"])
    print(f"  PyTorch:             {'not reached' if t is None else f'{t:.0f} s'} "
          f"(test accuracy by epoch: {per_epoch}; load average now {os.getloadavg()[0]:.2f})")
    if ours is not None and t is not None:
        print(f"  ratio {ours / t:.1f}x   goal <= {TRAIN_GOAL:g}x")


if __name__ == "__main__":
    main()
