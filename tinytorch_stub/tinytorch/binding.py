"""Given to course code: a call's arguments by parameter name, defaults included.

Module 01's given `graph_op` records every argument of an op on its graph node, so that a
backward rule reads `self.params["axis"]` and never repeats a default. Student files may not
import `inspect` (it reaches frames and globals: see grading/policy.py), so this one function
does the binding for them; the policy lets student files import exactly this name.
"""

from __future__ import annotations

import inspect


def arguments_binder(function):
    """A function `bind(args, kwargs) -> {parameter: value}` for calls of `function`."""
    signature = inspect.signature(function)

    def bind(args: tuple, kwargs: dict) -> dict:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    return bind
