"""Small text helpers shared by every message a student reads (grader reports and `make test`)."""

from __future__ import annotations

import re

SIGNIFICANT = 6
_LONG_FLOAT = re.compile(r"(?<![\w.])(-?\d+\.\d{6,})(e[-+]?\d+)?")


def tidy_numbers(text: str) -> str:
    """Round floats written with float32 noise to SIGNIFICANT digits: -0.0010000000474974513 -> -0.001."""
    return _LONG_FLOAT.sub(lambda match: f"{float(match.group(0)):.{SIGNIFICANT}g}", text)
