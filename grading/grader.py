"""Grade a submission: sandbox, one process per module, score, isolate, gate, report.

Modules run in course order, `jobs` at a time. When a module's tests hang, the function they
hang in is passed to the modules started after it, whose tests then stop within seconds when
they hang in the same place (child.py, start_watchdog): one loop in Tensor.__init__ costs the
grade about one per-test limit per module running at that moment, not one per module.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from grading import integrity, isolate
from grading.blame import Blame
from grading.limits import Limits
from grading.model import Integrity, ModuleResult, ModuleRun, Plan, Report, Status
from grading.plan import load_plan, plan_to_json
from grading.run import RunSpec, child_env, preloads, run_module
from grading.sandbox import StudentFile, TestSources, build_sandbox
from grading.score import gate_all, score_module, with_hints
from grading.zygote import Zygote
from tinytorch.manifest import Course, Module

_STUB_RAISE = re.compile(r"raise\s+NotImplementedError\(\s*['\"]Module (\d\d) \(")


def count_stub_bodies(submission: Path, course: Course) -> dict[str, int]:
    """How many stub bodies of each module are still in the student's files."""
    counts = {m.id: 0 for m in course.modules}
    for module in course.modules:
        path = submission / module.student_file
        if path.is_file():
            for match in _STUB_RAISE.finditer(path.read_text(encoding="utf-8", errors="replace")):
                if match.group(1) in counts:
                    counts[match.group(1)] += 1
    return counts


@dataclass
class Grading:
    """One grading in progress: the sandbox, the plan, and how to run and score a module in it."""
    course: Course
    sandbox: Path
    plan: Plan
    files: dict[str, StudentFile]
    limits: Limits
    overrides: dict
    zygote: Zygote | None
    blame: Blame
    remaining: dict[str, int]
    known_hangs: list = field(default_factory=list)
    guard_log: list = field(default_factory=list)        # "module: what the guard refused (file:line)"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, module: Module, submission: Path | None = None, remaining: int | None = None) -> ModuleRun:
        if self.files[module.id].problem and submission is None:   # not run: score.py says why
            return ModuleRun(module.id, None, 0.0)
        with self.lock:
            hangs = tuple(self.known_hangs)
        spec = RunSpec(module.id, self.blame.spans(), hangs, module.guard_allow, preloads(module.allow_imports))
        run = run_module(self.course.root, self.sandbox, module.id, [str(self.sandbox / "tests" / module.folder)],
                         self.limits.for_module(module, self.overrides), blame=self.blame.owner_at,
                         expected=[t.nodeid for t in self.plan.for_module(module.id)], zygote=self.zygote,
                         submission=submission, spec=spec,
                         tasks_remaining=self.remaining[module.id] if remaining is None else remaining)
        self._learn_hangs(run)
        with self.lock:
            self.guard_log += [f"{module.id}: {e.what}" + (f" ({e.origin_file}:{e.origin_line})" if e.origin_file else "")
                               for e in run.guard if submission is None]
        return run

    def _learn_hangs(self, run: ModuleRun) -> None:
        for failure in run.failures.values():
            span = self.blame.hang_span(failure.origin_file, failure.origin_line) if failure.timeout else None
            if span:
                with self.lock:
                    if span[:3] not in [h[:3] for h in self.known_hangs]:
                        self.known_hangs.append(span)

    def score(self, module: Module, run: ModuleRun, variant: bool = False) -> ModuleResult:
        file = self.files[module.id]
        return score_module(module, self.plan.for_module(module.id), run, tasks_total=self.plan.tasks.get(module.id, 0),
                            file_problem="" if variant else file.problem, file_status=file.status)

    def variant(self, module: Module, take: set[str], name: str) -> tuple[Path, int]:
        """A submission with the tasks of the modules in `take` from the reference (isolate.py)."""
        dest = isolate.build_variant(self.course, self.plan.owners, self.sandbox / "submission", self.sandbox / name,
                                     take)
        return dest, count_stub_bodies(dest, self.course)[module.id]


def _pool_map(function, items, workers: int) -> list:
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items) or 1))) as pool:
        return list(pool.map(function, items))


