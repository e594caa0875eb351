"""Run one grading in its own process, with a wall-clock limit, and kill everything it started.

The gradebook grades each student in a separate `python -m grading grade ...` so that one
hostile or hanging submission can only cost its own row. The grader starts its module
processes in sessions of their own, so killing its process group is not enough: the processes
it started (read from /proc before the kill) are killed with their groups too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

STDERR_KEPT = 8192          # bytes of the grader's stderr kept for the row's message
_running: set[subprocess.Popen] = set()
_lock = threading.Lock()
stopping = threading.Event()   # set by stop_all: what ends now was interrupted, not failed


@dataclass(frozen=True)
class Outcome:
    returncode: int | None       # None: killed at the wall-clock limit
    seconds: float
    stderr: str = ""

    @property
    def last_line(self) -> str:
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def _children() -> dict[int, list[int]]:
    """{parent pid: [child pids]} from /proc (empty where there is no /proc)."""
    tree: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return tree
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            tree.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL `pid`'s group and every process below it, with their groups."""
    victims = descendants(pid)
    groups = {pid}
    for child in victims:
        try:
            groups.add(os.getpgid(child))
        except OSError:
            continue
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    for child in victims:
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass


def stop_all() -> None:
    """Kill every grading still running (Ctrl-C: they are in sessions of their own, so the terminal's
    signal does not reach them)."""
    stopping.set()
    with _lock:
        procs = list(_running)
    for proc in procs:
        kill_tree(proc.pid)


def run(argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> Outcome:
    """Run `argv` in a new session; past `timeout` seconds kill it and all it started."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    with _lock:
        _running.add(proc)
    try:
        _, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:         # something it started still holds the pipe: give up on it
            proc.kill()
            err = b""
        code = None
    finally:
        with _lock:
            _running.discard(proc)
    return Outcome(code, time.monotonic() - started, err[-STDERR_KEPT:].decode("utf-8", errors="replace"))
