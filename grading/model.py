"""The grader's data model: plain records that flow one way.

    manifest -> sandbox -> ModuleRun (raw facts) -> ModuleResult (scored) -> Report
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA = "tinytorch-grade/1"

# Module statuses (see README, "Reading a report").
PASSED = "passed"
PARTIAL = "partial"
NOT_STARTED = "not_started"
ERROR = "error"
TIMEOUT = "timeout"
BLOCKED = "blocked"
POLICY = "policy"
STATUSES = (PASSED, PARTIAL, NOT_STARTED, ERROR, TIMEOUT, BLOCKED, POLICY)


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


@dataclass
class Plan:
    tests: list[PlannedTest]
    tasks: dict[str, int]    # module id -> number of solution regions (stub bodies) it asks for

    def for_module(self, module_id: str) -> list[PlannedTest]:
        return [t for t in self.tests if t.module == module_id]


@dataclass
class Failure:
    """What the recorder saw when a test (or a collection) failed."""
    exc_type: str
    message: str
    origin_file: str | None = None     # student file relative to the submission root
    origin_line: int | None = None
    timeout: bool = False
    not_implemented: bool = False


@dataclass
class ModuleRun:
    """Raw facts of one module's grading process."""
    module: str
    returncode: int | None
    duration: float
    wall_timeout: bool = False
    output_limit: bool = False
    outcomes: dict[str, str] = field(default_factory=dict)        # nodeid -> passed/failed/skipped
    failures: dict[str, Failure] = field(default_factory=dict)    # nodeid -> first failure
    collect_errors: list[Failure] = field(default_factory=list)
    report_found: bool = False
    output_tail: str = ""
    tasks_remaining: int = 0
    problems: list[str] = field(default_factory=list)   # why the results were rejected (none: accepted)
    crash: str = ""                                      # what escaped pytest, when something did
    limits: dict = field(default_factory=dict)           # the limits it ran under, for messages


@dataclass
class TestResult:
    name: str
    visibility: str
    outcome: str             # passed | failed | error | timeout | not_run
    score: float
    max: float
    message: str = ""


@dataclass
class ModuleResult:
    id: str
    slug: str
    title: str
    score: float
    max: float
    status: str
    message: str = ""
    blocked_by: list[str] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class MilestoneResult:
    id: str
    slug: str
    title: str
    requires: list[str]
    unlocked: bool
    missing: list[str] = field(default_factory=list)


@dataclass
class Report:
    submission: str
    commit: str | None
    tests: str               # "all" | "visible"
    modules: list[ModuleResult]
    milestones: list[MilestoneResult]
    generated_at: str = ""
    duration: float = 0.0
    note: str = ""
    files: dict[str, str | None] = field(default_factory=dict)   # student file -> sha256 (None: missing)

    @property
    def score(self) -> float:
        return round(sum(m.score for m in self.modules), 4)

    @property
    def max(self) -> float:
        return round(sum(m.max for m in self.modules), 4)
