"""Generate students' files from the reference solutions (single-source stubs).

A solution region is the code between `# BEGIN SOLUTION` and `# END SOLUTION`. In the student's
file each region becomes

    raise NotImplementedError("Module 01 (tensor): write Tensor.__add__ (see its docstring)")

`# BEGIN SOLUTION 05` marks a region that belongs to a later module: its stub names that module.
Everything outside regions is copied as it is.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

from grading import generated
from tinytorch.manifest import Course, Module

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:[ \t]+(?P<module>\d\d))?[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
STUB_MESSAGE = "{tag}: write {task} (see its docstring)"


class StubError(ValueError):
    """A solution file whose regions cannot be turned into a stub."""


@dataclass(frozen=True)
class Region:
    module: str      # the module whose task this region is
    task: str        # qualified name of the enclosing function, e.g. Tensor.__add__
    start: int       # line number of `# BEGIN SOLUTION` (1-based)
    end: int         # line number of `# END SOLUTION`
    indent: str


def _function_names(source: str, path: Path) -> dict[int, str]:
    """Map each line to the qualified name of the innermost function that contains it."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise StubError(f"{path}:{exc.lineno}: solution does not parse: {exc.msg}") from None
    names: dict[int, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    for line in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                        names[line] = qual
                visit(child, qual + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return names


def find_regions(source: str, path: Path, owner: Module, course: Course) -> list[Region]:
    """The solution regions of one file, checked for balance and known module numbers."""
    known = {m.id for m in course.modules}
    functions = _function_names(source, path)
    regions: list[Region] = []
    open_at: tuple[int, str, str] | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if open_at:
                raise StubError(f"{path}:{number}: BEGIN SOLUTION inside the region opened at line {open_at[0]}")
            module = begin["module"] or owner.id
            if module not in known:
                raise StubError(f"{path}:{number}: region marked for module {module}, which course.toml does not list")
            if module < owner.id:
                raise StubError(f"{path}:{number}: region marked for module {module}, earlier than this file's module {owner.id}")
            open_at = (number, module, begin["indent"])
        elif END.match(line):
            if not open_at:
                raise StubError(f"{path}:{number}: END SOLUTION without a BEGIN SOLUTION")
            start, module, indent = open_at
            task = functions.get(start)
            if task is None:
                raise StubError(f"{path}:{start}: a solution region must sit inside a function body")
            mixed = next((r for r in regions if r.task == task and r.module != module), None)
            if mixed:
                raise StubError(f"{path}:{start}: {task} holds regions of modules {mixed.module} and {module}; "
                                "a function's regions must belong to one module (blame goes by function)")
            regions.append(Region(module, task, start, number, indent))
            open_at = None
        elif "SOLUTION" in line and line.strip().startswith("#") and ("BEGIN" in line or "END" in line):
            raise StubError(f"{path}:{number}: malformed region marker {line.strip()!r}")
    if open_at:
        raise StubError(f"{path}:{open_at[0]}: BEGIN SOLUTION is never closed by END SOLUTION")
    return regions


def make_stub(source: str, path: Path, owner: Module, course: Course, keep: frozenset[str] = frozenset()) -> str:
    """The student's file for `source`; regions of modules in `keep` keep their solution.

    `keep` builds partially finished submissions for the course's own tests (a student who
    finished modules 01-02 is every file with the regions of 01 and 02 kept).
    """
    regions = {r.start: r for r in find_regions(source, path, owner, course)}
    tags = {m.id: m.tag for m in course.modules}
    out: list[str] = []
    lines = source.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        number = i + 1
        region = regions.get(number)
        if region is None:
            out.append(lines[i])
            i += 1
            continue
        body = lines[region.start:region.end - 1]
        if region.module in keep:
            out.extend(body)
        else:
            message = STUB_MESSAGE.format(tag=tags[region.module], task=region.task)
            out.append(f"{region.indent}raise NotImplementedError({json.dumps(message)})\n")
        i = region.end
    return "".join(out)


def stub_tasks(course: Course) -> dict[str, list[Region]]:
    """Every region of the course by the module it belongs to (in any file)."""
    tasks: dict[str, list[Region]] = {m.id: [] for m in course.modules}
    for module in course.modules:
        path = course.root / module.solution_file
        for region in find_regions(path.read_text(encoding="utf-8"), path, module, course):
            tasks[region.module].append(region)
    return tasks


def task_owners(course: Course) -> dict[str, dict[str, str]]:
    """{student file: {function: module}} for every function whose body is a solution region.

    The one map from a task to the module that owns it (grading/blame.py applies it). A function
    holds regions of one module only (find_regions refuses a mix), so the map is well defined.
    """
    owners: dict[str, dict[str, str]] = {m.student_file: {} for m in course.modules}
    for module in course.modules:
        path = course.root / module.solution_file
        for region in find_regions(path.read_text(encoding="utf-8"), path, module, course):
            owners[module.student_file][region.task] = region.module
    return owners


def stub_files(course: Course, keep: frozenset[str] = frozenset()) -> dict[Path, str]:
    """{student file: stub text} for every module; regions of modules in `keep` keep their solution."""
    files: dict[Path, str] = {}
    for module in course.modules:
        src = course.root / module.solution_file
        if not src.is_file():
            raise StubError(f"{src}: the reference solution of module {module.id} is missing")
        files[Path(module.student_file)] = make_stub(src.read_text(encoding="utf-8"), src, module, course, keep)
    return files


def write_stubs(course: Course, root: Path | None = None, keep: frozenset[str] = frozenset()) -> list[Path]:
    """Write every module's student file under `root` (default: this course); return the paths changed."""
    return generated.write(stub_files(course, keep), Path(root or course.root))


def check_stubs(course: Course) -> list[str]:
    """Student files that differ from what `make stubs` would write (empty when all agree)."""
    return generated.stale(stub_files(course), course.root)
