"""Grade a whole class: every student repository under DIR, in parallel and resumably, into one gradebook.

    python -m grading gradebook DIR [--roster CSV] [--out reports/gradebook] [--jobs N] [--at head|deadlines]
    python -m grading merge-gradebooks SHARD_OUT... --out DIR      join the regrade workflow's shards

Each student is graded in a process of its own (`python -m grading grade REPO --out OUT/<student>
--jobs 1 --quiet`, with --staff where the reference solutions are), JOBS students at a time (default:
one per core), under a wall-clock limit per grading (modules x module_timeout / cores, plus a
minute; --student-timeout), past which everything it started is killed: one hostile or hanging
submission costs its own row, never the run. A student whose grading fails gets a row that says
why (the grader's exit code and last line, or the limit).

Resumable: OUT/<student>/key.json records what a grading was made from (the student commit, the
sha256 of the student files, the grader version, the tests+plan digest, the modules and options)
and how it ended. When all of it is unchanged, OUT/<student>/report.json is reused instead of
grading again; a failure is remembered the same way until --retry-failed (--force: grade all).

AT=deadlines (`--at deadlines`) also grades each module that has a deadline at the commit that
counts for it (deadlines.py), read from git objects into a temporary folder (history.export: the
student's working tree is never touched), into OUT/<student>/at-<commit>/, and applies the late
policy to what the latest work gained (late.py). Outputs: gradebook.csv, gradebook.json
(book.py), summary.md and its charts (analytics.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from grading import analytics, batch, book, deadlines, history, late
from grading.book import Book, Cell, Row
from grading.integrity import commit_of, provenance
from grading.plan import load_plan, plan_to_json
from grading.report import num
from grading.roster import RosterError, Student, discover, read_roster
from grading.sandbox import SubmissionError, course_test_sources, read_student_file
from tinytorch.manifest import Course, load_course

DEFAULT_OUT = "reports/gradebook"
REPORT_FILES = ("report.json", "report.md", "grades.csv", "classroom.env", "staff.md")
KEY_FILE = "key.json"          # what a grading was made from, and how it ended
SETUP_SECONDS = 60            # interpreter, plan and sandbox, on top of the modules' own limits
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class Settings:
    course: Course
    out: Path
    jobs: int
    at: str                                   # book.HEAD or book.DEADLINES
    modules: tuple[str, ...]
    grade_args: tuple[str, ...]               # passed to every `grade` (limits, --hidden, --visible-only ...)
    staff: bool
    student_timeout: float
    grader: str                               # what this run's grader and tests are (integrity.provenance)
    tests_sha256: str
    snapshots: dict                           # deadline (UTC) -> deadlines.Snapshot
    extensions: dict                          # late.read_extensions
    force: bool = False
    retry_failed: bool = False


@dataclass(frozen=True)
class Graded:
    """One grading of one folder: its report, or why there is none."""
    report: dict | None
    status: str = book.GRADED
    message: str = ""
    reused: bool = False
    seconds: float = 0.0
    path: str = ""                            # report.json relative to OUT


# --------------------------------------------------------------------------- one grading


def files_digest(course: Course, folder: Path) -> str:
    """sha256 over every student file of `folder` (read as the grader reads them: links not followed)."""
    digest = hashlib.sha256()
    for module in course.modules:
        data, problem = read_student_file(folder, module.student_file)
        digest.update(module.student_file.encode() + b"\0")
        digest.update(hashlib.sha256(data).digest() if data is not None else problem.encode())
    return digest.hexdigest()


def grading_key(s: Settings, folder: Path, commit: str | None, modules: tuple[str, ...]) -> dict:
    """What a grading is made from; the same key means the same grade (the student files decide, the
    commit names them)."""
    return {"commit": commit or commit_of(folder), "files_sha256": files_digest(s.course, folder), "grader": s.grader,
            "tests_sha256": s.tests_sha256, "modules": list(modules), "staff": s.staff, "args": list(s.grade_args)}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def reusable(s: Settings, dest: Path, key: dict, rel: str) -> Graded | None:
    """The earlier grading in `dest` when it was made from exactly `key` (None: grade again)."""
    record = _read_json(dest / KEY_FILE)
    if s.force or not record or record.get("key") != key:
        return None
    if record["status"] not in book.HAS_SCORES:
        return None if s.retry_failed else Graded(None, record["status"], record["message"], reused=True)
    report = _read_json(dest / "report.json")
    prov = (report or {}).get("provenance", {})
    if not report or (prov.get("grader"), prov.get("tests_sha256")) != (s.grader, s.tests_sha256):
        return None
    return Graded(report, record["status"], record["message"], reused=True, path=rel)


def grade_argv(s: Settings, folder: Path, dest: Path, label: str, modules: tuple[str, ...],
               commit: str | None) -> list[str]:
    argv = [sys.executable, "-m", "grading", "grade", str(folder), "--out", str(dest), "--label", label,
            "--jobs", "1", "--quiet", "--modules", ",".join(modules), *s.grade_args]
    return argv + (["--staff"] if s.staff else []) + (["--commit", commit] if commit else [])


def interpret(outcome: batch.Outcome, dest: Path, limit: float) -> tuple[dict | None, str, str]:
    """(report, row status, message) from how the grading process ended."""
    if outcome.returncode is None:
        return None, book.FAILED, (f"killed after {limit:.0f} s (the wall-clock limit per grading; "
                                   "--student-timeout): a hang the grader could not stop")
    report = _read_json(dest / "report.json") if outcome.returncode in (0, 3) else None
    if outcome.returncode == 3 and report:
        return report, book.LAYOUT, outcome.last_line.removeprefix("error: ")
    if outcome.returncode == 0 and report:
        return report, book.GRADED, ""
    why = outcome.last_line.removeprefix("error: ") or "no message"
    if outcome.returncode in (0, 3):
        return None, book.FAILED, f"the grader exited with {outcome.returncode} but wrote no report.json"
    return None, book.FAILED, f"the grader exited with {outcome.returncode}: {why}"


def grade_into(s: Settings, folder: Path, dest: Path, label: str, modules: tuple[str, ...],
               commit: str | None) -> Graded:
    """Grade `folder` into `dest` in a process of its own, or reuse what is there for the same inputs."""
    rel = (dest / "report.json").relative_to(s.out).as_posix()
    key = grading_key(s, folder, commit, modules)
    earlier = reusable(s, dest, key, rel)
    if earlier is not None:
        return earlier
    dest.mkdir(parents=True, exist_ok=True)
    for name in (*REPORT_FILES, KEY_FILE):
        (dest / name).unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("TINYTORCH_ROOT", "TINYTORCH_SOURCE")}
    env["TINYTORCH_COURSE"] = str(s.course.root)
    outcome = batch.run(grade_argv(s, folder, dest, label, modules, commit), s.course.root, s.student_timeout, env)
    if batch.stopping.is_set():                   # interrupted: nothing is recorded, the next run grades it
        return Graded(None, book.FAILED, "interrupted", seconds=outcome.seconds)
    report, status, message = interpret(outcome, dest, s.student_timeout)
    record = {"key": key, "status": status, "message": message, "seconds": round(outcome.seconds, 2)}
    (dest / KEY_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return Graded(report, status, message, seconds=outcome.seconds, path=rel if report else "")


# --------------------------------------------------------------------------- one student


def grade_student(s: Settings, student: Student) -> Row:
    """The student's row: graded at HEAD, then (AT=deadlines) at each deadline's commit."""
    max_points = sum(m.points for m in s.course.modules if m.id in s.modules)
    if student.folder is None:
        return book.failed_row(student, book.MISSING, "no repository under DIR for this roster row "
                                                      "(not cloned, or named differently?)", max_points)
    state = history.state(student.folder)
    if state == history.NO_COMMITS:
        return book.failed_row(student, book.NO_COMMITS, history.state_message(state, student.folder), max_points)
    head = grade_into(s, student.folder, s.out / student.key, student.key, s.modules, None)
    if head.report is None:
        return book.failed_row(student, head.status, head.message, max_points, head.seconds, head.reused)
    row = book.head_row(student, head.report, head.path, head.status, head.message, head.reused, head.seconds)
    if s.at != book.DEADLINES:
        return row
    if state == history.NOT_A_REPOSITORY or history.is_shallow(student.folder):
        why = (history.state_message(state, student.folder) if state == history.NOT_A_REPOSITORY else
               f"{student.folder.name} is a shallow clone: its older commits are missing (git fetch --unshallow)")
        return replace(row, status=book.NO_HISTORY, total=None,
                       message=why + "; the files as they are were graded (the NN_score columns), but the total is "
                       "left empty")
    return at_deadlines(s, student, row, head.report)


def _grade_at(s: Settings, student: Student, sha: str, modules: tuple[str, ...]) -> Graded:
    with tempfile.TemporaryDirectory(prefix="tt-at-") as tmp:
        history.export(student.folder, sha, [m.student_file for m in s.course.modules], Path(tmp))
        return grade_into(s, Path(tmp), s.out / student.key / f"at-{sha[:10]}", f"{student.key}@{sha[:10]}",
                          modules, sha)


def at_deadlines(s: Settings, student: Student, row: Row, head_report: dict) -> Row:
    """`row` with each module that has a deadline scored at the commit that counts for it, plus late work."""
    commits = history.commits(student.folder)
    names = (student.key, student.id, student.username)
    targets = {}
    for module, due in deadlines.due_dates(s.course, list(s.modules)).items():
        days = late.extension_days(s.extensions, names, module)
        snap = s.snapshots.get(due.astimezone(timezone.utc))
        targets[module] = deadlines.choose(module, due, days, commits, snap, student.key)
    clean_head = head_report.get("working_tree") == "clean"
    graded: dict[str, Graded] = {}
    for sha in sorted({t.commit.sha for t in targets.values() if t.commit}):
        if sha == row.commit and clean_head:
            graded[sha] = Graded(head_report, reused=True, path=row.report)       # HEAD itself: graded above
        else:
            graded[sha] = _grade_at(s, student, sha, tuple(m for m, t in targets.items() if t.commit and
                                                           t.commit.sha == sha))
    cells = {m: deadline_cell(s, student, t, graded, {c.id: c for c in row.cells}[m]) for m, t in targets.items()}
    notes = [f"{m}: {c.note}" for m, c in cells.items() if c.note]
    failed = [g.message for g in graded.values() if g.report is None]
    message = "; ".join(filter(None, [row.message, *notes, *(f"grading at a deadline failed: {f}" for f in failed)]))
    return replace(book.with_deadline_cells(row, cells), message=message,
                   reused=row.reused and all(g.reused for g in graded.values()),
                   seconds=row.seconds + sum(g.seconds for g in graded.values()))


def _late_when(s: Settings, student: Student,
               target: deadlines.Target) -> tuple[history.Commit | None, str, datetime | None]:
    """The commit holding a module's late work, the note about its date, and the date to charge."""
    module = s.course.module(target.module)
    paths = [s.course.module(m).student_file for m in (*module.requires, module.id)]
    commit = history.last_touching(student.folder, "HEAD", paths)
    if commit is None:
        return None, "", None
    snap = s.snapshots.get((target.deadline).astimezone(timezone.utc)) if target.source == deadlines.SNAPSHOT else None
    in_snapshot = bool(target.commit) and history.is_ancestor(student.folder, commit.sha, target.commit.sha)
    note = deadlines.backdated(target, commit, in_snapshot)
    when = max(commit.time, snap.taken_at) if note and snap else commit.time
    return commit, note, when


