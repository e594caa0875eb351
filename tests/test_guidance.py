"""Stub docstrings guide at the level of the algorithm: they do not spell out the solution's code.

STYLE.md: "The APPROACH states the idea, the shapes and the pitfalls, never the lines of code: a
student who types the APPROACH has learned typing." The metric: for each solution region, the
reference's code lines inside it (comments dropped, all whitespace removed, longer than
MIN_CHARS) that appear verbatim (whitespace removed) in the docstring of the function holding
the region. The share found is summed per module (the module that owns the region) and over
the course.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from grading.stubs import find_regions
from support import COURSE

MIN_CHARS = 15            # shorter lines (`return x`, `self.p = p`) say nothing a student must decide
MAX_SHARE_COURSE = 0.05   # over all modules
MAX_SHARE_MODULE = 0.10   # in any one module
WORST_SHOWN = 8


@dataclass
class Body:
    module: str
    where: str                              # file: function
    considered: int = 0
    found: list[str] = field(default_factory=list)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _comment_columns(source: str) -> dict[int, int]:
    """{line number: column where its comment starts}, from the tokenizer (a '#' in a string is no comment)."""
    return {tok.start[0]: tok.start[1] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT}


def _innermost_function(functions: list, line: int):
    holding = [f for f in functions if f.lineno <= line <= f.end_lineno]
    return min(holding, key=lambda f: f.end_lineno - f.lineno)


def bodies(path: Path, owner) -> list[Body]:
    """One Body per solution region of `path`, with the code lines its docstring repeats."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    comments = _comment_columns(source)
    functions = [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    name = path.relative_to(COURSE.root) if path.is_relative_to(COURSE.root) else path.name
    result = []
    for region in find_regions(source, path, owner, COURSE):
        docstring = _squeeze(ast.get_docstring(_innermost_function(functions, region.start), clean=False) or "")
        body = Body(region.module, f"{name}: {region.task}")
        for number in range(region.start + 1, region.end):
            code = _squeeze(lines[number - 1][:comments.get(number)])
            if len(code) > MIN_CHARS:
                body.considered += 1
                if code in docstring:
                    body.found.append(code)
        result.append(body)
    return result


def course_bodies() -> list[Body]:
    return [b for m in COURSE.modules for b in bodies(COURSE.root / m.solution_file, m)]


def share(items: list[Body]) -> float:
    considered = sum(b.considered for b in items)
    return sum(len(b.found) for b in items) / considered if considered else 0.0


def report(items: list[Body]) -> str:
    worst = sorted((b for b in items if b.found), key=lambda b: (-len(b.found), -len(b.found) / b.considered, b.where))
    lines = [f"  {b.where}: {len(b.found)}/{b.considered} code lines in its docstring: "
             + "; ".join(b.found[:3]) + (" ..." if len(b.found) > 3 else "") for b in worst[:WORST_SHOWN]]
    return "\n".join(lines) + ("\nRewrite the APPROACH as the idea, the shapes and the pitfalls (docs/AUTHORING.md)."
                               if lines else "")


def test_metric_finds_code_lines_of_the_same_function(tmp_path):
    source = '''\
def f(x):
    """APPROACH: total = sum(v * v for v in x)  # spelled out; then the root."""
    # BEGIN SOLUTION
    total = sum(v * v for v in x)     # squares
    return total
    # END SOLUTION


def g(x):
    """Squares, summed; mentions total = sum(v * v for v in x) nowhere else."""
    # BEGIN SOLUTION
    return [value + 1 for value in x]
    # END SOLUTION
'''
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    found = {b.where.split(": ")[1]: b for b in bodies(path, COURSE.modules[0])}
    assert (found["f"].considered, found["f"].found) == (1, ["total=sum(v*vforvinx)"])
    assert (found["g"].considered, found["g"].found) == (1, [])


def test_docstrings_do_not_spell_out_the_solution():
    items = course_bodies()
    problems = []
    for module in COURSE.modules:
        mine = [b for b in items if b.module == module.id]
        if share(mine) > MAX_SHARE_MODULE:
            problems.append(f"module {module.id}: {share(mine):.0%} of its solution's code lines are in the "
                            f"docstrings (at most {MAX_SHARE_MODULE:.0%})\n{report(mine)}")
    if share(items) > MAX_SHARE_COURSE:
        problems.append(f"course: {share(items):.0%} of the solutions' code lines are in the docstrings "
                        f"(at most {MAX_SHARE_COURSE:.0%})\n{report(items)}")
    assert not problems, "\n".join(problems)
