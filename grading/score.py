"""Scoring and gating: pure functions from raw run facts to scored results.

Two steps: each planned test becomes a TestResult (`test_results`), then the module gets the
status of the first status rule that applies (`STATUS_RULES`). Blame goes by task: a failure
carries the module whose function raised it (`Failure.owner`, from grading/blame.py), so
`MulBackward.backward` in tensor.py is module 05's, not module 01's. No pytest, no files:
everything here is tested on hand-made ModuleRun records.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, replace

from grading.model import (Failure, MilestoneResult, ModuleResult, ModuleRun, Outcome, PlannedTest, Status,
                           TestResult)
from grading.text import tidy_numbers
from tinytorch.manifest import Course, Milestone, Module

MESSAGE_LIMIT = 300
PYTEST_EXIT_CODES = {2: "pytest was interrupted", 3: "pytest stopped on an internal error, e.g. a SystemExit"}


def _clip(text: str) -> str:
    text = tidy_numbers(text)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def _located(failure: Failure, module: str) -> str:
    """`file:line`, and whose task that is when it is another module's."""
    if not failure.where:
        return ""
    if module and failure.owner and failure.owner != module:
        return f"{failure.where}, in module {failure.owner}'s {failure.task or 'code'}"
    return failure.where


def describe(failure: Failure, visibility: str, module: str = "") -> str:
    """A failure message: full for visible tests, a short category for hidden ones."""
    where = _located(failure, module)
    if failure.timeout:
        return f"timed out{' in ' + where if where else ''}"
    if failure.not_implemented and failure.where:
        return _clip(f"not implemented yet: {failure.message}")
    if visibility == "hidden":
        if failure.exc_type == "AssertionError":
            return "wrong result"
        return f"{failure.exc_type} raised in {where}" if where else failure.exc_type
    text = f"{failure.exc_type}: {failure.message}" if failure.message else failure.exc_type
    return _clip(f"{text} ({where})" if where else text)


def staff_detail(failure: Failure) -> str:
    """What staff see of any failure: the whole message and the student's file:line."""
    text = f"{failure.exc_type}: {failure.message}" if failure.message else failure.exc_type
    return _clip(f"{text} ({failure.where})" if failure.where else text)


def test_results(planned: list[PlannedTest], run: ModuleRun) -> tuple[TestResult, ...]:
    """Step 1: each planned test's outcome, points and message."""
    results = []
    for test in planned:
        outcome = run.outcomes.get(test.nodeid)
        if outcome == "passed":
            results.append(TestResult(test.name, test.visibility, Outcome.PASSED, test.points, test.points))
            continue
        if outcome is None:
            why = f"not run: {run.stopped}" if run.stopped else "not run"
            results.append(TestResult(test.name, test.visibility, Outcome.NOT_RUN, 0.0, test.points, why))
            continue
        failure = run.failures.get(test.nodeid) or Failure("Skipped" if outcome == "skipped" else "Failed", "")
        results.append(TestResult(test.name, test.visibility, Outcome.TIMEOUT if failure.timeout else Outcome.FAILED,
                                  0.0, test.points, describe(failure, test.visibility, run.module),
                                  staff_detail(failure)))
    return tuple(results)


# --------------------------------------------------------------------------- step 2: the status


@dataclass(frozen=True)
class Case:
    """What a status rule looks at."""
    module: Module
    run: ModuleRun
    tests: tuple[TestResult, ...]
    failures: tuple[Failure, ...]        # the planned tests' failures
    tasks_total: int

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max(self) -> float:
        return round(sum(t.max for t in self.tests), 4)

    def unexplained_gap(self) -> bool:
        """Planned tests without an outcome, while nothing says why (the process died)."""
        return any(t.outcome == Outcome.NOT_RUN for t in self.tests) and not self.run.stopped


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str = ""
    blocked_by: tuple[str, ...] = ()


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


def _earlier_owners(failures, module: str) -> tuple[str, ...] | None:
    """The earlier modules every failure is charged to, or None when some failure is this module's."""
    owners = {f.owner for f in failures}
    if failures and all(o is not None and o < module for o in owners):
        return tuple(sorted(owners))
    return None


def import_failed(case: Case) -> Verdict | None:
    if not case.run.collect_errors:
        return None
    cause = case.run.collect_errors[0]
    text = f"{cause.exc_type}: {cause.message}" + (f" ({cause.where})" if cause.where else "")
    if cause.owner and cause.owner < case.module.id:
        return Verdict(Status.BLOCKED, f"importing this module failed in module {cause.owner}'s code: {text}",
                       (cause.owner,))
    return Verdict(Status.ERROR, f"the module could not be imported: {text}")


def cut_off(case: Case) -> Verdict | None:
    if not case.run.wall_timeout:
        return None
    limit = case.run.limits.get("module_timeout")
    running = next((t.name for t in case.tests if t.outcome == Outcome.NOT_RUN), None)
    return Verdict(Status.TIMEOUT, (f"timeout after {limit:g} s (the module's time limit)" if limit else
                                    "cut off at the module's time limit")
                   + (f" while running {running}" if running else ""))


def died(case: Case) -> Verdict | None:
    if not case.unexplained_gap():
        return None
    running = next(t.name for t in case.tests if t.outcome == Outcome.NOT_RUN)
    return Verdict(Status.ERROR, f"the test process {_death(case.run)} during {running}; later tests did not run")


def all_passed(case: Case) -> Verdict | None:
    return Verdict(Status.PASSED) if case.score >= case.max else None


def not_started(case: Case) -> Verdict | None:
    if case.score == 0 and case.tasks_total > 0 and case.run.tasks_remaining >= case.tasks_total:
        readme = f"assignments/{case.module.folder}/README.md"     # lists the bodies, in whichever file
        return Verdict(Status.NOT_STARTED,
                       f"all {case.tasks_total} bodies of this module still raise NotImplementedError (see {readme})")
    return None


