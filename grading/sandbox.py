"""Build the folder a grading runs in, from trusted tests and the student's allowed files only.

    SANDBOX/
      pytest.ini                          the grader's settings (never the submission's)
      submission/assignments/NN_slug/slug.py    copies of the allow-listed student files
      tests/NN_slug/test_slug.py          visible tests (from the course, not the submission)
      tests/NN_slug/hidden/test_*.py      hidden tests (course checkout or hidden bundle)
      work/NN/                            each module process's working directory

Nothing else from the submission is copied: its tests, conftest.py, pytest.ini, Makefile and
workflow play no part. The submission itself is only ever read.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from tinytorch.manifest import Course, Module

MAX_STUDENT_FILE_BYTES = 2 * 1024 * 1024

PYTEST_INI = """\
[pytest]
markers =
    points(n): points a test is worth
    slow: slow test
python_files = test_*.py
python_classes = Test*
python_functions = test_*
console_output_style = classic
timeout_method = signal
filterwarnings =
    ignore::DeprecationWarning
"""


class SubmissionError(ValueError):
    """The submission cannot be graded at all (e.g. its folder does not exist)."""


@dataclass(frozen=True)
class StudentFile:
    path: str                 # relative to the submission root
    sha256: str | None        # None when missing or refused
    problem: str = ""         # why the file was not taken, for the report


@dataclass(frozen=True)
class TestSources:
    """Where the trusted tests come from."""
    visible_root: Path                 # folder holding assignments/NN_slug/tests/
    hidden_root: Path | None           # folder holding NN_slug/*.py (a bundle), or None
    hidden_in_course: bool = False     # hidden tests under visible_root/assignments/NN_slug/hidden/

    def visible(self, module: Module) -> list[Path]:
        folder = self.visible_root / "assignments" / module.folder / "tests"
        return sorted(folder.glob("*.py")) if folder.is_dir() else []

    def hidden(self, module: Module) -> list[Path]:
        if self.hidden_root is not None:
            folder = self.hidden_root / module.folder
        elif self.hidden_in_course:
            folder = self.visible_root / "assignments" / module.folder / "hidden"
        else:
            return []
        return sorted(folder.glob("*.py")) if folder.is_dir() else []


def course_test_sources(course: Course, hidden: Path | None = None, visible_only: bool = False) -> TestSources:
    """Tests of this course checkout; hidden ones from `hidden` (a bundle) or the checkout."""
    if visible_only:
        return TestSources(course.root, None)
    if hidden is not None:
        if not hidden.is_dir():
            raise SubmissionError(f"hidden tests folder {hidden} does not exist")
        return TestSources(course.root, hidden)
    return TestSources(course.root, None, hidden_in_course=True)


def read_student_file(submission: Path, relative: str) -> tuple[bytes | None, str]:
    """The bytes of one allow-listed file, or None and the reason it was not taken."""
    path = submission / relative
    # Walk every component without following links: a link could point outside the submission.
    current = submission
    for part in Path(relative).parts:
        current = current / part
        try:
            info = current.lstat()
        except FileNotFoundError:
            return None, f"{relative} is missing"
        if stat.S_ISLNK(info.st_mode):
            return None, f"{relative}: {current.relative_to(submission)} is a symbolic link; links are not followed"
    if not stat.S_ISREG(info.st_mode):
        return None, f"{relative} is not a regular file"
    if info.st_size > MAX_STUDENT_FILE_BYTES:
        return None, f"{relative} is larger than {MAX_STUDENT_FILE_BYTES // 1024} KB"
    return path.read_bytes(), ""


def build_sandbox(course: Course, submission: Path, sources: TestSources, dest: Path) -> dict[str, StudentFile]:
    """Fill `dest` with the student's allowed files and the trusted tests; return what was taken."""
    if not submission.is_dir():
        raise SubmissionError(f"submission folder {submission} does not exist")
    (dest / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    files: dict[str, StudentFile] = {}
    for module in course.modules:
        data, problem = read_student_file(submission, module.student_file)
        target = dest / "submission" / module.student_file
        target.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            files[module.id] = StudentFile(module.student_file, None, problem)
        else:
            target.write_bytes(data)
            files[module.id] = StudentFile(module.student_file, hashlib.sha256(data).hexdigest())
        tests = dest / "tests" / module.folder
        tests.mkdir(parents=True, exist_ok=True)
        for src in sources.visible(module):
            shutil.copyfile(src, tests / src.name)
        hidden = sources.hidden(module)
        if hidden:
            (tests / "hidden").mkdir(exist_ok=True)
            for src in hidden:
                shutil.copyfile(src, tests / "hidden" / src.name)
        (dest / "work" / module.id).mkdir(parents=True, exist_ok=True)
    return files
