"""The class regrade workflow of the instructor's repository (.github/workflows/regrade.yml), as data.

    python -m grading workflow     writes it with the other workflows (only in the course repository)

On demand (Actions > Class regrade > Run workflow: task gradebook, AT head or deadlines) and
every week, it regrades the whole class as a matrix of REGRADE_SHARDS shards: each shard takes
its part of the roster (`python -m grading shard`), clones those repositories with a read-only
token (`python -m grading clone`), grades them (`python -m grading gradebook`) and uploads its
gradebook; a final job joins the parts (`python -m grading merge-gradebooks`), writes the
analytics and shows summary.md as the run's summary. At each deadline of course.toml (a
schedule generated from them) and on demand (task snapshot), a job records each student's HEAD
on GitHub (`python -m grading snapshot --remote`) and commits snapshots/<deadline>.json here.

It needs, in this repository's settings: the variable TINYTORCH_ROSTER (the roster CSV's path in
this repository, with a column student_repository_url) and the secret TINYTORCH_CLASS_TOKEN (a
token that can read the students' repositories). Without the variable every job is skipped.
Every command it runs is a `python -m grading` command, `make install`, or git for the snapshot
commit; the course's own tests run the shard, clone, gradebook and merge steps on a local class.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

from grading.deadlines import due_dates
from grading.workflow import (CHECKOUT, UPLOAD_ARTIFACT, Step, _checkout, _header, _run, _setup_python, to_yaml)
from tinytorch.manifest import Course

DOWNLOAD_ARTIFACT = "actions/download-artifact@v8"
REGRADE_FILE = Path(".github/workflows/regrade.yml")
REGRADE_SHARDS = 4                  # shards graded at once: each is one 2-core runner
WEEKLY_CRON = "0 5 * * 1"           # the scheduled regrade: Mondays 05:00 UTC
ROSTER_VAR = "TINYTORCH_ROSTER"     # repository variable: path of the roster CSV in this repository
CLASS_TOKEN_SECRET = "TINYTORCH_CLASS_TOKEN"   # repository secret: reads the students' repositories
SHARD_MINUTES = 120
GRADEBOOK_DIR = "reports/gradebook"
SNAPSHOT_DIR = "snapshots"

CONFIGURED = f"vars.{ROSTER_VAR} != ''"
DISPATCHED = "github.event_name == 'workflow_dispatch'"
GRADE_WHEN = f"{CONFIGURED} && ({DISPATCHED} && inputs.task == 'gradebook' || github.event.schedule == '{WEEKLY_CRON}')"
SNAPSHOT_WHEN = (f"{CONFIGURED} && ({DISPATCHED} && inputs.task == 'snapshot' || github.event_name == 'schedule' && "
                 f"github.event.schedule != '{WEEKLY_CRON}')")

TOKEN_ENV = {"TINYTORCH_CLONE_TOKEN": f"${{{{ secrets.{CLASS_TOKEN_SECRET} }}}}"}

REGRADE_STEPS = {
    "install": Step("Install", "install", "make install PY=python\n"),
    "clone": Step("Clone this shard's students", "clone", f"""\
python -m grading shard "$ROSTER" --shards {REGRADE_SHARDS} --index "$SHARD" --out shard.csv
python -m grading clone shard.csv --into submissions
""", {**TOKEN_ENV, "SHARD": "${{ matrix.shard }}"}),
    "grade": Step("Grade", "grade", f"""\
python -m grading gradebook submissions --roster shard.csv --at "$AT" --out {GRADEBOOK_DIR}
""", {"AT": "${{ inputs.at || 'head' }}"}),
    "merge": Step("Merge the shards", "merge", f"""\
