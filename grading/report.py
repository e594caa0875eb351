"""Every text a grading produces, rendered in one place: report.json, report.md, grades.csv, the
Classroom results, the terminal summary, the progress lines and (staff only) staff.md.

Hidden tests appear with their name, outcome and a short category message only (score.describe
decides what a message may say); what staff see besides (`TestResult.staff`, the integrity
section) is written only by `write_reports(..., staff=True)`, never into student-facing files.
"""

from __future__ import annotations

import base64
import csv
import json
from dataclasses import asdict
from pathlib import Path

from grading.model import (SCHEMA, Integrity, Isolated, MilestoneResult, ModuleResult, Outcome, Provenance, Report,
                           Status, TestResult)

VISIBLE_ONLY_NOTE = "visible tests only; official grade pending"
UNOFFICIAL_NOTE = "unofficial: graded with the repository's own grader"
FAILING_SHOWN = 8           # failing tests listed per module on the terminal


def num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)


# --------------------------------------------------------------------------- JSON


def _test_json(t: TestResult, staff: bool) -> dict:
    data = {"name": t.name, "visibility": t.visibility, "outcome": str(t.outcome), "score": t.score, "max": t.max,
            "message": t.message}
    if staff and t.staff:
        data["staff"] = t.staff
    return data


def to_json(report: Report, staff: bool = False) -> dict:
    data = {
        "schema": SCHEMA, "submission": report.submission, "commit": report.commit,
        "working_tree": report.integrity.working_tree, "tests": report.tests, "note": report.note,
        "generated_at": report.generated_at, "duration_s": round(report.duration, 2),
        "score_policy": report.score_policy, "total": {"score": report.score, "max": report.max},
        "files": report.files, "provenance": asdict(report.provenance),
        "modules": [
            {"id": m.id, "slug": m.slug, "title": m.title, "score": m.score, "max": m.max, "status": str(m.status),
             "message": m.message, "hint": m.hint, "blocked_by": list(m.blocked_by), "duration_s": m.duration,
             "isolated": asdict(m.isolated) if m.isolated else None,
             "tests": [_test_json(t, staff) for t in m.tests]}
            for m in report.modules
        ],
        "milestones": [{**asdict(ms), "requires": list(ms.requires), "missing": list(ms.missing)}
                       for ms in report.milestones],
    }
    if staff:
        data["integrity"] = asdict(report.integrity)
    return data


def from_json(data: dict) -> Report:
    """A Report back from report.json (what `python -m grading classroom` renders)."""
    modules = tuple(ModuleResult(
        id=m["id"], slug=m["slug"], title=m.get("title", m["slug"]), score=m["score"], max=m["max"],
        status=Status(m["status"]), message=m.get("message", ""), hint=m.get("hint", ""),
        blocked_by=tuple(m.get("blocked_by", [])), duration=m.get("duration_s", 0.0),
        isolated=Isolated(**m["isolated"]) if m.get("isolated") else None,
        tests=tuple(TestResult(t["name"], t["visibility"], Outcome(t["outcome"]), t["score"], t["max"],
                               t.get("message", "")) for t in m.get("tests", [])))
        for m in data.get("modules", []))
    milestones = tuple(MilestoneResult(ms["id"], ms["slug"], ms.get("title", ms["slug"]), tuple(ms["requires"]),
                                       ms["unlocked"], tuple(ms.get("missing", []))) for ms in data.get("milestones", []))
    return Report(submission=data.get("submission", ""), commit=data.get("commit"), tests=data.get("tests", "all"),
                  modules=modules, milestones=milestones, generated_at=data.get("generated_at", ""),
                  duration=data.get("duration_s", 0.0), note=data.get("note", ""),
                  integrity=Integrity(working_tree=data.get("working_tree", "no-git")),
                  provenance=Provenance(**data.get("provenance", {})),
                  score_policy=data.get("score_policy", "integrated"))


# --------------------------------------------------------------------------- shared pieces


def notes_above(report: Report) -> list[str]:
    """The lines that must come first: what kind of grade this is."""
    lines = []
    if report.note:
        lines.append(report.note)
    if report.tests == "visible":
        lines.append(VISIBLE_ONLY_NOTE)
    return lines


