"""Grading you can trust: blame by task, wrong values charged to the module that made them, hangs
that cost seconds, the unprivileged regrade, the staff view and loud bad input. End to end,
through the real grader."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from support import COURSE, build_submission, by_id, grade_folder, tree_digest

pytestmark = pytest.mark.slow

TENSOR = "assignments/01_tensor/tensor.py"


def _body(cls: str, function: str, code: str, replace: bool = False):
    """An edit that puts `code` (indented for a method) at the top of cls.function's body, or in
    place of the whole body (`replace`: up to the next blank-line gap)."""
    def edit(text: str) -> str:
        start = text.index(f"    def {function}(", text.index(f"\nclass {cls}"))
        body = text.index('"""', text.index('"""', start) + 3) + 3      # end of its docstring
        lines = "".join(f"\n        {line}" for line in code.splitlines())
        end = text.index("\n\n", body) if replace else body
        return text[:body] + lines + text[end:]
    return edit


UNFINISHED_MUL = _body("MulBackward", "backward",
                       'raise NotImplementedError("Module 05 (autograd): write MulBackward.backward (see its docstring)")',
                       replace=True)


def test_blame_goes_to_the_module_that_owns_the_task(tmp_path):
    """Case 1: everything finished but 05's MulBackward.backward, a region inside module 01's file."""
    report = grade_folder(build_submission(tmp_path, edits={"01": UNFINISHED_MUL}),
                          modules=[m.id for m in COURSE.modules if m.id <= "09"])
    modules = by_id(report)
    assert modules["01"].status == "passed" and modules["01"].score == modules["01"].max
    assert modules["05"].status == "partial" and "MulBackward.backward" in modules["05"].message
    assert (modules["09"].status, modules["09"].blocked_by) == ("blocked", ("05",)), modules["09"].message
    for m in report.modules:
        assert "01" not in m.blocked_by, (m.id, m.status, m.message)


RELU_IDENTITY = _body("ReLU", "forward", "return x")


def test_wrong_values_are_charged_to_the_module_that_made_them(tmp_path):
    """Case 2: ReLU.forward returns x. Nothing raises; with the reference at hand (a TA's grade) the
    isolated run shows that 03's failures are 02's; without it, a hint points at 02."""
    root = build_submission(tmp_path, edits={"02": RELU_IDENTITY})
    staff = by_id(grade_folder(root, modules=["01", "02", "03"], isolated=True))
    layers = staff["03"]
    assert (layers.status, layers.blocked_by) == ("blocked", ("02",)), layers.message
    assert layers.isolated is not None and layers.isolated.score == layers.isolated.max == layers.max
    assert layers.score < layers.max                    # the recorded (integrated) score is unchanged
    assert staff["02"].status == "partial" and staff["02"].isolated.score == staff["02"].score
    assert staff["01"].isolated is None                 # passed: nothing to isolate
    student = by_id(grade_folder(root, modules=["01", "02", "03"], isolated=False))
    assert student["03"].status == "partial" and student["03"].isolated is None
    assert student["03"].hint == "module 02 does not pass yet; failures here may come from it"


LOOP_IN_INIT = _body("Tensor", "__init__", "while True:\n    pass")


def test_one_hang_costs_seconds_and_is_charged_to_its_module(tmp_path):
    """Case 3: an infinite loop in Tensor.__init__, everything else finished. Module 01 stops after
    two timeouts and names the looping line; every other module is blocked by 01, not `timeout`."""
    root = build_submission(tmp_path, edits={"01": LOOP_IN_INIT})
    started = time.monotonic()
    report = grade_folder(root, test_timeout=2, module_timeout=60)
    elapsed = time.monotonic() - started
    modules = by_id(report)
    tensor = modules["01"]
    assert tensor.status == "timeout" and "stopped after 2 timeouts" in tensor.message, tensor.message
    loop_line = (root / TENSOR).read_text().splitlines().index("        while True:") + 1
    assert f"{TENSOR}:{loop_line}" in tensor.message and "Tensor.__init__" in tensor.message
    not_run = [t for t in tensor.tests if t.outcome == "not_run"]
    assert not_run and all(t.message == "not run: stopped after 2 timeouts" for t in not_run)
    for m in report.modules[1:]:          # 10 (tokenization) never builds a Tensor: it may pass
        if m.status != "passed":
            assert (m.status, m.blocked_by) == ("blocked", ("01",)), (m.id, m.status, m.message)
    assert all(modules[m].status == "blocked" for m in ("02", "03", "05", "09"))
    # Limits: 2 s per test, so 01 costs about 4 s; later modules stop at their first hang.
    assert elapsed < 120, f"grading took {elapsed:.0f} s"


def test_progress_shows_one_line_per_module_as_it_finishes(tmp_path):
    root = build_submission(tmp_path, keep={"01"})
    proc = subprocess.run([sys.executable, "-m", "grading", "grade", str(root), "--modules", "01,02",
                           "--no-isolated"], capture_output=True, text=True, cwd=COURSE.root, timeout=300)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Grading ")
    progress = sorted(line for line in lines[1:] if line.split()[:1] in (["01"], ["02"]) and line.rstrip().endswith(" s"))
    assert len(progress) == 2, proc.stdout[:2000]         # in the order they finish: either may be first
    assert progress[0].split()[:3] == ["01", "tensor", "passed"] and progress[0].rstrip().endswith("s")
    assert progress[1].split()[:3] == ["02", "activations", "not_started"]


# ----------------------------------------------------------------------- the unprivileged regrade


def _open_dir(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


def _interpreter_for_anyone(folder: Path) -> str:
    """A Python that any user can run, with this environment's packages: this venv's interpreter may
    live below /root. A venv made from the system's Python of the same version, reading this venv's
    site-packages through a .pth file, is what a TA would install for the grading user."""
    import sysconfig
    base = Path("/usr/bin/python3")
    probe = subprocess.run([str(base), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != str(tuple(sys.version_info[:2])):
        pytest.skip(f"no system Python {sys.version_info[0]}.{sys.version_info[1]} for another user to run")
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True)
    site = next(folder.glob("lib/python*/site-packages"))
    (site / "tinytorch-grader.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644 if path.suffix else 0o755)
    return str(folder / "bin" / "python")


def test_official_regrade_runs_as_an_unprivileged_user_with_no_home():
    """What the README tells TAs to run for grades that matter: another uid, HOME=/nonexistent,
    a read-only checkout and submission. It writes only to --out and a temporary folder."""
    submission, out, venv = _open_dir("tt-unpriv-sub-"), _open_dir("tt-unpriv-out-"), _open_dir("tt-unpriv-py-")
    try:
        build_submission(submission, keep={"01"})
        for path in submission.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        course_before, sub_before = tree_digest(COURSE.root / "grading"), tree_digest(submission)
        env = {"PATH": os.environ["PATH"], "HOME": "/nonexistent"}
        python = sys.executable
        prefix: list[str] = []
        if os.geteuid() == 0:
            out.chmod(0o777)
            python = _interpreter_for_anyone(venv)
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        command = [*prefix, python, "-m", "grading", "grade", str(submission), "--out", str(out / "report"),
                   "--modules", "01,02"]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=COURSE.root, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        data = json.loads((out / "report" / "report.json").read_text())
        assert {m["id"]: m["status"] for m in data["modules"]} == {"01": "passed", "02": "not_started"}
        assert tree_digest(submission) == sub_before and tree_digest(COURSE.root / "grading") == course_before
        assert sorted(p.name for p in out.iterdir()) == ["report"]
    finally:
        for folder in (submission, out, venv):
            shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------- the staff view


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s",
                        "GIT_COMMITTER_EMAIL": "s@x"})


SNEAKY = 'try:\n    open("/tmp/tt-forged-report.json", "w")\nexcept PermissionError:\n    pass'


def test_staff_see_hidden_messages_and_integrity_students_never_do(tmp_path):
    root = build_submission(tmp_path / "alice", edits={"02": _body("Sigmoid", "forward", SNEAKY)})
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "work")
    relu = root / "assignments/02_activations/activations.py"
    relu.write_text(RELU_IDENTITY(relu.read_text()))                 # uncommitted: a dirty tree
    (root / "conftest.py").write_text("# nothing\n")
    visible = root / "assignments/01_tensor/tests/test_tensor.py"
    visible.parent.mkdir(parents=True)
    visible.write_text("def test_x():\n    pass\n")
    before = tree_digest(root)
    for staff in (True, False):
        out = tmp_path / f"out-{staff}"
        args = [sys.executable, "-m", "grading", "grade", str(root), "--out", str(out), "--modules", "01,02",
                "--no-isolated", "--quiet"] + (["--staff"] if staff else [])
        proc = subprocess.run(args, capture_output=True, text=True, cwd=COURSE.root, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        data = json.loads((out / "report.json").read_text())
        assert data["working_tree"] == "dirty"
        student_facing = (out / "report.md").read_text() + (out / "grades.csv").read_text() + \
            (out / "classroom.env").read_text()
        assert "tt-forged-report" not in student_facing and "conftest.py" not in student_facing
        hidden = [t for m in data["modules"] for t in m["tests"] if t["visibility"] == "hidden" and t["outcome"] != "passed"]
        assert hidden and all(t["message"] == "wrong result" or t["message"].split(" ")[0].isidentifier()
                              and len(t["message"]) < 120 for t in hidden), [t["message"] for t in hidden]
        if not staff:
            assert not (out / "staff.md").exists() and "integrity" not in data
            assert all("staff" not in t for t in hidden)
            continue
        text = (out / "staff.md").read_text()
        assert "dirty: graded the working tree; 1 file(s) differ from commit" in text
        assert "assignments/02_activations/activations.py" in text
        assert "guard refused: 02: opening '/tmp/tt-forged-report.json'" in text or \
            "guard refused: 02: writing '/tmp/tt-forged-report.json'" in text
        assert "conftest.py (test configuration: ignored)" in text
        assert "assignments/01_tensor/tests/test_tensor.py (differs from the course's test" in text
        detailed = [t for t in hidden if t.get("staff")]
        assert detailed and all(t["staff"] != t["message"] for t in detailed)       # the whole message
        assert all(t["staff"] in text for t in detailed)
    assert tree_digest(root) == before


# ----------------------------------------------------------------------- bad input stays loud


def test_a_wrong_layout_is_an_error_naming_where_the_files_are_and_exits_3(tmp_path):
    (tmp_path / "src").mkdir()
    src = COURSE.root / COURSE.module("01").solution_file
    shutil.copyfile(src, tmp_path / "src" / "tensor.py")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "grading", "grade", str(tmp_path), "--out", str(out),
                           "--modules", "01,02", "--quiet"], capture_output=True, text=True, cwd=COURSE.root, timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert "layout is wrong" in proc.stderr and "src/tensor.py" in proc.stderr
    data = json.loads((out / "report.json").read_text())
    assert all(m["status"] == "error" and "src/tensor.py" in m["hint"] for m in data["modules"])
    proc = subprocess.run([sys.executable, "-m", "grading", "grade", str(tmp_path / "src" / "tensor.py")],
                          capture_output=True, text=True, cwd=COURSE.root, timeout=60)
    assert proc.returncode == 2 and "is not a folder" in proc.stderr


def test_report_folders_are_unique_per_submission_and_keep_history(tmp_path):
    roots = [build_submission(tmp_path / group / "alice", keep={"01"}) for group in ("a", "b")]
    reports = tmp_path / "reports"
    for label, root in [("a/alice", roots[0]), ("b/alice", roots[1]), ("a/alice", roots[0])]:
        proc = subprocess.run([sys.executable, "-m", "grading", "grade", str(root), "--reports", str(reports),
                               "--label", label, "--modules", "01", "--quiet"], capture_output=True, text=True,
                              cwd=COURSE.root, timeout=300)
        assert proc.returncode == 0, proc.stderr
        time.sleep(1.1)                                          # gradings a second apart: two folders
    alice_a = sorted(p.name for p in (reports / "a__alice").iterdir())
    assert len(alice_a) == 3 and "latest" in alice_a                  # two gradings and the link
    assert (reports / "a__alice" / "latest").resolve().name == max(n for n in alice_a if n != "latest")
    assert (reports / "b__alice" / "latest" / "report.json").is_file()


# ----------------------------------------------------------------------- per-module settings


def test_requires_lists_direct_prerequisites_and_the_tools_use_the_closure():
    assert COURSE.module("09").depends_on == ("08",)
    assert COURSE.module("09").requires == tuple(f"{i:02d}" for i in range(1, 9))
    assert COURSE.milestone("3").requires == tuple(f"{i:02d}" for i in range(1, 10))


def test_per_module_limits_and_guard_allowances(tmp_path):
    from grading.limits import Limits
    from tinytorch.manifest import ManifestError, load_course
    text = (COURSE.root / "course.toml").read_text().replace(
        'slug = "layers"', 'slug = "layers"\ntest_timeout = 45\nmemory_mb = 8192\nguard_allow = ["sys.setprofile"]', 1)
    (tmp_path / "course.toml").write_text(text)
    course = load_course(tmp_path)
    layers = course.module("03")
    assert layers.limits == {"test_timeout": 45, "memory_mb": 8192} and layers.guard_allow == ("sys.setprofile",)
    base = Limits.from_manifest(course.grading)
    assert base.for_module(layers).test_timeout == 45 and base.for_module(course.module("02")).test_timeout == 20
    assert base.for_module(layers, {"test_timeout": 5, "memory_mb": None}).test_timeout == 5
    (tmp_path / "course.toml").write_text(text.replace("test_timeout = 45", "test_timeout = -1"))
    with pytest.raises(ManifestError, match="test_timeout must be a positive number"):
        load_course(tmp_path)
    (tmp_path / "course.toml").write_text(text.replace('score = "integrated"', 'score = "best"'))
    with pytest.raises(ManifestError, match="score must be one of"):
        load_course(tmp_path)
    (tmp_path / "course.toml").write_text(text.replace('gpt-dir = "4"', 'gpt-dir = "6"'))
    with pytest.raises(ManifestError, match="'6', which is not an earlier milestone"):
        load_course(tmp_path)


GUARD_PROBE = """
import json, os, sys
sys.path[:0] = [{loader!r}, {grading!r}]
from child import install_guard
refused = []
install_guard([os.getcwd()], os.path.join(os.getcwd(), "private"), os.path.join(os.getcwd(), "r.json"), 2,
              allow=frozenset({allow}), on_refuse=refused.append)
try:
    sys.setprofile(None)
    print("allowed")
except PermissionError as exc:
    print("refused", refused)
"""


@pytest.mark.parametrize("allow", [(), ("sys.setprofile",)], ids=["default", "allowed"])
def test_guard_allowances_are_per_module_and_refusals_are_recorded(tmp_path, allow):
    code = GUARD_PROBE.format(loader=str(COURSE.root / "tinytorch_stub"), grading=str(COURSE.root / "grading"),
                              allow=set(allow) or "")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("allowed" if allow else "refused ['sys.setprofile']")


def test_matplotlib_is_imported_before_the_guard_only_for_modules_allowed_to_use_it():
    """Its first import runs `fc-list` (the font cache): refused by the guard and charged to the student's line."""
    from grading.run import preloads
    assert preloads(COURSE.module("19").allow_imports) == ("matplotlib.font_manager",)
    assert preloads(("matplotlib.pyplot", "csv")) == ("matplotlib.font_manager",)
    assert preloads(COURSE.module("08").allow_imports) == () and preloads(()) == ()


def test_make_grade_passes_jobs_timeout_and_staff():
    proc = subprocess.run(["make", "-n", "grade", "STUDENT=alice", "JOBS=1", "TIMEOUT=7", f"PY={sys.executable}"],
                          capture_output=True, text=True, cwd=COURSE.root, timeout=60)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout
    assert "--jobs 1" in line and "--test-timeout 7" in line and "--reports reports --label alice" in line
    assert "--staff" in line                 # the course repository holds the reference: a staff grading
