"""Which commit counts for a module at its deadline, and the snapshots that make that trustworthy.

A module's deadline comes from course.toml (manifest.py parses it), moved by the student's
extension (late.py). The commit graded for it is:

  - the HEAD recorded for the student in snapshots/<deadline>.json, when the instructor took a
    snapshot at that deadline (`make snapshot`): time source "snapshot", because the instructor's
    clock, not the student's, says the commit existed by then;
  - otherwise the newest commit whose committer date is not after the deadline: time source
    "self-reported", because students set their own commit dates.

A snapshot applies to the deadline it was taken for; with an extension the student's deadline
is another one, so their own commit dates decide. Everything here is pure but the snapshot
files' reading and writing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from grading.history import Commit, last_before
from tinytorch.manifest import Course

SNAPSHOT_SCHEMA = "tinytorch-snapshot/1"
SNAPSHOT, SELF_REPORTED = "snapshot", "self-reported"


class SnapshotError(ValueError):
    """A snapshot file cannot be read or written."""


@dataclass(frozen=True)
class Snapshot:
    deadline: datetime
    taken_at: datetime
    students: dict[str, str | None]      # student key -> the HEAD commit then (None: no commit)
    source: str = ""                     # where the HEADs were read: local clones, or git ls-remote
    modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """The commit graded for one module of one student at its deadline."""
    module: str
    deadline: datetime                   # the student's deadline (with any extension)
    commit: Commit | None                # None: nothing was committed by then
    source: str                          # SNAPSHOT or SELF_REPORTED
    extension: int = 0                   # days
    note: str = ""


def utc_stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H%MZ")


def snapshot_path(folder: Path, deadline: datetime) -> Path:
    """snapshots/<deadline in UTC>.json, e.g. snapshots/2026-03-01T2259Z.json."""
    return folder / f"{utc_stamp(deadline)}.json"


def due_dates(course: Course, modules: list[str] | None = None) -> dict[str, datetime]:
    """{module id: deadline} for the modules (all, or `modules`) that have one."""
    return {m.id: m.deadline for m in course.modules if m.deadline and (modules is None or m.id in modules)}


def passed_deadline(course: Course, now: datetime) -> datetime | None:
    """The latest deadline of the course that is not after `now`."""
    past = [d for d in due_dates(course).values() if d <= now]
    return max(past) if past else None


def snapshot_json(snap: Snapshot) -> dict:
    return {"schema": SNAPSHOT_SCHEMA, "deadline": snap.deadline.isoformat(), "taken_at": snap.taken_at.isoformat(),
            "source": snap.source, "modules": list(snap.modules),
            "students": {key: {"commit": commit} for key, commit in sorted(snap.students.items())}}


def write_snapshot(snap: Snapshot, folder: Path, force: bool = False) -> Path:
    path = snapshot_path(folder, snap.deadline)
    if path.exists() and not force:
        raise SnapshotError(f"{path} exists: a snapshot is the record of what was there at the deadline, so it is "
                            "not replaced (--force replaces it)")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(snapshot_json(snap), indent=1) + "\n", encoding="utf-8")
    return path


def read_snapshot(path: Path) -> Snapshot:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SNAPSHOT_SCHEMA:
            raise ValueError(f"schema is {data.get('schema')!r}, not {SNAPSHOT_SCHEMA}")
        return Snapshot(datetime.fromisoformat(data["deadline"]), datetime.fromisoformat(data["taken_at"]),
                        {k: v.get("commit") for k, v in data["students"].items()}, data.get("source", ""),
                        tuple(data.get("modules", [])))
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise SnapshotError(f"snapshot {path} cannot be read: {exc}") from None


def read_snapshots(folder: Path | None) -> dict[datetime, Snapshot]:
    """Every snapshot in `folder` (none when it does not exist), keyed by its deadline."""
    if folder is None or not folder.is_dir():
        return {}
    snaps = [read_snapshot(p) for p in sorted(folder.glob("*.json"))]
    return {s.deadline.astimezone(timezone.utc): s for s in snaps}


def choose(module: str, deadline: datetime, extension: int, history: list[Commit],
           snapshot: Snapshot | None, student: str) -> Target:
    """The commit that counts for `module` of `student`, and where its time comes from."""
    due = deadline + timedelta(days=extension)
    fallback = ""
    if snapshot is not None and not extension:
        if student not in snapshot.students:
            fallback = f"not in the snapshot of {utc_stamp(deadline)}"
        elif snapshot.students[student] is None:
            return Target(module, due, None, SNAPSHOT, extension, "no commit at the snapshot")
        else:
            sha = snapshot.students[student]
            found = next((c for c in history if c.sha == sha), None)
            if found is not None:
                return Target(module, due, found, SNAPSHOT, extension)
            fallback = (f"the snapshot's commit {sha[:10]} is not in the history of HEAD (rewritten after the "
                        "snapshot?)")
    commit = last_before(history, due)
    note = "; ".join(filter(None, [f"extended by {extension} day(s)" if extension else "",
                                   fallback and f"{fallback}: commit dates used",
                                   "" if commit else "nothing committed by the deadline"]))
    return Target(module, due, commit, SELF_REPORTED, extension, note)


def backdated(target: Target, late_commit: Commit | None, snapshot_has_it: bool) -> str:
    """A warning when late work claims a date before the deadline that the snapshot contradicts."""
    if target.source != SNAPSHOT or late_commit is None or snapshot_has_it:
        return ""
    if late_commit.time <= target.deadline:
        return (f"commit {late_commit.short} is dated {late_commit.time.isoformat()}, before the deadline, but was "
                "not in the snapshot: its date is not believed")
    return ""
