"""A process that has imported pytest and NumPy once and forks one test process per module.

Starting Python, pytest and NumPy costs about a quarter of a second per process; with one
process per module that start-up was most of the grader's overhead over a bare pytest run.
Each forked child still gets its own session, limits, environment and output file, and is
killed with its whole process group on timeout. Student code never runs in the zygote (child.py,
`zygote()`, is its other half).
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

CHILD = Path(__file__).with_name("child.py")
START_SECONDS = 60          # the zygote's answers to "ready" and "forked" come within this


class Zygote:
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
        pid = box.get(timeout=START_SECONDS).get("pid")
        wall_timeout = False
        try:
            message = box.get(timeout=max(0.0, timeout - (time.monotonic() - started)))
        except queue.Empty:
            wall_timeout = True
            message = None
        if pid:
            kill_group(pid)
        if message is None:
            message = box.get(timeout=START_SECONDS)
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
            kill_group(self.proc.pid)
            self.proc.wait()


def kill_group(pid: int) -> None:
    """Kill a child's whole session: whatever its tests started goes too."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
