"""Record each student's HEAD at a deadline: the witness that makes grading at deadlines trustworthy.

    python -m grading snapshot DIR [--roster CSV] [--deadline MODULE|ISO] [--out snapshots] [--force]
    python -m grading snapshot --remote --roster CSV [...]    each repository's HEAD on GitHub (git ls-remote)

Students set their own commit dates. A snapshot is the instructor's record instead: taken at the
deadline (by hand, after fetching every clone; or by the regrade workflow's schedule, which
reads each repository's HEAD on GitHub without cloning), it lists the commit each student had
then, and `make gradebook AT=deadlines` grades that deadline's modules at those commits. Without
a snapshot the commit dates decide, and every output says "self-reported".

The file is snapshots/<deadline in UTC>.json (deadlines.py). An existing snapshot is never
replaced without --force. The deadline is the latest one of course.toml that has passed, unless
--deadline names a module (its deadline) or a date-time.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from grading import deadlines
from grading.integrity import commit_of
from grading.roster import RosterError, Student, discover, git_auth_env, read_roster
from tinytorch.manifest import Course, ManifestError, load_course, parse_deadline

LS_REMOTE_TIMEOUT = 60


def heads_local(students: list[Student]) -> dict[str, str | None]:
    """Each student's HEAD commit in their clone (None: no clone, or no commit)."""
    return {s.key: commit_of(s.folder) if s.folder else None for s in students}


def remote_head(url: str) -> str | None:
    try:
        proc = subprocess.run(["git", "ls-remote", url, "HEAD"], capture_output=True, text=True,
                              timeout=LS_REMOTE_TIMEOUT, env=git_auth_env())
    except subprocess.TimeoutExpired:
        return None
    first = proc.stdout.split()
    return first[0] if proc.returncode == 0 and first else None


def heads_remote(students: list[Student]) -> dict[str, str | None]:
    """Each roster row's repository HEAD, read with git ls-remote (None: unreachable or empty)."""
    return {s.key: remote_head(s.repository) if s.repository else None for s in students}


def pick_deadline(course: Course, value: str | None, now: datetime) -> datetime:
    """--deadline as a module id (its deadline) or a date-time; default the latest deadline passed."""
    if value:
        if value.strip().isdigit() or value.strip() in {m.slug for m in course.modules}:
            module = course.module(value)
            if module.deadline is None:
                raise ValueError(f"module {module.id} has no deadline in course.toml")
            return module.deadline
        return parse_deadline(value, ZoneInfo(course.timezone) if course.timezone else None, "--deadline")
    passed = deadlines.passed_deadline(course, now)
    if passed is None:
        upcoming = sorted(deadlines.due_dates(course).values())
        raise ValueError("no deadline of course.toml has passed yet" + (
            f" (the next: {upcoming[0].isoformat()})" if upcoming else " (no module has a deadline)")
            + "; name one with --deadline MODULE or a date-time")
    return passed


def take(course: Course, args, now: datetime) -> tuple[deadlines.Snapshot, list[str]]:
    """The snapshot the arguments ask for, and warnings worth printing."""
    deadline = pick_deadline(course, args.deadline, now)
    if args.remote:
        if not args.roster:
            raise ValueError("--remote reads the repositories of a roster: give --roster CSV")
        students, source = read_roster(Path(args.roster)), "git ls-remote of the roster's repositories"
        heads = heads_remote(students)
    else:
        if not args.dir:
            raise ValueError("give DIR (one clone per student) or --remote --roster CSV")
        students = discover(Path(args.dir), Path(args.roster) if args.roster else None)
        source, heads = f"HEAD of the clones under {args.dir}", heads_local(students)
    modules = tuple(m for m, due in deadlines.due_dates(course).items() if due == deadline)
    warnings = [f"{key}: no commit recorded (no clone, an empty repository, or unreachable)"
                for key, sha in heads.items() if sha is None]
    if now < deadline:
        warnings.append(f"taken before the deadline {deadline.isoformat()}: work committed after now and before the "
                        "deadline is not in it")
    return deadlines.Snapshot(deadline, now, heads, source, modules), warnings


def cmd_snapshot(args) -> int:
    course = load_course()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    try:
        snap, warnings = take(course, args, now)
        path = deadlines.write_snapshot(snap, Path(args.out), force=args.force)
    except (ValueError, RosterError, ManifestError, KeyError, deadlines.SnapshotError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    recorded = sum(sha is not None for sha in snap.students.values())
    print(f"snapshot of {recorded}/{len(snap.students)} students for the deadline {snap.deadline.isoformat()} "
          f"(modules {', '.join(snap.modules) or 'none'}) written to {path}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("snapshot", help="record each student's HEAD for a deadline (snapshots/<deadline>.json)")
    p.add_argument("dir", nargs="?", help="one clone per student (fetch them first)")
    p.add_argument("--roster", help="roster CSV (names the students; with --remote, their repositories)")
    p.add_argument("--remote", action="store_true", help="read each roster repository's HEAD with git ls-remote")
    p.add_argument("--deadline", help="a module id (its deadline) or an ISO date-time (default: the latest passed)")
    p.add_argument("--out", default="snapshots", help="folder of the snapshots (default snapshots)")
    p.add_argument("--force", action="store_true", help="replace an existing snapshot of that deadline")
    p.set_defaults(func=cmd_snapshot)
