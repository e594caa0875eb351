"""The importable `tinytorch` package (the course's loader, not a student stub): import names -> files.

`import tinytorch.core.tensor` loads `assignments/01_tensor/tensor.py`, the file the student
writes. No implementation lives here; course.toml says which file each name maps to.

Where the files come from (checked in this order):

    TINYTORCH_SOURCE=solutions   the reference solutions of this checkout (solutions/)
    TINYTORCH_ROOT=DIR           another submission: DIR/assignments/NN_slug/slug.py
    (neither)                    this checkout's assignments/

Importing module k never imports a later module: each name is loaded only when asked for.
Tracebacks point at the real file, so a syntax error names the student's file and line.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

from tinytorch.contract import ROOT_ENV, uses_solutions
from tinytorch.manifest import load_course

__all__ = ["source_root", "source_file"]


def source_root() -> Path:
    """The folder whose `assignments/` (or `solutions/`) tree the loader reads."""
    course = load_course()
    if uses_solutions():
        return course.root
    root = os.environ.get(ROOT_ENV)
    return Path(root).resolve() if root else course.root


def source_file(import_name: str) -> Path:
    """The file that `import_name` (e.g. `tinytorch.core.tensor`) is loaded from."""
    course = load_course()
    module = course.by_export().get(import_name)
    if module is None:
        raise ModuleNotFoundError(f"{import_name} is not a module of this course (see course.toml)")
    if uses_solutions():
        return course.root / module.solution_file
    return source_root() / module.student_file


class _CourseFinder(importlib.abc.MetaPathFinder):
    """Finds `tinytorch.<export>` names in course.toml and the packages between them."""

    def __init__(self) -> None:
        exports = load_course().by_export()
        self._modules = set(exports)
        self._packages = {
            ".".join(name.split(".")[:i])
            for name in exports
            for i in range(2, name.count(".") + 1)
        }

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self._packages:
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = []
            return spec
        if fullname not in self._modules:
            return None
        file = source_file(fullname)
        if not file.is_file():
            raise ModuleNotFoundError(
                f"{fullname}: the file {file} does not exist. "
                f"It should hold this module's code (restore it from the course template).",
                name=fullname,
            )
        return importlib.util.spec_from_file_location(fullname, file)


def _install() -> None:
    if not any(isinstance(f, _CourseFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _CourseFinder())


_install()
