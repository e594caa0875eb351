"""Isolated scoring (staff side): a module run with the reference for its prerequisites.

A wrong value from an earlier module (ReLU.forward returning x) raises nothing: module 03's
tests just fail, and blame by traceback cannot see where the wrong number came from. Where the
reference solutions are at hand (the course repository, a TA's machine; never a student's
repository or its CI), the grader runs such a module again on a *variant* of the submission in
which the prerequisites' tasks are the reference's:

    isolated run     every prerequisite's functions from the reference, the module's own from the
                     student: its score is the module's work alone ("isolated" in report.json)
    one at a time    a failing test that passes isolated is charged to an earlier module: the
                     reference is put in for one non-passing prerequisite at a time to find which

A variant is built function by function (blame.py's rule): in a file holding several modules'
tasks (tensor.py holds 01's and 05's), only the functions of the modules taken from the
reference are replaced; the student's own functions, helpers and imports stay.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from grading.blame import function_spans
from grading.model import Isolated, ModuleResult, Outcome, Status
from grading.stubs import make_stub
from tinytorch.manifest import Course

ISOLATE = (Status.PARTIAL, Status.BLOCKED, Status.TIMEOUT)      # statuses worth an isolated run


def merged_source(student: str, reference: str, take: set[str], fallback: str) -> str:
    """`student` with each function named in `take` replaced by the reference's function.

    A student file without functions (it does not parse, or the grader replaced it) keeps
    nothing of the student's: `fallback` (the stub with only the taken tasks solved) stands in.
    """
    theirs = {name: (a, b) for a, b, name in function_spans(reference)}
    mine = {name: (a, b) for a, b, name in function_spans(student)}
    if not mine:
        return fallback
    lines, ref_lines = student.splitlines(keepends=True), reference.splitlines(keepends=True)
    for name in sorted(take & set(mine) & set(theirs), key=lambda n: -mine[n][0]):    # bottom-up
        (a, b), (c, d) = mine[name], theirs[name]
        lines[a - 1:b] = ref_lines[c - 1:d]
    return "".join(lines)


def build_variant(course: Course, owners: dict[str, dict[str, str]], student_root: Path, dest: Path,
                  take: set[str]) -> Path:
    """A submission under `dest` whose tasks of the modules in `take` are the reference's."""
    for module in course.modules:
        target = dest / module.student_file
        target.parent.mkdir(parents=True, exist_ok=True)
        tasks = owners.get(module.student_file, {})
        taken = {name for name, owner in tasks.items() if owner in take}
        student = student_root / module.student_file
        reference = course.root / module.solution_file
        if module.id in take and len(taken) == len(tasks):
            shutil.copyfile(reference, target)
        elif not taken:
            shutil.copyfile(student, target)
        else:
            ref_text = reference.read_text(encoding="utf-8")
            fallback = make_stub(ref_text, reference, module, course, frozenset(take))
            target.write_text(merged_source(student.read_text(encoding="utf-8", errors="replace"), ref_text, taken,
                                            fallback), encoding="utf-8")
    return dest


def fixed_by(integrated: ModuleResult, other: ModuleResult) -> set[str]:
    """Tests that fail in `integrated` and pass in `other`."""
    passed = {t.name for t in other.tests if t.outcome == Outcome.PASSED}
    return {t.name for t in integrated.tests if t.outcome != Outcome.PASSED and t.name in passed}


def charge(result: ModuleResult, isolated: ModuleResult, culprits: dict[str, set[str]]) -> ModuleResult:
    """`result` with its isolated score, and blocked by the prerequisites that explain its failures.

    `culprits` maps each non-passing prerequisite tried alone to the failing tests its reference
    fixed. Blocked when every failing test passes with the reference prerequisites; a module
    already blocked by an exception in an earlier module's code is charged to the module at the
    root instead, when one is found (05's gradcheck raises, but 02's ReLU made the values wrong).
    """
    charged = fixed_by(result, isolated)
    failing = {t.name for t in result.tests if t.outcome != Outcome.PASSED}
    result = replace(result, isolated=Isolated(isolated.score, isolated.max))
    names = tuple(sorted(m for m, fixed in culprits.items() if fixed))
    if not charged or (result.status == Status.BLOCKED and set(names) <= set(result.blocked_by)):
        return result                      # already charged to the right module, with its reason
    who = ", ".join(f"module {m}" for m in names) if names else "the earlier modules together"
    if charged == failing:
        return replace(result, status=Status.BLOCKED, blocked_by=names or result.blocked_by, message=(
            f"every failing test passes with the reference for {who}: wrong values come from there "
            f"(isolated score {isolated.score:g}/{isolated.max:g})"))
    note = f"{len(charged)} failing test(s) pass with the reference for {who}"
    return replace(result, blocked_by=names, message="; ".join(filter(None, [result.message, note])))


def recorded(result: ModuleResult, policy: str) -> ModuleResult:
    """The score the course records (course.toml [grading] score): integrated, isolated or max."""
    if result.isolated is None or policy == "integrated":
        return result
    score = result.isolated.score if policy == "isolated" else max(result.score, result.isolated.score)
    return replace(result, score=score)
