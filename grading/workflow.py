"""Write the GitHub workflows from course.toml (as text: no YAML library).

    python -m grading workflow           write .github/workflows/classroom.yml and ci.yml
    python -m grading workflow --check   exit 1 when a committed file differs from what it writes

classroom.yml runs in student repositories: one grading job, then one job per milestone of
course.toml that runs only when the grading job says the milestone is unlocked. ci.yml is this
course repository's own CI (`bash .ci/run`); the student template never contains it.

Every shell command the workflows run is in STEPS or MILESTONE_STEPS below. The course's own
tests execute exactly those commands against a built template, and check that each one is a
Makefile target or a grader command.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from tinytorch.manifest import Course

# Actions: the newest major of each, all on the node24 runtime (actionlint flags node20 ones,
# which GitHub retires). Checked with actionlint's own table of popular actions.
CHECKOUT = "actions/checkout@v7"
SETUP_PYTHON = "actions/setup-python@v7"
UPLOAD_ARTIFACT = "actions/upload-artifact@v7"
CACHE = "actions/cache@v6"

PYTHON_VERSION = "3.11"                 # the oldest Python the course supports (pyproject.toml)
WORKFLOW_NAME = "Autograding Tests"     # GitHub Classroom looks for this workflow name ...
GRADING_JOB = "run-autograding-tests"   # ... and this job (see README, "Instructors")
REPORT_DIR = "reports/grade"
HIDDEN_DIR = ".hidden-tests"
HIDDEN_REPO_VAR = "TINYTORCH_HIDDEN_REPO"       # organisation variable: owner/name of the private repo
HIDDEN_TOKEN_SECRET = "TINYTORCH_HIDDEN_TOKEN"  # organisation secret: read-only token for it
DATA_CACHE = "~/.cache/tinytorch-classroom/data"   # tinytorch.datasets' default cache folder
DATA_SOURCES = ("tinytorch_stub/tinytorch/datasets.py",)   # holds the data sets' checksums
RUNNER_CORES = 2                        # GitHub's standard Linux runner
SETUP_MINUTES = 10                      # checkout, Python, pip install, slack
MILESTONE_MINUTES = 45
CI_MINUTES = 90

CLASSROOM_FILE = Path(".github/workflows/classroom.yml")
CI_FILE = Path(".github/workflows/ci.yml")


@dataclass(frozen=True)
class Step:
    """A shell step of a workflow: `run` is executed exactly as written, with `env` set."""
    name: str
    id: str
    run: str
    env: dict[str, str] = field(default_factory=dict)   # variable -> GitHub expression


ROLE = """\
if [ -d solutions ]; then
  echo "grade=false" >> "$GITHUB_OUTPUT"
  echo "::notice title=Course repository::this repository holds the reference solutions; grading runs in student repositories only"
else
  echo "grade=true" >> "$GITHUB_OUTPUT"
fi
"""

GRADE = f"""\
hidden=""
case "$HIDDEN_FETCH" in
  success)
    if [ -f {HIDDEN_DIR}/plan.json ]; then hidden={HIDDEN_DIR}
    else why="the hidden-tests repository has no plan.json (the instructor writes it with make hidden-bundle)"; fi ;;
  failure) why="fetching the hidden tests failed (check {HIDDEN_REPO_VAR} and {HIDDEN_TOKEN_SECRET})" ;;
  *) why="no hidden tests are configured (organisation variable {HIDDEN_REPO_VAR}, secret {HIDDEN_TOKEN_SECRET})" ;;
esac
if [ -n "$hidden" ]; then
  python -m grading grade . --hidden "$hidden" --out {REPORT_DIR} --label "$GITHUB_REPOSITORY" --step-summary
else
  echo "::warning title=Visible tests only::$why. This grade counts the visible tests only; the official grade is pending."
  python -m grading grade . --visible-only --out {REPORT_DIR} --label "$GITHUB_REPOSITORY" --step-summary
fi
"""

INSTALL = Step("Install", "install", "make install PY=python\n")

# The grading job, in order (the fetch of the hidden tests sits between install and grade).
STEPS = {
    "role": Step("Course repository or student repository?", "role", ROLE),
    "install": INSTALL,
    "grade": Step("Grade", "grade", GRADE, {"HIDDEN_FETCH": "${{ steps.hidden.outcome }}"}),
    "points": Step("Points for GitHub Classroom", "points", f"python -m grading classroom {REPORT_DIR}\n"),
}

# A milestone job; {id} is the milestone's id.
MILESTONE_STEPS = {
    "install": INSTALL,
    "run": Step("Run milestone {id}", "milestone", "python -m grading milestone {id} --out reports/milestone-{id}\n",
                {"TINYTORCH_MILESTONE_GATED": "1"}),
    "summary": Step("Milestone report", "summary", """\
