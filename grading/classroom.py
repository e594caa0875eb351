"""Points for GitHub Classroom: the per-module table and the two notice annotations.

    python -m grading classroom REPORT_DIR

GitHub Classroom reads a push's points from two notice annotations of its workflow run: the
lines that classroom-resources/autograding-grading-reporter@v1 prints (its
src/notify-classroom.js calls `core.notice(text, {title})` twice):

    ::notice title=Autograding complete::Points 160/300
    ::notice title=Autograding report::{"totalPoints":160,"maxPoints":300}

This command prints them from the reporter's own inputs, `classroom.env` in REPORT_DIR (one
base64 JSON per module, `MODULE01_RESULTS=...`, written by report.py), summed as the reporter
sums them: the scores of every test, and the `max_score` of every runner whose `max_score` is
not zero; no annotation at all when the maximum is zero. Numbers print as JavaScript prints
them (`160`, `12.5`). So the workflow needs no Node action (the reporter declares the node20
runtime that GitHub retires), and an instructor can still switch to the reporter: it reads the
same classroom.env (see the header of .github/workflows/classroom.yml).

With $GITHUB_OUTPUT set, it also writes one output per milestone (`milestone1=true|false`),
which the workflow's milestone jobs test, and `points` / `max-points`.

The command fails (exit 2) only when the report is missing or unreadable: a grading that did
not happen must not look like zero points. Failing tests do not fail it; the points are the grade.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from grading.report import from_json, milestone_state, notes_above, points_table

ENV_FILE = "classroom.env"
REPORT_FILE = "report.json"


class ClassroomError(ValueError):
    """The grading's reports are missing or unreadable."""


def read_env(report_dir: Path) -> dict[str, str]:
    path = report_dir / ENV_FILE
    if not path.is_file():
        raise ClassroomError(f"{path} is missing: did `python -m grading grade ... --out {report_dir}` run?")
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def runner_results(env: dict[str, str]) -> list[tuple[str, dict]]:
    """(runner id, decoded result) for each runner in CLASSROOM_RUNNERS, as the reporter decodes them."""
    results = []
    for runner in filter(None, env.get("CLASSROOM_RUNNERS", "").split(",")):
        key = f"{runner.strip().upper()}_RESULTS"
        if key not in env:
            raise ClassroomError(f"{ENV_FILE} names runner {runner} but has no {key}")
        try:
            results.append((runner, json.loads(base64.b64decode(env[key], validate=True))))
        except ValueError as exc:
            raise ClassroomError(f"{key} in {ENV_FILE} is not base64 JSON: {exc}") from None
    return results


def totals(results: list[tuple[str, dict]]) -> tuple[float, float]:
    """(totalPoints, maxPoints) summed exactly as autograding-grading-reporter sums them."""
    total = maximum = 0
    for _, result in results:
        if not result.get("max_score"):
            continue
        maximum += result["max_score"]
        total += sum(test.get("score", 0) for test in result.get("tests", []))
    return total, maximum


def js_number(x: float) -> str:
    """A number as JavaScript's String(x) writes it, for the values a grading produces."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _escape_data(text: str) -> str:
    """What @actions/core does to a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotations(total: float, maximum: float) -> list[str]:
    """The reporter's two notice lines (none when nothing can be scored)."""
    if not maximum:
        return []
    summary = f'{{"totalPoints":{js_number(total)},"maxPoints":{js_number(maximum)}}}'
    return [
        f"::notice title=Autograding complete::{_escape_data(f'Points {js_number(total)}/{js_number(maximum)}')}",
        f"::notice title=Autograding report::{_escape_data(summary)}",
    ]


def milestone_outputs(report: dict) -> dict[str, str]:
    return {f"milestone{ms['id']}": "true" if ms["unlocked"] else "false" for ms in report.get("milestones", [])}


def publish(report_dir: Path, github_output: str | None = None) -> list[str]:
    """Print the points table and the annotations; write the job outputs. Returns the printed lines."""
    results = runner_results(read_env(report_dir))
    path = report_dir / REPORT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClassroomError(f"{path} is missing or unreadable: {exc}") from None
    report = from_json(data)
    total, maximum = totals(results)
    lines = notes_above(report) + [points_table(report), ""]
    lines += [f"milestone {ms.id} {ms.slug}: {milestone_state(ms)}" for ms in report.milestones]
    lines += annotations(total, maximum)
    print("\n".join(lines), flush=True)
    if github_output:
        outputs = {**milestone_outputs(data), "points": js_number(total), "max-points": js_number(maximum)}
        with open(github_output, "a", encoding="utf-8") as fh:
            fh.write("".join(f"{key}={value}\n" for key, value in outputs.items()))
    return lines


def cmd_classroom(args) -> int:
    try:
        publish(Path(args.report_dir), os.environ.get("GITHUB_OUTPUT"))
    except ClassroomError as exc:
        print(f"::error title=No grade::{_escape_data(str(exc))}", flush=True)   # stdout: where the runner reads commands
        return 2
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("classroom", help="print the points table and GitHub Classroom's two notice annotations")
    p.add_argument("report_dir", help="the --out folder of a grading (holds classroom.env and report.json)")
    p.set_defaults(func=cmd_classroom)
