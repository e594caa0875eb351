"""The grading subprocess: runs one module's tests under pytest and records what happened.

Started by the grader as `python -I -B child.py CONFIG` with resource limits already set. It
reads CONFIG (then deletes it, so that student code never sees where results go), puts the
course's loader on sys.path, and runs pytest with the course's own settings: no ini file, no
conftest.py or plugin from the submission is ever read (the submission's files are not on any
path pytest searches; only the student's module files are reachable, through the loader).

This file imports nothing from the grader: it runs in the process where student code runs.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Recorder:
    """pytest plugin: one JSON line per test phase and per collection error.

    Each line says where an exception came from (the last traceback frame inside the
    submission), so that the grader can tell `not_started` (the stub's NotImplementedError),
    `blocked` (an earlier module's file) and `error` (file and line) apart.
    """

    def __init__(self, out, submission: str):
        self.out = out
        self.submission = os.path.realpath(submission) + os.sep

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
        self.out.write(json.dumps(record) + "\n")
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

    @_pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        record = {"kind": "test", "nodeid": item.nodeid, "when": call.when, "outcome": report.outcome}
        if call.excinfo is not None and report.outcome == "failed":
            record.update(self._exception(call.excinfo))
        if report.outcome == "failed" or call.when == "call":
            self._write(record)

    def pytest_collection_finish(self, session):
        for item in session.items:
            marker = item.get_closest_marker("points")
            points = marker.args[0] if marker and marker.args else None
            self._write({"kind": "item", "nodeid": item.nodeid, "points": points})

    del _pytest


def main(config_path: str) -> int:
    with open(config_path, encoding="utf-8") as fh:
        config = json.load(fh)
    os.unlink(config_path)
    sys.path[:0] = config["sys_path"]
    sys.dont_write_bytecode = True
    import pytest

    records = open(config["records"], "w", encoding="utf-8")
    plugin = Recorder(records, config["submission"])
    # Plugin autoloading is off (PYTEST_DISABLE_PLUGIN_AUTOLOAD): only these plugins run.
    args = [
        *config["tests"],
        "-c", config["ini"], "--rootdir", config["rootdir"],
        "-p", "pytest_timeout", "-p", "pytest_jsonreport.plugin", "-p", "no:cacheprovider",
        "-p", "no:doctest", "-p", "no:pastebin", "-p", "no:junitxml", "-p", "no:legacypath",
        "-p", "no:stepwise", "-p", "no:debugging", "-p", "no:setupplan", "-p", "no:setuponly",
        "--import-mode=importlib", "-q", "-rN", "--no-header", "--color=no",
        f"--timeout={config['test_timeout']}",
        "--json-report", f"--json-report-file={config['json_report']}",
        "--json-report-omit", "log", "streams", "keywords", "warnings", "traceback", "collectors",
    ]
    if config.get("collect_only"):
        args.insert(0, "--collect-only")
    code = pytest.main(args, plugins=[plugin])
    records.close()
    return int(code)


def _run_forked(request: dict) -> int:
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
    code = 3
    try:
        code = main(request["config"])
    except BaseException:        # noqa: BLE001 - anything escaping pytest ends this child only
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    return code


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
    while stdin_open or children:
        readable, _, _ = select.select([sys.stdin] if stdin_open else [], [], [], 0.02)
        if readable:
            line = sys.stdin.readline()
            if not line:
                stdin_open = False
            else:
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _run_forked(request)
                children[pid] = request["id"]
                reply.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
                reply.flush()
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            ident = children.pop(pid, None)
            if ident is not None:
                reply.write(json.dumps({"id": ident, "status": status}) + "\n")
                reply.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--zygote":
        sys.exit(zygote())
    sys.exit(main(sys.argv[1]))
