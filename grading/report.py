"""Write a grading in every format: report.json, report.md, grades.csv, Classroom results.

Hidden tests appear with their name, outcome and a short category message only (score.describe
decides what a message may say); nothing here reads test sources or tracebacks.
"""

from __future__ import annotations

import base64
import csv
import json
from dataclasses import asdict
from pathlib import Path

from grading.model import PASSED, SCHEMA, ModuleResult, Report

VISIBLE_ONLY_NOTE = "visible tests only; official grade pending"


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)


def to_json(report: Report) -> dict:
    return {
        "schema": SCHEMA,
        "submission": report.submission,
        "commit": report.commit,
        "tests": report.tests,
        "note": report.note,
        "generated_at": report.generated_at,
        "duration_s": round(report.duration, 2),
        "total": {"score": report.score, "max": report.max},
        "files": report.files,
        "modules": [
            {"id": m.id, "slug": m.slug, "title": m.title, "score": m.score, "max": m.max, "status": m.status,
             "message": m.message, "blocked_by": m.blocked_by, "duration_s": m.duration,
             "tests": [asdict(t) for t in m.tests]}
            for m in report.modules
        ],
        "milestones": [asdict(ms) for ms in report.milestones],
    }


def runner_id(module: ModuleResult) -> str:
    """The Classroom reporter's runner id: letters and digits only."""
    return f"module{module.id}"


def classroom_result(module: ModuleResult) -> dict:
    """One runner's result, in the format autograding-grading-reporter@v1 reads from <RUNNER>_RESULTS."""
    status = "pass" if module.status == PASSED else ("error" if module.status in ("error", "timeout", "policy") else "fail")
    return {
        "version": 1,
        "status": status,
        "max_score": _num(module.max),
        "tests": [
            {"name": f"{module.id} {t.name}" + (" (hidden)" if t.visibility == "hidden" else ""),
             "status": "pass" if t.outcome == "passed" else ("error" if t.outcome in ("not_run", "timeout") else "fail"),
             "score": _num(t.score), "message": t.message, "test_code": "", "filename": "", "line_no": 0,
             "execution_time": ""}
            for t in module.tests
        ],
    }


def classroom_env(report: Report) -> dict[str, str]:
    """`MODULE01_RESULTS=<base64 JSON>` for each module, plus the runner list."""
    env = {}
    for module in report.modules:
        payload = json.dumps(classroom_result(module), separators=(",", ":")).encode()
        env[f"{runner_id(module).upper()}_RESULTS"] = base64.b64encode(payload).decode()
    env["CLASSROOM_RUNNERS"] = ",".join(runner_id(m) for m in report.modules)
    return env


def _status_cell(module: ModuleResult) -> str:
    if module.blocked_by:
        return f"{module.status} (by {', '.join(module.blocked_by)})"
    return module.status


def markdown_table(report: Report) -> str:
    rows = ["| Module | Points | Status |", "|---|---:|---|"]
    for m in report.modules:
        rows.append(f"| {m.id} {m.slug} | {_num(m.score)}/{_num(m.max)} | {_status_cell(m)} |")
    rows.append(f"| **total** | **{_num(report.score)}/{_num(report.max)}** | |")
    return "\n".join(rows)


def to_markdown(report: Report) -> str:
    lines = []
    if report.tests == "visible":
        lines += [f"**{VISIBLE_ONLY_NOTE}**", ""]
    lines += [f"# TinyTorch grade: {_num(report.score)}/{_num(report.max)}", ""]
    if report.note:
        lines += [report.note, ""]
    lines += [markdown_table(report), ""]
    notes = [m for m in report.modules if m.message]
    if notes:
        lines += ["## Notes", ""] + [f"- **{m.id} {m.slug}** ({m.status}): {m.message}" for m in notes] + [""]
    failing = [(m, t) for m in report.modules if m.status not in ("not_started", "policy")
               for t in m.tests if t.outcome != "passed"]
    if failing:
        lines += ["## Failing tests", ""]
        for m, t in failing:
            lines.append(f"- {m.id} `{t.name}` ({t.visibility}, {_num(t.max)} pts): {t.outcome}"
                         + (f": {t.message}" if t.message else ""))
        lines.append("")
    if report.milestones:
        lines += ["## Milestones", "", "| Milestone | Requires | State |", "|---|---|---|"]
        for ms in report.milestones:
            state = "unlocked" if ms.unlocked else "locked: needs " + ", ".join(ms.missing)
            lines.append(f"| {ms.id} {ms.slug} | {', '.join(ms.requires)} | {state} |")
        lines.append("")
    lines.append(f"Submission `{report.submission}`" + (f" at `{report.commit}`" if report.commit else "")
                 + f"; graded {report.generated_at}; tests: {report.tests}.")
    return "\n".join(lines) + "\n"


def write_reports(report: Report, out: Path) -> dict[str, Path]:
    """Write every format into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "report.json", "markdown": out / "report.md",
        "csv": out / "grades.csv", "classroom": out / "classroom.env",
    }
    paths["json"].write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(to_markdown(report), encoding="utf-8")
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["module", "slug", "status", "test", "visibility", "outcome", "score", "max"])
        for m in report.modules:
            for t in m.tests:
                writer.writerow([m.id, m.slug, m.status, t.name, t.visibility, t.outcome, _num(t.score), _num(t.max)])
    paths["classroom"].write_text("".join(f"{k}={v}\n" for k, v in classroom_env(report).items()), encoding="utf-8")
    return paths
