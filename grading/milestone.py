"""Milestone gate: may this milestone run on this submission?

Milestone programs call `require_unlocked` before they train. The gate grades the modules the
milestone requires (visible tests, plus hidden ones when this checkout has them), in the same
sandbox as a full grading, and unlocks only when every one of them has status `passed`.
"""

from __future__ import annotations

from pathlib import Path

from grading.grader import grade
from grading.model import MilestoneResult
from grading.sandbox import course_test_sources
from grading.score import gate
from tinytorch.manifest import Course


def check_unlocked(course: Course, milestone_id: str, submission: Path | None = None,
                   hidden: Path | None = None) -> tuple[MilestoneResult, dict[str, str]]:
    """Grade the required modules; return the gate's verdict and each module's status."""
    milestone = course.milestone(milestone_id)
    sources = course_test_sources(course, hidden=hidden)
    report = grade(course, submission or course.root, sources, modules=list(milestone.requires))
    verdict = gate(milestone, {m.id: m for m in report.modules})
    return verdict, {m.id: f"{m.status} ({m.score:g}/{m.max:g})" for m in report.modules}
