"""End to end: real submissions through the real sandboxed grader."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import pytest

from support import ALL, COURSE, build_submission, by_id, grade_folder, tree_digest

pytestmark = pytest.mark.slow


def test_reference_scores_every_point_and_unlocks_milestone_1(reference_report):
    report, _, _ = reference_report
    for m in report.modules:
        assert m.status == "passed", f"module {m.id}: {m.status} {m.message} " + str(
            [(t.name, t.message) for t in m.tests if t.outcome != "passed"])
        assert m.score == m.max == COURSE.module(m.id).points
    assert report.score == report.max == COURSE.max_points
    assert report.tests == "all"
    assert any(t.visibility == "hidden" for m in report.modules for t in m.tests)
    assert all(ms.unlocked for ms in report.milestones)


def test_grading_never_writes_into_the_submission(reference_report):
    _, root, before = reference_report
    assert tree_digest(root) == before


def test_stubs_score_zero_and_are_not_started(stub_report):
    for m in stub_report.modules:
        assert m.score == 0, f"module {m.id} scored {m.score} with the stub: " + str(
            [t.name for t in m.tests if t.outcome == "passed"])
        assert m.status == "not_started", (m.id, m.status, m.message)
    assert not any(ms.unlocked for ms in stub_report.milestones)
    assert stub_report.milestones[0].missing == ("01", "02", "03", "04")


FINISHED_01_12 = tuple(f"{i:02d}" for i in range(1, 13))
FINISHED_01_17 = tuple(m.id for m in COURSE.modules if m.id <= "17")


@pytest.mark.parametrize("finished", [("01", "02"), ("01", "02", "03", "04", "05"), FINISHED_01_12, FINISHED_01_17],
                         ids=["finished-01-02", "finished-01-05", "finished-01-12", "finished-01-17"])
def test_partial_student_scores_exactly_the_finished_modules(tmp_path, finished):
    report = grade_folder(build_submission(tmp_path, keep=set(finished)))
    modules = by_id(report)
    for m in COURSE.modules:
        if m.id in finished:
            assert modules[m.id].status == "passed" and modules[m.id].score == m.points, m.id
        else:
            assert (modules[m.id].score, modules[m.id].status) == (0, "not_started"), m.id
    assert report.score == sum(COURSE.module(mid).points for mid in finished)
    for ms in report.milestones:
        missing = [mid for mid in ms.requires if mid not in finished]
        assert (ms.unlocked, list(ms.missing)) == (not missing, missing), ms.id


BROKEN_LINE = {}


def _break_syntax(text: str) -> str:
    """Insert `def broken(:` right after the first import; remember its line number."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(("import ", "from "))) + 1
    lines.insert(at, "def broken(:")
    BROKEN_LINE["line"] = at + 1
    return "\n".join(lines) + "\n"


def test_syntax_error_names_file_and_line_and_spares_earlier_modules(tmp_path):
    report = grade_folder(build_submission(tmp_path, edits={"02": _break_syntax}), modules=["01", "02", "03", "04", "05"])
    modules = by_id(report)
    assert modules["01"].status == "passed" and modules["01"].score == modules["01"].max
    assert modules["02"].status == "error" and modules["02"].score == 0
    assert f"assignments/02_activations/activations.py:{BROKEN_LINE['line']}" in modules["02"].message
    assert "SyntaxError" in modules["02"].message
    # Modules importing 02 are blocked by it, not blamed for it.
    for m in report.modules:
        if m.id > "02" and m.status != "passed":
            assert m.status == "blocked" and m.blocked_by == ("02",), (m.id, m.status, m.message)


def _hang_in(cls: str, function: str):
    """An edit that puts `while True: pass` at the top of cls.function's body."""
    def edit(text: str) -> str:
        start = text.index(f"    def {function}(", text.index(f"\nclass {cls}"))
        body = text.index('"""', text.index('"""', start) + 3) + 3      # end of its docstring
        return text[:body] + "\n        while True:\n            pass\n" + text[body:]
    return edit


@pytest.mark.parametrize("fork", [True, False], ids=["zygote", "fresh-interpreter"])
def test_hanging_module_is_cut_off_and_others_still_score(tmp_path, fork):
    root = build_submission(tmp_path, edits={"03": _hang_in("Linear", "forward")})
    started = time.monotonic()
    report = grade_folder(root, fork=fork, test_timeout=1, module_timeout=6, modules=["01", "02", "03"])
    elapsed = time.monotonic() - started
    modules = by_id(report)
    assert modules["03"].status == "timeout", (modules["03"].status, modules["03"].message)
    assert modules["03"].score < modules["03"].max
    for mid in ("01", "02"):
        assert modules[mid].status == "passed"
    assert elapsed < 30, f"grading took {elapsed:.0f} s although the module limit is 6 s"


@pytest.mark.parametrize("fork", [True, False], ids=["zygote", "fresh-interpreter"])
def test_os_exit_in_a_student_file_is_contained(tmp_path, fork):
    """The policy check refuses os._exit (test_adversarial.py); without it, the process still contains it."""
    def exit_early(text: str) -> str:
        return text.replace("import numpy as np", "import os\nimport numpy as np", 1) + \
            "\nos._exit(0)\n"
    report = grade_folder(build_submission(tmp_path, edits={"04": exit_early}), fork=fork, policy=False,
                          modules=["01", "02", "03", "04"])
    modules = by_id(report)
    assert modules["04"].score == 0 and modules["04"].status == "error", (modules["04"].status, modules["04"].message)
    assert "exited with code 0" in modules["04"].message
    for mid in ("01", "02", "03"):
        assert modules[mid].status == "passed"


