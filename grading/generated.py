"""Generated files: every generator returns {path relative to a root: text}; this writes or checks them.

Stubs (`make stubs`), workflows (`make workflow`) and the notebooks are generated from one
source; a committed copy that differs from what its generator writes is stale, and the course's
own tests fail on it.
"""

from __future__ import annotations

from pathlib import Path


def stale(files: dict[Path, str], root: Path) -> list[str]:
    """The paths whose file under `root` is missing or differs from the generated text."""
    return [str(relative) for relative, text in files.items() if not _same(root / relative, text)]


def write(files: dict[Path, str], root: Path) -> list[Path]:
    """Write every file that is missing or differs; return the paths written."""
    changed = []
    for relative, text in files.items():
        path = root / relative
        if not _same(path, text):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def _same(path: Path, text: str) -> bool:
    return path.is_file() and path.read_text(encoding="utf-8") == text
