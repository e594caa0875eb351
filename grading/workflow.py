"""Write the GitHub workflows from course.toml: built as data, serialized with PyYAML.

    python -m grading workflow           write .github/workflows/classroom.yml, ci.yml and regrade.yml
    python -m grading workflow --check   exit 1 when a committed file differs from what it writes

classroom.yml runs in student repositories. Its grading job fetches the instructor's private
repository (the grader, every test and the plan; bundle.py writes it) at a pinned ref into
`.grader/` and grades the student's files with that grader: an edited `grading/` in a student's
repository changes nothing. When the fetch is not configured or fails, it grades with the
repository's own grader and visible tests and says first that the grade is unofficial. Then one
job per milestone of course.toml runs when the grading job says it is unlocked; a milestone whose
files have not changed since its last successful run restores that result instead of training
again. ci.yml is this course repository's own CI (`bash .ci/run`).

Every shell command the workflows run is in STEPS or MILESTONE_STEPS below. The course's own
tests execute exactly those commands against a built template, and check that each one is a
Makefile target, a grader command or plain shell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from tinytorch.manifest import Course

# Actions: the newest major of each, all on the node24 runtime (actionlint flags node20 ones,
# which GitHub retires). Checked with actionlint's own table of popular actions.
CHECKOUT = "actions/checkout@v7"
SETUP_PYTHON = "actions/setup-python@v7"
UPLOAD_ARTIFACT = "actions/upload-artifact@v7"
DOWNLOAD_ARTIFACT = "actions/download-artifact@v8"
CACHE = "actions/cache@v6"
CACHE_RESTORE = "actions/cache/restore@v6"
CACHE_SAVE = "actions/cache/save@v6"

PYTHON_VERSION = "3.11"                 # the oldest Python the course supports (pyproject.toml)
WORKFLOW_NAME = "Autograding Tests"     # GitHub Classroom looks for this workflow name ...
GRADING_JOB = "run-autograding-tests"   # ... and this job (see README, "Instructors")
REPORT_DIR = "reports/grade"
GRADER_DIR = ".grader"                  # where the instructor's repository is checked out
HIDDEN_REPO_VAR = "TINYTORCH_HIDDEN_REPO"       # organisation variable: owner/name of the private repo
HIDDEN_REF_VAR = "TINYTORCH_HIDDEN_REF"         # organisation variable: the tag or commit to grade with
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

CHOOSE = f"""\
if [ "$HIDDEN_FETCH" = success ] && [ -f {GRADER_DIR}/grading/plan.json ]; then
  echo "dir={GRADER_DIR}" >> "$GITHUB_OUTPUT"
  echo "official=true" >> "$GITHUB_OUTPUT"
else
  case "$HIDDEN_FETCH" in
    success) why="the instructor's repository has no grading/plan.json (write it with make hidden-bundle)" ;;
    failure) why="fetching the instructor's repository failed (check {HIDDEN_REPO_VAR}, {HIDDEN_REF_VAR} and {HIDDEN_TOKEN_SECRET})" ;;
    *) why="no instructor repository is configured (organisation variable {HIDDEN_REPO_VAR}, secret {HIDDEN_TOKEN_SECRET})" ;;
  esac
  echo "::warning title=Unofficial grade::$why. This run grades with the repository's own grader and the visible tests only."
  echo "dir=." >> "$GITHUB_OUTPUT"
  echo "official=false" >> "$GITHUB_OUTPUT"
fi
"""

GRADE = f"""\
cd "$GRADER"
if [ "$OFFICIAL" = true ]; then
  python -m grading grade "$GITHUB_WORKSPACE" --out "$GITHUB_WORKSPACE/{REPORT_DIR}" --label "$GITHUB_REPOSITORY" --step-summary
else
  python -m grading grade "$GITHUB_WORKSPACE" --visible-only --unofficial --out "$GITHUB_WORKSPACE/{REPORT_DIR}" --label "$GITHUB_REPOSITORY" --step-summary
fi
"""

GRADER_ENV = {"GRADER": "${{ steps.grader.outputs.dir }}", "OFFICIAL": "${{ steps.grader.outputs.official }}"}

# The grading job, in order (the fetch of the instructor's repository sits before `grader`).
STEPS = {
    "role": Step("Course repository or student repository?", "role", ROLE),
    "grader": Step("Which grader?", "grader", CHOOSE, {"HIDDEN_FETCH": "${{ steps.hidden.outcome }}"}),
    "install": Step("Install", "install", 'make -C "$GRADER" install PY=python\n', GRADER_ENV),
    "grade": Step("Grade", "grade", GRADE, GRADER_ENV),
    "points": Step("Points for GitHub Classroom", "points",
                   f'cd "$GRADER"\npython -m grading classroom "$GITHUB_WORKSPACE/{REPORT_DIR}"\n', GRADER_ENV),
}

INSTALL = Step("Install", "install", "make install PY=python\n")

# A milestone job; {id} is the milestone's id.
MILESTONE_STEPS = {
    "install": INSTALL,
    "run": Step("Run milestone {id}", "milestone", "python -m grading milestone {id} --out reports/milestone-{id}\n",
                {"TINYTORCH_MILESTONE_GATED": "1"}),
    "summary": Step("Milestone report", "summary", """\
