"""A generated class of student repositories, for the gradebook's tests and `make class-demo`.

Each student is a folder built with `build_submission` (the reference with some modules
finished), committed with git at set dates (GIT_AUTHOR_DATE / GIT_COMMITTER_DATE). So that only
a planted copy looks copied, every student's finished code differs in structure: a no-op
statement is inserted before a random share of the statements of each function (seeded by the
student's name), which changes the token stream the similarity checker fingerprints while the
code still passes. The copier takes another student's file, renames its local variables and
reformats it (two-space indentation, comments): what a copy that tries to hide looks like.
"""

from __future__ import annotations

import ast
import builtins
import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from support import COURSE, build_submission

# --------------------------------------------------------------------------- code variations


PADS = ("_pad = 0", "pass", "_pad = None", "_pad = ()", "_pad = []")


def _functions(tree: ast.Module):
    """(qualified name, node) of every function and method, nested ones included."""
    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    yield name, child
                yield from walk(child, name + ".")
    yield from walk(tree, "")


def _is_stub(node) -> bool:
    return any(isinstance(s, ast.Raise) and "NotImplementedError" in ast.unparse(s) for s in node.body)


def student_functions(module) -> set[str]:
    """The functions a student writes in `module`'s file: those whose committed stub raises."""
    stub = (COURSE.root / module.student_file).read_text(encoding="utf-8")
    return {name for name, node in _functions(ast.parse(stub)) if _is_stub(node)}


def _statement_starts(text: str, written: set[str]) -> list[tuple[int, int]]:
    """(line index, indent) of each statement, on a line of its own, of a finished function in `written`."""
    lines = text.splitlines()
    starts = []
    for name, node in _functions(ast.parse(text)):
        if name not in written or _is_stub(node):
            continue
        body = node.body[1:] if isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value,
                                                                                  ast.Constant) else node.body
        for stmt in body:
            line = lines[stmt.lineno - 1]
            indent = len(line) - len(line.lstrip())
            if indent == stmt.col_offset:
                starts.append((stmt.lineno - 1, indent))
    return starts


def vary(text: str, seed: str, written: set[str], share: float = 0.8) -> str:
    """`text` with a no-op line (one of PADS) before a random `share` of the statements of the
    functions the student wrote: the same behaviour, another token stream."""
    rng = random.Random(seed)
    lines = text.splitlines()
    for index, indent in sorted(_statement_starts(text, written), reverse=True):
        if rng.random() < share:
            lines.insert(index, " " * indent + rng.choice(PADS))
    return "\n".join(lines) + "\n"