def hung(case: Case) -> Verdict | None:
    """Per-test timeouts: blocked when the code that hangs is an earlier module's, else timeout."""
    hangs = [f for f in case.failures if f.timeout]
    if not hangs:
        return None
    first = hangs[0]
    where = f" at {first.where}" + (f" ({first.task})" if first.task else "") if first.where else ""
    earlier = _earlier_owners(hangs, case.module.id)
    stopped = f"; {case.run.stopped}" if case.run.stopped else ""
    if earlier:
        return Verdict(Status.BLOCKED, f"tests hang in module {', '.join(earlier)}'s code{where}{stopped}", earlier)
    slow = ", ".join(t.name for t in case.tests if t.outcome == Outcome.TIMEOUT)
    return Verdict(Status.TIMEOUT, f"hangs{where}: {slow} hit the per-test time limit"
                   f"{_limit(case.run, 'test_timeout', 's')}{stopped}")


def blocked(case: Case) -> Verdict | None:
    earlier = _earlier_owners(case.failures, case.module.id)
    if earlier is None:
        return None
    tasks = sorted({f.task for f in case.failures if f.task})
    return Verdict(Status.BLOCKED, "failures come from " + ", ".join(f"module {o}" for o in earlier) + "'s code"
                   + (f" ({', '.join(tasks[:3])})" if tasks else ""), earlier)


def partial(case: Case) -> Verdict:
    unfinished = sorted({f.task for f in case.failures if f.not_implemented and f.owner == case.module.id and f.task})
    message = f"not finished: {', '.join(unfinished[:4])}" + (" ..." if len(unfinished) > 4 else "") if unfinished else ""
    return Verdict(Status.PARTIAL, message)


# The order is the meaning: an import failure explains everything after it, a cut-off run
# explains missing outcomes, a dead process explains them otherwise; only then do the
# outcomes speak (all passed, nothing started, hangs, failures in earlier modules' code).
STATUS_RULES = (import_failed, cut_off, died, all_passed, not_started, hung, blocked)


def notes(case: Case, status: Status) -> list[str]:
    extra = []
    if any(f.exc_type == "MemoryError" for f in case.failures):
        extra.append(f"a test ran out of memory (memory limit{_limit(case.run, 'memory_mb', 'MB')})")
    if case.run.output_limit and status != Status.ERROR:
        extra.append(f"output over {case.run.limits.get('output_kb', '?')} KB was cut")
    return extra


def score_module(module: Module, planned: list[PlannedTest], run: ModuleRun, *,
                 tasks_total: int, file_problem: str = "", file_status: str = Status.ERROR) -> ModuleResult:
    """Score one module from its planned tests and the facts of its run; classify its status.

    A file problem (missing, unreadable, refused by the policy check) means the module did not
    run: status `file_status`. Results that did not verify (run.problems) score nothing.
    """
    total = round(float(sum(t.points for t in planned)), 4)
    base = dict(id=module.id, slug=module.slug, title=module.title, max=total, duration=round(run.duration, 3))
    if file_problem:
        tests = tuple(TestResult(t.name, t.visibility, Outcome.NOT_RUN, 0.0, t.points, "not run") for t in planned)
        return ModuleResult(**base, score=0.0, status=Status(file_status), message=_clip(file_problem), tests=tests)
    if run.problems:
        tests = tuple(TestResult(t.name, t.visibility, Outcome.ERROR, 0.0, t.points, "results rejected") for t in planned)
        return ModuleResult(**base, score=0.0, status=Status.ERROR, tests=tests, message=_clip(
            "the test results were rejected, no points given: " + "; ".join(run.problems)))
    tests = test_results(planned, run)
    case = Case(module, run, tests, tuple(run.failures[t.nodeid] for t in planned if t.nodeid in run.failures),
                tasks_total)
    verdict = next((v for rule in STATUS_RULES if (v := rule(case)) is not None), None) or partial(case)
    message = "; ".join(filter(None, [verdict.message, *notes(case, verdict.status)]))
    return ModuleResult(**base, score=case.score, status=verdict.status, message=_clip(message),
                        blocked_by=verdict.blocked_by, tests=tests, integrated_score=case.score)


def with_hints(results: list[ModuleResult], course: Course) -> list[ModuleResult]:
    """Where no reference is at hand (a student's CI): point each failing module at the earlier
    modules that do not pass yet, whose wrong values may be the cause."""
    status = {r.id: r.status for r in results}
    out = []
    for r in results:
        waiting = [m for m in course.module(r.id).requires if status.get(m, Status.PASSED) != Status.PASSED]
        if r.status in (Status.PARTIAL, Status.TIMEOUT) and waiting:
            names = ", ".join(waiting)
            verb = "does" if len(waiting) == 1 else "do"
            r = replace(r, hint=f"module{'s' if len(waiting) > 1 else ''} {names} {verb} not pass yet; "
                                f"failures here may come from {'it' if len(waiting) == 1 else 'them'}")
        out.append(r)
    return out


def gate(milestone: Milestone, modules: dict[str, ModuleResult]) -> MilestoneResult:
    """A milestone is unlocked when every module it requires has status `passed`."""
    missing = tuple(m for m in milestone.requires if m not in modules or modules[m].status != Status.PASSED)
    return MilestoneResult(milestone.id, milestone.slug, milestone.title, tuple(milestone.requires),
                           not missing, missing)


def gate_all(course: Course, modules) -> tuple[MilestoneResult, ...]:
    by_id = {m.id: m for m in modules}
    return tuple(gate(ms, by_id) for ms in course.milestones)
