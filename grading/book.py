"""The gradebook: one row per student, built from the reports of their gradings; its CSV and JSON.

    gradebook.csv   one row per student, for a spreadsheet or a learning-management system
    gradebook.json  the same rows with every detail (schema tinytorch-gradebook/1); `merge`
                    joins the gradebooks of several shards into one

The columns of gradebook.csv, in order:

    student, name, id          the folder's key, and the roster's name and id
    status                     graded | layout | failed | missing | no-commits | no-history
    message                    why, when the status is not `graded`
    commit, graded_at, working_tree
    NN_score, NN_status        per module: the recorded points and the status they come from
    milestone_N                per milestone: unlocked (true/false), from the latest work
    total, max, late_points    late_points: the points the latest work gained after the deadlines
                               (before the late policy; empty when graded at HEAD)
    with AT=deadlines, per module with a deadline:
    NN_deadline, NN_on_time, NN_commit, NN_time_source, NN_at_head, NN_late_commit,
    NN_late_time, NN_late_days, NN_late_awarded
    grader, tests_sha256, python, numpy, provenance
                               how the grade was made; `provenance` says when a row was graded
                               with another grader or other tests than most of the class

Everything here is pure: rows in, rows or text out.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace

from grading.report import num

SCHEMA = "tinytorch-gradebook/1"
GRADED, LAYOUT, FAILED, MISSING, NO_COMMITS, NO_HISTORY = (
    "graded", "layout", "failed", "missing", "no-commits", "no-history")
HAS_SCORES = (GRADED, LAYOUT)
HEAD, DEADLINES = "head", "deadlines"


@dataclass(frozen=True)
class Cell:
    """One module of one student."""
    id: str
    score: float | None              # the recorded points (None: not graded)
    max: float
    status: str = ""
    deadline: str = ""               # AT=deadlines: the student's deadline (ISO 8601)
    on_time: float | None = None     # points of the commit graded at the deadline
    commit: str | None = None        # that commit (None: nothing committed by then)
    source: str = ""                 # where its time comes from: snapshot | self-reported
    at_head: float | None = None     # points of the latest work
    late_points: float | None = None
    late_days: int | None = None
    late_awarded: float | None = None
    late_commit: str | None = None
    late_time: str = ""
    note: str = ""


@dataclass(frozen=True)
class Row:
    student: str
    status: str
    name: str = ""
    id: str = ""
    message: str = ""
    commit: str | None = None
    graded_at: str = ""
    working_tree: str = ""
    cells: tuple[Cell, ...] = ()
    milestones: dict[str, bool] = field(default_factory=dict)
    total: float | None = None
    max: float = 0.0
    late_points: float | None = None
    grader: str = ""
    tests_sha256: str = ""
    python: str = ""
    numpy: str = ""
    provenance: str = ""             # why this row was graded differently from most of the class
    report: str = ""                 # its report.json, relative to the gradebook's folder
    reused: bool = False             # nothing changed since the last run: its report was reused
    seconds: float = 0.0


@dataclass(frozen=True)
class Book:
    at: str                                      # HEAD or DEADLINES
    modules: tuple[dict, ...]                    # {"id", "slug", "points", "deadline"}
    milestones: tuple[dict, ...]                 # {"id", "slug"}
    rows: tuple[Row, ...]
    generated_at: str = ""
    late_policy: dict = field(default_factory=dict)

    def module_ids(self) -> list[str]:
        return [m["id"] for m in self.modules]

    def graded(self) -> list[Row]:
        return [r for r in self.rows if r.status in HAS_SCORES and r.total is not None]


# --------------------------------------------------------------------------- rows from reports


def cells_from_report(report: dict) -> dict[str, Cell]:
    return {m["id"]: Cell(m["id"], m["score"], m["max"], m["status"]) for m in report.get("modules", [])}


def head_row(student, report: dict, report_path: str, status: str = GRADED, message: str = "",
             reused: bool = False, seconds: float = 0.0) -> Row:
    """The row of a student graded at HEAD, from its report.json."""
    prov = report.get("provenance", {})
    cells = tuple(cells_from_report(report).values())
    return Row(
        student=student.key, status=status, name=student.name, id=student.id,
        message="; ".join(filter(None, [message, student.note])), commit=report.get("commit"),
        graded_at=report.get("generated_at", ""), working_tree=report.get("working_tree", ""), cells=cells,
        milestones={ms["id"]: bool(ms["unlocked"]) for ms in report.get("milestones", [])},
        total=report["total"]["score"], max=report["total"]["max"], grader=prov.get("grader", ""),
        tests_sha256=prov.get("tests_sha256", ""), python=prov.get("python", ""), numpy=prov.get("numpy", ""),
        report=report_path, reused=reused, seconds=seconds)


def failed_row(student, status: str, message: str, max_points: float, seconds: float = 0.0,
               reused: bool = False) -> Row:
    """A student whose grading did not produce scores: the row says why."""
    return Row(student=student.key, status=status, name=student.name, id=student.id,
               message="; ".join(filter(None, [message, student.note])), max=max_points, seconds=seconds,
               reused=reused)


def with_deadline_cells(row: Row, cells: dict[str, Cell]) -> Row:
    """`row` with the modules in `cells` replaced by their deadline cells; totals recomputed."""
    merged = tuple(cells.get(c.id, c) for c in row.cells)
    late = [c.late_points for c in merged if c.late_points is not None]
    total = None if any(c.score is None for c in merged) else round(sum(c.score for c in merged), 4)
    return replace(row, cells=merged, total=total, late_points=round(sum(late), 4) if late else 0.0)


def flag_provenance(rows: list[Row]) -> list[Row]:
    """Mark the rows graded with another grader, or other tests and plan, than most of the class."""
    made = Counter((r.grader, r.tests_sha256) for r in rows if r.status in HAS_SCORES)
    if len(made) < 2:
        return [replace(r, provenance="") for r in rows]
    (grader, tests), _ = made.most_common(1)[0]
    out = []
    for r in rows:
        what = []
        if r.status in HAS_SCORES and r.grader != grader:
            what.append(f"grader {r.grader[:12] or 'unknown'} (most: {grader[:12]})")
        if r.status in HAS_SCORES and r.tests_sha256 != tests:
            what.append(f"tests {r.tests_sha256[:12] or 'unknown'} (most: {tests[:12]})")
        out.append(replace(r, provenance=("graded with another " + " and ".join(what)) if what else ""))
    return out


# --------------------------------------------------------------------------- CSV


def _value(x) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return str(num(x))
    return str(x)


DEADLINE_COLUMNS = ("deadline", "on_time", "commit", "source", "at_head", "late_commit", "late_time", "late_days",
                    "late_awarded")
CSV_NAMES = {"source": "time_source"}


def columns(book: Book) -> list[str]:
    cols = ["student", "name", "id", "status", "message", "commit", "graded_at", "working_tree"]
    cols += [f"{m}_{what}" for m in book.module_ids() for what in ("score", "status")]
    cols += [f"milestone_{ms['id']}" for ms in book.milestones]
    cols += ["total", "max", "late_points"]
    if book.at == DEADLINES:
        cols += [f"{m['id']}_{CSV_NAMES.get(what, what)}" for m in book.modules if m.get("deadline")
                 for what in DEADLINE_COLUMNS]
    return cols + ["grader", "tests_sha256", "python", "numpy", "provenance"]


def csv_record(book: Book, row: Row) -> dict[str, str]:
    record = {name: _value(getattr(row, name)) for name in ("student", "name", "id", "status", "message", "commit",
                                                             "graded_at", "working_tree", "total", "max",
                                                             "grader", "tests_sha256", "python", "numpy",
                                                             "provenance")}
    record["late_points"] = _value(row.late_points) if book.at == DEADLINES else ""
    for cell in row.cells:
        record[f"{cell.id}_score"], record[f"{cell.id}_status"] = _value(cell.score), cell.status
        for what in DEADLINE_COLUMNS:
            record[f"{cell.id}_{CSV_NAMES.get(what, what)}"] = _value(getattr(cell, what))
    for ms in book.milestones:
        record[f"milestone_{ms['id']}"] = _value(row.milestones.get(ms["id"])) if row.milestones else ""
    return record


def to_csv(book: Book) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(book), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in book.rows:
        writer.writerow(csv_record(book, row))
    return out.getvalue()


# --------------------------------------------------------------------------- JSON and merging


def to_json(book: Book) -> dict:
    return {"schema": SCHEMA, "at": book.at, "generated_at": book.generated_at, "modules": list(book.modules),
            "milestones": list(book.milestones), "late_policy": book.late_policy,
            "students": [asdict(r) for r in book.rows]}


def _row(data: dict) -> Row:
    known = {f.name for f in fields(Row)}
    cell_names = {f.name for f in fields(Cell)}
    cells = tuple(Cell(**{k: v for k, v in c.items() if k in cell_names}) for c in data.get("cells", []))
    return Row(**{**{k: v for k, v in data.items() if k in known}, "cells": cells})


def from_json(data: dict) -> Book:
    if data.get("schema") != SCHEMA:
        raise ValueError(f"not a gradebook (schema {data.get('schema')!r}, expected {SCHEMA})")
    return Book(data["at"], tuple(data["modules"]), tuple(data["milestones"]),
                tuple(_row(r) for r in data["students"]), data.get("generated_at", ""), data.get("late_policy", {}))


class MergeError(ValueError):
    """Gradebooks that cannot be joined: graded differently, or one student in two of them."""


def merge(books: list[Book], generated_at: str) -> Book:
    """One gradebook from the shards' gradebooks: the same modules and mode, each student once."""
    if not books:
        raise MergeError("no gradebooks to merge")
    first = books[0]
    for other in books[1:]:
        if (other.at, other.module_ids()) != (first.at, first.module_ids()):
            raise MergeError(f"the gradebooks were made differently: AT={first.at} modules {first.module_ids()} "
                             f"vs AT={other.at} modules {other.module_ids()}")
    rows, seen = [], set()
    for book in books:
        for row in book.rows:
            if row.student in seen:
                raise MergeError(f"student {row.student} is in two of the gradebooks (overlapping shards?)")
            seen.add(row.student)
            rows.append(row)
    rows.sort(key=lambda r: r.student)
    return replace(first, rows=tuple(flag_provenance(rows)), generated_at=generated_at)
