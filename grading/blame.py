"""Which module a line of a student file belongs to: the owner of the task, not of the folder.

`MulBackward.backward` lives in module 01's `tensor.py`, but its body is a `# BEGIN SOLUTION 05`
region: a failure raised there is module 05's. The stub generator knows every region's module
(`grading.stubs.task_owners`, shipped in the plan as `owners`); this module applies that map to
the student's own file, function by function (the student's line numbers are not the
solution's). A line outside every function with a region belongs to the file's module.

The test process gets the same map as plain spans (`Blame.spans`) to stop a module early when
a test hangs in an earlier module's code (child.py keeps its own five-line lookup: it imports
nothing from the grader).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tinytorch.manifest import Course


def function_spans(source: str) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function in `source`, innermost first."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    spans: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    spans.append((child.lineno, child.end_lineno or child.lineno, qual))
                visit(child, qual + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return sorted(spans, key=lambda s: s[1] - s[0])


class Blame:
    """owner_at(file, line) -> (module, task) for the student files below `root`."""

    def __init__(self, course: Course, owners: dict[str, dict[str, str]], root: Path):
        self.file_module = {m.student_file: m.id for m in course.modules}
        self._spans: dict[str, list[tuple[int, int, str, str]]] = {}
        for file, module in self.file_module.items():
            path = root / file
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
            tasks = owners.get(file, {})
            self._spans[file] = [(a, b, name, tasks.get(name, module)) for a, b, name in function_spans(text)]

    def owner_at(self, file: str | None, line: int | None) -> tuple[str | None, str | None]:
        module = self.file_module.get(file or "")
        if module is None:
            return None, None
        for first, last, name, owner in self._spans[file]:
            if line is not None and first <= line <= last:
                return owner, name
        return module, None

    def hang_span(self, file: str | None, line: int | None) -> list | None:
        """[file, first, last, label] of the innermost function holding file:line (a hang's place)."""
        for first, last, name, owner in self._spans.get(file or "", []):
            if line is not None and first <= line <= last:
                return [file, first, last, f"{name} ({file}:{line}, module {owner})"]
        return None

    def spans(self) -> dict[str, dict]:
        """The map as JSON for the test process: {file: {"module": id, "spans": [[a, b, owner], ...]}}."""
        return {file: {"module": self.file_module[file], "spans": [[a, b, o] for a, b, _, o in spans]}
                for file, spans in self._spans.items()}
