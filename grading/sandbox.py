"""Build the folder a grading runs in, from trusted tests and the student's allowed files only.

    SANDBOX/
      pytest.ini                          the grader's settings (never the submission's)
      submission/assignments/NN_slug/slug.py    copies of the allow-listed student files
      tests/NN_slug/test_slug.py          visible tests (from the course, not the submission)
      tests/NN_slug/hidden/test_*.py      hidden tests (course checkout or hidden bundle)
      work/NN/                            each module process's working directory

Nothing else from the submission is copied: its tests, conftest.py, pytest.ini, Makefile and
workflow play no part (pytest runs with --noconftest: no conftest.py is loaded at all, so course
tests keep their fixtures in the test files). The submission itself is only ever read.

A student file that cannot run (missing, a directory, a link, binary, not UTF-8, empty, or
refused by the policy check in policy.py) is replaced in the sandbox by one line that raises
ImportError with the reason: its module is reported with that reason and is not run, and the
modules that import it are `blocked` by it.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from grading.model import Status
from grading.policy import check_module_source, describe_violations
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
    sha256: str | None        # None when missing or unreadable
    problem: str = ""         # why the file was not run, for the report
    status: str = Status.ERROR   # the module's status when there is a problem (error or policy)


@dataclass(frozen=True)
class TestSources:
    """Where the trusted tests come from."""
    visible_root: Path                 # folder holding assignments/NN_slug/tests/
    hidden_root: Path | None           # an instructor's bundle (assignments/NN_slug/hidden/*.py), or None
    hidden_in_course: bool = False     # hidden tests under visible_root/assignments/NN_slug/hidden/

    def visible(self, module: Module) -> list[Path]:
        folder = self.visible_root / "assignments" / module.folder / "tests"
        return sorted(folder.glob("*.py")) if folder.is_dir() else []

    def hidden(self, module: Module) -> list[Path]:
        if self.hidden_root is not None:
            folder = self.hidden_root / "assignments" / module.folder / "hidden"
        elif self.hidden_in_course:
            folder = self.visible_root / "assignments" / module.folder / "hidden"
        else:
            return []
        return sorted(folder.glob("*.py")) if folder.is_dir() else []

    def all_files(self, course: Course) -> list[Path]:
        """Every test file of the course these sources hold (for the report's provenance)."""
        return [path for module in course.modules for path in (*self.visible(module), *self.hidden(module))]


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
            link = current.relative_to(submission).as_posix()
            where = relative if link == relative else f"{relative}: {link}"
            return None, f"{where} is a symbolic link; links are not followed"
    if stat.S_ISDIR(info.st_mode):
        return None, f"{relative} is a directory, not a file"
    if not stat.S_ISREG(info.st_mode):
        return None, f"{relative} is not a regular file"
    if info.st_size > MAX_STUDENT_FILE_BYTES:
        return None, f"{relative} is larger than {MAX_STUDENT_FILE_BYTES // 1024} KB"
    return path.read_bytes(), ""


def student_text(relative: str, data: bytes) -> tuple[str | None, str]:
    """The file as text, or None and why it is not Python source the grader can run."""
    nul = data.find(b"\0")
    if nul >= 0:
        return None, f"{relative} is a binary file, not Python source (NUL byte at offset {nul})"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, (f"{relative} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                      "save it as UTF-8")
    if not text.strip():
        return None, f"{relative} is empty"
    return text, ""


def placeholder(problem: str) -> bytes:
    """What stands in the sandbox for a student file that is not run."""
    return f"raise ImportError({('not run by the grader: ' + problem)!r})\n".encode()


def take_student_file(course: Course, module: Module, submission: Path, policy: bool) -> tuple[StudentFile, bytes]:
    """Read, check and describe one student file; return it and what to put in the sandbox."""
    relative = module.student_file
    data, problem = read_student_file(submission, relative)
    if data is None:
        return StudentFile(relative, None, problem), placeholder(problem)
    digest = hashlib.sha256(data).hexdigest()
    text, problem = student_text(relative, data)
    if text is None:
        return StudentFile(relative, digest, problem), placeholder(problem)
    violations = check_module_source(course, module, text) if policy else []
    if violations:
        problem = describe_violations(relative, violations)
        return StudentFile(relative, digest, problem, Status.POLICY), placeholder(problem)
    return StudentFile(relative, digest), data


def build_sandbox(course: Course, submission: Path, sources: TestSources, dest: Path,
                  policy: bool = True) -> dict[str, StudentFile]:
    """Fill `dest` with the student's allowed files and the trusted tests; return what was taken.

    `policy=False` skips the static policy check (for tests of the runtime containment only).
    """
    if not submission.is_dir():
        what = "is not a folder" if submission.exists() else "does not exist"
        raise SubmissionError(f"submission folder {submission} {what}")
    (dest / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    files: dict[str, StudentFile] = {}
    for module in course.modules:
        files[module.id], content = take_student_file(course, module, submission, policy)
        target = dest / "submission" / module.student_file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
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
