"""The grading subprocess: runs one module's tests under pytest and records what happened.

Started by the grader as `python -I -B child.py -` (the configuration arrives on stdin, so it
is in no argument, file or environment variable that student code could read), or forked from
the zygote with the configuration in its request. Resource limits are already set. It puts the
course's loader on sys.path, installs the runtime guard (install_guard), and runs pytest with
the course's own settings: no ini file or plugin from the submission, and no conftest.py at all.

Results: one JSON line per test phase, each signed with an HMAC keyed by the run's secret
(the secret never touches the disk), in a file the grader opened in a private folder. The
pytest-json-report summary carries a signature of its outcomes too. Student code runs in this
process, so the guard below and the static policy check (grading/policy.py) are what keep it
away from the recorder; the grader rejects any results that do not verify.

This file imports nothing from the grader: it runs in the process where student code runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sys
import traceback


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sign(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def outcomes_digest(tests: list[dict]) -> str:
    """What the json report's signature covers: every test id with its outcome, in order."""
    return json.dumps(sorted((t.get("nodeid"), t.get("outcome")) for t in tests))


class Recorder:
    """pytest plugin: one signed JSON line per test phase and per collection error.

    Each line says where an exception came from (the last traceback frame inside the
    submission), so that the grader can tell `not_started` (the stub's NotImplementedError),
    `blocked` (an earlier module's file) and `error` (file and line) apart.
    """

    def __init__(self, out, submission: str, secret: str, module: str = "", owners: dict | None = None,
                 stop_after: int = 2):
        self.out = out
        self.submission = os.path.realpath(submission) + os.sep
        self._secret = secret
        self.module = module
        self.owners = owners or {}
        self.stop_after = stop_after
        self.timeouts = 0
        self.session = None

    def owner(self, file: str | None, line: int | None) -> str | None:
        """The module whose task holds file:line (grading/blame.py computes the same)."""
        entry = self.owners.get(file or "")
        if entry is None:
            return None
        for first, last, owner in entry["spans"]:
            if line is not None and first <= line <= last:
                return owner
        return entry["module"]

    def pytest_sessionstart(self, session):
        self.session = session

    def _after_timeout(self, record: dict) -> None:
        """Stop the module's run: at once when the hang is in an earlier module's code (every later
        test would hang there too), else after `stop_after` timeouts; the rest is reported not run."""
        self.timeouts += 1
        owner = self.owner(record.get("origin_file"), record.get("origin_line"))
        earlier = owner is not None and self.module and owner < self.module
        if (earlier or self.timeouts >= self.stop_after) and self.session is not None:
            where = f"{record.get('origin_file')}:{record.get('origin_line')}" if record.get("origin_file") else ""
            reason = (f"stopped at the first timeout: it hangs in module {owner}'s code" if earlier
                      else f"stopped after {self.timeouts} timeouts")
            self._write({"kind": "stopped", "reason": reason, "where": where, "owner": owner})
            self.session.shouldstop = reason

    def _origin(self, exc: BaseException) -> tuple[str | None, int | None]:
        if isinstance(exc, SyntaxError) and exc.filename:
            path = os.path.realpath(exc.filename)
            if path.startswith(self.submission):
                return path[len(self.submission):], exc.lineno
        origin = (None, None)
        for frame in traceback.extract_tb(exc.__traceback__):
            path = os.path.realpath(frame.filename)
            if path.startswith(self.submission):
                origin = (path[len(self.submission):], frame.lineno)
        return origin

    def _write(self, record: dict) -> None:
        body = json.dumps(record, sort_keys=True)
        self.out.write(json.dumps({"body": body, "mac": sign(self._secret, body)}) + "\n")
        self.out.flush()

    def _exception(self, excinfo) -> dict:
        exc = excinfo.value
        # pytest wraps an import failure in its own CollectError: report the original.
        while type(exc).__name__ == "CollectError" and (exc.__cause__ or exc.__context__):
            exc = exc.__cause__ or exc.__context__
        file, line = self._origin(exc)
        message = str(exc)
        kind = type(exc).__name__
        return {
            "exc_type": kind,
            "message": _short(message),
            "origin_file": file,
            "origin_line": line,
            "timeout": kind == "Failed" and message.startswith("Timeout"),
            "not_implemented": isinstance(exc, NotImplementedError),
        }

    def pytest_exception_interact(self, node, call, report):
        if report.when == "collect" or getattr(report, "when", None) is None:
            record = {"kind": "collect", "nodeid": report.nodeid}
            record.update(self._exception(call.excinfo))
            self._write(record)

    import pytest as _pytest

    @_pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        """Every test starts from the same global random state, whatever ran before it."""
        import random

        import numpy

        random.seed(0)
        numpy.random.seed(0)

    @_pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        record = {"kind": "test", "nodeid": item.nodeid, "when": call.when, "outcome": report.outcome}
        if call.excinfo is not None and report.outcome == "failed":
            record.update(self._exception(call.excinfo))
        if report.outcome != "passed" or call.when == "call":
            self._write(record)
        if record.get("timeout"):
            self._after_timeout(record)

    def guard_refused(self, what: str) -> None:
        """The runtime guard refused something: record it with the student's line, even if caught."""
        file, line = None, None
        for frame in traceback.extract_stack()[:-2]:
            path = os.path.realpath(frame.filename)
            if path.startswith(self.submission):
                file, line = path[len(self.submission):], frame.lineno
        self._write({"kind": "guard", "what": what, "origin_file": file, "origin_line": line})

    def pytest_collection_finish(self, session):
        for item in session.items:
            marker = item.get_closest_marker("points")
            points = marker.args[0] if marker and marker.args else None
            self._write({"kind": "item", "nodeid": item.nodeid, "points": points})

    def crashed(self, exc: BaseException) -> None:
        """What escaped pytest itself (the process then ends with code 3)."""
        self._write({"kind": "crash", "exc_type": type(exc).__name__, "message": _short(str(exc), 200)})

    def pytest_json_modifyreport(self, json_report):
        json_report["signature"] = sign(self._secret, outcomes_digest(json_report.get("tests", [])))

    del _pytest


