"""The class, end to end: a generated class of ten repositories graded by `python -m grading gradebook`
(modules 01-02, small limits), resumed, graded at its deadlines with and without a snapshot, compared
for similarity, sharded and merged. The pure parts are tested in test_deadlines.py."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from fakeclass import BOTH, HOSTILE_TARGET, Spec, build_class, commit, small_class, write_student
from grading import gradebook, regrade, roster, workflow
from grading.cli import build_parser, main
from grading.similarity import class_similarity
from support import COURSE, tree_digest

pytestmark = pytest.mark.slow

DUE = {"01": "2026-01-12T23:59:00+00:00", "02": "2026-01-15T23:59:00+00:00"}
COURSE_DUE = replace(COURSE, modules=tuple(replace(m, deadline=datetime.fromisoformat(DUE[m.id]))
                                           if m.id in DUE else m for m in COURSE.modules))
LIMITS = ["--modules", "01,02", "--jobs", "2", "--test-timeout", "2", "--module-timeout", "20"]


def run(*argv: str, course=COURSE) -> tuple[int, str, str]:
    """`python -m grading gradebook ...` in this process (a course with deadlines needs that): (rc, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        args = build_parser().parse_args(["gradebook", *argv])
        code = gradebook.cmd_gradebook(args, course=course)
    return code, out.getvalue(), err.getvalue()


def rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "gradebook.csv").open(newline="") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def klass(tmp_path_factory):
    """The class (small_class: ten students, every case), its digests, and its first gradebook (HEAD)."""
    root = tmp_path_factory.mktemp("class")
    Path(HOSTILE_TARGET).unlink(missing_ok=True)
    folders = build_class(root / "submissions", small_class())
    digests = {name: tree_digest(path) for name, path in folders.items()}
    started = time.monotonic()
    code, out, err = run(str(root / "submissions"), "--out", str(root / "out"), *LIMITS)
    return {"root": root, "folders": folders, "digests": digests, "code": code, "stdout": out, "stderr": err,
            "seconds": time.monotonic() - started}


@pytest.fixture(scope="session")
def at_deadlines(klass):
    """The same class graded AT=deadlines into the same OUT (HEAD gradings reused), jo with an extension."""
    root = klass["root"]
    (root / "extensions.csv").write_text("student,module,days\njo,02,2\n")
    code, out, err = run(str(root / "submissions"), "--out", str(root / "out"), *LIMITS, "--at", "deadlines",
                         "--extensions", str(root / "extensions.csv"), "--snapshots", str(root / "no-snapshots"),
                         course=COURSE_DUE)
    assert code == 0, out + err
    return rows(root / "out"), json.loads((root / "out" / "gradebook.json").read_text()), out


# --------------------------------------------------------------------------- at HEAD


def test_every_student_gets_a_row_that_says_how_it_went(klass):
    assert klass["code"] == 0, klass["stdout"] + klass["stderr"]
    out = klass["root"] / "out"
    table = rows(out)
    assert list(table) == sorted(s.name for s in small_class())
    scores = {name: (r["status"], r["total"], r["01_status"], r["02_status"]) for name, r in table.items()}
    assert scores["ada"] == ("graded", "160", "passed", "passed")
    assert scores["ben"] == ("graded", "100", "passed", "not_started")
    assert scores["dee"] == ("graded", scores["dee"][1], "passed", "partial") and 100 < float(scores["dee"][1]) < 160
    assert scores["eli"][2:] == ("timeout", "blocked")                    # the hang costs its own row only
    assert scores["fay"][2:] == ("passed", "error") and not Path(HOSTILE_TARGET).exists()
    assert scores["gus"][:2] == ("no-commits", "") and "without commits" in table["gus"]["message"]
    assert scores["hal"] == ("graded", "160", "passed", "passed") and table["hal"]["working_tree"] == "no-git"
    assert table["ada"]["commit"] == subprocess.run(["git", "-C", str(klass["folders"]["ada"]), "rev-parse", "HEAD"],
                                                    capture_output=True, text=True).stdout.strip()
    for name in ("ada", "eli"):
        assert (out / name / "report.json").is_file() and (out / name / "staff.md").is_file()
    header = next(csv.reader((out / "gradebook.csv").open()))
    assert header[:5] == ["student", "name", "id", "status", "message"]
    assert {"01_score", "02_status", "milestone_1", "total", "max", "late_points", "grader", "tests_sha256",
            "python", "numpy", "provenance"} <= set(header)
    graded = [r for r in table.values() if r["status"] == "graded"]
    assert len({(r["grader"], r["tests_sha256"]) for r in graded}) == 1 and not any(r["provenance"] for r in graded)