def deadline_cell(s: Settings, student: Student, target: deadlines.Target, graded: dict[str, Graded],
                  head: Cell) -> Cell:
    """One module scored at its deadline's commit, with the late work (HEAD) and the late policy applied."""
    base = dict(id=head.id, max=head.max, deadline=target.deadline.isoformat(), source=target.source,
                at_head=head.score, note=target.note)
    if target.commit is None:
        on_time, status = 0.0, "not_submitted"
    else:
        at = graded[target.commit.sha]
        cell = book.cells_from_report(at.report).get(head.id) if at.report else None
        if cell is None:
            return Cell(**{**base, "note": "; ".join(filter(None, [target.note, f"grading at {target.commit.short} "
                                                                                 f"failed: {at.message}"]))},
                        score=None, status="failed", commit=target.commit.sha)
        on_time, status = cell.score, cell.status
    work = late.LateWork(0.0, 0, 1.0, 0.0)
    if head.score is not None and head.score > on_time:
        commit, note, when = _late_when(s, student, target)
        work = late.assess(s.course.late, on_time, head.score, target.deadline, when,
                           commit.sha if commit else None, note)
    return Cell(**{**base, "note": "; ".join(filter(None, [target.note, work.note]))},
                score=round(on_time + work.awarded, 4), status=status, on_time=on_time,
                commit=target.commit.sha if target.commit else None, late_points=work.gained,
                late_days=work.days, late_awarded=work.awarded, late_commit=work.commit,
                late_time=work.time.isoformat() if work.time else "")