if [ -f reports/milestone-{id}/report.md ]; then
  cat reports/milestone-{id}/report.md >> "$GITHUB_STEP_SUMMARY"
else
  echo "Milestone {id} wrote no report: see its log." >> "$GITHUB_STEP_SUMMARY"
fi
"""),
}


def milestone_step(key: str, milestone_id: str) -> Step:
    step = MILESTONE_STEPS[key]
    return Step(step.name.format(id=milestone_id), step.id, step.run.format(id=milestone_id), dict(step.env))


def grading_minutes(course: Course) -> int:
    """Every module at its wall-clock limit, RUNNER_CORES at a time, plus set-up."""
    seconds = float(course.grading.get("module_timeout", 180)) * len(course.modules) / RUNNER_CORES
    return math.ceil(seconds / 60) + SETUP_MINUTES


# --- the workflows as data ------------------------------------------------------------------

STUDENT_REPO = "steps.role.outputs.grade == 'true'"


def _run(step: Step, condition: str | None = None) -> dict:
    out: dict = {"name": step.name, "id": step.id}
    if condition:
        out["if"] = condition
    if step.env:
        out["env"] = step.env
    out["run"] = step.run
    return out


def _setup_steps(condition: str | None = None) -> list[dict]:
    when = {"if": condition} if condition else {}
    return [
        {"name": "Set up Python", **when, "uses": SETUP_PYTHON,
         "with": {"python-version": PYTHON_VERSION, "cache": "pip", "cache-dependency-path": "pyproject.toml"}},
        _run(INSTALL, condition),
    ]


def _checkout() -> dict:
    return {"name": "Check out", "uses": CHECKOUT, "with": {"persist-credentials": False}}


def classroom_workflow(course: Course) -> dict:
    grading_steps = [
        _checkout(),
        _run(STEPS["role"]),
        *_setup_steps(STUDENT_REPO),
        {"name": "Fetch the hidden tests", "id": "hidden",
         "if": f"{STUDENT_REPO} && vars.{HIDDEN_REPO_VAR} != '' && env.HIDDEN_TOKEN_SET == 'true'",
         "continue-on-error": True, "uses": CHECKOUT,
         "with": {"repository": f"${{{{ vars.{HIDDEN_REPO_VAR} }}}}",
                  "token": f"${{{{ secrets.{HIDDEN_TOKEN_SECRET} }}}}",
                  "path": HIDDEN_DIR, "persist-credentials": False}},
        _run(STEPS["grade"], STUDENT_REPO),
        _run(STEPS["points"], STUDENT_REPO),
        {"name": "Upload the report", "if": f"${{{{ !cancelled() && {STUDENT_REPO} }}}}", "uses": UPLOAD_ARTIFACT,
         "with": {"name": "grade-report", "path": REPORT_DIR}},
    ]
    jobs: dict = {GRADING_JOB: {
        "if": "${{ github.actor != 'github-classroom[bot]' && !github.event.repository.is_template }}",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": grading_minutes(course),
        # Only whether the secret is set: its value stays out of every step but the fetch.
        "env": {"HIDDEN_TOKEN_SET": f"${{{{ secrets.{HIDDEN_TOKEN_SECRET} != '' }}}}"},
        "outputs": {f"milestone{ms.id}": f"${{{{ steps.points.outputs.milestone{ms.id} }}}}"
                    for ms in course.milestones},
        "steps": grading_steps,
    }}
    for ms in course.milestones:
        out = f"reports/milestone-{ms.id}"
        jobs[f"milestone-{ms.id}"] = {
            "name": f"Milestone {ms.id}: {ms.title}",
            "needs": GRADING_JOB,
            "if": f"needs.{GRADING_JOB}.outputs.milestone{ms.id} == 'true'",
            "runs-on": "ubuntu-latest",
            "timeout-minutes": MILESTONE_MINUTES,
            "steps": [
                _checkout(),
                *_setup_steps(),
                {"name": "Data set cache", "uses": CACHE,
                 "with": {"path": DATA_CACHE,
                          "key": f"tinytorch-data-${{{{ hashFiles({', '.join(repr(p) for p in DATA_SOURCES)}) }}}}"}},
                _run(milestone_step("run", ms.id)),
                _run(milestone_step("summary", ms.id), "${{ !cancelled() }}"),
                {"name": "Upload plots and metrics", "if": "${{ !cancelled() }}", "uses": UPLOAD_ARTIFACT,
                 "with": {"name": f"milestone-{ms.id}", "path": out}},
            ],
        }
    return {"name": WORKFLOW_NAME, "on": ["push", "workflow_dispatch"],
            "permissions": {"contents": "read"}, "jobs": jobs}


def ci_workflow() -> dict:
    return {
        "name": "Course CI", "on": ["push", "pull_request", "workflow_dispatch"],
        "permissions": {"contents": "read"},
        "jobs": {"check": {
            "runs-on": "ubuntu-latest", "timeout-minutes": CI_MINUTES,
            "steps": [
                _checkout(),
                {"name": "Set up Python", "uses": SETUP_PYTHON,
                 "with": {"python-version": PYTHON_VERSION, "cache": "pip", "cache-dependency-path": "pyproject.toml"}},
                {"name": "The course's own test suite", "run": "bash .ci/run\n"},
            ],
        }},
    }


# --- text -----------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z0-9_$./~(][^\n]*$")
_RESERVED = re.compile(r"^(true|false|yes|no|on|off|null|~|[-+]?[0-9][0-9_.eE+-]*)$", re.IGNORECASE)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and not _RESERVED.match(text) and ": " not in text and " #" not in text \
            and not text.endswith((":", " ")):
        return text
    return json.dumps(text)          # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value, indent: int = 0) -> list[str]:
    """Block-style YAML for dicts, lists and scalars; multi-line strings become `|` blocks."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                lines.append(f"{pad}{key}:")
                lines += to_yaml(item, indent + 1)
            elif isinstance(item, str) and "\n" in item:
                lines.append(f"{pad}{key}: |" + ("" if item.endswith("\n") else "-"))
                lines += [f"{pad}  {line}" if line else "" for line in item.rstrip("\n").split("\n")]
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                first, *rest = to_yaml(item, indent + 1)
                lines.append(f"{pad}- {first.lstrip()}")
                lines += rest
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return lines