def headline(report: Report) -> str:
    return f"TinyTorch grade: {num(report.score)}/{num(report.max)}"


def status_cell(module: ModuleResult) -> str:
    return f"{module.status} (by {', '.join(module.blocked_by)})" if module.blocked_by else str(module.status)


def points_table(report: Report) -> str:
    isolated = any(m.isolated for m in report.modules)
    head = "| Module | Points | Status |" + (" Isolated |" if isolated else "")
    rows = [head, "|---|---:|---|" + ("---:|" if isolated else "")]
    for m in report.modules:
        iso = (f" {num(m.isolated.score)}/{num(m.isolated.max)} |" if m.isolated else " |") if isolated else ""
        rows.append(f"| {m.id} {m.slug} | {num(m.score)}/{num(m.max)} | {status_cell(m)} |{iso}")
    rows.append(f"| **total** | **{num(report.score)}/{num(report.max)}** | |" + (" |" if isolated else ""))
    return "\n".join(rows)


def milestone_state(ms: MilestoneResult) -> str:
    return "unlocked" if ms.unlocked else "locked (needs " + ", ".join(ms.missing) + ")"


def module_note(m: ModuleResult) -> str:
    return "; ".join(filter(None, [m.message, m.hint]))


def failing_tests(m: ModuleResult) -> list[TestResult]:
    """The tests worth listing: none for a module that did not start or was not run."""
    if m.status in (Status.NOT_STARTED, Status.POLICY):
        return []
    return [t for t in m.tests if t.outcome != Outcome.PASSED]


def test_line(t: TestResult) -> str:
    return f"{t.name} ({t.visibility}): {t.outcome}" + (f": {t.message}" if t.message else "")


# --------------------------------------------------------------------------- markdown and terminal


def to_markdown(report: Report) -> str:
    lines = [f"**{n}**" for n in notes_above(report)] + ([""] if notes_above(report) else [])
    lines += [f"# {headline(report)}", "", points_table(report), ""]
    notes = [m for m in report.modules if module_note(m)]
    if notes:
        lines += ["## Notes", ""] + [f"- **{m.id} {m.slug}** ({m.status}): {module_note(m)}" for m in notes] + [""]
    failing = [(m, t) for m in report.modules for t in failing_tests(m)]
    if failing:
        lines += ["## Failing tests", ""]
        lines += [f"- {m.id} `{t.name}` ({t.visibility}, {num(t.max)} pts): {t.outcome}"
                  + (f": {t.message}" if t.message else "") for m, t in failing]
        lines.append("")
    if report.milestones:
        lines += ["## Milestones", "", "| Milestone | Requires | State |", "|---|---|---|"]
        lines += [f"| {ms.id} {ms.slug} | {', '.join(ms.requires)} | {milestone_state(ms)} |"
                  for ms in report.milestones]
        lines.append("")
    lines.append(f"Submission `{report.submission}`" + (f" at `{report.commit}`" if report.commit else "")
                 + f"; graded {report.generated_at}; tests: {report.tests}.")
    return "\n".join(lines) + "\n"


def terminal(report: Report, failing: bool = True) -> str:
    """The summary `make grade` and `make status` print: table, notes, failing tests, milestones."""
    lines = notes_above(report) + [f"{headline(report)}  ({report.tests} tests, {report.duration:.1f} s)", "",
                                   points_table(report), ""]
    for m in report.modules:
        if module_note(m):
            lines.append(f"  {m.id} {m.slug}: {module_note(m)}")
        if failing:
            shown = failing_tests(m)
            lines += [f"      - {test_line(t)}" for t in shown[:FAILING_SHOWN]]
            if len(shown) > FAILING_SHOWN:
                lines.append(f"      ... and {len(shown) - FAILING_SHOWN} more (report.md lists them all)")
    lines += [f"  milestone {ms.id} {ms.slug}: {milestone_state(ms)}" for ms in report.milestones]
    return "\n".join(lines)