# --------------------------------------------------------------------------- the class


class Progress:
    """One line per student as it finishes: how many are done, running and failed."""

    def __init__(self, total: int, quiet: bool = False):
        self.total, self.quiet = total, quiet
        self.done = self.running = self.failed = 0
        self.lock = threading.Lock()

    def started(self) -> None:
        with self.lock:
            self.running += 1

    def finished(self, row: Row) -> None:
        with self.lock:
            self.running -= 1
            self.done += 1
            self.failed += row.status != book.GRADED
            if not self.quiet and not batch.stopping.is_set():
                print(self.line(row), flush=True)

    def line(self, row: Row) -> str:
        head = (f"[{self.done:>{len(str(self.total))}}/{self.total}] done {self.done}  running {self.running}  "
                f"failed {self.failed}  | {row.student}: ")
        if row.total is None and row.status != book.GRADED:
            return head + f"{row.status.upper()}: {row.message}" + (" (reused: unchanged)" if row.reused else "")
        what = "reused (unchanged)" if row.reused else f"{row.seconds:.1f} s"
        total = "" if row.total is None else f"{num(row.total)}/{num(row.max)}"
        return head + f"{row.status} {total} ({what})" + (f"  {row.message[:100]}" if row.message else "")


def grade_class(s: Settings, students: list[Student], quiet: bool = False) -> Book:
    progress = Progress(len(students), quiet)

    def one(student: Student) -> Row:
        progress.started()
        try:
            row = grade_student(s, student)
        except Exception as exc:                  # a bug of ours for one student must not stop the class
            row = book.failed_row(student, book.FAILED, f"internal error: {type(exc).__name__}: {exc}", 0.0)
        progress.finished(row)
        return row

    pool = ThreadPoolExecutor(max_workers=max(1, min(s.jobs, len(students))))
    try:
        rows = list(pool.map(one, students))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        batch.stop_all()
        raise
    pool.shutdown()
    return Book(s.at, tuple(_module_info(s.course, s.modules)),
                tuple({"id": ms.id, "slug": ms.slug} for ms in s.course.milestones),
                tuple(book.flag_provenance(rows)), now(), asdict(s.course.late))


