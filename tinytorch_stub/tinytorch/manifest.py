"""Read course.toml, the course manifest.

This is the one reader of the manifest. The loader (this package) uses it to map
`tinytorch.core.tensor` onto a student's file; the grader reuses it (never the other way
round: nothing here imports the grader).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COURSE_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_NAME = "course.toml"

_MODULE_ID = re.compile(r"^\d\d$")
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_EXPORT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MODULE_LIMITS = ("test_timeout", "module_timeout", "memory_mb", "cpu_seconds")   # a module may set these
SCORE_POLICIES = ("integrated", "isolated", "max")
DATE_ALONE_TIME = time(23, 59)          # a deadline given as a date alone means this time of that day
DEADLINE_EXAMPLE = "2026-03-01T23:59:00+01:00 (a time zone) or 2026-03-01 (23:59 in [course] timezone)"


class ManifestError(ValueError):
    """course.toml is missing a field or contradicts itself."""


@dataclass(frozen=True)
class Module:
    id: str
    slug: str
    title: str
    export: str
    points: float
    requires: tuple[str, ...]              # every prerequisite: the closure of `depends_on`
    deadline: datetime | None = None      # with its time zone (course.toml: ISO 8601, or a date alone)
    allow_imports: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()       # the direct prerequisites, as course.toml lists them
    limits: dict = field(default_factory=dict)      # this module's own test_timeout, module_timeout, ...
    guard_allow: tuple[str, ...] = ()      # runtime-guard events its tests may raise (e.g. sys.setprofile)

    @property
    def folder(self) -> str:
        """Folder below assignments/ and solutions/, e.g. `01_tensor`."""
        return f"{self.id}_{self.slug}"

    @property
    def student_file(self) -> str:
        """The file the student writes, relative to a submission root."""
        return f"assignments/{self.folder}/{self.slug}.py"

    @property
    def solution_file(self) -> str:
        return f"solutions/{self.folder}/{self.slug}.py"

    @property
    def import_name(self) -> str:
        return f"tinytorch.{self.export}"

    @property
    def tag(self) -> str:
        """How stubs name the module in their messages: `Module 01 (tensor)`."""
        return f"Module {self.id} ({self.slug})"


@dataclass(frozen=True)
class Milestone:
    id: str
    slug: str
    title: str
    script: str
    requires: tuple[str, ...]
    points: float = 0.0
    criteria: dict = field(default_factory=dict)
    uses: dict = field(default_factory=dict)     # program option -> id of the milestone whose output it reads

    @property
    def folder(self) -> str:
        return f"{int(self.id):02d}_{self.slug}"


@dataclass(frozen=True)
class LatePolicy:
    """[grading.late]: what work after a deadline earns (the gradebook applies it, grading/late.py)."""
    penalty_per_day: float = 0.0          # fraction of the late points lost per day (or part of one) late
    max_days: int = 0                     # later than this many days: the late points count nothing
    extensions: str | None = None         # CSV of per-student extensions, relative to the course folder


@dataclass(frozen=True)
class Course:
    name: str
    package: str
    modules: tuple[Module, ...]
    milestones: tuple[Milestone, ...]
    grading: dict
    root: Path
    timezone: str | None = None           # [course] timezone, an IANA name: what a date-alone deadline means
    late: LatePolicy = LatePolicy()

    def module(self, ident: str) -> Module:
        """Look a module up by id (`3`, `03`) or slug (`layers`)."""
        key = ident.strip()
        if key.isdigit():
            key = f"{int(key):02d}"
        for m in self.modules:
            if key in (m.id, m.slug):
                return m
        known = ", ".join(f"{m.id} {m.slug}" for m in self.modules)
        raise KeyError(f"no module {ident!r} in {self.root / MANIFEST_NAME} (known: {known})")

    def milestone(self, ident: str) -> Milestone:
        key = str(int(ident)) if str(ident).strip().isdigit() else str(ident).strip()
        for m in self.milestones:
            if key in (m.id, m.slug):
                return m
        known = ", ".join(f"{m.id} {m.slug}" for m in self.milestones)
        raise KeyError(f"no milestone {ident!r} in {self.root / MANIFEST_NAME} (known: {known})")

    def by_export(self) -> dict[str, Module]:
        return {m.import_name: m for m in self.modules}

    @property
    def max_points(self) -> float:
        return float(sum(m.points for m in self.modules))


def _require(table: dict, key: str, where: str):
    if key not in table:
        raise ManifestError(f"{where}: missing field {key!r}")
    return table[key]


def load_course(root: Path | str | None = None) -> Course:
    """Parse and validate `course.toml` under `root` (default: this checkout, or $TINYTORCH_COURSE)."""
    root = Path(root or os.environ.get("TINYTORCH_COURSE") or COURSE_ROOT).resolve()
    path = root / MANIFEST_NAME
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ManifestError(f"{path}: course manifest not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from None

    course = raw.get("course", {})
    zone = _timezone(course.get("timezone"), path)
    text = path.read_text(encoding="utf-8")
    modules: list[Module] = []
    for i, entry in enumerate(raw.get("modules", [])):
        module = _module(entry, f"{path}: [[modules]] #{i + 1}", path, {m.id: m for m in modules})
        line = deadline_line(text, module.id) if "deadline" in entry else None
        where = f"{path}:{line}" if line else str(path)
        modules.append(replace(module, deadline=parse_deadline(entry.get("deadline"), zone,
                                                               f"{where}: module {module.id}")))

    milestones: list[Milestone] = []
    for i, entry in enumerate(raw.get("milestones", [])):
        where = f"{path}: [[milestones]] #{i + 1}"
        mid = str(_require(entry, "id", where))
        by_id = {m.id: m for m in modules}
        closure: set[str] = set()
        for r in (str(r) for r in _require(entry, "requires", where)):
            if r not in by_id:
                raise ManifestError(f"{where}: requires unknown module {r!r}")
            closure |= {r, *by_id[r].requires}
        requires = tuple(sorted(closure))
        uses = {str(k): str(v) for k, v in dict(entry.get("uses", {})).items()}
        earlier = {m.id for m in milestones}
        for option, used in uses.items():
            if used not in earlier:
                raise ManifestError(f"{where}: uses {option} = {used!r}, which is not an earlier milestone "
                                    f"(earlier: {', '.join(sorted(earlier)) or 'none'})")
            if not option.replace("-", "").isalnum() or option.startswith("-"):
                raise ManifestError(f"{where}: uses {option!r} is not an option name such as cnn-dir")
        milestones.append(Milestone(
            id=mid, slug=_require(entry, "slug", where), title=_require(entry, "title", where),
            script=_require(entry, "script", where), requires=requires,
            points=float(entry.get("points", 0)), criteria=dict(entry.get("criteria", {})), uses=uses,
        ))

    grading = dict(raw.get("grading", {}))
    if grading.get("score", "integrated") not in SCORE_POLICIES:
        raise ManifestError(f"{path}: [grading] score must be one of {', '.join(SCORE_POLICIES)}; "
                            f"got {grading['score']!r}")
    return Course(
        name=course.get("name", "TinyTorch"), package=course.get("package", "tinytorch"),
        modules=tuple(modules), milestones=tuple(milestones),
        grading=grading, root=root, timezone=course.get("timezone"),
        late=_late_policy(grading.get("late", {}), path),
    )


def deadline_line(text: str, module_id: str) -> int | None:
    """The line number of a module's `deadline = ...` in course.toml's text (for error messages)."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines() + ["["], start=1):
        if line.lstrip().startswith("["):                       # a table header ends the block before it
            if any(re.match(rf"""id\s*=\s*["']?{module_id}["']?\s*(#.*)?$""", b) for _, b in block):
                return next((n for n, b in block if re.match(r"deadline\s*=", b)), None)
            block = []
        else:
            block.append((number, line.strip()))
    return None


def _timezone(name, path: Path) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ManifestError(f"{path}: [course] timezone {name!r} is not a time zone name "
                            "(an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC')") from None


def parse_deadline(value, zone: ZoneInfo | None, where: str) -> datetime | None:
    """A deadline as course.toml writes it, with its time zone; anything else is a ManifestError.

    ISO 8601 with a time zone (`2026-03-01T23:59:00+01:00`, quoted or as a TOML date-time), or a
    date alone (`2026-03-01`), which means 23:59 that day in `[course] timezone`.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ManifestError(f"{where}: deadline {value!r} is not an ISO 8601 date-time; write "
                                f"{DEADLINE_EXAMPLE}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ManifestError(f"{where}: deadline {value.isoformat()!r} has no time zone; write "
                                f"{DEADLINE_EXAMPLE}")
        return value
    if isinstance(value, date):
        if zone is None:
            raise ManifestError(f"{where}: deadline {value.isoformat()!r} is a date alone, which means 23:59 in "
                                "the course's time zone: add `timezone = \"Europe/Berlin\"` (an IANA name) to "
                                "[course], or write the deadline with its time zone")
        return datetime.combine(value, DATE_ALONE_TIME, tzinfo=zone)
    raise ManifestError(f"{where}: deadline {value!r} is not an ISO 8601 date-time; write {DEADLINE_EXAMPLE}")


def _late_policy(table, path: Path) -> LatePolicy:
    where = f"{path}: [grading.late]"
    if not isinstance(table, dict):
        raise ManifestError(f"{where} must be a table (penalty_per_day, max_days, extensions)")
    unknown = sorted(set(table) - {"penalty_per_day", "max_days", "extensions"})
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(unknown)} (known: penalty_per_day, max_days, "
                            "extensions)")
    penalty, days = table.get("penalty_per_day", 0.0), table.get("max_days", 0)
    if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not 0 <= penalty <= 1:
        raise ManifestError(f"{where}: penalty_per_day must be a fraction between 0 and 1 (0.1 = 10% a day); "
                            f"got {penalty!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ManifestError(f"{where}: max_days must be a whole number of days, 0 or more; got {days!r}")
    extensions = table.get("extensions")
    if extensions is not None and not isinstance(extensions, str):
        raise ManifestError(f"{where}: extensions must be a file name (a CSV beside course.toml); got {extensions!r}")
    return LatePolicy(float(penalty), days, extensions)


def _module(entry: dict, where: str, path: Path, earlier: dict[str, Module]) -> Module:
    """One [[modules]] entry, checked; `requires` becomes the closure of the listed prerequisites."""
    mid = str(_require(entry, "id", where))
    where = f"{path}: module {mid}"
    if not _MODULE_ID.match(mid):
        raise ManifestError(f"{where}: id must be two digits, e.g. '01'")
    if mid in earlier:
        raise ManifestError(f"{where}: duplicate id")
    if earlier and mid <= max(earlier):
        raise ManifestError(f"{where}: modules must be listed in increasing order")
    slug = _require(entry, "slug", where)
    if not _SLUG.match(slug):
        raise ManifestError(f"{where}: slug {slug!r} must be a lowercase identifier")
    export = _require(entry, "export", where)
    if not _EXPORT.match(export):
        raise ManifestError(f"{where}: export {export!r} must look like 'core.tensor'")
    direct = tuple(str(r) for r in entry.get("requires", []))
    closure: set[str] = set()
    for r in direct:
        if r not in earlier:
            raise ManifestError(f"{where}: requires {r!r}, which is not an earlier module")
        closure |= {r, *earlier[r].requires}
    points = float(_require(entry, "points", where))
    if points <= 0:
        raise ManifestError(f"{where}: points must be positive")
    limits = {k: entry[k] for k in MODULE_LIMITS if k in entry}
    for key, value in limits.items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise ManifestError(f"{where}: {key} must be a positive number; got {value!r}")
    return Module(
        id=mid, slug=slug, title=_require(entry, "title", where), export=export, points=points,
        requires=tuple(sorted(closure)),
        allow_imports=tuple(entry.get("allow_imports", [])), depends_on=direct, limits=limits,
        guard_allow=tuple(entry.get("guard_allow", [])),
    )