# ---------------------------------------------------------------------------- the guard

# Audit events that student code has no business raising while its tests run.
BLOCKED_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
    "os.kill", "os.killpg", "os.link", "os.chflags", "os.lchflags", "os.mknod", "os.mkfifo",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function", "ctypes.string_at",
    "ctypes.wstring_at", "ctypes.cdata/buffer", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "sys.settrace", "sys.setprofile", "resource.setrlimit", "resource.prlimit",
    "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.sendto",
})
# Events that change the file system: (indices of path arguments, indices of dir_fd arguments).
PATH_EVENTS = {
    "os.rename": ((0, 1), (2, 3)), "os.remove": ((0,), (1,)), "os.rmdir": ((0,), (1,)),
    "os.mkdir": ((0,), (2,)), "os.chmod": ((0,), (2,)), "os.chown": ((0,), (3,)),
    "os.symlink": ((1,), (2,)), "os.truncate": ((0,), ()), "os.utime": ((0,), (3,)),
}
# The variables that tell the loader where student files are, and what unpickling may rebuild,
# come from the loader's contract (tinytorch/contract.py), imported once pytest's path is set.
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Other processes' pipes and memory, and this one's descriptors by path (the records, the output).
_PROC_PRIVATE = re.compile(r"^/(proc/[^/]+/(task/[^/]+/)?(fd|fdinfo|map_files|mem|environ)|dev/fd)(/|$)")


class Guard:
    """The runtime guard, an audit hook (it cannot be removed once added): see install_guard."""

    def __init__(self, writable: list[str], results: str, report_file: str, records_fd: int,
                 allow: frozenset[str], on_refuse) -> None:
        from tinytorch.contract import LOADER_ENV, PICKLE_GLOBALS

        self.roots = tuple(os.path.realpath(p) + os.sep for p in writable)
        self.results = os.path.realpath(results) + os.sep
        self.report_file = os.path.realpath(report_file)
        self.records = os.fstat(records_fd)
        self.blocked = BLOCKED_EVENTS - allow
        self.loader_env, self.pickle_globals = LOADER_ENV, PICKLE_GLOBALS
        self.on_refuse = on_refuse

    def refuse(self, what: str):
        if self.on_refuse is not None:
            self.on_refuse(what)
        raise PermissionError(f"{what} is not allowed while the grader runs the tests")

    def writable_path(self, path) -> bool:
        real = os.path.realpath(os.fsdecode(path))
        return real == os.devnull or real == self.report_file or (real + os.sep).startswith(self.roots)

    def check_path_event(self, event: str, args: tuple) -> None:
        paths, dir_fds = PATH_EVENTS[event]
        if any(i < len(args) and args[i] not in (None, -1) for i in dir_fds):
            self.refuse(f"{event} relative to a directory descriptor")
        for i in paths:
            path = args[i]
            if isinstance(path, int) or not self.writable_path(path):
                if not (event == "os.mkdir" and os.path.realpath(os.fsdecode(path)) + os.sep == self.results):
                    self.refuse(f"{event} of {path!r}")

    def check_open(self, path, mode, flags) -> None:
        if isinstance(path, int):
            if path > 2 and _same_file(path, self.records):
                self.refuse("opening the grader's records")
            return
        if path is None:
            return
        real = os.path.realpath(os.fsdecode(path))
        if _PROC_PRIVATE.match(os.path.abspath(os.fsdecode(path))) or _PROC_PRIVATE.match(real):
            self.refuse(f"opening {path!r}")
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
        if real.startswith(self.results) and not (writing and real == self.report_file):
            self.refuse(f"opening {path!r}")
        if writing and (not self.writable_path(path) or mode is None and not os.path.isabs(os.fsdecode(path))):
            self.refuse(f"writing {path!r}")

    def __call__(self, event: str, args: tuple) -> None:
        if event == "open":
            self.check_open(*args)
        elif event in PATH_EVENTS:
            self.check_path_event(event, args)
        elif event in self.blocked:
            self.refuse(event)
        elif event == "pickle.find_class":
            if (str(args[0]), str(args[1])) not in self.pickle_globals:
                self.refuse(f"unpickling {args[0]}.{args[1]}")
        elif event in ("os.putenv", "os.unsetenv") and os.fsdecode(args[0]) in self.loader_env:
            self.refuse(f"changing ${os.fsdecode(args[0])}")