def _module_info(course: Course, modules: tuple[str, ...]) -> list[dict]:
    return [{"id": m.id, "slug": m.slug, "points": m.points,
             "deadline": m.deadline.isoformat() if m.deadline else ""} for m in course.modules if m.id in modules]


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_book(gradebook: Book, out: Path) -> list[Path]:
    """gradebook.csv, gradebook.json, summary.md and the charts, into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "gradebook.csv").write_text(book.to_csv(gradebook), encoding="utf-8")
    (out / "gradebook.json").write_text(json.dumps(book.to_json(gradebook), indent=1) + "\n", encoding="utf-8")
    return [out / "gradebook.csv", out / "gradebook.json", *analytics.write(gradebook, out)]


# --------------------------------------------------------------------------- the commands


def _grade_args(args) -> tuple[str, ...]:
    out = []
    for flag, value in (("--test-timeout", args.test_timeout), ("--module-timeout", args.module_timeout),
                        ("--hidden", str(Path(args.hidden).resolve()) if args.hidden else None)):
        out += [flag, str(value)] if value else []
    out += ["--visible-only"] if args.visible_only else []
    return tuple(out + (["--no-isolated"] if args.no_isolated else []))


def student_limit(course: Course, modules: tuple[str, ...], module_timeout: float | None) -> float:
    """Wall-clock seconds one grading may take: modules x module_timeout / cores, plus SETUP_SECONDS."""
    default = float(course.grading.get("module_timeout", 180))
    per = module_timeout or max(float(course.module(m).limits.get("module_timeout", default)) for m in modules)
    return math.ceil(len(modules) * per / (os.cpu_count() or 1)) + SETUP_SECONDS


def make_settings(course: Course, args) -> Settings:
    modules = tuple(course.module(x).id for x in args.modules.replace(" ", ",").split(",") if x) if args.modules \
        else tuple(m.id for m in course.modules)
    sources = course_test_sources(course, Path(args.hidden) if args.hidden else None, args.visible_only)
    made = provenance(course, sources.all_files(course), json.dumps(plan_to_json(load_plan(course, sources))))
    at = book.DEADLINES if args.at == "deadlines" else book.HEAD
    if at == book.DEADLINES and not deadlines.due_dates(course, list(modules)):
        raise ValueError("AT=deadlines, but no module graded here has a deadline in course.toml")
    extensions = Path(args.extensions) if args.extensions else (
        course.root / course.late.extensions if course.late.extensions else None)
    staff = all((course.root / m.solution_file).is_file() for m in course.modules) and not args.no_staff
    return Settings(
        course=course, out=Path(args.out).resolve(), jobs=args.jobs or os.cpu_count() or 1, at=at, modules=modules,
        grade_args=_grade_args(args), staff=staff,
        student_timeout=args.student_timeout or student_limit(course, modules, args.module_timeout),
        grader=made.grader, tests_sha256=made.tests_sha256,
        snapshots=deadlines.read_snapshots(Path(args.snapshots)) if at == book.DEADLINES else {},
        extensions=late.read_extensions(extensions) if at == book.DEADLINES else {},
        force=args.force, retry_failed=args.retry_failed)


def summary_line(gradebook: Book, seconds: float) -> str:
    rows = gradebook.rows
    counts = {status: sum(r.status == status for r in rows) for status in dict.fromkeys(r.status for r in rows)}
    reused = sum(r.reused for r in rows)
    flagged = sum(bool(r.provenance) for r in rows)
    return (f"Gradebook of {len(rows)} student{'s' * (len(rows) != 1)} in {seconds:.1f} s: "
            + ", ".join(f"{n} {status}" for status, n in counts.items())
            + (f"; {reused} reused (unchanged)" if reused else "")
            + (f"; {flagged} graded with another grader or other tests (column provenance)" if flagged else ""))


def cmd_gradebook(args, course: Course | None = None) -> int:
    course = course or load_course()
    try:
        students = discover(Path(args.dir), Path(args.roster) if args.roster else None)
        s = make_settings(course, args)
    except (RosterError, deadlines.SnapshotError, late.ExtensionsError, SubmissionError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if s.out.is_relative_to(Path(args.dir).resolve()):
        print(f"error: OUT {s.out} is inside DIR {args.dir}: it would be taken for a student", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        print(f"Grading {len(students)} student{'s' * (len(students) != 1)} under {args.dir}, {s.jobs} at a time "
              f"(modules {','.join(s.modules)}, AT={s.at}, limit {s.student_timeout:.0f} s per grading) into {s.out}/",
              flush=True)
    started = time.monotonic()
    try:
        gradebook = grade_class(s, students, args.quiet)
    except KeyboardInterrupt:
        print(f"\ninterrupted: the gradings that finished are kept in {s.out}/; run the same command again to "
              "go on from there", file=sys.stderr)
        return 130
    paths = write_book(gradebook, s.out)
    if not args.quiet:
        print(summary_line(gradebook, time.monotonic() - started))
        print("Written: " + ", ".join(str(p.relative_to(s.out)) for p in paths) + f" in {s.out}/")
    return 0


def with_missing(merged: Book, roster: list[Student]) -> Book:
    """A row for each roster student that no shard graded (its shard failed or was cancelled)."""
    have = {r.student for r in merged.rows}
    max_points = sum(m["points"] for m in merged.modules)
    extra = [book.failed_row(s, book.FAILED, "in no shard's gradebook: did its shard fail? (see the run's log)",
                             max_points) for s in roster if s.key not in have]
    return replace(merged, rows=tuple(sorted([*merged.rows, *extra], key=lambda r: r.student)))


def cmd_merge(args) -> int:
    books, out = [], Path(args.out)
    for folder in map(Path, args.dirs):
        data = _read_json(folder / "gradebook.json")
        if data is None:
            print(f"error: {folder}/gradebook.json is missing or unreadable", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            books.append(book.from_json(data))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"error: {folder}/gradebook.json: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        merged = book.merge(books, now())
        if args.roster:
            merged = with_missing(merged, read_roster(Path(args.roster)))
    except (book.MergeError, RosterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for folder, part in zip(map(Path, args.dirs), books):
        for row in part.rows:
            if (folder / row.student).is_dir() and (folder / row.student).resolve() != (out / row.student).resolve():
                shutil.copytree(folder / row.student, out / row.student, dirs_exist_ok=True)
    paths = write_book(merged, out)
    print(summary_line(merged, 0.0).replace(" in 0.0 s", f" from {len(books)} gradebooks"))
    print("Written: " + ", ".join(str(p.relative_to(out)) for p in paths) + f" in {out}/")
    return 0


def add_parser(sub) -> None:
    g = sub.add_parser("gradebook", help="grade every student repository under DIR into one gradebook")
    g.add_argument("dir", help="one folder per student (a clone of their repository)")
    g.add_argument("--roster", help="CSV naming the students (folder or github_username, roster_identifier, name)")
    g.add_argument("--out", default=DEFAULT_OUT, help=f"gradebook and each student's reports (default {DEFAULT_OUT})")
    g.add_argument("--jobs", type=int, help="students graded at once (default: CPU count)")
    g.add_argument("--at", choices=("head", "deadlines"), default="head",
                   help="deadlines: also grade each module at the last commit before its deadline")
    g.add_argument("--modules", help="only these modules, e.g. 01,02")
    g.add_argument("--test-timeout", type=float, help="seconds per test (default from course.toml)")
    g.add_argument("--module-timeout", type=float, help="wall-clock seconds per module (default from course.toml)")
    g.add_argument("--student-timeout", type=float,
                   help="wall-clock seconds per grading before it is killed (default: modules x module_timeout / "
                        f"cores + {SETUP_SECONDS})")
    g.add_argument("--hidden", help="folder of hidden tests (an instructor bundle)")
    g.add_argument("--visible-only", action="store_true")
    g.add_argument("--no-isolated", action="store_true", help="skip the isolated runs (reference prerequisites)")
    g.add_argument("--no-staff", action="store_true", help="leave staff.md out even where the reference is")
    g.add_argument("--snapshots", default="snapshots", help="folder of snapshots/<deadline>.json (default snapshots)")
    g.add_argument("--extensions", help="CSV student,module,days (default: [grading.late] extensions)")
    g.add_argument("--force", action="store_true", help="grade everyone again, even when nothing changed")
    g.add_argument("--retry-failed", action="store_true", help="grade again the students whose grading failed")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=cmd_gradebook)
    m = sub.add_parser("merge-gradebooks", help="join the gradebooks of several shards (their OUT folders)")
    m.add_argument("dirs", nargs="+")
    m.add_argument("--out", required=True)
    m.add_argument("--roster", help="the whole roster: a student no shard graded gets a row saying so")
    m.set_defaults(func=cmd_merge)
