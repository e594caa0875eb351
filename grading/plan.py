"""The plan: which tests the grader expects for each module, and their points.

Points never come from the process that runs student code. The plan is collected once, against
the reference solutions, in a separate process, and cached by the content of the tests and
solutions. A student repository has no solutions: there the plan ships as `plan.json` beside the
tests it describes (the template and hidden-bundle builders write it).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from grading.cache import cache_dir as shared_cache
from grading.limits import Limits
from grading.model import Plan, PlannedTest
from grading.run import run_pytest
from grading.sandbox import TestSources, build_sandbox
from grading.stubs import stub_tasks, task_owners
from tinytorch.contract import SOLUTIONS
from tinytorch.manifest import Course

PLAN_FILE = "plan.json"
PLAN_FORMAT = "plan/2"          # part of the cache key: a plan cached by an older grader is not reused


class PlanError(RuntimeError):
    """The tests could not be collected against the reference."""


def cache_dir() -> Path:
    """Where collected plans are cached (grading/cache.py: a temporary folder without a writable home)."""
    return shared_cache("plans")


def _fingerprint(course: Course, sources: TestSources) -> str:
    digest = hashlib.sha256(PLAN_FORMAT.encode())
    files = [course.root / "course.toml"]
    for module in course.modules:
        files += [course.root / module.solution_file, *sources.visible(module), *sources.hidden(module)]
    for path in files:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:32]


def _visibility(nodeid: str) -> str:
    return "hidden" if "/hidden/" in nodeid else "visible"


def plan_from_json(data: dict) -> Plan:
    return Plan(
        tests=tuple(PlannedTest(t["nodeid"], t["module"], t["visibility"], float(t["points"])) for t in data["tests"]),
        tasks={k: int(v) for k, v in data["tasks"].items()},
        owners={file: dict(tasks) for file, tasks in data.get("owners", {}).items()},
    )


def plan_to_json(plan: Plan) -> dict:
    return {
        "tests": [{"nodeid": t.nodeid, "module": t.module, "visibility": t.visibility, "points": t.points}
                  for t in plan.tests],
        "tasks": plan.tasks,
        "owners": plan.owners,
    }


def collect_plan(course: Course, sources: TestSources) -> Plan:
    """Collect every test against the reference solutions (cached)."""
    key = _fingerprint(course, sources)
    cached = cache_dir() / f"{key}.json"
    if cached.is_file():
        try:
            return plan_from_json(json.loads(cached.read_text(encoding="utf-8")))
        except (ValueError, KeyError):
            pass
    with tempfile.TemporaryDirectory(prefix="tt-plan-") as tmp:
        sandbox = Path(tmp)
        build_sandbox(course, course.root, sources, sandbox)
        by_folder = {m.folder: m.id for m in course.modules}
        tests = [str(sandbox / "tests" / m.folder) for m in course.modules]
        proc = run_pytest(course.root, sandbox, tests, sandbox / "work" / course.modules[0].id,
                          Limits(module_timeout=300), source=SOLUTIONS, collect_only=True)
    lines = proc.lines
    errors = [line for line in lines if line.get("kind") == "collect"]
    if errors:
        first = errors[0]
        raise PlanError(f"collecting the tests against the reference failed: {first.get('exc_type')}: "
                        f"{first.get('message')} ({first.get('nodeid')})")
    planned = []
    for line in lines:
        if line.get("kind") != "item":
            continue
        nodeid = line["nodeid"]
        if line.get("points") is None:
            raise PlanError(f"{nodeid} has no @pytest.mark.points(N) marker")
        planned.append(PlannedTest(nodeid, by_folder[nodeid.split("/", 1)[0]], _visibility(nodeid), float(line["points"])))
    if not planned and proc.returncode not in (0, 5):
        raise PlanError(f"collecting the tests failed (exit {proc.returncode}):\n{proc.output[-2000:]}")
    tasks = {module: len(regions) for module, regions in stub_tasks(course).items()}
    plan = Plan(tuple(planned), tasks, task_owners(course))
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
    tmp.write_text(json.dumps(plan_to_json(plan), indent=1), encoding="utf-8")
    os.replace(tmp, cached)             # atomic: parallel gradings never read half a plan
    return plan


def shipped_plan(course: Course, sources: TestSources) -> Plan:
    """The plan written beside the tests (student repositories, hidden bundles)."""
    tests: list[PlannedTest] = []
    tasks: dict[str, int] = {}
    owners: dict[str, dict[str, str]] = {}
    locations = [course.root / "grading" / PLAN_FILE]
    if sources.hidden_root is not None:
        locations.append(sources.hidden_root / "grading" / PLAN_FILE)
    for location in locations:
        if location.is_file():
            plan = plan_from_json(json.loads(location.read_text(encoding="utf-8")))
            tests += [t for t in plan.tests if not any(t.nodeid == u.nodeid for u in tests)]
            tasks.update(plan.tasks)
            owners.update(plan.owners)
    if not tests:
        raise PlanError(f"no reference solutions and no {PLAN_FILE} in {', '.join(map(str, locations))}: "
                        "cannot tell which tests to expect")
    wanted_hidden = sources.hidden_root is not None or sources.hidden_in_course
    return Plan(tuple(t for t in tests if wanted_hidden or t.visibility == "visible"), tasks, owners)


def load_plan(course: Course, sources: TestSources) -> Plan:
    has_solutions = all((course.root / m.solution_file).is_file() for m in course.modules)
    return collect_plan(course, sources) if has_solutions else shipped_plan(course, sources)