def test_progress_shows_done_running_and_failed(klass):
    lines = [line for line in klass["stdout"].splitlines() if line.startswith("[")]
    assert len(lines) == len(small_class())
    assert lines[-1].startswith("[10/10] done 10  running 0  failed 1")      # gus
    assert all(" running " in line and " failed " in line for line in lines)
    assert "Gradebook of 10 students" in klass["stdout"]


def test_a_resumed_run_grades_nothing_and_touches_no_repository(klass):
    out = klass["root"] / "out"
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/report.json")}
    started = time.monotonic()
    code, stdout, _ = run(str(klass["root"] / "submissions"), "--out", str(out), *LIMITS)
    elapsed = time.monotonic() - started
    assert code == 0
    data = json.loads((out / "gradebook.json").read_text())
    assert all(s["reused"] for s in data["students"] if s["status"] != "no-commits"), stdout
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/report.json")} == before
    assert elapsed < klass["seconds"] / 2, (elapsed, klass["seconds"])
    for name, path in klass["folders"].items():
        assert tree_digest(path) == klass["digests"][name], f"{name}'s repository changed"


def test_a_new_commit_is_graded_again(klass, tmp_path):
    (tmp_path / "dir").mkdir()
    student = shutil.copytree(klass["folders"]["ada"], tmp_path / "dir" / "ada")
    shutil.copytree(klass["root"] / "out" / "ada", tmp_path / "out" / "ada")
    code, stdout, _ = run(str(tmp_path / "dir"), "--out", str(tmp_path / "out"), *LIMITS)
    assert code == 0 and "reused" in stdout                                # the copy: same commit, same files
    write_student(student, Spec("ada", []), ("01",), {})
    commit(student, "2026-01-11T10:00:00+00:00", "undo 02")
    code, stdout, _ = run(str(tmp_path / "dir"), "--out", str(tmp_path / "out"), *LIMITS)
    row = rows(tmp_path / "out")["ada"]
    assert "reused" not in stdout and (row["total"], row["02_status"]) == ("100", "not_started")


