"""Grade a submission: sandbox, one process per module, score, gate, report."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from grading.model import ModuleRun, Report
from grading.plan import load_plan
from grading.run import Limits, Zygote, child_env, run_module
from grading.sandbox import TestSources, build_sandbox
from grading.score import gate_all, score_module
from tinytorch.manifest import Course

_STUB_RAISE = re.compile(r"raise\s+NotImplementedError\(\s*['\"]Module (\d\d) \(")


def count_stub_bodies(sandbox: Path, course: Course) -> dict[str, int]:
    """How many stub bodies of each module are still in the student's files."""
    counts = {m.id: 0 for m in course.modules}
    for module in course.modules:
        path = sandbox / "submission" / module.student_file
        if path.is_file():
            for match in _STUB_RAISE.finditer(path.read_text(encoding="utf-8", errors="replace")):
                if match.group(1) in counts:
                    counts[match.group(1)] += 1
    return counts


def git_commit(submission: Path) -> str | None:
    if not (submission / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(submission), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def grade(course: Course, submission: Path, sources: TestSources, *, limits: Limits | None = None,
          modules: list[str] | None = None, jobs: int | None = None, label: str | None = None,
          fork: bool = True, policy: bool = True) -> Report:
    """Grade `submission` (only read, never written) and return the scored report.

    `fork=True` starts each module's process from a zygote that has imported pytest and NumPy
    once (see run.Zygote); `fork=False` starts a fresh interpreter per module. `policy=False`
    skips the static policy check (policy.py): only the course's own tests of the runtime
    containment use it.
    """
    started = time.monotonic()
    submission = submission.resolve()
    limits = limits or Limits.from_manifest(course.grading)
    selected = [m for m in course.modules if modules is None or m.id in modules]
    plan = load_plan(course, sources)
    with tempfile.TemporaryDirectory(prefix="tt-sandbox-") as tmp:
        sandbox = Path(tmp)
        files = build_sandbox(course, submission, sources, sandbox, policy=policy)
        remaining = count_stub_bodies(sandbox, course)

        runnable = any(not files[m.id].problem for m in selected)
        zygote = Zygote(child_env(sandbox, sandbox / "work"), sandbox / "work") if fork and runnable else None

        def one(module) -> ModuleRun:
            if files[module.id].problem:        # not run: the report says why (score.score_module)
                return ModuleRun(module.id, None, 0.0)
            tests = [str(sandbox / "tests" / module.folder)]
            expected = [t.nodeid for t in plan.for_module(module.id)]
            run = run_module(course.root, sandbox, module.id, tests, limits, zygote=zygote, expected=expected)
            run.tasks_remaining = remaining[module.id]
            return run

        workers = max(1, min(jobs or os.cpu_count() or 1, len(selected)))
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                runs = list(pool.map(one, selected))
        finally:
            if zygote is not None:
                zygote.close()
    results = [
        score_module(module, plan.for_module(module.id), run, tasks_total=plan.tasks.get(module.id, 0),
                     file_problem=files[module.id].problem, file_status=files[module.id].status)
        for module, run in zip(selected, runs)
    ]
    has_hidden = any(t.visibility == "hidden" for t in plan.tests)
    return Report(
        submission=label or str(submission),
        commit=git_commit(submission),
        tests="all" if has_hidden and (sources.hidden_root or sources.hidden_in_course) else "visible",
        modules=results,
        milestones=gate_all(course, results),
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration=time.monotonic() - started,
        files={files[m.id].path: files[m.id].sha256 for m in selected},
    )
