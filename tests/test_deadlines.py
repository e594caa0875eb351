"""The parts of grading a class that need no grading: deadlines in course.toml, the late policy, which
commit counts, git history read only, rosters and shards, gradebook rows, analytics numbers (test_gradebook.py
grades a class end to end)."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fakeclass import commit, git
from grading import analytics, book, deadlines, history, late, roster
from grading.history import Commit, last_before
from support import tree_digest
from tinytorch.manifest import LatePolicy, ManifestError, deadline_line, load_course, parse_deadline

BERLIN = ZoneInfo("Europe/Berlin")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --------------------------------------------------------------------------- deadlines in course.toml

MANIFEST = """\
[course]
name = "T"
{timezone}

[[modules]]
id = "01"
slug = "tensor"
title = "Tensor"
export = "core.tensor"
points = 100
deadline = {deadline}

[[modules]]
id = "02"
slug = "activations"
title = "Activations"
export = "core.activations"
points = 60
requires = ["01"]
"""


def course_with(tmp_path: Path, deadline: str, timezone_line: str = 'timezone = "Europe/Berlin"'):
    (tmp_path / "course.toml").write_text(MANIFEST.format(deadline=deadline, timezone=timezone_line))
    return load_course(tmp_path)


@pytest.mark.parametrize("written, meant", [
    ('"2026-03-01T23:59:00+01:00"', "2026-03-01T23:59:00+01:00"),
    ("2026-03-01T22:59:00Z", "2026-03-01T22:59:00+00:00"),                # a TOML date-time, unquoted
    ('"2026-03-01"', "2026-03-01T23:59:00+01:00"),                       # 23:59 in Europe/Berlin (winter)
    ("2026-07-01", "2026-07-01T23:59:00+02:00"),                         # a TOML date; summer time
])
def test_a_deadline_is_an_instant_with_its_time_zone(tmp_path, written, meant):
    deadline = course_with(tmp_path, written).modules[0].deadline
    assert deadline == when(meant) and deadline.utcoffset() is not None


@pytest.mark.parametrize("written, says", [
    ('"March 1"', "is not an ISO 8601 date-time"),
    ('"2026-03-01T23:59:00"', "has no time zone"),
    ("2026-03-01T23:59:00", "has no time zone"),                          # TOML local date-time
    ('"2026-02-30"', "is not an ISO 8601 date-time"),
    ("23:59:00", "is not an ISO 8601 date-time"),                         # a TOML time alone
])
def test_a_malformed_deadline_is_refused_naming_its_line(tmp_path, written, says):
    with pytest.raises(ManifestError) as info:
        course_with(tmp_path, written)
    message = str(info.value)
    assert f"course.toml:11: module 01: deadline" in message and says in message, message


def test_a_date_alone_needs_the_course_time_zone(tmp_path):
    with pytest.raises(ManifestError, match=r"course.toml:11: module 01: .*date alone.*timezone"):
        course_with(tmp_path, '"2026-03-01"', timezone_line="")
    assert course_with(tmp_path, '"2026-03-01T12:00:00+00:00"', "").modules[0].deadline.hour == 12
    with pytest.raises(ManifestError, match="is not a time zone name"):
        course_with(tmp_path, '"2026-03-01"', 'timezone = "Mars/Olympus"')


def test_deadline_line_finds_the_module_block():
    text = MANIFEST.format(deadline='"x"', timezone="")
    assert deadline_line(text, "01") == 11 and deadline_line(text, "02") is None


def test_the_late_policy_is_checked(tmp_path):
    base = MANIFEST.format(deadline='"2026-03-01"', timezone='timezone = "UTC"')
    for table, says in [("penalty_per_day = 2", "between 0 and 1"), ("max_days = -1", "whole number"),
                        ("bonus = 1", "unknown key")]:
        (tmp_path / "course.toml").write_text(base.replace("[[modules]]", f"[grading.late]\n{table}\n\n[[modules]]", 1))
        with pytest.raises(ManifestError, match=says):
            load_course(tmp_path)
    course = load_course(Path(__file__).resolve().parents[1])
    assert course.late == LatePolicy(0.1, 3, "extensions.csv") and course.timezone == "UTC"


def test_parse_deadline_directly():
    assert parse_deadline(None, None, "x") is None
    assert parse_deadline("2026-01-15", BERLIN, "x") == datetime(2026, 1, 15, 23, 59, tzinfo=BERLIN)


# --------------------------------------------------------------------------- the late policy

POLICY = LatePolicy(penalty_per_day=0.1, max_days=3)
DUE = when("2026-01-15T23:59:00+00:00")


@pytest.mark.parametrize("late_by, days", [(timedelta(0), 0), (timedelta(minutes=1), 1), (timedelta(hours=24), 1),
                                           (timedelta(hours=24, seconds=1), 2), (-timedelta(days=3), 0)])
def test_late_days_count_started_days(late_by, days):
    assert late.late_days(DUE, DUE + late_by) == days


def test_late_points_lose_the_penalty_per_day_and_nothing_after_max_days():
    two_days = late.assess(POLICY, on_time=0, at_head=60, deadline=DUE, when=DUE + timedelta(hours=30), commit="c")
    assert (two_days.gained, two_days.days, two_days.awarded, two_days.commit) == (60, 2, 48, "c")
    assert late.assess(POLICY, 0, 60, DUE, DUE + timedelta(days=3)).awarded == pytest.approx(42)
    assert late.assess(POLICY, 0, 60, DUE, DUE + timedelta(days=3, minutes=1)).awarded == 0
    assert late.assess(POLICY, 60, 60, DUE, DUE + timedelta(days=9)).awarded == 0        # nothing gained late
    assert late.assess(POLICY, 60, 40, DUE, DUE + timedelta(days=1)).gained == 0          # worse later: keep on time
    assert late.factor(LatePolicy(0.1, 0), 1) == 0                                        # late work not accepted


def test_extensions_file(tmp_path):
    path = tmp_path / "extensions.csv"
    assert late.read_extensions(path) == {}
    path.write_text("student,module,days\nalice,3,2\nbob,,1\ncarol,*,4\n")
    ext = late.read_extensions(path)
    assert ext == {("alice", "03"): 2, ("bob", ""): 1, ("carol", ""): 4}
    assert late.extension_days(ext, ("x", "alice"), "03") == 2 and late.extension_days(ext, ("alice",), "04") == 0
    assert late.extension_days(ext, ("bob",), "09") == 1
    path.write_text("student,module,days\nalice,03,two\n")
    with pytest.raises(late.ExtensionsError, match="extensions.csv:2: days must be a whole number"):
        late.read_extensions(path)
    path.write_text("who,days\n")
    with pytest.raises(late.ExtensionsError, match="student,module,days"):
        late.read_extensions(path)


# --------------------------------------------------------------------------- which commit counts

HISTORY = [Commit("c3", when("2026-01-17T10:00:00+00:00")), Commit("c2", when("2026-01-15T23:59:00+00:00")),
           Commit("c1", when("2026-01-10T10:00:00+00:00"))]


def test_the_last_commit_not_after_the_deadline_counts():
    assert last_before(HISTORY, DUE).sha == "c2"                          # at the deadline is on time
    assert last_before(HISTORY, DUE - timedelta(seconds=1)).sha == "c1"
    assert last_before(HISTORY, when("2026-01-01T00:00:00+00:00")) is None
    skewed = [Commit("late-but-old", when("2026-01-09T00:00:00+00:00")), *HISTORY]
    assert last_before(skewed, DUE).sha == "c2"                           # by date, not by order


def snapshot(students: dict) -> deadlines.Snapshot:
    return deadlines.Snapshot(DUE, DUE + timedelta(minutes=3), students)


def test_a_snapshot_decides_when_there_is_one():
    chosen = deadlines.choose("02", DUE, 0, HISTORY, snapshot({"ann": "c1"}), "ann")
    assert (chosen.commit.sha, chosen.source, chosen.note) == ("c1", deadlines.SNAPSHOT, "")
    fallback = deadlines.choose("02", DUE, 0, HISTORY, snapshot({"ann": "gone"}), "ann")
    assert (fallback.commit.sha, fallback.source) == ("c2", deadlines.SELF_REPORTED)
    assert "not in the history of HEAD" in fallback.note
    absent = deadlines.choose("02", DUE, 0, HISTORY, snapshot({}), "ann")
    assert absent.source == deadlines.SELF_REPORTED and "not in the snapshot" in absent.note
    empty = deadlines.choose("02", DUE, 0, HISTORY, snapshot({"ann": None}), "ann")
    assert empty.commit is None and empty.source == deadlines.SNAPSHOT


def test_an_extension_moves_the_deadline_and_sets_the_snapshot_aside():
    chosen = deadlines.choose("02", DUE, 2, HISTORY, snapshot({"ann": "c1"}), "ann")
    assert (chosen.commit.sha, chosen.source, chosen.deadline) == ("c3", deadlines.SELF_REPORTED, DUE + timedelta(2))
    assert "extended by 2 day(s)" in chosen.note


def test_a_backdated_commit_outside_the_snapshot_is_not_believed():
    target = deadlines.choose("02", DUE, 0, HISTORY, snapshot({"ann": "c1"}), "ann")
    assert "not believed" in deadlines.backdated(target, HISTORY[1], snapshot_has_it=False)
    assert deadlines.backdated(target, HISTORY[1], snapshot_has_it=True) == ""
    assert deadlines.backdated(target, HISTORY[0], snapshot_has_it=False) == ""      # honestly late


def test_snapshot_files_round_trip_and_are_never_overwritten(tmp_path):
    snap = deadlines.Snapshot(DUE, DUE + timedelta(minutes=3), {"ann": "c1", "bob": None}, "test", ("02",))
    path = deadlines.write_snapshot(snap, tmp_path)
    assert path.name == "2026-01-15T2359Z.json"
    assert deadlines.read_snapshots(tmp_path) == {DUE: snap}
    with pytest.raises(deadlines.SnapshotError, match="not replaced"):
        deadlines.write_snapshot(snap, tmp_path)
    path.write_text("{")
    with pytest.raises(deadlines.SnapshotError, match="cannot be read"):
        deadlines.read_snapshots(tmp_path)
    assert deadlines.read_snapshots(tmp_path / "none") == {}


# --------------------------------------------------------------------------- rosters and shards


def test_shards_hold_every_student_once_and_balanced():
    students = list(range(23))
    parts = [roster.shard(students, 4, i) for i in range(4)]
    assert sorted(x for part in parts for x in part) == students
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    with pytest.raises(roster.RosterError):
        roster.shard(students, 4, 4)


def test_a_roster_names_folders_and_reports_who_is_missing(tmp_path):
    for name in ("hw1-alice", "bob", "stranger"):
        (tmp_path / "dir" / name).mkdir(parents=True)
    (tmp_path / "roster.csv").write_text("github_username,roster_identifier,name\nalice,s1,Alice A\n"
                                         "bob,s2,Bob B\ncarol,s3,Carol C\n")
    found = {s.key: s for s in roster.discover(tmp_path / "dir", tmp_path / "roster.csv")}
    assert found["alice"].folder.name == "hw1-alice" and found["alice"].id == "s1"   # Classroom's clone names
    assert found["carol"].folder is None
    assert found["stranger"].note == "not in the roster"
    (tmp_path / "twice.csv").write_text("folder\nbob\nbob\n")
    with pytest.raises(roster.RosterError, match="twice.csv:3: student 'bob' is listed twice"):
        roster.read_roster(tmp_path / "twice.csv")


def test_the_clone_token_reaches_git_only_through_the_environment():
    env = roster.git_auth_env("secret-token")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    header = env["GIT_CONFIG_VALUE_0"]
    assert header.startswith("AUTHORIZATION: basic ") and "secret-token" not in header
    assert "GIT_CONFIG_COUNT" not in roster.git_auth_env("")


# --------------------------------------------------------------------------- rows and analytics

class S:
    def __init__(self, key): self.key, self.name, self.id, self.note = key, "", "", ""


def report(score01: float, status01: str, grader: str = "g1", tests=("passed", "failed")) -> dict:
    return {"commit": "abc", "generated_at": "t", "working_tree": "clean",
            "total": {"score": score01, "max": 100}, "provenance": {"grader": grader, "tests_sha256": "t1"},
            "modules": [{"id": "01", "score": score01, "max": 100, "status": status01,
                         "tests": [{"name": "test_a", "visibility": "visible", "outcome": tests[0]},
                                   {"name": "test_b", "visibility": "hidden", "outcome": tests[1]}]}],
            "milestones": [{"id": "1", "unlocked": score01 == 100}]}


def test_rows_flag_a_grade_made_with_another_grader():
    rows = [book.head_row(S(n), report(100, "passed"), f"{n}/report.json") for n in ("a", "b")]
    rows.append(book.head_row(S("c"), report(50, "partial", grader="g0"), "c/report.json"))
    flagged = book.flag_provenance(rows)
    assert [bool(r.provenance) for r in flagged] == [False, False, True]
    assert "grader g0" in flagged[2].provenance and "most: g1" in flagged[2].provenance


def test_merge_refuses_gradebooks_made_differently():
    one = book.Book(book.HEAD, ({"id": "01", "slug": "t", "points": 100},), (), ())
    other = book.Book(book.DEADLINES, ({"id": "01", "slug": "t", "points": 100},), (), ())
    with pytest.raises(book.MergeError, match="made differently"):
        book.merge([one, other], "now")
    row = book.failed_row(S("a"), book.FAILED, "x", 100)
    with pytest.raises(book.MergeError, match="in two of the gradebooks"):
        book.merge([book.Book(book.HEAD, one.modules, (), (row,)), book.Book(book.HEAD, one.modules, (), (row,))], "n")
    assert book.from_json(book.to_json(one)) == one


def test_pass_rates_count_students_who_attempted_the_module():
    reports = [report(100, "passed", tests=("passed", "passed")), report(50, "partial"),
               report(0, "not_started", tests=("failed", "failed"))]
    rates = analytics.pass_rates(reports)
    assert [(r.name, r.passed, r.total) for r in rates] == [("test_b", 1, 2), ("test_a", 2, 2)]
    rows = tuple(book.head_row(S(k), r, "") for k, r in zip("abc", reports))
    gb = book.Book(book.HEAD, ({"id": "01", "slug": "tensor", "points": 100},), ({"id": "1", "slug": "p"},), rows)
    assert analytics.funnel(gb) == [("graded", 3), ("milestone 1 p", 1)]
    assert analytics.score_fractions(gb) == {"01": [1.0, 0.5, 0.0]}
    assert analytics.on_time(gb) == {}                                     # graded at HEAD: no deadline data


# --------------------------------------------------------------------------- git history, read only


def test_history_reads_commits_and_files_without_touching_the_repository(tmp_path):
    repo = tmp_path / "repo"
    (repo / "a").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "a" / "x.py").write_text("one\n")
    first = commit(repo, "2026-01-10T10:00:00+00:00")
    (repo / "a" / "x.py").write_text("two\n")
    (repo / "b.py").write_text("other\n")
    (repo / "a" / "link.py").symlink_to("x.py")
    second = commit(repo, "2026-01-17T10:00:00+01:00")
    (repo / "a" / "x.py").write_text("uncommitted\n")                  # a dirty working tree stays dirty
    before = tree_digest(repo)
    assert history.state(repo) == history.REPOSITORY and not history.is_shallow(repo)
    assert [c.sha for c in history.commits(repo)] == [second, first]
    assert history.commits(repo)[0].time == datetime.fromisoformat("2026-01-17T10:00:00+01:00")
    assert history.last_touching(repo, "HEAD", ["a/x.py"]).sha == second
    assert history.is_ancestor(repo, first, second) and not history.is_ancestor(repo, second, first)
    out = tmp_path / "out"
    written = history.export(repo, first, ["a/x.py", "a/link.py", "missing.py"], out)
    assert written == ["a/x.py"] and (out / "a" / "x.py").read_text() == "one\n"
    assert history.export(repo, second, ["a/link.py"], tmp_path / "out2") == ["a/link.py"]
    assert (tmp_path / "out2" / "a" / "link.py").is_symlink()            # the grader refuses it, as in a tree
    assert tree_digest(repo) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert history.state(empty) == history.NO_COMMITS and history.state(tmp_path / "out") == history.NOT_A_REPOSITORY
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    assert history.is_shallow(shallow)
