"""The contract between the loader (this package) and the grader: names both sides rely on.

The grader imports this module; the loader defines its behaviour by it. Nothing here imports
the grader, and nothing here runs student code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LOADER_DIR = "tinytorch_stub"        # the folder of this package inside a course checkout

# Environment variables the loader reads (the grader sets them for each test process).
SOURCE_ENV = "TINYTORCH_SOURCE"      # "solutions": load the reference solutions of the checkout
ROOT_ENV = "TINYTORCH_ROOT"          # another submission root: ROOT/assignments/NN_slug/slug.py
COURSE_ENV = "TINYTORCH_COURSE"      # another course checkout (its course.toml)
DATA_ENV = "TINYTORCH_DATA"          # a local folder of data sets (tinytorch.datasets)
LOADER_ENV = frozenset({SOURCE_ENV, ROOT_ENV, COURSE_ENV})    # student code may not change these
SOLUTIONS = "solutions"

# What unpickling may rebuild: NumPy arrays and nothing else (CIFAR-10 batches are pickles of
# arrays; any other global a pickle names could run code). (module, name) pairs; NumPy 2 moved
# numpy.core to numpy._core, so both spellings are listed.
PICKLE_GLOBALS = frozenset({
    (core, name)
    for core in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
})


def uses_solutions(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the loader reads the reference solutions (TINYTORCH_SOURCE=solutions)."""
    environ = os.environ if environ is None else environ
    return environ.get(SOURCE_ENV, "").strip().lower() == SOLUTIONS