if [ "$RESTORED" = true ]; then
  echo "Milestone {id}: its files have not changed since its last successful run; restored that result." >> "$GITHUB_STEP_SUMMARY"
fi
if [ -f reports/milestone-{id}/report.md ]; then
  cat reports/milestone-{id}/report.md >> "$GITHUB_STEP_SUMMARY"
else
  echo "Milestone {id} wrote no report: see its log." >> "$GITHUB_STEP_SUMMARY"
fi
""", {"RESTORED": "${{ steps.result.outputs.cache-hit }}"}),
}


def milestone_step(key: str, milestone) -> Step:
    step = MILESTONE_STEPS[key]
    run = milestone_command(milestone) if key == "run" else step.run.format(id=milestone.id)
    return Step(step.name.format(id=milestone.id), step.id, run, dict(step.env))


def grading_minutes(course: Course) -> int:
    """Every module at its wall-clock limit, RUNNER_CORES at a time, plus set-up."""
    default = float(course.grading.get("module_timeout", 180))
    seconds = sum(float(m.limits.get("module_timeout", default)) for m in course.modules) / RUNNER_CORES
    return math.ceil(seconds / 60) + SETUP_MINUTES


def milestone_inputs(course: Course, milestone) -> list[str]:
    """The files a milestone's result depends on: the student files it imports, its program, the data
    helper, and those of the milestones whose output it reads (`uses`)."""
    files = [course.module(m).student_file for m in milestone.requires]
    files += [f"milestones/{milestone.folder}/**", "milestones/common.py", *DATA_SOURCES]
    for used in milestone.uses.values():
        files += milestone_inputs(course, course.milestone(used))
    return list(dict.fromkeys(files))


def milestone_command(milestone) -> str:
    """The program's command line in the workflow: the outputs of the milestones it uses, as options."""
    options = "".join(f" --{option} reports/milestone-{used}" for option, used in milestone.uses.items())
    return f"python -m grading milestone {milestone.id} --out reports/milestone-{milestone.id}{options}\n"


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


def _setup_python(condition: str | None = None) -> dict:
    when = {"if": condition} if condition else {}
    return {"name": "Set up Python", **when, "uses": SETUP_PYTHON,
            "with": {"python-version": PYTHON_VERSION, "cache": "pip", "cache-dependency-path": "pyproject.toml"}}


def _checkout() -> dict:
    return {"name": "Check out", "uses": CHECKOUT, "with": {"persist-credentials": False}}


def _grading_job(course: Course) -> dict:
    steps = [
        _checkout(),
        _run(STEPS["role"]),
        _setup_python(STUDENT_REPO),
        {"name": "Fetch the grader and the hidden tests", "id": "hidden",
         "if": f"{STUDENT_REPO} && vars.{HIDDEN_REPO_VAR} != '' && env.HIDDEN_TOKEN_SET == 'true'",
         "continue-on-error": True, "uses": CHECKOUT,
         "with": {"repository": f"${{{{ vars.{HIDDEN_REPO_VAR} }}}}", "ref": f"${{{{ vars.{HIDDEN_REF_VAR} }}}}",
                  "token": f"${{{{ secrets.{HIDDEN_TOKEN_SECRET} }}}}", "path": GRADER_DIR,
                  "persist-credentials": False}},
        *(_run(STEPS[key], STUDENT_REPO) for key in ("grader", "install", "grade", "points")),
        {"name": "Upload the report", "if": f"${{{{ !cancelled() && {STUDENT_REPO} }}}}", "uses": UPLOAD_ARTIFACT,
         "with": {"name": "grade-report", "path": REPORT_DIR}},
    ]
    return {
        "if": "${{ github.actor != 'github-classroom[bot]' && !github.event.repository.is_template }}",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": grading_minutes(course),
        # Only whether the secret is set: its value stays out of every step but the fetch.
        "env": {"HIDDEN_TOKEN_SET": f"${{{{ secrets.{HIDDEN_TOKEN_SECRET} != '' }}}}"},
        "outputs": {f"milestone{ms.id}": f"${{{{ steps.points.outputs.milestone{ms.id} }}}}" for ms in course.milestones},
        "steps": steps,
    }


