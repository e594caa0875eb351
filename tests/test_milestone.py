"""Milestones through their real gate and their real training, quick runs."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from support import COURSE, build_submission

pytestmark = pytest.mark.slow


def _milestone(*args, number="1", **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTORCH_", "FORCE"))}
    return subprocess.run([sys.executable, "-m", "grading", "milestone", number, *args], capture_output=True,
                          text=True, timeout=600, cwd=COURSE.root, env={**clean, **env})


def test_milestone_1_is_locked_until_modules_01_to_04_pass(tmp_path):
    build_submission(tmp_path, keep={"01", "02"})
    proc = _milestone("--quick", "--out", str(tmp_path / "out"), TINYTORCH_ROOT=str(tmp_path))
    assert proc.returncode != 0
    assert "locked" in proc.stderr and "03: not_started" in proc.stderr and "04: not_started" in proc.stderr
    assert "01:" not in proc.stderr.split("locked", 1)[1]
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_milestone_1_reaches_its_criterion_with_the_reference(tmp_path):
    out = tmp_path / "out"
    proc = _milestone("--quick", "--out", str(out), TINYTORCH_SOURCE="solutions")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["forced"] is False
    assert metrics["accuracy"] >= COURSE.milestone("1").criteria["accuracy"]
    for png in ("decision_boundary.png", "convergence.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "report.md").read_text().startswith("# Milestone 1: Perceptron")


def test_force_runs_a_locked_milestone_and_says_so(tmp_path):
    # Everything finished except one systems question of module 04: 04 is `partial`, the
    # milestone is locked, and yet the perceptron can train.
    wrong_answer = "\n\ndef loss_memory_bytes(*args, **kwargs):\n    return -1\n"
    build_submission(tmp_path, edits={"04": lambda text: text + wrong_answer})
    out = tmp_path / "out"
    locked = _milestone("--quick", "--out", str(out), TINYTORCH_ROOT=str(tmp_path))
    assert locked.returncode != 0 and "04: partial" in locked.stderr
    forced = _milestone("--quick", "--force", "--out", str(out), TINYTORCH_ROOT=str(tmp_path))
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "FORCE" in forced.stdout
    assert json.loads((out / "metrics.json").read_text())["forced"] is True
    assert "does not count" in (out / "report.md").read_text()


def _tiny_mnist(root, n_train=600, n_test=200, seed=0):
    """MNIST's four files in the canonical gzipped IDX format, under root/mnist/, holding made-up
    digits: each class a fixed random pattern of ink, drawn with random brightness and noise."""
    rng = np.random.default_rng(seed)
    patterns = np.zeros((10, 28, 28))
    patterns[:, 6:22, 6:22] = rng.random((10, 16, 16)) < 0.25
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = patterns[labels] * rng.uniform(150, 255, (n, 1, 1)) + rng.uniform(0, 60, (n, 28, 28))
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            array = np.clip(array, 0, 255).astype(np.uint8)
            header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (folder / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    return root


def test_milestone_2_is_locked_until_modules_01_to_07_pass(tmp_path):
    build_submission(tmp_path, keep={"01", "02", "03", "04", "05"})
    proc = _milestone("--quick", "--out", str(tmp_path / "out"), number="2", TINYTORCH_ROOT=str(tmp_path))
    assert proc.returncode != 0
    assert "locked" in proc.stderr and "06: not_started" in proc.stderr and "07: not_started" in proc.stderr
    assert "05:" not in proc.stderr.split("locked", 1)[1]
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_milestone_2_trains_the_mlp_with_the_reference_on_a_tiny_mnist(tmp_path):
    out = tmp_path / "out"
    data = _tiny_mnist(tmp_path / "data")
    proc = _milestone("--quick", "--out", str(out), "--data-dir", str(data), number="2", TINYTORCH_SOURCE="solutions")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["forced"] is False and metrics["quick"] is True
    assert 0.5 <= metrics["target"] <= metrics["accuracy"]             # well above chance (10%)
    assert metrics["data"]["n_train"] + metrics["data"]["n_val"] == 600 and metrics["data"]["n_test"] == 200
    assert metrics["mlp"]["params"] == 784 * 128 + 128 + 128 * 10 + 10 and metrics["baseline"]["params"] == 7850
    assert len(metrics["mlp"]["val_accuracy"]) == metrics["mlp"]["epochs_run"] >= metrics["mlp"]["best_epoch"] >= 1
    rows = {row["batch_size"]: row for row in metrics["memory"]}
    assert rows[128]["activation_memory_bytes"] == 128 * (784 + 128 + 10) * 4
    assert rows[128]["fixed_bytes"] == 4 * metrics["mlp"]["params"] * 4       # params, grads, Adam m and v
    for row in rows.values():                                               # the graph keeps more than the floor
        assert row["graph_activation_bytes"] > row["shape_activation_bytes"] > row["activation_memory_bytes"]
    assert rows[2048]["graph_activation_bytes"] > 60 * rows[32]["graph_activation_bytes"]   # linear in the batch
    assert (out / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "mlp_best.npz").is_file() and (out / "baseline_best.npz").is_file()
    assert (out / "report.md").read_text().startswith("# Milestone 2: MLP on MNIST")