def _renamable(tree: ast.Module) -> set[str]:
    """Names assigned inside functions that are neither parameters, module names nor builtins."""
    params = {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
              for a in (*n.posonlyargs, *n.args, *n.kwonlyargs, *filter(None, [n.vararg, n.kwarg]))}
    top = [s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    module_names = {n.id for s in top for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    module_names |= {a.asname or a.name.split(".")[0] for n in ast.walk(tree)
                     if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    module_names |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    stored = {n.id for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return stored - params - module_names - set(dir(builtins)) - {"_pad", "self", "cls"}


def disguise(text: str) -> str:
    """A copy made to hide: local variables renamed, lines reformatted (2-space indent, comments)."""
    tree = ast.parse(text)
    rename = {name: f"my_{name.strip('_')}_v" for name in _renamable(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in rename:
            node.id = rename[node.id]
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            node.names = [rename.get(n, n) for n in node.names]
    lines = []
    for line in ast.unparse(tree).splitlines():
        stripped = line.lstrip(" ")
        depth = (len(line) - len(stripped)) // 4
        if stripped.startswith(("def ", "class ")):
            lines += ["", "  " * depth + "# my own work"]
        lines.append("  " * depth + stripped)
    return "\n".join(lines) + "\n"


def _at_method_start(cls: str, method: str, code: str):
    """An edit that puts `code` (method body lines) right after cls.method's docstring."""
    def edit(text: str) -> str:
        start = text.index(f"    def {method}(", text.index(f"\nclass {cls}"))
        body = text.index('"""', text.index('"""', start) + 3) + 3
        return text[:body] + "".join(f"\n        {line}" for line in code.splitlines()) + text[body:]
    return edit


loop_in_init = _at_method_start("Tensor", "__init__", "while True:\n    pass")   # module 01 hangs
relu_identity = _at_method_start("ReLU", "forward", "return x")                   # module 02 has a bug


HOSTILE_TARGET = "/tmp/tinytorch-gradebook-was-here"


def writes_outside(text: str) -> str:
    """A hostile module 02: at import it writes outside its working folder (the runtime guard refuses)."""
    return text + f'\n\nwith open({HOSTILE_TARGET!r}, "w") as fh:\n    fh.write("owned")\n'


# --------------------------------------------------------------------------- students and git

WRITTEN = {m.id: student_functions(m) for m in COURSE.modules}


def git(root: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "student@example.org",
           "GIT_COMMITTER_NAME": "Student", "GIT_COMMITTER_EMAIL": "student@example.org"}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def commit(root: Path, date: str, message: str = "work") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message, date=date)
    return git(root, "rev-parse", "HEAD")


@dataclass
class Spec:
    """One generated student: the modules finished at each dated commit, and what is odd about them."""
    name: str
    commits: list[tuple[str, tuple[str, ...]]]       # (date, modules finished by then)
    edits: dict = field(default_factory=dict)        # module id -> text edit
    git: str = "repo"                                # repo | none (not a repository) | empty (no commits)
    copy_of: tuple[str, str] | None = None           # (student, module): a disguised copy of their file


def write_student(root: Path, spec: Spec, keep: tuple[str, ...], done: dict[str, Path]) -> None:
    build_submission(root, keep=frozenset(keep), edits=spec.edits)
    for module in COURSE.modules:
        path = root / module.student_file
        path.write_text(vary(path.read_text(encoding="utf-8"), f"{spec.name}-{module.id}", WRITTEN[module.id]),
                        encoding="utf-8")
    if spec.copy_of:
        other, module = spec.copy_of
        relative = COURSE.module(module).student_file
        (root / relative).write_text(disguise((done[other] / relative).read_text(encoding="utf-8")),
                                     encoding="utf-8")


def build_student(folder: Path, spec: Spec, done: dict[str, Path]) -> Path:
    folder.mkdir(parents=True)
    if spec.git == "empty":
        git(folder, "init", "-q")
        return folder
    if spec.git == "none":
        write_student(folder, spec, spec.commits[-1][1], done)
        return folder
    git(folder, "init", "-q")
    for date, keep in spec.commits:
        write_student(folder, spec, keep, done)
        commit(folder, date, f"modules {', '.join(keep) or 'none'}")
    return folder


def build_class(root: Path, specs: list[Spec]) -> dict[str, Path]:
    """Every student of `specs` under `root` (copiers after the students they copy)."""
    done: dict[str, Path] = {}
    for spec in sorted(specs, key=lambda s: s.copy_of is not None):
        done[spec.name] = build_student(root / spec.name, spec, done)
    return done


EARLY, ON_TIME, LATE, LATER = "2026-01-05T10:00:00+00:00", "2026-01-10T10:00:00+00:00", \
    "2026-01-17T10:00:00+00:00", "2026-01-16T10:00:00+00:00"
BOTH = ("01", "02")


def small_class() -> list[Spec]:
    """The test class: every case the gradebook must handle, graded on modules 01 and 02."""
    return [
        Spec("ada", [(ON_TIME, BOTH)]),
        Spec("ben", [(ON_TIME, ("01",))]),
        Spec("cy", [(ON_TIME, ("01",)), (LATE, BOTH)]),                 # 02 finished two days late
        Spec("dee", [(ON_TIME, BOTH)], edits={"02": relu_identity}),    # a bug
        Spec("eli", [(ON_TIME, BOTH)], edits={"01": loop_in_init}),     # a hang
        Spec("fay", [(ON_TIME, BOTH)], edits={"02": writes_outside}),  # a hostile file
        Spec("gus", [], git="empty"),                                   # a repository without commits
        Spec("hal", [(ON_TIME, BOTH)], git="none"),                     # not a repository
        Spec("ivy", [(ON_TIME, BOTH)], copy_of=("ada", "02")),          # a disguised copy of ada's 02
        Spec("jo", [(EARLY, ("01",)), (LATER, BOTH)]),                  # late, but has an extension
    ]


def demo_class(size: int = 30) -> list[Spec]:
    """A class of `size` for `make class-demo`: the small class's cases, then students at every stage."""
    specs = [Spec(s.name, s.commits, s.edits, s.git, s.copy_of) for s in small_class()]
    ids = [m.id for m in COURSE.modules]
    rng = random.Random(14)
    for i in range(size - len(specs)):
        progress = tuple(ids[: rng.randint(0, len(ids))])
        first = progress[: len(progress) // 2]
        specs.append(Spec(f"student{i + 1:02d}", [(EARLY, first), (ON_TIME, progress)]))
    return specs
