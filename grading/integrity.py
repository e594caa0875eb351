"""What staff need to know about a submission besides its scores, and how a grade was made.

Everything here only reads the submission: git runs with optional locks off (so `git status`
does not even refresh the index), and the walk reads names and bytes, never runs anything.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from pathlib import Path

from grading.model import Provenance
from tinytorch.contract import LOADER_DIR
from tinytorch.manifest import Course

SKIP_DIRS = {".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".hidden-tests", ".grader",
             "reports", ".mypy_cache", ".pytest_cache", ".ipynb_checkpoints"}
CONFIG_NAMES = {"conftest.py", "sitecustomize.py", "usercustomize.py", "pytest.ini", "tox.ini", "setup.cfg"}
WALK_LIMIT = 20000          # files looked at in one submission; a larger tree is not walked further
GRADER_TREES = ("grading", LOADER_DIR)


def git_bytes(folder: Path, *args: str) -> bytes | None:
    """Output of a read-only git command in `folder`, or None (no git, not a repository, an error).

    `core.fsmonitor=false`: a repository's own configuration cannot make a read run a program.
    """
    if not (folder / ".git").exists():
        return None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    try:
        out = subprocess.run(["git", "-c", "safe.directory=*", "-c", "core.fsmonitor=false", "-C", str(folder),
                              *args], capture_output=True, timeout=20, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def git(folder: Path, *args: str) -> str | None:
    """git_bytes as text."""
    out = git_bytes(folder, *args)
    return None if out is None else out.decode("utf-8", errors="replace")


def commit_of(folder: Path) -> str | None:
    out = git(folder, "rev-parse", "HEAD")
    return out.strip() or None if out else None


def working_tree(folder: Path, files: list[str]) -> tuple[str, tuple[str, ...]]:
    """("clean" | "dirty" | "no-git", the graded files that differ from the commit)."""
    out = git(folder, "status", "--porcelain", "--untracked-files=all", "--", *files)
    if out is None:
        return "no-git", ()
    changed = tuple(sorted(line[3:].strip() for line in out.splitlines() if line.strip()))
    return ("dirty" if changed else "clean"), changed


def walk(folder: Path):
    """Relative paths of the files below `folder`, skipping environments, caches and git."""
    seen = 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(names):
            seen += 1
            if seen > WALK_LIMIT:
                return
            yield (Path(root) / name).relative_to(folder).as_posix()


def _same(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def ignored_files(course: Course, folder: Path, paths: list[str]) -> tuple[str, ...]:
    """Files the grader ignored that are worth a look: test machinery, edited tests, an edited grader."""
    found = []
    for rel in paths:
        name = rel.rsplit("/", 1)[-1]
        parts = rel.split("/")
        if name in CONFIG_NAMES:
            found.append(f"{rel} (test configuration: ignored)")
        elif len(parts) == 4 and parts[0] == "assignments" and parts[2] == "tests" and name.endswith(".py"):
            if not _same(folder / rel, course.root / rel):
                found.append(f"{rel} (differs from the course's test: the course's copy was used)")
        elif parts[0] in GRADER_TREES and name.endswith(".py") and (course.root / rel).exists():
            if not _same(folder / rel, course.root / rel):
                found.append(f"{rel} (differs from the grader's copy: not used)")
    return tuple(found)


def layout_problem(course: Course, folder: Path, paths: list[str]) -> str:
    """Why the submission does not look like a course repository (empty: it does)."""
    expected = {m.student_file for m in course.modules}
    if any((folder / f).exists() or (folder / f).is_symlink() for f in expected):
        return ""
    names = {f.rsplit("/", 1)[-1] for f in expected}
    elsewhere = [p for p in paths if p.rsplit("/", 1)[-1] in names]
    if elsewhere:
        return ("none of the student files is where the course expects it (assignments/NN_slug/slug.py); "
                f"found {', '.join(elsewhere[:4])}" + (" ..." if len(elsewhere) > 4 else ""))
    python = [p for p in paths if p.endswith(".py")]
    if python:
        return (f"none of the student files is where the course expects it (assignments/NN_slug/slug.py); "
                f"the submission has {len(python)} other Python file(s), e.g. {python[0]}")
    return "none of the student files is there (an empty repository?)"


def tests_digest(course: Course, test_files: list[Path], plan_json: str) -> str:
    digest = hashlib.sha256(plan_json.encode())
    for path in sorted(test_files):
        digest.update(str(path.relative_to(course.root) if path.is_relative_to(course.root) else path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def grader_version(course: Course) -> str:
    """The grader's commit: git in a checkout, else the VERSION file a bundle ships, else unknown."""
    commit = commit_of(course.root)
    if commit:
        dirty = git(course.root, "status", "--porcelain", "--", *GRADER_TREES)
        return commit + ("-modified" if dirty else "")
    version = course.root / "grading" / "VERSION"
    return version.read_text(encoding="utf-8").strip() if version.is_file() else "unknown"


def provenance(course: Course, test_files: list[Path], plan_json: str) -> Provenance:
    import numpy
    return Provenance(grader=grader_version(course), tests_sha256=tests_digest(course, test_files, plan_json),
                      python=platform.python_version(), numpy=numpy.__version__)
