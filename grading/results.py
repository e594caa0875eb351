"""Read back what a test process recorded, and trust only what verifies.

The grader makes a private folder and a random secret for each run and hands both to the
process through a pipe (never the environment, an argument or a file). A record is accepted
only with a valid HMAC of that secret; the records may name only tests the plan expects, each
phase once; anything else rejects the module's results as a whole. child.py writes the records
(`sign` and `outcomes_digest` there compute the same as here; child.py imports nothing from the
grader, and a test proves the two agree).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

from grading.model import Failure, GuardEvent

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


def sign(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def outcomes_digest(tests: list[dict]) -> str:
    """What the json report's signature covers."""
    return json.dumps(sorted((t.get("nodeid"), t.get("outcome")) for t in tests))


def read_results(records: Path, json_report: Path, secret: str) -> tuple[list[dict], dict, list[str]]:
    """The verified records, the verified json report ({} if none) and what failed to verify."""
    lines: list[dict] = []
    unsigned = 0
    if records.exists():
        for raw in records.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                line = json.loads(raw)
                body, mac = line["body"], line["mac"]
            except (json.JSONDecodeError, KeyError, TypeError):
                unsigned += 1
                continue
            if not hmac.compare_digest(sign(secret, body), str(mac)):
                unsigned += 1
                continue
            lines.append(json.loads(body))
    problems = [f"{unsigned} result line(s) without the run's signature"] if unsigned else []
    report: dict = {}
    if json_report.exists():
        try:
            report = json.loads(json_report.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            report = {"tests": None}
        tests = report.get("tests") if isinstance(report, dict) else None
        if not isinstance(tests, list) or not hmac.compare_digest(
                sign(secret, outcomes_digest(tests)), str(report.get("signature"))):
            problems.append("a test summary without the run's signature")
            report = {}
    return lines, report, problems


def check_ids(lines: list[dict], report: dict, expected: set[str]) -> list[str]:
    """Problems with the set of test ids: ids the plan does not have, a phase recorded twice."""
    problems = []
    extra = sorted({line.get("nodeid") for line in lines if line.get("kind") in ("item", "test")} - expected)
    seen: set[tuple] = set()
    twice = set()
    for line in lines:
        if line.get("kind") in ("item", "test"):
            key = (line.get("kind"), line.get("nodeid"), line.get("when"))
            (twice if key in seen else seen).add(key)
    summary = {t.get("nodeid"): t.get("outcome") for t in report.get("tests", [])}
    extra += sorted(set(summary) - expected - set(extra))
    if extra:
        problems.append(f"results for tests the grader did not plan: {', '.join(map(str, extra[:3]))}")
    if twice:
        problems.append(f"results recorded twice: {', '.join(sorted(str(k[1]) for k in twice)[:3])}")
    return problems


def final_outcomes(lines: list[dict], report: dict) -> dict[str, str]:
    """nodeid -> passed/failed/skipped from the phase records (any failed phase fails the test).

    The json report is a second opinion that can only lower an outcome.
    """
    outcomes: dict[str, str] = {}
    for line in lines:
        if line.get("kind") != "test":
            continue
        nodeid, outcome = line["nodeid"], line.get("outcome")
        if outcome == "failed":
            outcomes[nodeid] = "failed"
        elif outcomes.get(nodeid) != "failed" and (line.get("when") == "call" or outcome == "skipped"):
            outcomes[nodeid] = outcome
    for test in report.get("tests", []):
        if test.get("outcome") != "passed" and outcomes.get(test.get("nodeid")) == "passed":
            outcomes[test["nodeid"]] = "failed"
    return outcomes


def failure_of(line: dict, strip: tuple[str, ...], blame) -> Failure:
    """A recorded failure: its message the same from run to run (no temp paths, no addresses),
    and its origin charged to the module whose task holds it (`blame(file, line)`)."""
    message = str(line.get("message", ""))
    for prefix in strip:
        message = message.replace(prefix, "")
    file, number = line.get("origin_file"), line.get("origin_line")
    owner, task = blame(file, number) if file else (None, None)
    return Failure(
        exc_type=line.get("exc_type", ""), message=_ADDRESS.sub("0x...", message),
        origin_file=file, origin_line=number, timeout=bool(line.get("timeout")),
        not_implemented=bool(line.get("not_implemented")), owner=owner, task=task,
    )


def guard_events(lines: list[dict]) -> tuple[GuardEvent, ...]:
    return tuple(GuardEvent(str(line.get("what")), line.get("origin_file"), line.get("origin_line"))
                 for line in lines if line.get("kind") == "guard")
