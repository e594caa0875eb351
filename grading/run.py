"""Run one module's tests in its own limited subprocess and read back what happened.

The process gets: the course's loader first on sys.path, the student's copied files through
TINYTORCH_ROOT, a clean environment (PYTHONHASHSEED=0), resource limits (address space, CPU
time, file size, open files, processes, no core dumps), its own session (so a hang is killed
with everything it started) and a wall-clock limit. Its output goes to a file of which only the
first `output_kb` are read.

Its results are trusted only when they verify: the grader makes a private folder and a random
secret for each run, hands both to the process through a pipe (never the environment, an
argument or a file), and accepts a record only with a valid HMAC of that secret. The records
may name only tests the plan expects, each phase once; anything else rejects the module's
results as a whole (`problems`). A planned test without a record did not run: it scores 0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import re
import resource
import secrets
import shutil
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
PROCESS_MARGIN = 64                     # tasks a test process may add to its user's (threads count)


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


def user_tasks() -> int | None:
    """Processes and threads of this user now (RLIMIT_NPROC counts them all), or None."""
    uid, total = os.getuid(), 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                    fields = dict(line.split(":", 1) for line in fh if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    total += int(fields["Threads"])
            except (OSError, KeyError, ValueError):
                continue
    return total


def limit_values(limits: Limits) -> dict[str, tuple[int, int]]:
    """The resource limits of a test process, by resource name.

    RLIMIT_NPROC counts every process and thread of the user, and the kernel does not apply it
    to root: as root (a container) the limit is left out, and forks are stopped by the policy
    check and the runtime guard instead (child.py); a module's whole session is killed at its end.
    """
    memory = limits.memory_mb * 1024 * 1024
    values = {
        "RLIMIT_AS": (memory, memory),
        "RLIMIT_CPU": (int(limits.cpu_seconds), int(limits.cpu_seconds) + 5),
        "RLIMIT_FSIZE": (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT),
        "RLIMIT_NOFILE": (OPEN_FILES_LIMIT, OPEN_FILES_LIMIT),
        "RLIMIT_CORE": (0, 0),
    }
    tasks = user_tasks() if os.geteuid() != 0 else None
    if tasks is not None:
        values["RLIMIT_NPROC"] = (tasks + PROCESS_MARGIN, tasks + PROCESS_MARGIN)
    return values


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


def sign(secret: str, body: str) -> str:
    """The HMAC a record carries (child.sign computes the same; child.py imports nothing from here)."""
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def outcomes_digest(tests: list[dict]) -> str:
    """What the json report's signature covers (as child.outcomes_digest)."""
    return json.dumps(sorted((t.get("nodeid"), t.get("outcome")) for t in tests))


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


def _popen(config: dict, output: Path, workdir: Path, env: dict[str, str], limits: Limits) -> tuple[int, bool]:
    """Run the child as a fresh interpreter (no zygote): returns (return code, wall-clock timeout hit)."""
    wall_timeout = False
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(CHILD), "-"],
            cwd=workdir, env=env, stdin=subprocess.PIPE,
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_set_limits(limits), start_new_session=True,
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
            try:  # the whole group: whatever the tests started goes too
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
    return proc.returncode, wall_timeout


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