def test_sys_exit_inside_a_test_only_fails_that_test(tmp_path):
    """The policy check refuses SystemExit (test_adversarial.py); without it, only that test fails."""
    def exit_in_relu(text: str) -> str:
        return _hang_in("Sigmoid", "forward")(text).replace("while True:\n            pass", "raise SystemExit(0)", 1)
    report = grade_folder(build_submission(tmp_path, edits={"02": exit_in_relu}), policy=False, modules=["01", "02"])
    modules = by_id(report)
    assert modules["01"].status == "passed"
    # The process survived the SystemExit: tests of the other activations still passed.
    assert 0 < modules["02"].score < modules["02"].max, (modules["02"].score, modules["02"].message)
    sigmoid = [t for t in modules["02"].tests if "sigmoid" in t.name.lower()]
    assert sigmoid and any(t.outcome == "failed" for t in sigmoid)


def test_conftest_and_config_in_the_submission_change_nothing(tmp_path):
    root = build_submission(tmp_path, keep=())
    cheat = (
        "import pytest\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    rep = outcome.get_result()\n"
        "    rep.outcome = 'passed'\n"
    )
    for folder in ("", "assignments/", "assignments/01_tensor/", "assignments/01_tensor/tests/"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "conftest.py").write_text(cheat)
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:python\n")
    (root / "sitecustomize.py").write_text("import os; os._exit(0)\n")
    (root / "assignments/01_tensor/tests/test_tensor.py").write_text("def test_x():\n    pass\n")
    report = grade_folder(root, modules=["01", "02", "03"])
    assert report.score == 0
    assert all(m.status == "not_started" for m in report.modules)


def test_cli_writes_every_report_format(tmp_path, reference_report):
    _, root, _ = reference_report
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "grading", "grade", str(root), "--out", str(out),
                           "--label", "alice", "--modules", "01,02"],
                          capture_output=True, text=True, cwd=COURSE.root, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| 01 tensor |" in proc.stdout and "TinyTorch grade:" in proc.stdout
    data = json.loads((out / "report.json").read_text())
    assert data["schema"] == "tinytorch-grade/1" and data["submission"] == "alice"
    assert data["total"] == {"score": data["total"]["max"], "max": COURSE.module("01").points + COURSE.module("02").points}
    assert [m["id"] for m in data["modules"]] == ["01", "02"]
    for m in data["modules"]:
        assert {"id", "slug", "score", "max", "status", "blocked_by", "tests"} <= set(m)
        assert {"name", "visibility", "outcome", "score", "max", "message"} <= set(m["tests"][0])
    env = dict(line.split("=", 1) for line in (out / "classroom.env").read_text().splitlines())
    assert env["CLASSROOM_RUNNERS"] == "module01,module02"
    total = 0.0
    for runner in env["CLASSROOM_RUNNERS"].split(","):
        result = json.loads(base64.b64decode(env[f"{runner.upper()}_RESULTS"]))
        assert result["version"] == 1 and result["status"] == "pass"
        total += sum(t["score"] for t in result["tests"])
    assert total == data["total"]["score"]
    md = (out / "report.md").read_text()
    assert md.startswith("# TinyTorch grade:") and "| 02 activations |" in md
    assert (out / "grades.csv").read_text().splitlines()[0].startswith("module,slug,status,test")


def test_visible_only_grading_says_so_first(tmp_path):
    root = build_submission(tmp_path, keep={"01"})
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "grading", "grade", str(root), "--out", str(out), "--visible-only",
                    "--modules", "01", "--quiet"], check=True, cwd=COURSE.root, timeout=300)
    md = (out / "report.md").read_text()
    assert md.splitlines()[0] == "**visible tests only; official grade pending**"
    data = json.loads((out / "report.json").read_text())
    assert data["tests"] == "visible"
    assert all(t["visibility"] == "visible" for t in data["modules"][0]["tests"])


def test_hidden_failures_show_only_a_short_category(tmp_path):
    def wrong_sum(text: str) -> str:       # a Tensor whose add is subtly wrong
        code = "return Tensor(self.data + other.data)\n"
        assert code in text, "the reference __add__ changed; update this test's edit"
        return text.replace(code, "return Tensor(self.data + other.data + 1e-3)\n", 1)
    report = grade_folder(build_submission(tmp_path, keep=ALL, edits={"01": wrong_sum}), modules=["01"])
    hidden = [t for t in by_id(report)["01"].tests if t.visibility == "hidden" and t.outcome != "passed"]
    assert hidden, "a wrong __add__ should fail some hidden test"
    for t in hidden:
        assert t.message in ("wrong result",) or t.message.split(" ")[0].endswith(("Error", "Exception")), t.message


def test_missing_submission_folder_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grading", "grade", str(tmp_path / "nope")],
                          capture_output=True, text=True, cwd=COURSE.root, timeout=60)
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_memory_blow_up_is_contained_by_the_address_space_limit(tmp_path):
    def eat_memory(text: str) -> str:        # 100 GB in Sigmoid.forward, then a growing list
        return _hang_in("Sigmoid", "forward")(text).replace(
            "while True:\n            pass",
            "hog = [bytearray(1 << 26)]\n        np.ones((100_000, 1_000_000))\n"
            "        while True:\n            hog.append(bytearray(1 << 26))", 1)
    report = grade_folder(build_submission(tmp_path, edits={"02": eat_memory}), memory_mb=2048, modules=["01", "02"])
    modules = by_id(report)
    assert modules["01"].status == "passed"
    assert 0 < modules["02"].score < modules["02"].max
    sigmoid = [t for t in modules["02"].tests if "sigmoid" in t.name.lower() and t.outcome != "passed"]
    assert sigmoid and all("MemoryError" in t.message for t in sigmoid if t.visibility == "visible")
