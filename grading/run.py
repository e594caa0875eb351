"""Run one module's tests in its own limited subprocess and read back what happened.

The process gets: the course's loader first on sys.path, the student's copied files through
TINYTORCH_ROOT, a clean environment (PYTHONHASHSEED=0), resource limits (limits.py), its own
session (so a hang is killed with everything it started) and a wall-clock limit. Its output
goes to a file of which only the first `output_kb` are read. Its results are trusted only when
they verify (results.py).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grading.cache import cache_dir
from grading.limits import Limits, apply_limits, limit_values
from grading.model import ModuleRun
from grading.results import check_ids, failure_of, final_outcomes, guard_events, read_results
from grading.zygote import CHILD, Zygote, kill_group
from tinytorch.contract import LOADER_DIR, ROOT_ENV, SOURCE_ENV

# Environment variables passed through to the test process (all others are dropped).
PASS_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")
# Trusted libraries whose first import does what the guard refuses, by the allow_imports entry that
# lets a module use them: the test process imports them before it installs the guard. matplotlib
# builds its font cache on first import by running `fc-list`, which the guard would refuse (and
# record against the student's import line).
PRELOAD = {"matplotlib": ("matplotlib.font_manager",)}


def preloads(allow_imports) -> tuple[str, ...]:
    """The modules to import before the guard for a module with these allow_imports."""
    return tuple(name for entry in allow_imports for name in PRELOAD.get(entry.split(".")[0], ()))


@dataclass(frozen=True)
class ProcessResult:
    """What one test process left behind: how it ended, its output, and its verified records."""
    returncode: int | None
    duration: float
    wall_timeout: bool
    output_limit: bool
    output: str
    lines: list[dict]
    report: dict
    problems: list[str]


@dataclass(frozen=True)
class RunSpec:
    """What a module's test process needs besides its tests: blame spans, known hangs, allowances."""
    module: str = ""
    owners: dict = field(default_factory=dict)          # Blame.spans()
    known_hangs: tuple = ()                            # [file, first, last, label] spans that hung before
    guard_allow: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()                      # preloads(module.allow_imports)


def child_env(sandbox: Path, workdir: Path, source: str | None = None, submission: Path | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update({
        "HOME": str(workdir), "TMPDIR": str(workdir), "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        ROOT_ENV: str(submission or sandbox / "submission"),
        # matplotlib's font cache, built once per machine (before the guard, see PRELOAD), not per grading
        "MPLCONFIGDIR": str(cache_dir("matplotlib")),
    })
    if source:
        env[SOURCE_ENV] = source
    return env


def _popen(config: dict, output: Path, workdir: Path, env: dict[str, str], limits: Limits) -> tuple[int, bool]:
    """Run the child as a fresh interpreter (no zygote): returns (return code, wall-clock timeout hit)."""
    wall_timeout = False
    values = limit_values(limits)
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(CHILD), "-"],
            cwd=workdir, env=env, stdin=subprocess.PIPE,
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=lambda: apply_limits(values), start_new_session=True,
        )
        try:
            try:
                proc.stdin.write(json.dumps(config).encode())
                proc.stdin.close()
            except OSError:          # the child died before reading: its return code says how
                pass
            proc.wait(timeout=limits.module_timeout)
        except subprocess.TimeoutExpired:
            wall_timeout = True
        finally:
            kill_group(proc.pid)
            proc.wait()
    return proc.returncode, wall_timeout


def run_pytest(course_root: Path, sandbox: Path, tests: list[str], workdir: Path, limits: Limits,
               *, source: str | None = None, collect_only: bool = False, zygote: Zygote | None = None,
               submission: Path | None = None, spec: RunSpec = RunSpec()) -> ProcessResult:
    """Run the child on `tests` (student files from `submission`, default the sandbox's)."""
    results = Path(tempfile.mkdtemp(prefix="tt-results-"))      # private (0700), outside the sandbox
    secret = secrets.token_hex(32)
    records = results / "records.jsonl"
    json_report = results / f"summary-{secrets.token_hex(8)}.json"
    submission = submission or sandbox / "submission"
    config = {
        "sys_path": [str(course_root / LOADER_DIR)], "submission": str(submission),
        "ini": str(sandbox / "pytest.ini"), "rootdir": str(sandbox / "tests"),
        "tests": tests, "records": str(records), "json_report": str(json_report), "secret": secret,
        "test_timeout": limits.test_timeout, "collect_only": collect_only,
        "output_chars": limits.output_kb * 1024 + 1,        # one more than is kept: the cut shows
        "module": spec.module, "owners": spec.owners, "stop_after": limits.timeouts_before_stop,
        "known_hangs": list(spec.known_hangs), "guard_allow": list(spec.guard_allow),
        "preload": list(spec.preload),
        "hang_dwell": max(1.0, min(5.0, limits.test_timeout / 10)),
    }
    output = results / "output.log"
    env = child_env(sandbox, workdir, source, submission)
    start = time.monotonic()
    try:
        if zygote is not None:
            returncode, wall_timeout = zygote.run({
                "config": config, "cwd": str(workdir), "env": env, "output": str(output),
                "limits": limit_values(limits),
            }, limits.module_timeout)
        else:
            returncode, wall_timeout = _popen(config, output, workdir, env, limits)
        duration = time.monotonic() - start
        cap = limits.output_kb * 1024
        size, head = 0, ""
        if output.exists():
            size = output.stat().st_size
            with output.open("rb") as fh:
                head = fh.read(cap).decode("utf-8", "replace")
        lines, report, problems = read_results(records, json_report, secret)
    finally:
        shutil.rmtree(results, ignore_errors=True)
    return ProcessResult(returncode, duration, wall_timeout, size > cap or returncode == -signal.SIGXFSZ,
                         head, lines, report, problems)


def run_module(course_root: Path, sandbox: Path, module_id: str, tests: list[str], limits: Limits, *,
               blame, expected: list[str], zygote: Zygote | None = None, submission: Path | None = None,
               spec: RunSpec = RunSpec(), tasks_remaining: int = 0) -> ModuleRun:
    """Grade one module's tests: outcomes, and failures charged to the module whose task raised them.

    `expected` (the plan's test ids of this module) makes any other id, or a phase recorded twice,
    a problem that rejects the module's results.
    """
    submission = submission or sandbox / "submission"
    proc = run_pytest(course_root, sandbox, tests, sandbox / "work" / module_id, limits, zygote=zygote,
                      submission=submission, spec=spec)
    problems = [*proc.problems, *check_ids(proc.lines, proc.report, set(expected))]
    strip = (f"{submission}/", f"{sandbox}/")
    failures: dict = {}
    for line in proc.lines:
        if line.get("kind") == "test" and line.get("outcome") == "failed":
            failures.setdefault(line["nodeid"], failure_of(line, strip, blame))
    crash = next((f"{line.get('exc_type')}: {line.get('message')}" for line in proc.lines if line.get("kind") == "crash"), "")
    stopped = next((line for line in proc.lines if line.get("kind") == "stopped"), None)
    return ModuleRun(
        module=module_id, returncode=proc.returncode, duration=proc.duration,
        wall_timeout=proc.wall_timeout, output_limit=proc.output_limit,
        outcomes=final_outcomes(proc.lines, proc.report), failures=failures,
        collect_errors=tuple(failure_of(line, strip, blame) for line in proc.lines if line.get("kind") == "collect"),
        output_tail=proc.output[-2000:], tasks_remaining=tasks_remaining, problems=tuple(problems), crash=crash,
        stopped=str(stopped.get("reason", "")) if stopped else "", guard=guard_events(proc.lines),
        limits=limits.as_dict(),
    )
