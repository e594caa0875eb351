"""The static policy check (grading/policy.py) on source text: no grading, no processes."""

from __future__ import annotations

import dataclasses

import pytest

from grading.policy import check_module_source, module_extras_markdown, rules_markdown
from support import COURSE

M03 = COURSE.module("03")


def refused(source: str, module=M03) -> list[str]:
    return [v.describe("f.py") for v in check_module_source(COURSE, module, source)]


@pytest.mark.parametrize("module", COURSE.modules, ids=[m.folder for m in COURSE.modules])
def test_every_reference_solution_and_stub_passes(module):
    for path in (module.solution_file, module.student_file):
        file = COURSE.root / path
        if file.is_file():
            assert refused(file.read_text(encoding="utf-8"), module) == [], path


REFUSED = {
    # the test machinery
    "import pytest": "import of 'pytest'",
    "from _pytest import runner": "import of '_pytest'",
    "import pluggy": "import of 'pluggy'",
    # the interpreter's internals
    "import sys\nsys.modules['pytest'] = None": "'sys.modules'",
    "import sys\nsys.settrace(None)": "'sys.settrace'",
    "import sys\nf = sys._getframe()": "'sys._getframe'",
    "import sys\nsys.stdout = None": "assignment to 'sys.stdout'",
    "import sys\nsys.setrecursionlimit(10 ** 6)": "'sys.setrecursionlimit'",
    "import sys\nsys.exit(0)": "'sys.exit'",
    "from sys import modules": "'from sys import modules'",
    "import builtins": "import of 'builtins'",
    "b = __builtins__": "'__builtins__'",
    "import ctypes": "import of 'ctypes'",
    "import gc": "import of 'gc'",
    "import inspect": "import of 'inspect'",
    "import importlib": "import of 'importlib'",
    "import types": "import of 'types'",
    "import marshal": "import of 'marshal'",
    "import pickle": "import of 'pickle'",
    "m = __import__('os')": "'__import__'",
    "eval('1')": "'eval'",
    "exec('x = 1')": "'exec'",
    "compile('1', 'f', 'eval')": "'compile'",
    "g = globals()": "'globals'",
    "x = ().__class__.__base__.__subclasses__()": "access to '.__subclasses__'",
    "def f():\n    pass\ng = f.__globals__": "access to '.__globals__'",
    "def f():\n    pass\nc = f.__code__": "access to '.__code__'",
    "b = print.__self__": "access to '.__self__'",
    "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    t = e.__traceback__": "access to '.__traceback__'",
    "def g():\n    yield 1\nf = g().gi_frame": "access to '.gi_frame'",
    "x = getattr(object, '__subclasses__')": "the string '__subclasses__'",
    "import random\nrandom._os.system('true')": "access to '._os'",
    "import os\nos.path.os.system('true')": "access to '.os'",
    # other processes, signals, the network
    "import os\nos._exit(0)": "'os._exit'",
    "import os\nos.system('true')": "'os.system'",
    "import os\nos.fork()": "'os.fork'",
    "import os as o\no.kill(1, 9)": "'os.kill'",
    "import os\nos.execv('/bin/true', [])": "'os.execv'",
    "import os\nos.popen('true')": "'os.popen'",
    "from os import system": "'from os import system'",
    "import subprocess": "import of 'subprocess'",
    "import multiprocessing": "import of 'multiprocessing'",
    "import threading": "import of 'threading'",
    "import signal": "import of 'signal'",
    "import socket": "import of 'socket'",
    "import os\nos.environ['TINYTORCH_SOURCE'] = 'solutions'": "changing os.environ",
    "import os\nos.environ.update(A='1')": "changing os.environ",
    "from os import environ": "'from os import environ'",
    "raise SystemExit(0)": "'SystemExit'",
    "exit()": "'exit'",
    # what the tests use
    "import numpy as np\nnp.allclose = lambda *a, **k: True": "assignment to 'np.allclose'",
    "import numpy as np\nnp.random.seed = None": "assignment to 'np.random.seed'",
    "from math import isclose\nisclose.cache = {}": "assignment to 'isclose.cache'",
    "import numpy as np\nlib = np": "using the module 'np' as a value",
    "import numpy as np\nv = vars(np)": "using the module 'np' as a value",
    "import numpy as np\nd = np.__dict__": "access to 'np.__dict__'",
    "import numpy as np\nnp.testing.assert_allclose(1, 1)": "'numpy.testing'",
    "import numpy.ctypeslib": "import of 'numpy.ctypeslib'",
    "from numpy import f2py": "import of 'numpy.f2py'",
    "import numpy as np\nnp.load('x.npy', allow_pickle=True)": "allow_pickle other than False",
    "from numpy import *": "'from numpy import *'",
    "from . import tensor": "a relative import",
    # the course
    "import tinytorch.core.losses": "import of 'tinytorch.core.losses'",
    "from tinytorch.core import losses": "import of 'tinytorch.core.losses'",
    "import tinytorch.testing": "import of 'tinytorch.testing'",
    "import tinytorch": "import of 'tinytorch'",
}


