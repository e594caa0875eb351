"""A student's first hour, from the template alone: what `make test`, `make status` and `make help`
show at each step. Run against a real built template with the Makefile's own commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grading.stubs import find_regions
from grading.template import build_template
from support import COURSE, build_submission

pytestmark = pytest.mark.slow

TENSOR = COURSE.module("01")
STUB_LINE = 'raise NotImplementedError("Module 01 (tensor): write {task} (see its docstring)")'


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_template(COURSE, tmp_path_factory.mktemp("journey") / "student")


def make(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TINYTORCH_", "GITHUB_")) and k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(root / "tinytorch_stub")
    return subprocess.run(["make", "--no-print-directory", f"PY={sys.executable}", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)


def write_body(root: Path, task: str) -> None:
    """Do what a student does: replace the stub of `task` in tensor.py with a working body."""
    solution = COURSE.root / TENSOR.solution_file
    source = solution.read_text(encoding="utf-8")
    region = next(r for r in find_regions(source, solution, TENSOR, COURSE) if r.task == task)
    body = "".join(source.splitlines(keepends=True)[region.start:region.end - 1])
    path = root / TENSOR.student_file
    text = path.read_text(encoding="utf-8")
    stub = f"{region.indent}{STUB_LINE.format(task=task)}\n"
    assert stub in text
    path.write_text(text.replace(stub, body, 1), encoding="utf-8")


def summary(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.strip().splitlines()[-1]


def test_the_untouched_template_says_not_started_in_a_few_lines(repo):
    proc = make(repo, "test", "M=01")
    assert proc.returncode != 0
    assert len(proc.stdout.splitlines()) <= 15, proc.stdout          # was about 1,900 lines
    assert "not started: Tensor.__init__" in proc.stdout
    assert "NotImplementedError" not in proc.stdout and "APPROACH" not in proc.stdout
    assert re.fullmatch(r"\d+ not started in [\d.]+s", summary(proc)), summary(proc)


def test_writing_one_body_moves_the_count(repo):
    before = int(summary(make(repo, "test", "M=01")).split()[0])
    write_body(repo, "Tensor.__init__")
    proc = make(repo, "test", "M=01")
    counts = dict((word, int(n)) for n, word in re.findall(r"(\d+) (passed|not started)", summary(proc)))
    assert counts.get("passed", 0) > 0 and counts.get("not started", 0) < before, proc.stdout[-1500:]
    assert "not started: Tensor.__init__" not in proc.stdout


def test_a_refused_import_fails_make_test_with_its_line(repo):
    path = repo / TENSOR.student_file
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("import numpy as np\n", "import numpy as np\nimport pickle\n", 1), encoding="utf-8")
    try:
        proc = make(repo, "test", "M=01")
    finally:
        path.write_text(original, encoding="utf-8")
    line = original.splitlines().index("import numpy as np") + 2
    assert proc.returncode != 0
    assert f"{TENSOR.student_file}:{line}: import of 'pickle' is not allowed" in proc.stdout
    assert "np.save" in proc.stdout                                    # what to use instead


def test_a_finished_module_01_passes_and_milestone_1_stays_locked(repo, tmp_path):
    build_submission(repo, keep={"01"})
    proc = make(repo, "status")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"\| 01 tensor \| \d+/\d+ \| passed \|", proc.stdout), proc.stdout[:2000]
    assert "milestone 1 perceptron: locked (needs 02, 03, 04)" in proc.stdout
    assert "- test_" in proc.stdout or "not_started" in proc.stdout        # failing tests listed on screen


def test_make_help_in_the_template_offers_only_what_works_there(repo):
    proc = make(repo, "help")
    for target in ("test", "status", "grade", "milestone"):
        assert re.search(rf"^{target}\s", proc.stdout, re.MULTILINE), target
    for instructor in ("stubs", "check", "bench", "template", "workflow"):
        assert not re.search(rf"^{instructor}\s", proc.stdout, re.MULTILINE), instructor
    proc = make(repo, "stubs")
    assert proc.returncode == 2 and "instructor's command of the course repository" in proc.stdout


def test_the_template_readme_states_the_rules(repo):
    from grading.policy import rules_markdown
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert "## What your code may use" in readme and rules_markdown() in readme
