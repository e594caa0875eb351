"""Read course.toml, the course manifest.

This is the one reader of the manifest. The loader (this package) uses it to map
`tinytorch.core.tensor` onto a student's file; the grader reuses it (never the other way
round: nothing here imports the grader).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_NAME = "course.toml"

_MODULE_ID = re.compile(r"^\d\d$")
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_EXPORT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MODULE_LIMITS = ("test_timeout", "module_timeout", "memory_mb", "cpu_seconds")   # a module may set these
SCORE_POLICIES = ("integrated", "isolated", "max")


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
    deadline: str | None = None
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

    @property
    def folder(self) -> str:
        return f"{int(self.id):02d}_{self.slug}"


@dataclass(frozen=True)
class Course:
    name: str
    package: str
    modules: tuple[Module, ...]
    milestones: tuple[Milestone, ...]
    grading: dict
    root: Path

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

    modules: list[Module] = []
    for i, entry in enumerate(raw.get("modules", [])):
        modules.append(_module(entry, f"{path}: [[modules]] #{i + 1}", path, {m.id: m for m in modules}))

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
        milestones.append(Milestone(
            id=mid, slug=_require(entry, "slug", where), title=_require(entry, "title", where),
            script=_require(entry, "script", where), requires=requires,
            points=float(entry.get("points", 0)), criteria=dict(entry.get("criteria", {})),
        ))

    grading = dict(raw.get("grading", {}))
    if grading.get("score", "integrated") not in SCORE_POLICIES:
        raise ManifestError(f"{path}: [grading] score must be one of {', '.join(SCORE_POLICIES)}; "
                            f"got {grading['score']!r}")
    course = raw.get("course", {})
    return Course(
        name=course.get("name", "TinyTorch"), package=course.get("package", "tinytorch"),
        modules=tuple(modules), milestones=tuple(milestones),
        grading=grading, root=root,
    )


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
        requires=tuple(sorted(closure)), deadline=entry.get("deadline"),
        allow_imports=tuple(entry.get("allow_imports", [])), depends_on=direct, limits=limits,
        guard_allow=tuple(entry.get("guard_allow", [])),
    )