def install_guard(writable: list[str], results: str, report_file: str, records_fd: int,
                  allow: frozenset[str] = frozenset(), on_refuse=None) -> None:
    """Refuse, from now on, what a test process must not do (an audit hook: it cannot be removed).

    Writes only below `writable` (the module's working folder, its HOME and TMPDIR) and to
    `report_file`; nothing at all in `results` (the private folder of the records); no new
    processes, signals, sockets, C libraries, tracing or garbage-collector walks (less what
    `allow` names: a module's guard_allow in course.toml); no unpickling of anything but NumPy
    arrays; no change to the variables that tell the loader where student files are. Each
    refusal calls `on_refuse` (the recorder keeps it, even when student code catches it) and is
    a PermissionError in the code that tried, so the test fails and says why.
    """
    sys.addaudithook(Guard(writable, results, report_file, records_fd, allow, on_refuse))


def _same_file(fd: int, info: os.stat_result) -> bool:
    try:
        other = os.fstat(fd)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)


class CappedOutput:
    """sys.stdout / sys.stderr of a test process: the first `budget[0]` characters pass, the rest
    is dropped (shared budget). A flood neither fills the disk nor makes later writes fail: the
    grader keeps the first `output_kb` only anyway, and sees from the size that output was cut."""

    def __init__(self, stream, budget: list[int]):
        self._stream = stream
        self._budget = budget

    def write(self, text: str) -> int:
        left = self._budget[0]
        if left > 0:
            self._stream.write(text[:left])
        self._budget[0] = left - len(text)
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


# ---------------------------------------------------------------------------- known hangs


def start_watchdog(hangs: list, submission: str, dwell: float, period: float = 0.25) -> None:
    """End a test early when it is stuck where an earlier module's run already hung.

    `hangs` are [file, first line, last line, label] spans (the function a module hung in, found
    by the grader). A thread samples the main thread's stack; when the same call of such a
    function has been running for `dwell` seconds it interrupts the test with a timeout that
    names the function, instead of waiting for the per-test limit. Functions that never hung are
    never watched, so a slow but honest test is only ever ended by the per-test limit.
    """
    if not hangs:
        return
    import signal
    import threading
    import time

    import pytest

    root = os.path.realpath(submission)
    targets = [(os.path.join(root, file), int(first), int(last), str(label)) for file, first, last, label in hangs]
    main_thread = threading.get_ident()
    found: dict = {}

    def interrupt(signum, frame):
        pytest.fail(f"Timeout: stuck in {found.get('label', 'a function')}, where an earlier module's tests "
                    f"already hung (ended after {dwell:g} s)", pytrace=False)

    def stuck_frame():
        frame = sys._current_frames().get(main_thread)
        while frame is not None:
            name = os.path.realpath(frame.f_code.co_filename)
            for path, first, last, label in targets:
                if name == path and first <= frame.f_lineno <= last:
                    return frame, label
            frame = frame.f_back
        return None, None

    def watch():
        since = None
        while True:
            time.sleep(period)
            frame, label = stuck_frame()
            if frame is None or since is None or since[0] is not frame:
                since = (frame, time.monotonic()) if frame is not None else None
            elif time.monotonic() - since[1] >= dwell:
                found["label"] = label
                since = None
                signal.pthread_kill(main_thread, signal.SIGUSR2)

    signal.signal(signal.SIGUSR2, interrupt)
    threading.Thread(target=watch, name="tinytorch-hang-watchdog", daemon=True).start()


# ---------------------------------------------------------------------------- running pytest