def _milestone_job(course: Course, ms) -> dict:
    out = f"reports/milestone-{ms.id}"
    fresh = "steps.result.outputs.cache-hit != 'true'"
    key = f"milestone-{ms.id}-${{{{ hashFiles({', '.join(repr(p) for p in milestone_inputs(course, ms))}) }}}}"
    unlocked = f"needs.{GRADING_JOB}.outputs.milestone{ms.id} == 'true'"
    # The outputs of the milestones it uses (milestone 5: the CNN's and the GPT's checkpoints), from
    # their jobs in this run; when one has none (it failed early), the program trains its own and says so.
    earlier = [{"name": f"Milestone {used}'s output", "if": fresh, "continue-on-error": True,
                "uses": DOWNLOAD_ARTIFACT, "with": {"name": f"milestone-{used}", "path": f"reports/milestone-{used}"}}
               for used in ms.uses.values()]
    return {
        "name": f"Milestone {ms.id}: {ms.title}",
        "needs": [GRADING_JOB, *(f"milestone-{used}" for used in ms.uses.values())] if ms.uses else GRADING_JOB,
        # a used milestone that failed or was skipped must not skip this one
        "if": f"${{{{ !cancelled() && {unlocked} }}}}" if ms.uses else unlocked,
        "runs-on": "ubuntu-latest",
        "timeout-minutes": MILESTONE_MINUTES,
        "steps": [
            _checkout(),
            {"name": "An earlier result for the same files", "id": "result", "uses": CACHE_RESTORE,
             "with": {"path": out, "key": key}},
            _setup_python(fresh),
            _run(INSTALL, fresh),
            {"name": "Data set cache", "if": fresh, "uses": CACHE,
             "with": {"path": DATA_CACHE,
                      "key": f"tinytorch-data-${{{{ hashFiles({', '.join(repr(p) for p in DATA_SOURCES)}) }}}}"}},
            *earlier,
            _run(milestone_step("run", ms), fresh),
            {"name": "Keep this result for the same files", "if": fresh, "uses": CACHE_SAVE,
             "with": {"path": out, "key": key}},
            _run(milestone_step("summary", ms), "${{ !cancelled() }}"),
            {"name": "Upload plots and metrics", "if": "${{ !cancelled() }}", "uses": UPLOAD_ARTIFACT,
             "with": {"name": f"milestone-{ms.id}", "path": out}},
        ],
    }


def classroom_workflow(course: Course) -> dict:
    jobs = {GRADING_JOB: _grading_job(course)}
    jobs.update({f"milestone-{ms.id}": _milestone_job(course, ms) for ms in course.milestones})
    return {
        "name": WORKFLOW_NAME,
        # repository_dispatch: GitHub Classroom and other tools send it to grade again (a push made
        # with a workflow token starts no run). Classroom's own workflow grants actions: read.
        "on": ["push", "workflow_dispatch", "repository_dispatch"],
        "permissions": {"actions": "read", "contents": "read"},
        # A new push cancels the run still going on the same branch: only the newest push counts.
        "concurrency": {"group": "${{ github.workflow }}-${{ github.ref }}", "cancel-in-progress": True},
        "jobs": jobs,
    }


def ci_workflow() -> dict:
    return {
        "name": "Course CI", "on": ["push", "pull_request", "workflow_dispatch"],
        "permissions": {"contents": "read"},
        "jobs": {"check": {
            "runs-on": "ubuntu-latest", "timeout-minutes": CI_MINUTES,
            "steps": [_checkout(), _setup_python(), {"name": "The course's own test suite", "run": "bash .ci/run\n"}],
        }},
    }


# --- text -----------------------------------------------------------------------------------


def to_yaml(data: dict) -> str:
    """Block-style YAML: keys in order, multi-line strings as `|` blocks, lists indented."""
    import yaml            # the `tools` extra: only instructors generate workflows

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False)

        def ignore_aliases(self, data):
            return True

    def text(dumper, value: str):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, width=10_000, default_flow_style=False, allow_unicode=True)


def _header(lines: list[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def classroom_text(course: Course) -> str:
    runners = ",".join(f"module{m.id}" for m in course.modules)
    header = [
        "GENERATED from course.toml by `python -m grading workflow` (make workflow): edit",
        "grading/workflow.py instead; a test fails when this file is out of date.",
        "",
        "Runs in student repositories (GitHub Classroom): grades each push with the instructor's",
        f"grader and tests, fetched from the private repository named by the organisation variable",
        f"{HIDDEN_REPO_VAR} at the ref {HIDDEN_REF_VAR} with the secret {HIDDEN_TOKEN_SECRET}",
        "(without them it grades with this repository's own grader and says the grade is",
        "unofficial), reports the points to GitHub Classroom, then runs each milestone whose",
        "modules have passed. In the course repository and in the template repository it grades",
        "nothing; the Classroom bot's first commit is skipped.",
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
    return _header(header) + to_yaml(classroom_workflow(course))


def ci_text() -> str:
    header = [
        "GENERATED by `python -m grading workflow` (make workflow): edit grading/workflow.py instead.",
        "",
        "CI of the course repository: the course's own test suite. Not part of the student template.",
    ]
    return _header(header) + to_yaml(ci_workflow())


def workflow_files(course: Course) -> dict[Path, str]:
    """classroom.yml; ci.yml and regrade.yml in the course repository only (a student repository has no
    solutions/). regrade.py builds on this module, hence the import here."""
    from grading.regrade import REGRADE_FILE, regrade_text
    files = {CLASSROOM_FILE: classroom_text(course)}
    if (course.root / "solutions").is_dir():
        files[CI_FILE] = ci_text()
        files[REGRADE_FILE] = regrade_text(course)
    return files
