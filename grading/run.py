"""Run one module's tests in its own limited subprocess and read back what happened.

The process gets: the course's loader first on sys.path, the student's copied files through
TINYTORCH_ROOT, a clean environment, resource limits (address space, CPU time, file size, open
files, no core dumps), its own process group (so a hang is killed with everything it started)
and a wall-clock limit. Its output goes to a file of which only the first `output_kb` are kept.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grading.model import Failure, ModuleRun

CHILD = Path(__file__).with_name("child.py")
# Environment variables passed through to the test process (all others are dropped).
PASS_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")
FILE_SIZE_LIMIT = 64 * 1024 * 1024      # any single file the test process writes
OPEN_FILES_LIMIT = 256


@dataclass(frozen=True)
class Limits:
    test_timeout: float = 20
    module_timeout: float = 180
    memory_mb: int = 4096
    output_kb: int = 512
    cpu_seconds: int = 600

    @classmethod
    def from_manifest(cls, grading: dict, **overrides) -> "Limits":
        values = {k: grading[k] for k in cls.__dataclass_fields__ if k in grading}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def limit_values(limits: Limits) -> dict[str, tuple[int, int]]:
    """The resource limits of a test process, by resource name."""
    memory = limits.memory_mb * 1024 * 1024
    return {
        "RLIMIT_AS": (memory, memory),
        "RLIMIT_CPU": (int(limits.cpu_seconds), int(limits.cpu_seconds) + 5),
        "RLIMIT_FSIZE": (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT),
        "RLIMIT_NOFILE": (OPEN_FILES_LIMIT, OPEN_FILES_LIMIT),
        "RLIMIT_CORE": (0, 0),
    }


def _set_limits(limits: Limits):
    values = limit_values(limits)

    def apply() -> None:
        for name, pair in values.items():
            resource.setrlimit(getattr(resource, name), pair)
    return apply


class Zygote:
    """A process that has imported pytest and NumPy once and forks one child per module.

    Starting Python, pytest and NumPy costs about a quarter of a second per process; with one
    process per module that start-up was most of the grader's overhead over a bare pytest run.
    Each forked child still gets its own session, limits, environment and output file, and is
    killed with its whole process group on timeout. Student code never runs in the zygote.
    """

    def __init__(self, env: dict[str, str], cwd: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(CHILD), "--zygote"], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True,
        )
        self.lock = threading.Lock()
        self.waiting: dict[str, queue.Queue] = {}
        first = self.proc.stdout.readline()
        if not first.startswith('{"ready"'):
            self.close()
            raise RuntimeError("the grader's zygote process did not start")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            message = json.loads(line)
            box = self.waiting.get(message.get("id"))
            if box is not None:
                box.put(message)
        for box in list(self.waiting.values()):     # the zygote died: release every waiter
            box.put({"status": None})

    def run(self, request: dict, timeout: float) -> tuple[int | None, bool]:
        """Fork a child for `request`; return (return code like Popen's, wall-clock timeout hit)."""
        ident = secrets.token_hex(8)
        box: queue.Queue = queue.Queue()
        self.waiting[ident] = box
        with self.lock:
            self.proc.stdin.write(json.dumps({**request, "id": ident}) + "\n")
            self.proc.stdin.flush()
        started = time.monotonic()
        pid = box.get(timeout=60).get("pid")
        wall_timeout = False
        try:
            message = box.get(timeout=max(0.0, timeout - (time.monotonic() - started)))
        except queue.Empty:
            wall_timeout = True
            message = None
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)      # the child's session: whatever it started
            except (ProcessLookupError, PermissionError):
                pass
        if message is None:
            message = box.get(timeout=60)
        del self.waiting[ident]
        status = message.get("status")
        return (None if status is None else os.waitstatus_to_exitcode(status)), wall_timeout

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def child_env(sandbox: Path, workdir: Path, source: str | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update({
        "HOME": str(workdir), "TMPDIR": str(workdir), "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "TINYTORCH_ROOT": str(sandbox / "submission"),
    })
    if source:
        env["TINYTORCH_SOURCE"] = source
    return env


def _popen(config: Path, output: Path, workdir: Path, env: dict[str, str], limits: Limits) -> tuple[int, bool]:
    """Run the child as a fresh interpreter (no zygote): returns (return code, wall-clock timeout hit)."""
    wall_timeout = False
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(CHILD), str(config)],
            cwd=workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_set_limits(limits), start_new_session=True,
        )
        try:
            proc.wait(timeout=limits.module_timeout)
        except subprocess.TimeoutExpired:
            wall_timeout = True
        finally:
            try:  # the whole group: whatever the tests started goes too
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
    return proc.returncode, wall_timeout


