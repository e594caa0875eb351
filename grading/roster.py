"""Who is in the class: the student folders under DIR, the roster that names them, and shards of it.

    python -m grading shard ROSTER --shards N --index I [--out FILE]   the I-th of N parts of a roster
    python -m grading clone ROSTER --into DIR                          clone each roster row's repository

A roster is a CSV with a header. Its columns (any order; GitHub Classroom's roster and grades
exports have most of them):

    folder                   the student's folder under DIR (default: the repository name, else
                             the GitHub user name)
    github_username          matches a folder of that name, or one ending in `-<name>` (how
                             Classroom names clones: `assignment-alice`)
    student_repository_name  the repository name (Classroom's grades export)
    student_repository_url   (or `repository`) what `clone` clones; a local path works too
    roster_identifier        (or `identifier`, `id`) the school's id
    name                     (or `full_name`) the student's name

Without a roster every folder under DIR is a student, named by its folder. With one, a roster
row without a folder gets a gradebook row that says so, and a folder no row names is graded
and marked "not in the roster".
"""

from __future__ import annotations

import base64
import csv
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

CLONE_TOKEN_ENV = "TINYTORCH_CLONE_TOKEN"     # read-only token for the student repositories (clone, snapshot)
COLUMNS = {                                   # our name -> the column names a roster may use
    "folder": ("folder",),
    "username": ("github_username", "username", "login"),
    "repository_name": ("student_repository_name", "repository_name"),
    "repository": ("student_repository_url", "repository", "repository_url", "repo_url", "url"),
    "id": ("roster_identifier", "identifier", "id", "student_id"),
    "name": ("name", "full_name", "student_name"),
}


class RosterError(ValueError):
    """The roster or DIR cannot be used (missing, unreadable, duplicate names)."""


@dataclass(frozen=True)
class Student:
    key: str                      # folder-safe name: OUT/<key>/, the gradebook's `student`
    folder: Path | None           # the repository to grade (None: the roster names no folder that exists)
    id: str = ""
    name: str = ""
    username: str = ""
    repository: str = ""
    note: str = ""                # e.g. "not in the roster"


def student_key(label: str) -> str:
    """A folder-safe key for a student or submission: `a/alice` -> `a__alice`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label.strip("/").replace("/", "__")) or "submission"


def _cell(row: dict[str, str], ours: str) -> str:
    for name in COLUMNS[ours]:
        if row.get(name):
            return row[name].strip()
    return ""


def read_roster(path: Path) -> list[Student]:
    """The roster's rows, in order; each gets a key (folder, else repository name, else user, else id)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RosterError(f"roster {path} cannot be read: {exc.strerror or exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise RosterError(f"roster {path} is empty (it needs a header: folder or github_username, ...)")
    fields = {f.strip().lower() for f in reader.fieldnames}
    if not fields & {*COLUMNS["folder"], *COLUMNS["username"], *COLUMNS["repository_name"], *COLUMNS["id"]}:
        raise RosterError(f"roster {path}: no column names a student (folder, github_username, "
                          f"student_repository_name or roster_identifier); its columns: {', '.join(reader.fieldnames)}")
    students, seen = [], {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "") for k, v in raw.items()}
        folder = _cell(row, "folder") or _cell(row, "repository_name") or _cell(row, "username") or _cell(row, "id")
        if not folder:
            continue                                        # a blank line
        key = student_key(folder)
        if key in seen:
            raise RosterError(f"roster {path}:{number}: student {folder!r} is listed twice (first on line {seen[key]})")
        seen[key] = number
        students.append(Student(key, None, _cell(row, "id"), _cell(row, "name"), _cell(row, "username"),
                                _cell(row, "repository")))
    return students


def folders(directory: Path) -> list[Path]:
    """The student folders under DIR (hidden folders and files skipped), sorted by name."""
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise RosterError(f"DIR {directory} {what} (put one clone per student under it, e.g. submissions/alice)")
    return sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))


def _matches(student: Student, folder: Path) -> bool:
    name = folder.name
    if name == student.key:
        return True
    return bool(student.username) and (name == student.username or name.endswith(f"-{student.username}"))