def test_a_grading_past_its_wall_clock_limit_is_killed_and_remembered(klass, tmp_path):
    (tmp_path / "dir").mkdir()
    shutil.copytree(klass["folders"]["eli"], tmp_path / "dir" / "eli")
    args = [str(tmp_path / "dir"), "--out", str(tmp_path / "out"), *LIMITS, "--student-timeout", "3"]
    code, stdout, _ = run(*args)
    row = rows(tmp_path / "out")["eli"]
    assert code == 0 and row["status"] == "failed" and row["message"].startswith("killed after 3 s"), stdout
    alive = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p).count(str(tmp_path / "dir"))]
    assert not alive, "the killed grading left processes behind"
    code, stdout, _ = run(*args)
    assert "(reused: unchanged)" in stdout


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_bad_input_is_refused_with_a_clear_message(tmp_path, klass):
    code, _, err = run(str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert code == 2 and "DIR" in err and "does not exist" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run(str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert code == 2 and "no student folders" in err
    code, _, err = run(str(klass["root"] / "submissions"), "--out", str(klass["root"] / "submissions" / "out"))
    assert code == 2 and "inside DIR" in err
    code, _, err = run(str(klass["root"] / "submissions"), "--out", str(tmp_path / "out"), "--at", "deadlines")
    assert code == 2 and "no module graded here has a deadline" in err
    (tmp_path / "roster.csv").write_text("email\nx@example.org\n")
    code, _, err = run(str(klass["root"] / "submissions"), "--roster", str(tmp_path / "roster.csv"))
    assert code == 2 and "no column names a student" in err


# --------------------------------------------------------------------------- at the deadlines


def test_each_module_is_graded_at_its_deadline_and_late_work_is_shown(klass, at_deadlines):
    table, data, stdout = at_deadlines
    out = klass["root"] / "out"
    cy = table["cy"]
    first = subprocess.run(["git", "-C", str(klass["folders"]["cy"]), "rev-list", "--max-parents=0", "HEAD"],
                           capture_output=True, text=True).stdout.strip()
    assert (cy["01_on_time"], cy["02_on_time"], cy["02_at_head"]) == ("100", "0", "60")
    assert cy["02_commit"] == first and cy["02_time_source"] == "self-reported"
    assert (cy["02_late_days"], cy["02_late_awarded"], cy["02_score"]) == ("2", "48", "48")   # 60 x (1 - 2 x 0.1)
    assert cy["02_late_time"] == "2026-01-17T10:00:00+00:00" and cy["02_late_commit"] == cy["commit"]
    assert (cy["total"], cy["late_points"]) == ("148", "60")
    assert (out / "cy" / f"at-{first[:10]}" / "report.json").is_file()
    jo = table["jo"]                                   # two days of extension: the late commit is on time
    assert (jo["02_deadline"], jo["02_on_time"], jo["02_score"]) == ("2026-01-17T23:59:00+00:00", "60", "60")
    ada = table["ada"]                                 # finished before the deadlines: HEAD is the deadline's commit
    assert (ada["02_commit"], ada["total"], ada["late_points"]) == (ada["commit"], "160", "0")
    assert not list((out / "ada").glob("at-*"))
    assert table["hal"]["status"] == "no-history" and table["hal"]["total"] == ""
    assert "not a git repository" in table["hal"]["message"]
    assert table["gus"]["status"] == "no-commits"
    summary = (out / "summary.md").read_text()
    assert "## On time and late" in summary and "![On time and late](on_time.png)" in summary
    for name, path in klass["folders"].items():        # read from git objects: nothing checked out
        assert tree_digest(path) == klass["digests"][name], f"{name}'s repository changed"


def test_a_snapshot_outranks_a_backdated_commit(klass, tmp_path):
    (tmp_path / "dir").mkdir()
    ben = shutil.copytree(klass["folders"]["ben"], tmp_path / "dir" / "ben")
    snaps = tmp_path / "snapshots"
    assert main(["snapshot", str(tmp_path / "dir"), "--deadline", DUE["02"], "--out", str(snaps)]) == 0
    snapshot = json.loads((snaps / "2026-01-15T2359Z.json").read_text())
    head = subprocess.run(["git", "-C", str(ben), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert snapshot["students"] == {"ben": {"commit": head}} and snapshot["schema"] == "tinytorch-snapshot/1"
    assert main(["snapshot", str(tmp_path / "dir"), "--deadline", DUE["02"], "--out", str(snaps)]) == 2
    write_student(ben, Spec("ben", []), BOTH, {})                      # 02 finished after the snapshot ...
    commit(ben, "2026-01-14T10:00:00+00:00", "02, dated before the deadline")   # ... and dated before it
    args = [str(tmp_path / "dir"), "--out", str(tmp_path / "out"), *LIMITS, "--at", "deadlines"]
    run(*args, "--snapshots", str(tmp_path / "none"), course=COURSE_DUE)
    fooled = rows(tmp_path / "out")["ben"]
    assert (fooled["02_score"], fooled["02_time_source"]) == ("60", "self-reported")
    run(*args, "--snapshots", str(snaps), course=COURSE_DUE)
    row = rows(tmp_path / "out")["ben"]
    assert (row["02_on_time"], row["02_commit"], row["02_time_source"]) == ("0", head, "snapshot")
    assert row["02_score"] == "0" and "not believed" in row["message"]


# --------------------------------------------------------------------------- similarity, analytics


def test_the_disguised_copy_ranks_first(klass, tmp_path):
    if not os.environ.get("CI"):                # CI installs the tools extra: there it must be present
        pytest.importorskip("copydetect")
    students = roster.discover(klass["root"] / "submissions")
    pairs = class_similarity(COURSE, students, tmp_path, ["01", "02"], threshold=0.9)
    top = pairs[0]
    assert ({top.student_a, top.student_b}, top.module) == ({"ada", "ivy"}, "02") and top.similarity > 0.95
    assert pairs[1].similarity < top.similarity
    assert (tmp_path / "similarity-02_activations.html").is_file()
    listed = list(csv.DictReader((tmp_path / "similarity.csv").open()))
    assert [float(r["similarity"]) for r in listed] == sorted((float(r["similarity"]) for r in listed), reverse=True)
    assert (listed[0]["student_a"], listed[0]["student_b"], listed[0]["module"]) == ("ada", "ivy", "02")
    assert all("gus" not in (r["student_a"], r["student_b"]) for r in listed)   # no commits, no files


def test_summary_embeds_its_charts(klass, at_deadlines):
    out = klass["root"] / "out"
    summary = (out / "summary.md").read_text()
    for chart in ("scores.png", "hardest_tests.png", "milestones.png"):
        assert f"]({chart})" in summary and (out / chart).read_bytes()[:4] == b"\x89PNG"
    assert "## Where students struggle" in summary and "| graded | 8 |" in summary   # not gus (no commits), hal
    assert "**eli**: 01 timeout" in summary and "**gus** (no-commits)" in summary


# --------------------------------------------------------------------------- scale: shards and merge


def test_shards_cloned_graded_and_merged_make_the_class_gradebook(klass, tmp_path):
    """The regrade workflow's steps on the local class: shard the roster, clone each part, grade it
    (reusing the class's reports), merge; the merged gradebook is the class's."""
    submissions = klass["root"] / "submissions"
    names = sorted(s.name for s in small_class())
    with (tmp_path / "roster.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["github_username", "roster_identifier", "name", "student_repository_url"])
        writer.writerows([n, f"id-{n}", n.title(), str(submissions / n)] for n in names)
    parts = []
    for index in range(3):
        part = tmp_path / f"shard{index}"
        assert main(["shard", str(tmp_path / "roster.csv"), "--shards", "3", "--index", str(index),
                     "--out", str(part) + ".csv"]) == 0
        assert main(["clone", str(part) + ".csv", "--into", str(part / "submissions")]) == 0
        for name in roster.read_roster(Path(str(part) + ".csv")):
            if (klass["root"] / "out" / name.key).is_dir():
                shutil.copytree(klass["root"] / "out" / name.key, part / "out" / name.key)
        code, stdout, err = run(str(part / "submissions"), "--roster", str(part) + ".csv", "--out",
                                str(part / "out"), *LIMITS)
        assert code == 0, stdout + err
        parts.append(part / "out")
    merged = tmp_path / "merged"
    assert main(["merge-gradebooks", *map(str, parts), "--roster", str(tmp_path / "roster.csv"),
                 "--out", str(merged)]) == 0
    table = rows(merged)
    assert list(table) == names
    assert table["hal"]["status"] == "missing"          # not a repository: nothing to clone
    assert table["gus"]["status"] == "no-commits"
    for name in set(names) - {"hal", "gus"}:            # the class's own reports, reused
        graded = json.loads((klass["root"] / "out" / name / "report.json").read_text())
        assert (table[name]["status"], float(table[name]["total"])) == ("graded", graded["total"]["score"])
        assert table[name]["id"] == f"id-{name}" and table[name]["name"] == name.title()
    assert all(s["reused"] for s in json.loads((merged / "gradebook.json").read_text())["students"]
               if s["status"] in ("graded", "layout"))
    assert (merged / "ada" / "report.json").is_file() and (merged / "summary.md").is_file()
    assert main(["merge-gradebooks", str(parts[0]), str(parts[0]), "--out", str(tmp_path / "twice")]) == 2
    # The workflow's snapshot reads each repository's HEAD where it lives (git ls-remote), with no clone.
    assert main(["snapshot", "--remote", "--roster", str(tmp_path / "roster.csv"), "--deadline", DUE["02"],
                 "--out", str(tmp_path / "snapshots")]) == 0
    heads = json.loads((tmp_path / "snapshots" / "2026-01-15T2359Z.json").read_text())["students"]
    assert heads["ada"]["commit"] == whole_commit(klass, "ada") and heads["hal"]["commit"] is None
    assert heads["gus"]["commit"] is None


def whole_commit(klass, name: str) -> str:
    return subprocess.run(["git", "-C", str(klass["folders"][name]), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def test_the_regrade_workflow_runs_grader_commands_on_a_matrix_of_shards():
    data = regrade.regrade_workflow(COURSE_DUE)
    grade, merge, snapshot = data["jobs"]["grade"], data["jobs"]["merge"], data["jobs"]["snapshot"]
    assert grade["strategy"]["matrix"]["shard"] == list(range(regrade.REGRADE_SHARDS))
    assert merge["needs"] == "grade" and snapshot["permissions"] == {"contents": "write"}
    assert data["permissions"] == {"contents": "read"}
    crons = [c["cron"] for c in data["on"]["schedule"]]
    assert crons == [regrade.WEEKLY_CRON, "0 0 13 1 *", "0 0 16 1 *"]     # one minute after each deadline
    parser, values = build_parser(), {"$SHARD": "0", "$AT": "deadlines", "$ROSTER": "roster.csv"}
    for step in regrade.REGRADE_STEPS.values():
        for line in step.run.splitlines():
            words = line.replace('"', "").split()
            if words[:3] == ["python", "-m", "grading"]:
                parser.parse_args([values.get(w, w) for w in words[3:]])
            else:
                assert words[0] in ("make", "git", "cat"), line
    assert workflow.workflow_files(COURSE)[regrade.REGRADE_FILE] == regrade.regrade_text(COURSE)


def test_make_targets_pass_their_variables():
    def dry(*args):
        proc = subprocess.run(["make", "-n", *args, f"PY={sys.executable}"], capture_output=True, text=True,
                              cwd=COURSE.root, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return " ".join(proc.stdout.replace("\\\n", " ").split())
    line = dry("gradebook", "DIR=class/", "JOBS=2", "AT=deadlines", "ROSTER=r.csv", "OUT=o")
    assert "-m grading gradebook class/ --out o --roster r.csv --jobs 2 --at deadlines" in line
    assert "-m grading snapshot submissions" in dry("snapshot")
    assert "-m grading similarity submissions --out reports/similarity" in dry("similarity")
    assert "benchmarks/class_demo.py" in dry("class-demo")