def isolate_all(g: Grading, results: list[ModuleResult], workers: int, progress=None) -> list[ModuleResult]:
    """Run each failing module with the reference prerequisites; charge what that fixes (isolate.py)."""
    by_id = {r.id: r for r in results}
    todo = [m for m in g.course.modules if m.id in by_id and by_id[m.id].status in isolate.ISOLATE and m.requires]

    def isolated(module: Module) -> ModuleResult:
        path, left = g.variant(module, set(module.requires), f"iso-{module.id}")
        return g.score(module, g.run(module, path, left), variant=True)

    alone = dict(zip([m.id for m in todo], _pool_map(isolated, todo, workers)))
    for module in todo:                          # in course order: earlier verdicts are final
        result, iso = by_id[module.id], alone[module.id]
        culprits: dict[str, set[str]] = {}
        if isolate.fixed_by(result, iso):
            suspects = [p for p in module.requires if by_id[p].status not in (Status.PASSED, Status.BLOCKED)]

            def one(prereq: str) -> set[str]:
                path, left = g.variant(module, {prereq}, f"iso-{module.id}-{prereq}")
                return isolate.fixed_by(result, g.score(module, g.run(module, path, left), variant=True))

            culprits = dict(zip(suspects, _pool_map(one, suspects, workers)))
        by_id[module.id] = isolate.charge(result, iso, culprits)
        if progress:
            progress(by_id[module.id], isolated=True)
    return [by_id[r.id] for r in results]


def grade(course: Course, submission: Path, sources: TestSources, *, limits: Limits | None = None,
          overrides: dict | None = None, modules: list[str] | None = None, jobs: int | None = None,
          label: str | None = None, fork: bool = True, policy: bool = True, isolated: bool | None = None,
          progress=None) -> Report:
    """Grade `submission` (only read, never written) and return the scored report.

    `isolated` (default: whenever this checkout has the reference solutions) adds isolated
    scores and charges wrong values to earlier modules; without a reference each failing module
    gets a hint naming the earlier modules that do not pass yet. `progress(result)` is called as
    each module finishes. `fork=False` starts a fresh interpreter per module instead of forking
    from the zygote; `policy=False` skips the static policy check (course self-tests only).
    """
    started = time.monotonic()
    submission = submission.resolve()
    limits = limits or Limits.from_manifest(course.grading)
    selected = [m for m in course.modules if modules is None or m.id in modules]
    plan = load_plan(course, sources)
    has_reference = all((course.root / m.solution_file).is_file() for m in course.modules)
    isolated = has_reference if isolated is None else isolated and has_reference
    workers = max(1, jobs or os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="tt-sandbox-") as tmp:
        sandbox = Path(tmp)
        files = build_sandbox(course, submission, sources, sandbox, policy=policy)
        runnable = any(not files[m.id].problem for m in selected)
        zygote = Zygote(child_env(sandbox, sandbox / "work"), sandbox / "work") if fork and runnable else None
        g = Grading(course, sandbox, plan, files, limits, overrides or {}, zygote,
                    Blame(course, plan.owners, sandbox / "submission"), count_stub_bodies(sandbox / "submission", course))

        def one(module: Module) -> ModuleResult:
            result = g.score(module, g.run(module))
            if progress:
                progress(result, isolated=False)
            return result

        try:
            results = _pool_map(one, selected, workers)
            if isolated:
                results = isolate_all(g, results, workers, progress)
        finally:
            if zygote is not None:
                zygote.close()
        guard = tuple(g.guard_log)
    if not isolated:
        results = with_hints(results, course)
    found = _integrity(course, submission, files, guard)
    if found.layout:               # every module says where the files were found, not just "missing"
        results = [replace(r, hint=found.layout) if r.status == Status.ERROR else r for r in results]
    return _report(course, submission, sources, plan, files, results, found, label, started)


def _report(course: Course, submission: Path, sources: TestSources, plan: Plan, files: dict[str, StudentFile],
            results: list[ModuleResult], found: Integrity, label: str | None, started: float) -> Report:
    policy = course.grading.get("score", "integrated")
    results = [isolate.recorded(r, policy) for r in results]
    hidden = any(t.visibility == "hidden" for t in plan.tests) and (sources.hidden_root or sources.hidden_in_course)
    return Report(
        submission=label or str(submission), commit=integrity.commit_of(submission),
        tests="all" if hidden else "visible", modules=tuple(results), milestones=gate_all(course, results),
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration=time.monotonic() - started, files={files[m.id].path: files[m.id].sha256 for m in course.modules
                                                    if m.id in {r.id for r in results}},
        integrity=found, provenance=integrity.provenance(course, sources.all_files(course),
                                                         json.dumps(plan_to_json(plan))),
        score_policy=policy,
    )


def _integrity(course: Course, submission: Path, files: dict[str, StudentFile], guard: tuple[str, ...]) -> Integrity:
    paths = list(integrity.walk(submission))
    state, changed = integrity.working_tree(submission, [f.path for f in files.values()])
    return Integrity(
        working_tree=state, changed_files=changed, ignored_files=integrity.ignored_files(course, submission, paths),
        policy=tuple(f.problem for f in files.values() if f.status == Status.POLICY and f.problem),
        guard=guard, layout=integrity.layout_problem(course, submission, paths),
    )
