"""The limits a module's test process runs under, and how they are applied.

Defaults come from `[grading]` in course.toml; a module may override the time and memory
limits in its own entry (`test_timeout`, `module_timeout`, `memory_mb`, `cpu_seconds`); a
command-line override (make grade TIMEOUT=...) wins over both.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, fields, replace

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
    timeouts_before_stop: int = 2       # per-test timeouts after which a module's run stops

    @classmethod
    def from_manifest(cls, grading: dict, **overrides) -> "Limits":
        names = {f.name for f in fields(cls)}
        values = {k: grading[k] for k in names if k in grading}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def for_module(self, module, overrides: dict | None = None) -> "Limits":
        """These limits with the module's own settings (course.toml), then `overrides`, applied."""
        values = dict(module.limits)
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return replace(self, **values)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
                    status = dict(line.split(":", 1) for line in fh if ":" in line)
                if int(status["Uid"].split()[0]) == uid:
                    total += int(status["Threads"])
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


def apply_limits(values: dict[str, tuple[int, int]]) -> None:
    for name, pair in values.items():
        resource.setrlimit(getattr(resource, name), pair)
