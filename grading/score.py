"""Scoring and gating: pure functions from raw run facts to scored results.

No pytest, no files: everything here is tested on hand-made ModuleRun records.
"""

from __future__ import annotations

import re
import signal

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


PYTEST_EXIT_CODES = {2: "pytest was interrupted", 3: "pytest stopped on an internal error, e.g. a SystemExit"}


def _limit(run: ModuleRun, name: str, unit: str) -> str:
    value = run.limits.get(name)
    return f" {value:g} {unit}" if isinstance(value, (int, float)) else ""


def _death(run: ModuleRun) -> str:
    """How the test process ended, in words a TA can act on."""
    if run.output_limit:
        return f"wrote more output than the grader keeps: output over {run.limits.get('output_kb', '?')} KB was cut"
    code = run.returncode
    if run.crash:
        return f"crashed with {run.crash}"
    if code is None or code >= 0:
        meaning = PYTEST_EXIT_CODES.get(code)
        return f"exited with code {code}" + (f" ({meaning})" if meaning else "")
    number = -code
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGXCPU:
        return f"hit the CPU-time limit{_limit(run, 'cpu_seconds', 's')} ({name})"
    if number == signal.SIGSEGV:
        return f"crashed ({name}: a segmentation fault, e.g. recursion too deep for the C stack)"
    if number == signal.SIGKILL:
        return f"was killed ({name}; memory limit{_limit(run, 'memory_mb', 'MB')} or CPU-time limit?)"
    return f"was killed by {name}"


def score_module(module: Module, planned: list[PlannedTest], run: ModuleRun, *,
                 tasks_total: int, file_problem: str = "", file_status: str = ERROR) -> ModuleResult:
    """Score one module from its planned tests and the facts of its run; classify its status.

    A file problem (missing, unreadable, refused by the policy check) means the module did not
    run: status `file_status`. Results that did not verify (run.problems) score nothing.
    """
    result = ModuleResult(module.id, module.slug, module.title, 0.0, float(sum(t.points for t in planned)),
                          PARTIAL, duration=round(run.duration, 3))
    if file_problem:
        result.status, result.message = file_status, _clip(file_problem)
        result.tests = [TestResult(t.name, t.visibility, "not_run", 0.0, t.points, "not run") for t in planned]
        return result
    if run.problems:
        result.status = ERROR
        result.message = _clip("the test results were rejected, no points given: " + "; ".join(run.problems))
        result.tests = [TestResult(t.name, t.visibility, "error", 0.0, t.points, "results rejected") for t in planned]
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
        limit = run.limits.get("module_timeout")
        result.message = (f"timeout after {limit:g} s (the module's time limit)" if limit else
                          "cut off at the module's time limit") + (
            f" while running {crashed_during.name}" if crashed_during else "")
    elif crashed_during is not None:
        result.status = ERROR
        result.message = _clip(f"the test process {_death(run)} during {crashed_during.name}; later tests did not run")
    elif result.score >= result.max:
        result.status = PASSED
    elif result.score == 0 and tasks_total > 0 and run.tasks_remaining >= tasks_total:
        result.status = NOT_STARTED
        readme = f"assignments/{module.folder}/README.md"     # lists the bodies, in whichever file
        result.message = f"all {tasks_total} bodies of this module still raise NotImplementedError (see {readme})"
    elif any(f.timeout for f in failures):
        result.status = TIMEOUT
        slow = [t.name for t in result.tests if t.outcome == "timeout"]
        result.message = _clip(f"tests hit the per-test time limit{_limit(run, 'test_timeout', 's')}: {', '.join(slow)}")
    else:
        owners = {module_of_file(f.origin_file) for f in failures}
        if failures and all(o is not None and o < module.id for o in owners):
            result.status, result.blocked_by = BLOCKED, sorted(owners)
            result.message = "failures come from " + ", ".join(f"module {o}" for o in sorted(owners)) + "'s file"
        else:
            result.status = PARTIAL
    notes = []
    if any(f.exc_type == "MemoryError" for f in failures):
        notes.append(f"a test ran out of memory (memory limit{_limit(run, 'memory_mb', 'MB')})")
    if run.output_limit and result.status != ERROR:
        notes.append(f"output over {run.limits.get('output_kb', '?')} KB was cut")
    if notes:
        result.message = _clip("; ".join(([result.message] if result.message else []) + notes))
    return result


def gate(milestone: Milestone, modules: dict[str, ModuleResult]) -> MilestoneResult:
    """A milestone is unlocked when every module it requires has status `passed`."""
    missing = [m for m in milestone.requires if m not in modules or modules[m].status != PASSED]
    return MilestoneResult(milestone.id, milestone.slug, milestone.title, list(milestone.requires),
                           not missing, missing)


def gate_all(course: Course, modules: list[ModuleResult]) -> list[MilestoneResult]:
    by_id = {m.id: m for m in modules}
    return [gate(ms, by_id) for ms in course.milestones]
