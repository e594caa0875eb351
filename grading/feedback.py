"""Feedback that teaches: the pytest plugin `make test` runs the visible tests with (`-p grading.feedback`).

    - A test that fails only because a body still raises the stub's NotImplementedError is "not
      started", not a failure to read: it gets no traceback, and the summary says once per body
      which tests wait for it ("not started: Tensor.__add__ (6 tests)").
    - Any other failure ends at the student's own line: the test's line, then the frames in the
      student's files (never the stub's docstring, never NumPy's insides), then the exception.
    - Numbers in messages are rounded to what matters (float32 noise such as
      -0.0010000000474974513 reads -0.001).

The grader does not use this plugin: it records what it needs itself (child.py).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from grading.text import tidy_numbers

STUB = re.compile(r"Module (\d\d) \(([a-z0-9_]+)\): write (\S+) \(see its docstring\)")
STUDENT_FILE = re.compile(r"(^|/)assignments/\d\d_[a-z0-9_]+/[a-z0-9_]+\.py$")


def _not_started(excinfo) -> str | None:
    if excinfo is None or not excinfo.errisinstance(NotImplementedError):
        return None
    match = STUB.search(str(excinfo.value))
    return match.group(3) if match else None


def short_traceback(item, excinfo) -> str:
    """The test's line, the student's frames, the exception: what a student can act on."""
    parts = []
    test_file = str(item.path)
    for entry in excinfo.traceback:
        path = str(entry.path)
        if path == test_file or STUDENT_FILE.search(path.replace("\\", "/")):
            where = path[path.find("assignments/"):] if "assignments/" in path else path
            source = str(entry.statement).strip().splitlines()
            parts.append(f"{where}:{entry.lineno + 1} in {entry.name}")
            if source:
                parts.append(f"    {source[0]}")
    message = tidy_numbers(str(excinfo.value)).strip()
    parts.append(f"{excinfo.typename}: {message}" if message else excinfo.typename)
    return "\n".join(parts)


class Feedback:
    def __init__(self) -> None:
        self.waiting: Counter[str] = Counter()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.failed and call.excinfo is not None:
            task = _not_started(call.excinfo)
            if task:
                report.not_started_task = task
                report.longrepr = f"not started: {task}"
            else:
                report.longrepr = short_traceback(item, call.excinfo)

    def pytest_report_teststatus(self, report, config):
        task = getattr(report, "not_started_task", None)
        if task and report.when == "call":
            self.waiting[task] += 1
            return "not started", "N", "NOT STARTED"
        return None

    def pytest_terminal_summary(self, terminalreporter):
        if self.waiting:
            terminalreporter.section("not started", sep="-")
            for task, count in self.waiting.most_common():
                terminalreporter.line(f"not started: {task} ({count} test{'s' if count > 1 else ''})")


def pytest_configure(config):
    config.pluginmanager.register(Feedback(), "tinytorch-feedback")