def main(config: dict) -> int:
    sys.path[:0] = config["sys_path"]
    sys.dont_write_bytecode = True
    import importlib

    import numpy  # noqa: F401  (before the guard: importing it loads C libraries through ctypes)
    import pytest

    for name in config.get("preload", ()):    # trusted libraries whose first import the guard would refuse
        try:
            importlib.import_module(name)
        except ImportError:                   # the student's own import will then say what is missing
            pass
    records = open(config["records"], "w", encoding="utf-8")
    plugin = Recorder(records, config["submission"], config["secret"], config.get("module", ""),
                      config.get("owners"), int(config.get("stop_after", 2)))
    # Plugin autoloading is off (PYTEST_DISABLE_PLUGIN_AUTOLOAD): only these plugins run.
    # --tb=line: failures are read from the Recorder (call.excinfo), never from pytest's traceback
    # text, and long tracebacks cost about 70 ms per failing test (a module not started: 5x slower).
    args = [
        *config["tests"],
        "-c", config["ini"], "--rootdir", config["rootdir"], "--noconftest", "--capture=no",
        "-p", "pytest_timeout", "-p", "pytest_jsonreport.plugin", "-p", "no:cacheprovider",
        "-p", "no:doctest", "-p", "no:pastebin", "-p", "no:junitxml",
        "-p", "no:stepwise", "-p", "no:debugging", "-p", "no:setupplan", "-p", "no:setuponly",
        "--import-mode=importlib", "-q", "-rN", "--no-header", "--color=no", "--tb=line",
        f"--timeout={config['test_timeout']}",
        "--json-report", f"--json-report-file={config['json_report']}",
        "--json-report-omit", "log", "streams", "keywords", "warnings", "traceback", "collectors",
    ]
    if config.get("collect_only"):
        args.insert(0, "--collect-only")
    budget = [int(config["output_chars"])]
    sys.stdout, sys.stderr = CappedOutput(sys.stdout, budget), CappedOutput(sys.stderr, budget)
    cwd = os.getcwd()
    start_watchdog(config.get("known_hangs") or [], config["submission"], float(config.get("hang_dwell", 2.0)))
    install_guard([cwd, os.environ.get("HOME", cwd), os.environ.get("TMPDIR", cwd)],
                  os.path.dirname(config["records"]), config["json_report"], records.fileno(),
                  frozenset(config.get("guard_allow", ())), plugin.guard_refused)
    del config
    try:
        code = pytest.main(args, plugins=[plugin])
    except BaseException as exc:     # noqa: BLE001 - say what ended the run, then end it
        plugin.crashed(exc)
        raise
    records.close()
    return int(code)


def _finish(code: int) -> None:
    """End the process now: threads the tests started must not keep it alive."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _run_forked(request: dict) -> None:
    """In a freshly forked child of the zygote: limits, session, output, then the tests."""
    import resource

    os.setsid()
    for name, (soft, hard) in request["limits"].items():
        resource.setrlimit(getattr(resource, name), (soft, hard))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    out = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(devnull)
    code = 3
    try:
        code = main(request.pop("config"))
    except BaseException:        # noqa: BLE001 - anything escaping pytest ends this child only
        traceback.print_exc()
    finally:
        _finish(code)


def zygote() -> int:
    """Pre-import pytest and NumPy once, then fork one child per module on request.

    Protocol on stdin/stdout, one JSON object per line: a request {"id", "config", "cwd",
    "env", "output", "limits"} is answered by {"id", "pid"} once forked, and by {"id", "status"}
    (as os.waitpid gives it) when the child ends. Single-threaded, so forking is safe. No
    student code ever runs in this process: only in the forked children.
    """
    import select

    import numpy  # noqa: F401  (imported once here, shared copy-on-write by every child)
    import pytest  # noqa: F401
    import pytest_jsonreport.plugin  # noqa: F401
    import pytest_timeout  # noqa: F401

    children: dict[int, str] = {}
    reply = sys.stdout
    reply.write(json.dumps({"ready": True}) + "\n")
    reply.flush()
    stdin_open = True
    pending = b""       # read with os.read, not readline: a buffered reader could hold a second
    while stdin_open or children:   # request that select() would then never report
        readable, _, _ = select.select([0] if stdin_open else [], [], [], 0.02)
        if readable:
            chunk = os.read(0, 1 << 20)
            stdin_open = bool(chunk)
            pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _run_forked(request)
            children[pid] = request["id"]
            reply.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
            reply.flush()
            del request, line
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            ident = children.pop(pid, None)
            if ident is not None:
                reply.write(json.dumps({"id": ident, "status": status}) + "\n")
                reply.flush()
    return 0


def _fresh() -> None:
    """A fresh interpreter (--no-fork): the configuration comes on stdin, then stdin is closed."""
    code = 3
    try:
        config = json.loads(sys.stdin.read())
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        code = main(config)
    except BaseException:        # noqa: BLE001
        traceback.print_exc()
    finally:
        _finish(code)


if __name__ == "__main__":
    if sys.argv[1] == "--zygote":
        sys.exit(zygote())
    _fresh()
