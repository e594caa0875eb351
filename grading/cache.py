"""The grader's own cache folders (plans, matplotlib's font cache), with a fallback for a user
without a writable home: the unprivileged official regrade runs with HOME=/nonexistent."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir(name: str) -> Path:
    """A writable folder `name` below the user's cache (XDG), or below a private temporary folder."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinytorch-classroom" / name
    try:
        base.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=base, prefix=".probe-"):
            pass
        return base
    except OSError:
        fallback = Path(tempfile.gettempdir()) / f"tinytorch-{os.getuid()}" / name
        fallback.mkdir(mode=0o700, parents=True, exist_ok=True)
        return fallback