@pytest.mark.parametrize("source", REFUSED, ids=[s.replace("\n", "; ")[:60] for s in REFUSED])
def test_refused_construct_is_named_with_its_line(source):
    """Each snippet's refused construct is on its last line; the message names it and that line."""
    last = len(source.splitlines())
    expected = f"f.py:{last}: {REFUSED[source]} is not allowed in course code"
    assert any(v.startswith(expected) for v in refused(source)), refused(source)


HONEST = '''"""A module docstring may mention __globals__ or f_back: docstrings are not checked."""
from __future__ import annotations

import gzip
import math
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinytorch.core.activations import ReLU
from tinytorch.core.tensor import Tensor, _GradMode
from tinytorch.datasets import fetch

DATA = os.environ.get("TINYTORCH_DATA") or os.path.join(Path.home(), "data")
HAS_DATA = "TINYTORCH_DATA" in os.environ
EPS = sys.float_info.epsilon


class Box:
    __array_ufunc__ = None

    def __new__(cls, *args):
        return object.__new__(cls)

    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)

    def parameters(self):
        return [v for v in vars(self).values() if isinstance(v, Tensor)] + list(self.__dict__)

    def windows(self, x):
        return np.lib.stride_tricks.sliding_window_view(x, 2), as_strided(x, (2,), (8,))


def no_grad():
    _GradMode.enabled = False          # the student's own earlier module: theirs to change


def save(path, arrays):
    with open(f"{path}.tmp", "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(f"{path}.tmp", path)
    print("saved", path, file=sys.stderr)
    return np.load(path, allow_pickle=False), gzip.open, struct.unpack, math.prod, getattr(Box(), "parameters")
'''


def test_honest_code_passes():
    assert refused(HONEST) == []


def test_allow_imports_of_a_module_extend_what_it_may_import():
    plotting = dataclasses.replace(M03, allow_imports=("matplotlib",))
    source = "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    assert refused(source, plotting) == []
    assert any("import of 'matplotlib'" in v for v in refused(source))


def test_a_file_that_does_not_parse_is_left_to_the_run():
    assert refused("def broken(:\n") == []


def test_readme_states_the_rules_of_policy_py():
    readme = (COURSE.root / "README.md").read_text(encoding="utf-8")
    assert rules_markdown() in readme, "README.md's 'What your code may use' differs from grading/policy.py"
    assert module_extras_markdown(COURSE) in readme, "README.md's table of per-module extras differs from course.toml"


def test_course_helpers_give_only_their_named_functions():
    """Module 08 may find files with tinytorch.datasets.fetch, never use its finished readers."""
    m08 = COURSE.module("08")
    assert refused("from tinytorch.datasets import fetch, unpickle_cifar_batch, DataError\n", m08) == []
    for source in ("from tinytorch.datasets import read_idx\n", "import tinytorch.datasets\n",
                   "import tinytorch.datasets as data\n", "from tinytorch.datasets import load_mnist as fetch\n"):
        problems = refused(source, m08)
        assert problems and "tinytorch.datasets" in problems[0], (source, problems)