def run_pytest(course_root: Path, sandbox: Path, tests: list[str], workdir: Path, limits: Limits,
               *, source: str | None = None, collect_only: bool = False,
               zygote: Zygote | None = None) -> tuple[dict, list[dict], dict]:
    """Run the child on `tests`; return (process facts, verified records, verified json report or {}).

    `facts["problems"]` lists what did not verify (unsigned lines, an unsigned summary).
    """
    results = Path(tempfile.mkdtemp(prefix="tt-results-"))      # private (0700), outside the sandbox
    secret = secrets.token_hex(32)
    records = results / "records.jsonl"
    json_report = results / f"summary-{secrets.token_hex(8)}.json"
    config = {
        "sys_path": [str(course_root / "tinytorch_stub")],
        "submission": str(sandbox / "submission"),
        "ini": str(sandbox / "pytest.ini"), "rootdir": str(sandbox / "tests"),
        "tests": tests, "records": str(records), "json_report": str(json_report), "secret": secret,
        "test_timeout": limits.test_timeout, "collect_only": collect_only,
        "output_chars": limits.output_kb * 1024 + 1,        # one more than is kept: the cut shows
    }
    output = results / "output.log"
    start = time.monotonic()
    try:
        if zygote is not None:
            returncode, wall_timeout = zygote.run({
                "config": config, "cwd": str(workdir), "env": child_env(sandbox, workdir, source),
                "output": str(output), "limits": limit_values(limits),
            }, limits.module_timeout)
        else:
            returncode, wall_timeout = _popen(config, output, workdir, child_env(sandbox, workdir, source), limits)
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
    facts = {
        "returncode": returncode, "duration": duration, "wall_timeout": wall_timeout,
        "output_limit": size > cap or returncode == -signal.SIGXFSZ, "output": head, "problems": problems,
    }
    return facts, lines, report


_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


def _failure(line: dict, sandbox: Path) -> Failure:
    """A recorded failure, its message made the same from run to run (no temp paths, no addresses)."""
    message = str(line.get("message", ""))
    for prefix in (f"{sandbox}/submission/", f"{sandbox}/"):
        message = message.replace(prefix, "")
    return Failure(
        exc_type=line.get("exc_type", ""), message=_ADDRESS.sub("0x...", message),
        origin_file=line.get("origin_file"), origin_line=line.get("origin_line"),
        timeout=bool(line.get("timeout")), not_implemented=bool(line.get("not_implemented")),
    )


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


def _final_outcomes(lines: list[dict]) -> dict[str, str]:
    """nodeid -> passed/failed/skipped from the phase records (any failed phase fails the test)."""
    outcomes: dict[str, str] = {}
    for line in lines:
        if line.get("kind") != "test":
            continue
        nodeid, outcome = line["nodeid"], line.get("outcome")
        if outcome == "failed":
            outcomes[nodeid] = "failed"
        elif outcomes.get(nodeid) != "failed" and (line.get("when") == "call" or outcome == "skipped"):
            outcomes[nodeid] = outcome
    return outcomes


def run_module(course_root: Path, sandbox: Path, module_id: str, tests: list[str], limits: Limits,
               zygote: Zygote | None = None, expected: list[str] | None = None) -> ModuleRun:
    """Grade one module's tests: outcomes and origins from the verified records.

    `expected` (the plan's test ids of this module) makes any other id, or a phase recorded twice,
    a problem that rejects the module's results.
    """
    facts, lines, report = run_pytest(course_root, sandbox, tests, sandbox / "work" / module_id, limits,
                                      zygote=zygote)
    problems = list(facts["problems"])
    if expected is not None:
        problems += check_ids(lines, report, set(expected))
    run = ModuleRun(
        module=module_id, returncode=facts["returncode"], duration=facts["duration"],
        wall_timeout=facts["wall_timeout"], output_limit=facts["output_limit"],
        output_tail=facts["output"][-2000:], report_found=bool(report), problems=problems,
        limits={"memory_mb": limits.memory_mb, "output_kb": limits.output_kb, "cpu_seconds": limits.cpu_seconds,
                "module_timeout": limits.module_timeout, "test_timeout": limits.test_timeout},
    )
    for line in lines:
        if line.get("kind") == "crash":
            run.crash = f"{line.get('exc_type')}: {line.get('message')}"
        elif line.get("kind") == "collect":
            run.collect_errors.append(_failure(line, sandbox))
        elif line.get("kind") == "test" and line.get("outcome") == "failed":
            run.failures.setdefault(line["nodeid"], _failure(line, sandbox))
    run.outcomes = _final_outcomes(lines)
    for test in report.get("tests", []):        # a second opinion that can only lower an outcome
        if test.get("outcome") != "passed" and run.outcomes.get(test.get("nodeid")) == "passed":
            run.outcomes[test["nodeid"]] = "failed"
    return run
