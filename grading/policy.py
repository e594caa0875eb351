"""What student code may use: the static check every student file passes before it runs.

The grader parses each student file with `ast` (it never imports it) and refuses the
constructs below. A refused file is not run at all: its module scores 0 with status `policy`,
and the report names the file, the line and the construct. Honest course code never needs
any of them (a test runs this check over every reference solution).

The rules reach what a student could use to change how their work is graded: the test
machinery (pytest and its plugins), the interpreter's internals (frames, globals, the import
system, garbage-collector lists), other processes, and the modules and classes that the tests
themselves use. They are a deny-list over a dynamic language, so they are the main defence,
not a proof: the grading process also runs with a runtime guard (see child.py) and the
results it returns are checked (see run.py).

The constants below are the rules; `rules_markdown()` states them for students in README.md
(a test keeps the two in agreement).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from tinytorch.manifest import Course, Module

# ---------------------------------------------------------------------------- the rules

# Standard modules any student file may import (plus numpy and the course's own modules).
# Allowed when they cannot change a grade: they compute, format or log; whatever they write goes
# through the runtime guard (only the module's own working folder is writable).
STANDARD_MODULES = frozenset({
    "__future__", "abc", "array", "base64", "bisect", "cmath", "collections", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "decimal", "enum", "fnmatch", "fractions", "functools", "glob", "gzip",
    "hashlib", "heapq", "io", "itertools", "json", "logging", "math", "numbers", "operator", "os",
    "pathlib", "pprint", "random", "re", "statistics", "string", "struct", "sys", "tempfile", "textwrap",
    "time", "typing", "unicodedata", "warnings", "zlib",
})
# What to use instead of a refused module, in the message a student reads.
INSTEAD = {
    "timeit": "time code with time.perf_counter() (timeit runs code given as strings)",
    "pickle": "save arrays with np.save / np.savez and load them with allow_pickle=False",
    "shutil": "use pathlib (Path.unlink, Path.mkdir) inside your working folder",
    "subprocess": "course code runs no other programs",
    "threading": "NumPy already uses the cores; course code starts no threads",
    "multiprocessing": "NumPy already uses the cores; course code starts no processes",
    "inspect": "pass what you need as arguments instead of inspecting callers",
    "traceback": "raise an exception with a clear message instead",
    "importlib": "import course modules by their full name at the top of the file",
    "ctypes": "NumPy is the only compiled code course code may use",
    "copyreg": "save arrays with np.save / np.savez",
}
# The course's own helper modules and the names student code may take from them (module 08 finds
# its data sets through `fetch`). Only these names: the helper also holds finished readers that
# would do module 08's work, so `import tinytorch.datasets` and other names are refused.
COURSE_HELPERS = {
    "tinytorch.datasets": frozenset({"fetch", "unpickle_cifar_batch", "DataError"}),
    "tinytorch.binding": frozenset({"arguments_binder"}),    # module 01's given graph_op
}
# Parts of numpy that reach compilers, C pointers or the test machinery.
NUMPY_REFUSED = frozenset({"_pytesttester", "ctypeslib", "distutils", "f2py", "test", "testing"})

# `os` and `sys` only through these names (os.path.join, os.environ.get, sys.maxsize ...).
OS_NAMES = frozenset({
    "PathLike", "cpu_count", "curdir", "devnull", "environ", "extsep", "fsdecode", "fsencode",
    "fspath", "getcwd", "getenv", "linesep", "listdir", "makedirs", "mkdir", "name", "pardir",
    "path", "pathsep", "remove", "rename", "replace", "rmdir", "scandir", "sep", "stat", "unlink",
    "urandom", "walk",
})
SYS_NAMES = frozenset({
    "byteorder", "float_info", "getsizeof", "int_info", "maxsize", "platform", "stderr", "stdout",
    "version", "version_info",
})
RESTRICTED = {"os": OS_NAMES, "sys": SYS_NAMES}

# Built-in names that evaluate code, reach the interpreter or end the process.
REFUSED_NAMES = frozenset({
    "KeyboardInterrupt", "SystemExit", "__builtins__", "__import__", "__loader__", "__spec__",
    "breakpoint", "compile", "eval", "exec", "exit", "globals", "help", "locals", "quit",
})
# Attributes that lead from any object to frames, globals, code or the builtins.
REFUSED_ATTRIBUTES = frozenset({
    "__builtins__", "__closure__", "__code__", "__defaults__", "__getattribute__", "__globals__",
    "__import__", "__kwdefaults__", "__loader__", "__self__", "__spec__", "__subclasses__",
    "__traceback__", "ag_code", "ag_frame", "co_code", "cr_code", "cr_frame", "f_back",
    "f_builtins", "f_code", "f_globals", "f_locals", "f_trace", "gi_code", "gi_frame",
    "tb_frame", "tb_next",
})
# Module names that, as an attribute (`np.lib.npyio.os`, `random._os`), lead to a refused module.
_MODULE_NAMES = {
    "builtins", "ctypes", "gc", "importlib", "inspect", "marshal", "multiprocessing", "os", "pickle",
    "pluggy", "posix", "pytest", "runpy", "shelve", "shutil", "signal", "socket", "subprocess", "sys",
    "threading",
}
MODULE_ATTRIBUTES = frozenset(_MODULE_NAMES | {"_" + n for n in _MODULE_NAMES} | {
    "_bootstrap", "_bootstrap_external", "_frozen_importlib", "_imp", "_posixsubprocess", "_thread",
})
_REFUSED_WORD = re.compile(r"\b(" + "|".join(sorted(REFUSED_ATTRIBUTES)) + r")\b")
# A module is allowed to read os.environ (os.environ.get(...), os.environ["X"], "X" in os.environ).
_ENVIRON_READS = {"get"}


@dataclass(frozen=True)
class Violation:
    line: int
    what: str                # "import of 'ctypes'"
    hint: str = ""           # why, or what to do instead

    def describe(self, file: str) -> str:
        text = f"{file}:{self.line}: {self.what} is not allowed in course code"
        return text + (f" ({self.hint})" if self.hint else "")


# ---------------------------------------------------------------------------- the check


def check_module_source(course: Course, module: Module, text: str) -> list[Violation]:
    """The violations in `text`, the student file of `module` (empty: the file may run).

    A file that does not parse has no violations: it cannot run either, and the grader's run
    reports its SyntaxError with file and line as for any other import error.
    """
    courses = {course.module(r).import_name: course.module(r).id for r in module.requires}
    courses[module.import_name] = module.id
    later = {m.import_name: m.id for m in course.modules if m.import_name not in courses}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    checker = _Checker(course.package, courses, later, tuple(module.allow_imports))
    checker.check(tree)
    return sorted(checker.violations, key=lambda v: v.line)


def describe_violations(file: str, violations: list[Violation], limit: int = 3) -> str:
    """A report message: the first few violations, then how many more."""
    text = "; ".join(v.describe(file) for v in violations[:limit])
    more = len(violations) - limit
    return text + (f"; and {more} more" if more > 0 else "")


class _Checker(ast.NodeVisitor):
    def __init__(self, package: str, courses: dict[str, str], later: dict[str, str], extra: tuple[str, ...]):
        self.package = package
        self.courses = courses             # importable course modules -> id
        self.later = later                 # other course modules -> id (for the message)
        self.extra = extra                 # the module's allow_imports
        self.violations: list[Violation] = []
        self.modules: dict[str, str] = {}  # names bound by `import x [as y]` -> the module
        self.protected: set[str] = set()   # names that must not be changed: modules, and what
                                           # `from` imports bind from outside the course's modules
        self.parents: dict[ast.AST, ast.AST] = {}
        self.docstrings: set[int] = set()

    def refuse(self, node: ast.AST, what: str, hint: str = "") -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), what, hint))

    def check(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    self.docstrings.add(id(body[0].value))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.modules[bound] = alias.name if alias.asname else alias.name.split(".")[0]
                    self.protected.add(bound)
            elif isinstance(node, ast.ImportFrom) and (node.module or "") not in self.courses:
                self.protected.update(a.asname or a.name for a in node.names)
        self.visit(tree)

    # -- imports

    def _module_allowed(self, name: str) -> tuple[bool, str]:
        top = name.split(".")[0]
        if any(name == e or name.startswith(e + ".") for e in self.extra):
            return True, ""
        if name in COURSE_HELPERS:
            return False, f"take only {', '.join(sorted(COURSE_HELPERS[name]))} from it, with 'from {name} import ...'"
        if top == self.package:
            if name in self.courses:
                return True, ""
            if name in self.later:
                return False, f"module {self.later[name]} is not a prerequisite of this module in course.toml"
            return False, "only the course modules this module builds on can be imported"
        if top == "numpy":
            parts = set(name.split(".")[1:])
            return (not parts & NUMPY_REFUSED), ""
        if top in STANDARD_MODULES:
            return True, ""
        return False, INSTEAD.get(top, "README.md, 'What your code may use', lists the modules you may import")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            ok, hint = self._module_allowed(alias.name)
            if not ok:
                self.refuse(node, f"import of '{alias.name}'", hint)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.refuse(node, "a relative import", "import course modules by their full name")
            return
        base = node.module or ""
        for alias in node.names:
            full = f"{base}.{alias.name}"
            if alias.name == "*":
                self.refuse(node, f"'from {base} import *'", "import the names you use")
                continue
            checked = full if full in self.courses or full in self.later else base   # from tinytorch.core import tensor
            if base in COURSE_HELPERS:
                if alias.name not in COURSE_HELPERS[base]:
                    self.refuse(node, f"import of '{full}'",
                                f"from {base}, course code may take only {', '.join(sorted(COURSE_HELPERS[base]))}")
                continue
            ok, hint = self._module_allowed(checked)
            if not ok:
                self.refuse(node, f"import of '{checked}'", hint)
            elif base in RESTRICTED and (alias.name not in RESTRICTED[base] or alias.name == "environ"):
                self.refuse(node, f"'from {base} import {alias.name}'",
                            "read os.environ with os.environ.get(...)" if alias.name == "environ" else "")
            elif alias.name in MODULE_ATTRIBUTES or base.split(".")[0] == "numpy" and alias.name in NUMPY_REFUSED:
                self.refuse(node, f"import of '{full}'")

    # -- names, attributes, calls

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in REFUSED_NAMES:
            self.refuse(node, f"'{node.id}'")
        elif (node.id in self.modules and isinstance(node.ctx, ast.Load)
              and not isinstance(self.parents.get(node), ast.Attribute)):
            self.refuse(node, f"using the module '{node.id}' as a value", f"use it only as {node.id}.<name>")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        module = self.modules.get(node.value.id) if isinstance(node.value, ast.Name) else None
        if attr in REFUSED_ATTRIBUTES:
            self.refuse(node, f"access to '.{attr}'")
        elif attr in MODULE_ATTRIBUTES:
            self.refuse(node, f"access to '.{attr}'", "it leads to a module course code may not use")
        elif module in RESTRICTED:
            if attr not in RESTRICTED[module]:
                self.refuse(node, f"'{module}.{attr}'")
            elif attr == "environ" and not self._reads_environ(node):
                self.refuse(node, "changing os.environ", "read it with os.environ.get(...)")
        elif module and attr == "__dict__":
            self.refuse(node, f"access to '{node.value.id}.__dict__'")
        elif attr in NUMPY_REFUSED and self.modules.get(_root_name(node) or "", "").split(".")[0] == "numpy":
            self.refuse(node, f"'numpy.{attr}'")
        if not isinstance(node.ctx, ast.Load) and _root_name(node) in self.protected:
            self.refuse(node, f"assignment to '{_dotted(node)}'", "course code may not change an imported module")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        environ = isinstance(node.value, ast.Attribute) and node.value.attr == "environ"
        if not isinstance(node.ctx, ast.Load) and _root_name(node) in self.protected and not environ:
            self.refuse(node, f"assignment to '{_dotted(node)}'", "course code may not change an imported module")
        self.generic_visit(node)

    def _reads_environ(self, node: ast.Attribute) -> bool:
        parent = self.parents.get(node)
        if isinstance(parent, ast.Attribute):
            return parent.attr in _ENVIRON_READS and isinstance(self.parents.get(parent), ast.Call)
        if isinstance(parent, ast.Subscript):
            return isinstance(parent.ctx, ast.Load)
        return isinstance(parent, ast.Compare) and parent.comparators and parent.comparators[-1] is node

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            if _root_name(node.args[0]) in self.protected:
                self.refuse(node, f"{func.id}() on '{_dotted(node.args[0])}'",
                            "course code may not change an imported module")
        for keyword in node.keywords:
            if keyword.arg == "allow_pickle" and not (isinstance(keyword.value, ast.Constant)
                                                      and keyword.value.value is False):
                self.refuse(node, "allow_pickle other than False", "unpickling runs code from a file")
        if isinstance(func, ast.Attribute) and func.attr == "load" and len(node.args) >= 3:
            self.refuse(node, "np.load with allow_pickle given by position", "pass allow_pickle=False")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and id(node) not in self.docstrings:
            match = _REFUSED_WORD.search(node.value)
            if match:
                self.refuse(node, f"the string '{match.group(1)}'", "it names an interpreter internal")


def _root_name(node: ast.AST) -> str | None:
    """`np` for `np.random.seed` and `np.x[0]`; None when a call comes between (a new object)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001 - only for a message
        return "?"