def _header(lines: list[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def classroom_text(course: Course) -> str:
    runners = ",".join(f"module{m.id}" for m in course.modules)
    header = [
        "GENERATED from course.toml by `python -m grading workflow` (make workflow): edit",
        "grading/workflow.py instead; a test fails when this file is out of date.",
        "",
        "Runs in student repositories (GitHub Classroom): grades each push with the visible and",
        f"the hidden tests (fetched from the private repository named by the organisation variable",
        f"{HIDDEN_REPO_VAR}, with the organisation secret {HIDDEN_TOKEN_SECRET}; without them it",
        "grades the visible tests and says so), reports the points to GitHub Classroom, then runs",
        "each milestone whose modules have passed. In the course repository and in the template",
        "repository it grades nothing; the Classroom bot's first commit is skipped.",
        "",
        "Points reach GitHub Classroom as the two notice annotations that",
        "classroom-resources/autograding-grading-reporter@v1 prints; `python -m grading classroom`",
        "prints them (that reporter declares the retired node20 runtime). To use the reporter",
        "instead, replace the step `Points for GitHub Classroom` with:",
        f"  - run: cat {REPORT_DIR}/classroom.env >> \"$GITHUB_ENV\"",
        "  - uses: classroom-resources/autograding-grading-reporter@v1",
        "    with:",
        f"      runners: {runners}",
    ]
    return _header(header) + "\n".join(to_yaml(classroom_workflow(course))) + "\n"


def ci_text() -> str:
    header = [
        "GENERATED by `python -m grading workflow` (make workflow): edit grading/workflow.py instead.",
        "",
        "CI of the course repository: the course's own test suite. Not part of the student template.",
    ]
    return _header(header) + "\n".join(to_yaml(ci_workflow())) + "\n"


def workflow_files(course: Course) -> dict[Path, str]:
    """classroom.yml, and ci.yml in the course repository only (a student repository has no solutions/)."""
    files = {CLASSROOM_FILE: classroom_text(course)}
    if (course.root / "solutions").is_dir():
        files[CI_FILE] = ci_text()
    return files


def write_workflows(course: Course, root: Path | None = None) -> list[Path]:
    """Write the workflows under `root` (default: this course); return the paths changed."""
    root = Path(root or course.root)
    changed = []
    for relative, text in workflow_files(course).items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def check_workflows(course: Course, root: Path | None = None) -> list[str]:
    """Workflow files under `root` that differ from what `write_workflows` would write."""
    root = Path(root or course.root)
    return [str(relative) for relative, text in workflow_files(course).items()
            if not (root / relative).is_file() or (root / relative).read_text(encoding="utf-8") != text]
