"""Session fixtures of the course's own test suite (helpers live in support.py)."""

from __future__ import annotations

import pytest

from support import COURSE, build_submission, grade_folder, tree_digest


@pytest.fixture(scope="session")
def course():
    return COURSE


@pytest.fixture(scope="session")
def reference_report(tmp_path_factory):
    """The reference solutions graded once for the whole session (visible + hidden tests)."""
    root = build_submission(tmp_path_factory.mktemp("reference"))
    before = tree_digest(root)
    report = grade_folder(root)
    return report, root, before


@pytest.fixture(scope="session")
def stub_report(tmp_path_factory):
    root = build_submission(tmp_path_factory.mktemp("stubs"), keep=())
    return grade_folder(root)
