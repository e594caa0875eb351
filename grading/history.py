"""A student's git history, only read: its commits with their dates, and its files at a commit.

Everything goes through `integrity.git_bytes` (optional locks off) and reads objects only:
nothing is checked out, and the working tree, the index and the refs stay as they are. Commit
dates are what the student's git wrote, so they are self-reported; deadlines.py says when a
snapshot is the better witness.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grading.integrity import git, git_bytes

REPOSITORY, NO_COMMITS, NOT_A_REPOSITORY = "repository", "no-commits", "not-a-repository"
REGULAR_MODES = {"100644", "100755"}
LINK_MODE = "120000"


@dataclass(frozen=True)
class Commit:
    sha: str
    time: datetime            # the committer date, with its offset (self-reported)

    @property
    def short(self) -> str:
        return self.sha[:10]


def state(folder: Path) -> str:
    """REPOSITORY (has a HEAD commit), NO_COMMITS (a repository nobody committed to) or NOT_A_REPOSITORY."""
    if git(folder, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"):
        return REPOSITORY
    return NO_COMMITS if git(folder, "rev-parse", "--git-dir") is not None else NOT_A_REPOSITORY


def state_message(value: str, folder: Path) -> str:
    """What a TA reads in the gradebook row when a folder is not a repository with commits."""
    if value == NO_COMMITS:
        return f"{folder.name} is a git repository without commits: nothing was submitted (git log is empty)"
    return (f"{folder.name} is not a git repository (no .git, or git cannot read it): there is no commit to "
            "grade at a deadline")


def is_shallow(folder: Path) -> bool:
    """A shallow clone lacks the older commits: grading it at a deadline would find nothing."""
    return (git(folder, "rev-parse", "--is-shallow-repository") or "").strip() == "true"


def _parse(lines: str) -> list[Commit]:
    out = []
    for line in lines.splitlines():
        sha, _, when = line.partition(" ")
        if sha and when:
            out.append(Commit(sha, datetime.fromisoformat(when.strip())))
    return out


def commits(folder: Path, start: str = "HEAD") -> list[Commit]:
    """Every commit reachable from `start`, newest first (git log order)."""
    return _parse(git(folder, "log", "--format=%H %cI", start, "--") or "")


def last_touching(folder: Path, start: str, paths: list[str]) -> Commit | None:
    """The newest commit reachable from `start` that changed one of `paths`."""
    found = _parse(git(folder, "log", "-1", "--format=%H %cI", start, "--", *paths) or "")
    return found[0] if found else None


def is_ancestor(folder: Path, ancestor: str, descendant: str) -> bool:
    return git(folder, "merge-base", "--is-ancestor", ancestor, descendant) is not None


def last_before(history: list[Commit], when: datetime) -> Commit | None:
    """The newest commit dated no later than `when` (ties: the first in git log order)."""
    best = None
    for commit in history:
        if commit.time <= when and (best is None or commit.time > best.time):
            best = commit
    return best


def export(folder: Path, commit: str, paths: list[str], dest: Path) -> list[str]:
    """Write `paths` as they are at `commit` (read from git objects) under `dest`; return those written.

    A path missing at that commit is left out (the grader then says it is missing); a symbolic
    link stays a link, which the grader refuses as it refuses one in a working tree.
    """
    listing = git_bytes(folder, "ls-tree", "-r", "-z", commit, "--", *paths) or b""
    written = []
    for entry in filter(None, listing.split(b"\0")):
        meta, _, name = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        relative = name.decode("utf-8", errors="replace")
        if kind != "blob" or relative not in paths:
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data = git_bytes(folder, "cat-file", "blob", sha)
        if data is None:
            continue
        if mode == LINK_MODE:
            os.symlink(data.decode("utf-8", errors="replace"), target)
        elif mode in REGULAR_MODES:
            target.write_bytes(data)
        else:
            continue
        written.append(relative)
    return written
