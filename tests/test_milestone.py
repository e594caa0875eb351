"""Milestone 1 through its real gate and its real training, quick run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support import COURSE, build_submission

pytestmark = pytest.mark.slow


def _milestone(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTORCH_", "FORCE"))}
    return subprocess.run([sys.executable, "-m", "grading", "milestone", "1", *args], capture_output=True,
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
