"""Scoring and gating: pure functions from raw run facts to scored results.

No pytest, no files: everything here is tested on hand-made ModuleRun records.
"""

from __future__ import annotations

import re

from grading.model import (BLOCKED, ERROR, NOT_STARTED, PARTIAL, PASSED, TIMEOUT, Failure, MilestoneResult,
                           ModuleResult, ModuleRun, PlannedTest, TestResult)
from tinytorch.manifest import Course, Milestone, Module

MESSAGE_LIMIT = 300
_STUDENT_FILE = re.compile(r"^assignments/(\d\d)_[a-z0-9_]+/[a-z0-9_]+\.py$")


def module_of_file(path: str | None) -> str | None:
    """`assignments/02_activations/activations.py` -> `02`."""
    match = _STUDENT_FILE.match(path or "")
    return match.group(1) if match else None


def _where(failure: Failure) -> str:
    if failure.origin_file:
        return f"{failure.origin_file}:{failure.origin_line}"
    return ""


def describe(failure: Failure, visibility: str) -> str:
    """A failure message: full for visible tests, a short category for hidden ones."""
    where = _where(failure)
    if failure.timeout:
        return f"timed out{' in ' + where if where else ''}"
    if failure.not_implemented and where:
        return _clip(f"not implemented yet: {failure.message}")
    if visibility == "hidden":
        if failure.exc_type == "AssertionError":
            return "wrong result"
        if where:
            return f"{failure.exc_type} raised in {where}"
        return f"{failure.exc_type}"
    text = f"{failure.exc_type}: {failure.message}" if failure.message else failure.exc_type
    return _clip(f"{text} ({where})" if where else text)


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def score_module(module: Module, planned: list[PlannedTest], run: ModuleRun, *,
                 tasks_total: int, file_problem: str = "") -> ModuleResult:
    """Score one module from its planned tests and the facts of its run; classify its status."""
    result = ModuleResult(module.id, module.slug, module.title, 0.0, float(sum(t.points for t in planned)),
                          PARTIAL, duration=round(run.duration, 3))
    if file_problem:
        result.status, result.message = ERROR, file_problem
        result.tests = [TestResult(t.name, t.visibility, "not_run", 0.0, t.points, "not run") for t in planned]
        return result

    crashed_during = None
    for test in planned:
        outcome = run.outcomes.get(test.nodeid)
        failure = run.failures.get(test.nodeid)
        if outcome == "passed":
            result.tests.append(TestResult(test.name, test.visibility, "passed", test.points, test.points))
            continue
        if outcome is None:
            if crashed_during is None and not run.collect_errors:
                crashed_during = test
            result.tests.append(TestResult(test.name, test.visibility, "not_run", 0.0, test.points, "not run"))
            continue
        if failure is None:
            failure = Failure(exc_type="Skipped" if outcome == "skipped" else "Failed", message="")
        kind = "timeout" if failure.timeout else "failed"
        result.tests.append(TestResult(test.name, test.visibility, kind, 0.0, test.points,
                                       describe(failure, test.visibility)))
    result.score = round(sum(t.score for t in result.tests), 4)
    failures = [run.failures[t.nodeid] for t in planned if t.nodeid in run.failures]

    if run.collect_errors:
        cause = run.collect_errors[0]
        owner = module_of_file(cause.origin_file)
        where = _where(cause)
        text = f"{cause.exc_type}: {cause.message}" + (f" ({where})" if where else "")
        if owner and owner < module.id:
            result.status, result.blocked_by = BLOCKED, [owner]
            result.message = _clip(f"importing this module failed in module {owner}'s file: {text}")
        else:
            result.status, result.message = ERROR, _clip(f"the module could not be imported: {text}")
    elif run.wall_timeout:
        result.status = TIMEOUT
        result.message = f"cut off after the module's time limit ({run.duration:.0f} s)" + (
            f" while running {crashed_during.name}" if crashed_during else "")
    elif crashed_during is not None:
        result.status = ERROR
        if run.output_limit:
            reason = "wrote more output than the grader keeps"
        elif run.returncode is not None and run.returncode < 0:
            reason = f"was killed by signal {-run.returncode} (memory or CPU limit?)"
        else:
            reason = f"exited with code {run.returncode}"
        result.message = _clip(f"the test process {reason} during {crashed_during.name}; later tests did not run")
    elif result.score >= result.max:
        result.status = PASSED
    elif result.score == 0 and tasks_total > 0 and run.tasks_remaining >= tasks_total:
        result.status = NOT_STARTED
        result.message = f"all {tasks_total} bodies of {module.student_file} still raise NotImplementedError"
    elif any(f.timeout for f in failures):
        result.status = TIMEOUT
        slow = [t.name for t in result.tests if t.outcome == "timeout"]
        result.message = _clip(f"tests hit the per-test time limit: {', '.join(slow)}")
    else:
        owners = {module_of_file(f.origin_file) for f in failures}
        if failures and all(o is not None and o < module.id for o in owners):
            result.status, result.blocked_by = BLOCKED, sorted(owners)
            result.message = "failures come from " + ", ".join(f"module {o}" for o in sorted(owners)) + "'s file"
        else:
            result.status = PARTIAL
    if run.output_limit and result.status not in (ERROR,):
        result.message = _clip((result.message + "; " if result.message else "") + "output was cut")
    return result


def gate(milestone: Milestone, modules: dict[str, ModuleResult]) -> MilestoneResult:
    """A milestone is unlocked when every module it requires has status `passed`."""
    missing = [m for m in milestone.requires if m not in modules or modules[m].status != PASSED]
    return MilestoneResult(milestone.id, milestone.slug, milestone.title, list(milestone.requires),
                           not missing, missing)


def gate_all(course: Course, modules: list[ModuleResult]) -> list[MilestoneResult]:
    by_id = {m.id: m for m in modules}
    return [gate(ms, by_id) for ms in course.milestones]