python -m grading merge-gradebooks shards/* --roster "$ROSTER" --out {GRADEBOOK_DIR}
cat {GRADEBOOK_DIR}/summary.md >> "$GITHUB_STEP_SUMMARY"
"""),
    "snapshot": Step("Record each student's HEAD", "snapshot", f"""\
python -m grading snapshot --remote --roster "$ROSTER" --out {SNAPSHOT_DIR}
""", dict(TOKEN_ENV)),
    "commit": Step("Commit the snapshot", "commit", f"""\
git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
git add {SNAPSHOT_DIR}
git commit -m "Snapshot of the class at the deadline"
git push
"""),
}


def deadline_crons(course: Course) -> list[str]:
    """A cron line (UTC) one minute after each distinct deadline of course.toml."""
    crons = []
    for due in sorted(set(due_dates(course).values())):
        at = (due + timedelta(minutes=1)).astimezone(timezone.utc)
        line = f"{at.minute} {at.hour} {at.day} {at.month} *"
        if line not in crons:
            crons.append(line)
    return crons


def _setup() -> list[dict]:
    return [_setup_python(), _run(REGRADE_STEPS["install"])]


def _grade_job() -> dict:
    return {
        "name": "Grade shard ${{ matrix.shard }}", "if": GRADE_WHEN, "runs-on": "ubuntu-latest",
        "timeout-minutes": SHARD_MINUTES,
        "strategy": {"fail-fast": False, "matrix": {"shard": list(range(REGRADE_SHARDS))}},
        "steps": [_checkout(), *_setup(), _run(REGRADE_STEPS["clone"]), _run(REGRADE_STEPS["grade"]),
                  {"name": "Upload this shard's gradebook", "if": "${{ !cancelled() }}", "uses": UPLOAD_ARTIFACT,
                   "with": {"name": "gradebook-shard-${{ matrix.shard }}", "path": GRADEBOOK_DIR}}],
    }


def _merge_job() -> dict:
    return {
        "name": "One gradebook", "needs": "grade", "if": "${{ !cancelled() && needs.grade.result != 'skipped' }}",
        "runs-on": "ubuntu-latest", "timeout-minutes": 30,
        "steps": [_checkout(), *_setup(),
                  {"name": "Download the shards", "uses": DOWNLOAD_ARTIFACT,
                   "with": {"pattern": "gradebook-shard-*", "path": "shards"}},
                  _run(REGRADE_STEPS["merge"]),
                  {"name": "Upload the gradebook", "uses": UPLOAD_ARTIFACT,
                   "with": {"name": "gradebook", "path": GRADEBOOK_DIR}}],
    }


def _snapshot_job() -> dict:
    return {
        "name": "Snapshot at the deadline", "if": SNAPSHOT_WHEN, "runs-on": "ubuntu-latest", "timeout-minutes": 30,
        "permissions": {"contents": "write"},
        "steps": [{"name": "Check out", "uses": CHECKOUT}, *_setup(), _run(REGRADE_STEPS["snapshot"]),
                  _run(REGRADE_STEPS["commit"])],
    }


def regrade_workflow(course: Course) -> dict:
    inputs = {
        "task": {"description": "gradebook: regrade the class; snapshot: record each student's HEAD for the "
                                "deadline just passed", "type": "choice", "options": ["gradebook", "snapshot"],
                 "default": "gradebook"},
        "at": {"description": "head: the latest work; deadlines: each module at its deadline, late policy applied",
               "type": "choice", "options": ["head", "deadlines"], "default": "head"},
    }
    return {
        "name": "Class regrade",
        "on": {"workflow_dispatch": {"inputs": inputs},
               "schedule": [{"cron": cron} for cron in [WEEKLY_CRON, *deadline_crons(course)]]},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "class-regrade", "cancel-in-progress": False},
        "env": {"ROSTER": f"${{{{ vars.{ROSTER_VAR} }}}}"},
        "jobs": {"grade": _grade_job(), "merge": _merge_job(), "snapshot": _snapshot_job()},
    }


def regrade_text(course: Course) -> str:
    header = [
        "GENERATED from course.toml by `python -m grading workflow` (make workflow): edit",
        "grading/regrade.py instead; a test fails when this file is out of date.",
        "",
        "The class regrade of the instructor's repository (README, \"Regrading the class on GitHub\"):",
        f"on demand or weekly, {REGRADE_SHARDS} shards each clone and grade their part of the roster",
        f"(variable {ROSTER_VAR}, secret {CLASS_TOKEN_SECRET}), then one job merges their gradebooks;",
        "at each deadline of course.toml a job commits snapshots/<deadline>.json, each student's HEAD then.",
    ]
    return _header(header) + to_yaml(regrade_workflow(course))