def progress_line(m: ModuleResult, isolated: bool = False) -> str:
    """One line per module as it finishes (the terminal shows grading as it goes)."""
    if isolated:
        iso = f"isolated {num(m.isolated.score)}/{num(m.isolated.max)}" if m.isolated else "isolated"
        return f"  {m.id} {m.slug:<14} {iso:>22}  -> {status_cell(m)}"
    return f"  {m.id} {m.slug:<14} {str(m.status):<12} {num(m.score):>6g}/{num(m.max):<5g} {m.duration:6.1f} s" + (
        f"  {m.message[:90]}" if m.status in (Status.TIMEOUT, Status.ERROR, Status.BLOCKED) and m.message else "")


# --------------------------------------------------------------------------- staff


def staff_markdown(report: Report) -> str:
    """staff.md: what students never see. Hidden failures in full, and the integrity findings."""
    i = report.integrity
    lines = [f"# Staff view: {report.submission}", "", f"{headline(report)}; score policy {report.score_policy}; "
             f"commit {report.commit or 'none'}; graded {report.generated_at}", ""]
    tree = {"clean": "clean", "no-git": "not a git repository",
            "dirty": f"dirty: graded the working tree; {len(i.changed_files)} file(s) differ from commit "
                     f"{(report.commit or '?')[:7]}: {', '.join(i.changed_files)}"}[i.working_tree]
    lines += ["## Integrity", "", f"- working tree: {tree}"]
    lines += [f"- layout: {i.layout}"] if i.layout else []
    lines += [f"- policy: {p}" for p in i.policy] or ["- policy: no findings"]
    lines += [f"- guard refused: {g}" for g in i.guard] or ["- guard: nothing refused"]
    lines += [f"- ignored: {f}" for f in i.ignored_files] or ["- ignored files: none worth a look"]
    p = report.provenance
    lines += ["", "## Provenance", "", f"- grader {p.grader}; tests+plan sha256 {p.tests_sha256[:16]}; "
              f"Python {p.python}; NumPy {p.numpy}", "", "## Failing tests (hidden ones in full)", ""]
    for m in report.modules:
        for t in failing_tests(m):
            lines.append(f"- {m.id} `{t.name}` ({t.visibility}): {t.outcome}: {t.staff or t.message}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- GitHub Classroom


def runner_id(module: ModuleResult) -> str:
    """The Classroom reporter's runner id: letters and digits only."""
    return f"module{module.id}"


def classroom_result(module: ModuleResult) -> dict:
    """One runner's result, in the format autograding-grading-reporter@v1 reads from <RUNNER>_RESULTS."""
    status = "pass" if module.status == Status.PASSED else (
        "error" if module.status in (Status.ERROR, Status.TIMEOUT, Status.POLICY) else "fail")
    return {
        "version": 1, "status": status, "max_score": num(module.max),
        "tests": [
            {"name": f"{module.id} {t.name}" + (" (hidden)" if t.visibility == "hidden" else ""),
             "status": "pass" if t.outcome == Outcome.PASSED else (
                 "error" if t.outcome in (Outcome.NOT_RUN, Outcome.TIMEOUT) else "fail"),
             "score": num(t.score), "message": t.message, "test_code": "", "filename": "", "line_no": 0,
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


# --------------------------------------------------------------------------- files


def write_reports(report: Report, out: Path, staff: bool = False) -> dict[str, Path]:
    """Write every format into `out`; return their paths. `staff` adds staff.md and staff fields."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "markdown": out / "report.md", "csv": out / "grades.csv",
             "classroom": out / "classroom.env"}
    paths["json"].write_text(json.dumps(to_json(report, staff), indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(to_markdown(report), encoding="utf-8")
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["module", "slug", "status", "test", "visibility", "outcome", "score", "max"])
        for m in report.modules:
            for t in m.tests:
                writer.writerow([m.id, m.slug, m.status, t.name, t.visibility, t.outcome, num(t.score), num(t.max)])
    paths["classroom"].write_text("".join(f"{k}={v}\n" for k, v in classroom_env(report).items()), encoding="utf-8")
    if staff:
        paths["staff"] = out / "staff.md"
        paths["staff"].write_text(staff_markdown(report), encoding="utf-8")
    return paths
