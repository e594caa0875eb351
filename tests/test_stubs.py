"""The stub generator on small hand-written solutions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from grading.stubs import StubError, make_stub
from tinytorch.manifest import Course, Module

M01 = Module("01", "tensor", "Tensor", "core.tensor", 10, ())
M05 = Module("05", "autograd", "Autograd", "core.autograd", 10, ("01",))
COURSE = Course("t", "tinytorch", (M01, M05), (), {}, Path("."))

SOLUTION = '''\
import numpy as np


class Box:
    def __init__(self, data):
        """Store data."""
        # BEGIN SOLUTION
        self.data = np.asarray(data, dtype=np.float32)
        # END SOLUTION

    def double(self):
        """Twice the data, with a backward rule for module 05."""
        # BEGIN SOLUTION
        out = Box(self.data * 2)
        # END SOLUTION

        def backward(grad):
            """d(2x)/dx = 2."""
            # BEGIN SOLUTION 05
            return grad * 2
            # END SOLUTION

        out._backward = backward
        return out
'''


def _load(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<stub>", "exec"), namespace)
    return namespace


def test_regions_become_not_implemented_naming_module_and_task():
    stub = make_stub(SOLUTION, Path("box.py"), M01, COURSE)
    assert 'raise NotImplementedError("Module 01 (tensor): write Box.__init__ (see its docstring)")' in stub
    assert 'raise NotImplementedError("Module 01 (tensor): write Box.double (see its docstring)")' in stub
    assert 'raise NotImplementedError("Module 05 (autograd): write Box.double.backward (see its docstring)")' in stub
    assert "np.asarray" not in stub and "grad * 2" not in stub
    assert '"""Store data."""' in stub
    with pytest.raises(NotImplementedError, match=r"Module 01 \(tensor\): write Box.__init__"):
        _load(stub)["Box"]([1])


def test_later_module_region_leaves_the_earlier_module_working():
    finished_01 = _load(make_stub(SOLUTION, Path("box.py"), M01, COURSE, keep=frozenset({"01"})))
    box = finished_01["Box"]([1.0, 2.0]).double()
    assert box.data.tolist() == [2.0, 4.0]
    with pytest.raises(NotImplementedError, match=r"Module 05 \(autograd\)"):
        box._backward(1.0)
    finished_05 = _load(make_stub(SOLUTION, Path("box.py"), M01, COURSE, keep=frozenset({"01", "05"})))
    assert finished_05["Box"]([1.0]).double()._backward(3.0) == 6.0


def test_keeping_every_module_gives_the_solution_without_markers():
    full = make_stub(SOLUTION, Path("box.py"), M01, COURSE, keep=frozenset({"01", "05"}))
    assert full == "".join(line for line in SOLUTION.splitlines(keepends=True) if "SOLUTION" not in line)


@pytest.mark.parametrize("source, message", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "without a BEGIN"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", "inside the region"),
    ("# BEGIN SOLUTION\nX = 1\n# END SOLUTION\n", "inside a function"),
    ("def f():\n    # BEGIN SOLUTION 07\n    return 1\n    # END SOLUTION\n", "does not list"),
    ("def f():\n    # BEGIN SOLUTIONS\n    return 1\n    # END SOLUTION\n", "malformed"),
    ("def f(:\n    pass\n", "does not parse"),
])
def test_malformed_solutions_are_refused_with_file_and_line(source, message):
    with pytest.raises(StubError, match=message) as info:
        make_stub(source, Path("bad.py"), M01, COURSE)
    assert str(info.value).startswith("bad.py:")


def test_region_for_an_earlier_module_is_refused():
    later = dataclasses.replace(M05)
    source = "def f():\n    # BEGIN SOLUTION 01\n    return 1\n    # END SOLUTION\n"
    with pytest.raises(StubError, match="earlier than"):
        make_stub(source, Path("x.py"), later, COURSE)