def discover(directory: Path, roster: Path | None = None) -> list[Student]:
    """Every student to grade: DIR's folders, named and ordered by the roster when there is one."""
    found = folders(directory)
    if roster is None:
        if not found:
            raise RosterError(f"DIR {directory} has no student folders (one clone per student, e.g. "
                              f"{directory}/alice)")
        return [Student(student_key(p.name), p) for p in found]
    entries, taken, out = read_roster(roster), set(), []
    for entry in entries:
        match = next((p for p in found if p not in taken and _matches(entry, p)), None)
        if match is not None:
            taken.add(match)
        out.append(replace(entry, folder=match))
    out += [Student(student_key(p.name), p, note="not in the roster") for p in found if p not in taken]
    return out


def shard(students: list, shards: int, index: int) -> list:
    """The index-th of `shards` parts: every shards-th student from `index` on, in roster order.

    Round robin keeps the parts within one student of each other; together they hold every
    student exactly once.
    """
    if shards < 1 or not 0 <= index < shards:
        raise RosterError(f"shard {index} of {shards}: need shards >= 1 and 0 <= index < shards")
    return students[index::shards]


def write_roster(students: list[Student], out) -> None:
    """A roster CSV with our columns (what `shard` writes and `gradebook --roster` reads)."""
    writer = csv.writer(out)
    writer.writerow(["folder", "github_username", "roster_identifier", "name", "student_repository_url"])
    for s in students:
        writer.writerow([s.key, s.username, s.id, s.name, s.repository])


# --------------------------------------------------------------------------- git access to the repositories


def git_auth_env(token: str | None = None) -> dict[str, str]:
    """The environment that lets git read GitHub with `token` (never written to a repository's config)."""
    token = token if token is not None else os.environ.get(CLONE_TOKEN_ENV, "")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.https://github.com/.extraheader",
                    "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"})
    return env


def clone(student: Student, into: Path, timeout: float = 300) -> str:
    """Clone one student's repository into INTO/<key>; return "" or why it failed."""
    if not student.repository:
        return "the roster gives no repository (column student_repository_url)"
    dest = into / student.key
    if dest.exists():
        return ""                                 # already there: a clone is never overwritten
    try:
        proc = subprocess.run(["git", "clone", "--quiet", student.repository, str(dest)], capture_output=True,
                              text=True, timeout=timeout, env=git_auth_env())
    except subprocess.TimeoutExpired:
        return f"git clone took longer than {timeout:.0f} s"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return "" if proc.returncode == 0 else (lines[-1] if lines else f"git clone exited with {proc.returncode}")


def cmd_shard(args) -> int:
    try:
        part = shard(read_roster(Path(args.roster)), args.shards, args.index)
    except RosterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        with open(args.out, "w", newline="", encoding="utf-8") as fh:
            write_roster(part, fh)
    else:
        write_roster(part, sys.stdout)
    print(f"shard {args.index} of {args.shards}: {len(part)} student(s)", file=sys.stderr)
    return 0


def cmd_clone(args) -> int:
    try:
        students = read_roster(Path(args.roster))
    except RosterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    into = Path(args.into)
    into.mkdir(parents=True, exist_ok=True)
    failed = 0
    for student in students:
        there = (into / student.key).exists()
        why = clone(student, into)
        failed += bool(why)
        print(f"  {student.key}: " + (f"FAILED: {why}" if why else "already there (not updated)" if there
                                      else "cloned"), flush=True)
    print(f"cloned {len(students) - failed} of {len(students)} into {into}"
          + (f"; {failed} failed (their gradebook rows will say so)" if failed else ""))
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("shard", help="one part of a roster: every N-th student (the regrade workflow's matrix)")
    s.add_argument("roster")
    s.add_argument("--shards", type=int, required=True)
    s.add_argument("--index", type=int, required=True, help="0 .. shards-1")
    s.add_argument("--out", help="write the part here (default: standard output)")
    s.set_defaults(func=cmd_shard)
    c = sub.add_parser("clone", help=f"clone each roster row's repository into DIR (token: ${CLONE_TOKEN_ENV})")
    c.add_argument("roster")
    c.add_argument("--into", required=True)
    c.set_defaults(func=cmd_clone)
