"""Milestone gate: may this milestone run on this submission?

Milestone programs call `require_unlocked` before they train. The gate grades the modules the
milestone requires (visible tests, plus hidden ones when this checkout has them), in the same
sandbox as a full grading, and unlocks only when every one of them has status `passed`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grading.grader import grade
from grading.model import MilestoneResult
from grading.sandbox import course_test_sources
from grading.score import gate
from tinytorch.contract import ROOT_ENV, uses_solutions
from tinytorch.manifest import Course


def _loader_submission(course: Course, tmp: Path) -> Path:
    """The submission the loader would import from, given TINYTORCH_SOURCE / TINYTORCH_ROOT."""
    if uses_solutions():
        for module in course.modules:
            target = tmp / module.student_file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(course.root / module.solution_file, target)
        return tmp
    root = os.environ.get(ROOT_ENV)
    return Path(root) if root else course.root


def check_unlocked(course: Course, milestone_id: str, submission: Path | None = None,
                   hidden: Path | None = None) -> tuple[MilestoneResult, dict[str, str]]:
    """Grade the required modules; return the gate's verdict and each module's status.

    Without `submission`, the gate grades the files the milestone itself will import.
    """
    milestone = course.milestone(milestone_id)
    sources = course_test_sources(course, hidden=hidden)
    with tempfile.TemporaryDirectory(prefix="tt-gate-") as tmp:
        root = submission or _loader_submission(course, Path(tmp))
        report = grade(course, root, sources, modules=list(milestone.requires), isolated=False)
    verdict = gate(milestone, {m.id: m for m in report.modules})
    return verdict, {m.id: f"{m.status} ({m.score:g}/{m.max:g})" for m in report.modules}
