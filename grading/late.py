"""The late policy of course.toml's [grading.late], applied to one module of one student.

    on time  the points of the commit graded at the deadline (deadlines.py)
    gained   what the latest work (HEAD) scores beyond that: the late points
    days     how late that work is: started days after the deadline (1 minute late = 1 day)
    awarded  gained x (1 - penalty_per_day x days), nothing after max_days days
    final    on time + awarded

The time of the late work is the date of the last commit that changed the module's file or the
files it builds on (self-reported, like every commit date). A per-student extension moves the
deadline itself. All of it is pure: the gradebook passes dates and points in.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tinytorch.manifest import LatePolicy

DAY = timedelta(days=1)
ALL_MODULES = ("", "*")


class ExtensionsError(ValueError):
    """The extensions file cannot be read or has a bad row."""


@dataclass(frozen=True)
class LateWork:
    gained: float                  # points at HEAD beyond the on-time points (0: nothing late)
    days: int                      # started days after the deadline (0: on time or nothing gained)
    factor: float                  # what share of `gained` counts
    awarded: float                 # gained x factor
    commit: str | None = None      # the commit that holds the late work
    time: datetime | None = None   # its date (self-reported)
    note: str = ""


def late_days(deadline: datetime, when: datetime) -> int:
    """Started days from `deadline` to `when` (0 when `when` is not after it)."""
    return max(0, math.ceil((when - deadline) / DAY)) if when > deadline else 0


def factor(policy: LatePolicy, days: int) -> float:
    """The share of late points a submission `days` late keeps (max_days 0: late work earns nothing)."""
    if days <= 0:
        return 1.0
    if days > policy.max_days:
        return 0.0
    return max(0.0, 1.0 - policy.penalty_per_day * days)


def assess(policy: LatePolicy, on_time: float, at_head: float, deadline: datetime, when: datetime | None,
           commit: str | None = None, note: str = "") -> LateWork:
    """The late work of one module: what HEAD gained over the deadline's commit, and what it earns."""
    gained = round(max(0.0, at_head - on_time), 4)
    if gained == 0:
        return LateWork(0.0, 0, 1.0, 0.0, commit, when, note)
    if when is None:                  # graded from a working tree whose late change no commit holds
        return LateWork(gained, 0, 0.0, 0.0, None, None,
                        "; ".join(filter(None, [note, "no commit holds the late work (uncommitted changes?): "
                                                      "it earns nothing"])))
    days = late_days(deadline, when)
    share = factor(policy, days)
    return LateWork(gained, days, share, round(gained * share, 4), commit, when, note)


def read_extensions(path: Path | None) -> dict[tuple[str, str], int]:
    """{(student, module or ""): days} from a CSV student,module,days; a missing file is no extensions."""
    if path is None or not path.is_file():
        return {}
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    if not rows.fieldnames or not {"student", "days"} <= {f.strip().lower() for f in rows.fieldnames}:
        raise ExtensionsError(f"{path}: the header must name the columns student,module,days")
    out = {}
    for number, raw in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not row.get("student"):
            continue
        try:
            days = int(row["days"])
        except ValueError:
            raise ExtensionsError(f"{path}:{number}: days must be a whole number; got {row['days']!r}") from None
        if days < 0:
            raise ExtensionsError(f"{path}:{number}: days must not be negative; got {days}")
        module = row.get("module", "")
        module = "" if module in ALL_MODULES else f"{int(module):02d}" if module.isdigit() else module
        out[(row["student"], module)] = days
    return out


def extension_days(extensions: dict[tuple[str, str], int], names: tuple[str, ...], module: str) -> int:
    """Days of extension for a student known by any of `names` (key, id, user): the module's own, else all."""
    for name in filter(None, names):
        if (name, module) in extensions:
            return extensions[(name, module)]
    for name in filter(None, names):
        if (name, "") in extensions:
            return extensions[(name, "")]
    return 0
