"""The grader's data model: plain, immutable records that flow one way.

    manifest -> sandbox -> ModuleRun (raw facts) -> TestResult, ModuleResult (scored) -> Report
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

SCHEMA = "tinytorch-grade/1"


class Status(StrEnum):
    """A module's status (README, "Reading a report")."""
    PASSED = "passed"
    PARTIAL = "partial"
    NOT_STARTED = "not_started"
    ERROR = "error"
    TIMEOUT = "timeout"
    BLOCKED = "blocked"
    POLICY = "policy"


class Outcome(StrEnum):
    """A test's outcome in a report."""
    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    NOT_RUN = "not_run"
    ERROR = "error"


@dataclass(frozen=True)
class PlannedTest:
    """A test the grader expects to run, with its points (collected against the reference)."""
    nodeid: str
    module: str
    visibility: str          # "visible" | "hidden"
    points: float

    @property
    def name(self) -> str:
        return self.nodeid.split("::", 1)[-1]


@dataclass(frozen=True)
class Plan:
    tests: tuple[PlannedTest, ...]
    tasks: dict[str, int]                       # module id -> solution regions (stub bodies) it asks for
    owners: dict[str, dict[str, str]] = field(default_factory=dict)   # student file -> {function: module}

    def for_module(self, module_id: str) -> list[PlannedTest]:
        return [t for t in self.tests if t.module == module_id]


@dataclass(frozen=True)
class Failure:
    """What the recorder saw when a test (or a collection) failed, and whose task it came from."""
    exc_type: str
    message: str
    origin_file: str | None = None     # student file relative to the submission root
    origin_line: int | None = None
    timeout: bool = False
    not_implemented: bool = False
    owner: str | None = None           # the module whose task holds origin_file:origin_line
    task: str | None = None            # that function, e.g. MulBackward.backward

    @property
    def where(self) -> str:
        return f"{self.origin_file}:{self.origin_line}" if self.origin_file else ""


@dataclass(frozen=True)
class GuardEvent:
    """Something the runtime guard refused while the tests ran (recorded even if student code caught it)."""
    what: str
    origin_file: str | None = None
    origin_line: int | None = None


@dataclass(frozen=True)
class ModuleRun:
    """Raw facts of one module's grading process."""
    module: str
    returncode: int | None
    duration: float
    wall_timeout: bool = False
    output_limit: bool = False
    outcomes: dict[str, str] = field(default_factory=dict)        # nodeid -> passed/failed/skipped
    failures: dict[str, Failure] = field(default_factory=dict)    # nodeid -> first failure
    collect_errors: tuple[Failure, ...] = ()
    output_tail: str = ""
    tasks_remaining: int = 0
    problems: tuple[str, ...] = ()       # why the results were rejected (none: accepted)
    crash: str = ""                      # what escaped pytest, when something did
    stopped: str = ""                    # why the run stopped early (e.g. "stopped after 2 timeouts")
    guard: tuple[GuardEvent, ...] = ()
    limits: dict = field(default_factory=dict)   # the limits it ran under, for messages


@dataclass(frozen=True)
class TestResult:
    __test__ = False         # a record, not a pytest test class
    name: str
    visibility: str
    outcome: str             # an Outcome
    score: float
    max: float
    message: str = ""        # what students may see (hidden tests: a category)
    staff: str = ""          # what staff see besides (hidden tests: the message and file:line)


@dataclass(frozen=True)
class Isolated:
    """The score of a module run with the reference for its prerequisites (staff side)."""
    score: float
    max: float


@dataclass(frozen=True)
class ModuleResult:
    id: str
    slug: str
    title: str
    score: float
    max: float
    status: str
    message: str = ""
    blocked_by: tuple[str, ...] = ()
    tests: tuple[TestResult, ...] = ()
    duration: float = 0.0
    isolated: Isolated | None = None
    integrated_score: float | None = None    # the score with the student's own prerequisites
    hint: str = ""                           # advice that is not a finding (student CI: "02 does not pass yet")


@dataclass(frozen=True)
class MilestoneResult:
    id: str
    slug: str
    title: str
    requires: tuple[str, ...]
    unlocked: bool
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Integrity:
    """What staff need to know about a submission beyond its scores (staff.md, never students)."""
    working_tree: str = "no-git"                   # clean | dirty | no-git
    changed_files: tuple[str, ...] = ()            # student files that differ from the commit
    ignored_files: tuple[str, ...] = ()            # present, ignored by the grader, worth a look
    policy: tuple[str, ...] = ()                   # policy findings, per file
    guard: tuple[str, ...] = ()                    # runtime guard refusals, "module: what (file:line)"
    layout: str = ""                               # why the layout looks wrong (empty: fine)


@dataclass(frozen=True)
class Provenance:
    """How a grade was made, to reproduce it: grader, tests and plan, interpreter, libraries."""
    grader: str = ""                  # the grader's commit (or "unknown")
    tests_sha256: str = ""            # over every test file and the plan used
    python: str = ""
    numpy: str = ""


@dataclass(frozen=True)
class Report:
    submission: str
    commit: str | None
    tests: str               # "all" | "visible"
    modules: tuple[ModuleResult, ...]
    milestones: tuple[MilestoneResult, ...]
    generated_at: str = ""
    duration: float = 0.0
    note: str = ""
    files: dict[str, str | None] = field(default_factory=dict)   # student file -> sha256 (None: missing)
    integrity: Integrity = Integrity()
    provenance: Provenance = Provenance()
    score_policy: str = "integrated"

    @property
    def score(self) -> float:
        return round(sum(m.score for m in self.modules), 4)

    @property
    def max(self) -> float:
        return round(sum(m.max for m in self.modules), 4)
