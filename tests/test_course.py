"""The course content obeys its contracts: manifest, files, points, dependency rule, stubs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grading.plan import collect_plan
from grading.policy import COURSE_HELPERS
from grading.sandbox import course_test_sources
from grading.stubs import check_stubs, stub_tasks
from support import COURSE

ROOT = COURSE.root


def test_every_module_has_its_files():
    for m in COURSE.modules:
        folder = ROOT / "assignments" / m.folder
        for path in (ROOT / m.solution_file, ROOT / m.student_file, folder / "README.md"):
            assert path.is_file(), f"module {m.id}: {path.relative_to(ROOT)} is missing"
        assert list((folder / "tests").glob("test_*.py")), f"module {m.id} has no visible tests"
        assert list((folder / "hidden").glob("test_*.py")), f"module {m.id} has no hidden tests"


def test_committed_stubs_are_what_make_stubs_writes():
    assert check_stubs(COURSE) == []


def test_every_module_asks_for_work():
    tasks = stub_tasks(COURSE)
    for m in COURSE.modules:
        assert tasks[m.id], f"module {m.id} has no solution region"


def test_points_of_each_module_sum_to_the_manifest():
    plan = collect_plan(COURSE, course_test_sources(COURSE))
    for m in COURSE.modules:
        tests = plan.for_module(m.id)
        total = sum(t.points for t in tests)
        assert total == m.points, f"module {m.id}: tests carry {total} points, course.toml says {m.points}"
        assert all(t.points > 0 for t in tests), f"module {m.id}: a test carries no points"
        assert {t.visibility for t in tests} == {"visible", "hidden"}


def _tinytorch_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n == "tinytorch" or n.startswith("tinytorch.")}


HELPER_MODULES = {"tinytorch.testing", *COURSE_HELPERS}     # test support, and the helpers course code may use


@pytest.mark.parametrize("module", COURSE.modules, ids=lambda m: m.folder)
def test_module_code_and_tests_import_only_allowed_modules(module):
    """Tests and solutions of module k import only k, its prerequisites and the course's helper modules."""
    exports = COURSE.by_export()
    allowed = {module.id, *module.requires}
    folder = ROOT / "assignments" / module.folder
    files = [ROOT / module.solution_file, *folder.glob("tests/*.py"), *folder.glob("hidden/*.py")]
    for path in files:
        for name in _tinytorch_imports(path):
            if name == "tinytorch" or ".".join(name.split(".")[:2]) in HELPER_MODULES:
                continue
            target = exports.get(name) or exports.get(name.rsplit(".", 1)[0])
            assert target is not None, f"{path.relative_to(ROOT)} imports {name}, which is not a course module"
            assert target.id in allowed, (
                f"{path.relative_to(ROOT)} (module {module.id}) imports {name} from module {target.id}, "
                f"which is not among its prerequisites {sorted(allowed)}")


def test_solutions_use_numpy_only():
    allowed = {"numpy", "math", "typing", "dataclasses", "__future__", "collections", "functools",
               "itertools", "numbers", "operator", "time", "pathlib", "os", "json", "tinytorch"}
    for m in COURSE.modules:
        path = ROOT / m.solution_file
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    assert name.split(".")[0] in allowed | set(m.allow_imports), f"{m.solution_file} imports {name}"


def test_readme_of_each_module_names_every_body_to_write():
    tasks = stub_tasks(COURSE)
    for m in COURSE.modules:
        readme = (ROOT / "assignments" / m.folder / "README.md").read_text(encoding="utf-8")
        for region in tasks[m.id]:
            short = region.task.rsplit(".", 1)[-1]
            assert short in readme, f"assignments/{m.folder}/README.md does not mention {region.task}"


def test_readme_course_table_matches_the_manifest():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "`tinytorch." in line]
    expected = [f"| {m.id} | {m.title} | `{m.import_name}` | {m.points:g} |" for m in COURSE.modules]
    assert [row[: len(e)] for row, e in zip(rows, expected)] == expected and len(rows) == len(expected), (
        "README's course table disagrees with course.toml")
    for ms in COURSE.milestones:
        last = ms.requires[-1]
        row = next(r for r in rows if r.startswith(f"| {last} |"))
        assert f"{ms.id} {ms.slug}" in row


def test_no_function_of_the_tools_is_over_60_lines():
    """STYLE.md: tool functions stay short; a long one is split into named steps."""
    long = []
    for path in sorted([*(ROOT / "grading").glob("*.py"), *(ROOT / "tinytorch_stub" / "tinytorch").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not long, long


def test_shared_test_helpers_have_one_name_each():
    """tinytorch/testing.py grows a section per module: a second definition would silently replace the first."""
    tree = ast.parse((ROOT / "tinytorch_stub" / "tinytorch" / "testing.py").read_text(encoding="utf-8"))
    names = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    names += [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"defined more than once in tinytorch/testing.py: {twice}"