def run_pytest(course_root: Path, sandbox: Path, tests: list[str], workdir: Path, limits: Limits,
               *, source: str | None = None, collect_only: bool = False,
               zygote: Zygote | None = None) -> tuple[dict, list[dict], dict]:
    """Run the child on `tests`; return (process facts, recorder lines, json report or {})."""
    results = Path(tempfile.mkdtemp(prefix="tt-results-"))
    token = secrets.token_hex(16)
    records = results / f"records-{token}.jsonl"
    json_report = results / f"report-{token}.json"
    config = results / f"config-{token}.json"
    config.write_text(json.dumps({
        "sys_path": [str(course_root / "tinytorch_stub")],
        "submission": str(sandbox / "submission"),
        "ini": str(sandbox / "pytest.ini"), "rootdir": str(sandbox / "tests"),
        "tests": tests, "records": str(records), "json_report": str(json_report),
        "test_timeout": limits.test_timeout, "collect_only": collect_only,
    }))
    output = results / "output.log"
    start = time.monotonic()
    if zygote is not None:
        returncode, wall_timeout = zygote.run({
            "config": str(config), "cwd": str(workdir), "env": child_env(sandbox, workdir, source),
            "output": str(output), "limits": limit_values(limits),
        }, limits.module_timeout)
    else:
        returncode, wall_timeout = _popen(config, output, workdir, child_env(sandbox, workdir, source), limits)
    duration = time.monotonic() - start
    cap = limits.output_kb * 1024
    size, tail = 0, ""
    if output.exists():
        size = output.stat().st_size
        with output.open("rb") as fh:
            tail = fh.read(cap).decode("utf-8", "replace")
    lines: list[dict] = []
    if records.exists():
        for raw in records.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    report: dict = {}
    if json_report.exists():
        try:
            report = json.loads(json_report.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            report = {}
    facts = {
        "returncode": returncode, "duration": duration, "wall_timeout": wall_timeout,
        "output_limit": size > cap or returncode == -signal.SIGXFSZ, "output": tail,
    }
    for path in results.iterdir():
        path.unlink()
    results.rmdir()
    return facts, lines, report


def _failure(line: dict) -> Failure:
    return Failure(
        exc_type=line.get("exc_type", ""), message=line.get("message", ""),
        origin_file=line.get("origin_file"), origin_line=line.get("origin_line"),
        timeout=bool(line.get("timeout")), not_implemented=bool(line.get("not_implemented")),
    )


def run_module(course_root: Path, sandbox: Path, module_id: str, tests: list[str], limits: Limits,
               zygote: Zygote | None = None) -> ModuleRun:
    """Grade one module's tests; outcomes come from pytest-json-report, origins from the recorder."""
    facts, lines, report = run_pytest(course_root, sandbox, tests, sandbox / "work" / module_id, limits,
                                      zygote=zygote)
    run = ModuleRun(
        module=module_id, returncode=facts["returncode"], duration=facts["duration"],
        wall_timeout=facts["wall_timeout"], output_limit=facts["output_limit"],
        output_tail=facts["output"][-2000:], report_found=bool(report),
    )
    for line in lines:
        if line.get("kind") == "collect":
            run.collect_errors.append(_failure(line))
        elif line.get("kind") == "test":
            nodeid = line["nodeid"]
            if line.get("outcome") == "failed":
                run.failures.setdefault(nodeid, _failure(line))
                run.outcomes[nodeid] = "failed"
            elif line.get("when") == "call":
                run.outcomes.setdefault(nodeid, line["outcome"])
    for test in report.get("tests", []):
        outcome = test.get("outcome")
        run.outcomes[test["nodeid"]] = "passed" if outcome == "passed" else ("skipped" if outcome == "skipped" else "failed")
    return run