# ---------------------------------------------------------------------------- for students


def rules_markdown() -> str:
    """The section "What your code may use" of README.md (a test keeps the README in agreement)."""
    def code(names) -> str:
        return ", ".join(f"`{n}`" for n in sorted(names))

    internals = {"__globals__", "__subclasses__", "__code__", "__builtins__", "f_back", "gi_frame", "tb_frame"}
    return "\n".join([
        "Before your code runs, the grader reads each of your files (without running it) and refuses",
        "what could change how it is graded. A refused file is not run: its module scores 0 with status",
        "`policy`, and the report names the file, the line and what was refused, e.g.",
        "`assignments/01_tensor/tensor.py:12: import of 'ctypes' is not allowed in course code`.",
        "",
        f"- **Imports**: `numpy`; the standard modules {code(STANDARD_MODULES - {'__future__'})};",
        "  the course modules your module builds on (its `requires` in `course.toml`, e.g.",
        f"  `tinytorch.core.tensor`); {code(f'{m}.{n}' for m, names in COURSE_HELPERS.items() for n in names)};",
        "  and what the module's `allow_imports`",
        "  in `course.toml` adds (e.g. matplotlib for plots).",
        f"- **`os` and `sys`** only through {code(f'os.{n}' for n in OS_NAMES - {'environ'})}, reading",
        f"  `os.environ`, and {code(f'sys.{n}' for n in SYS_NAMES)}.",
        f"- **Not allowed**: {code(REFUSED_NAMES)}; the test machinery ({code(_MODULE_NAMES & {'pytest', 'pluggy'})},",
        f"  `_pytest`) and {code('numpy.' + n for n in NUMPY_REFUSED - {'_pytesttester', 'test'})}; interpreter",
        f"  internals such as {code(internals & REFUSED_ATTRIBUTES)} (also as strings); changing a",
        "  module you import (`np.allclose = ...`) or using it as a value (`m = np`, `vars(np)`); star",
        "  imports, relative imports, and `np.load(..., allow_pickle=True)`.",
        "",
        "While the tests run, a guard also refuses, with a PermissionError in your code: writing files",
        "outside the test's working folder, starting processes, signalling other processes, network",
        "connections, and unpickling anything but NumPy arrays. The full lists are in `grading/policy.py`",
        "and `grading/child.py`.",
    ])


def module_extras_markdown(course: Course) -> str:
    """What single modules may use besides the rules above (course.toml allow_imports, guard_allow)."""
    rows = [f"| {m.id} {m.slug} | {', '.join(f'`{i}`' for i in m.allow_imports) or ''} | "
            f"{', '.join(f'`{g}`' for g in m.guard_allow) or ''} |"
            for m in course.modules if m.allow_imports or m.guard_allow]
    if not rows:
        return ""
    return "\n".join(["Some modules may use more (their `allow_imports` and `guard_allow` in `course.toml`):", "",
                      "| module | extra imports | the guard allows |", "|---|---|---|", *rows])


def check_files(course: Course, root, modules=None) -> list[str]:
    """`file:line: what (what to use instead)` for every violation in the student files under `root`."""
    found = []
    for module in course.modules:
        path = root / module.student_file
        if (modules is None or module.id in modules) and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [v.describe(module.student_file) for v in check_module_source(course, module, text)]
    return found