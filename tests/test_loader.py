"""The loader maps tinytorch.* onto the right files and never imports ahead."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support import COURSE, build_submission


def _python(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TINYTORCH_")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**clean, **env}, cwd=COURSE.root)


PROBE = """
import json, sys
import tinytorch.core.layers as layers
print(json.dumps({"file": layers.__file__,
                  "loaded": sorted(n for n in sys.modules if n.startswith("tinytorch.core."))}))
"""


def test_default_loads_the_working_copy_and_nothing_later():
    out = json.loads(_python(PROBE).stdout)
    assert out["file"] == str(COURSE.root / "assignments/03_layers/layers.py")
    assert "tinytorch.core.losses" not in out["loaded"]
    assert "tinytorch.core.layers" in out["loaded"]


def test_solutions_source_loads_the_reference():
    out = json.loads(_python(PROBE, TINYTORCH_SOURCE="solutions").stdout)
    assert out["file"] == str(COURSE.root / "solutions/03_layers/layers.py")


def test_root_loads_another_submission(tmp_path):
    build_submission(tmp_path, keep={"01", "02", "03"})
    proc = _python(PROBE + "\nfrom tinytorch.core.layers import Linear\nprint(Linear(2, 3).weight.shape)",
                   TINYTORCH_ROOT=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert json.loads(first)["file"] == str(tmp_path / "assignments/03_layers/layers.py")
    assert second == "(2, 3)"


def test_importing_the_package_imports_no_module():
    out = _python("import sys, tinytorch; print(sorted(n for n in sys.modules if n.startswith('tinytorch')))")
    assert out.stdout.strip() == "['tinytorch', 'tinytorch.contract', 'tinytorch.manifest']"


def test_syntax_error_names_the_student_file_and_line(tmp_path):
    build_submission(tmp_path, keep={"01"}, edits={"01": lambda t: t + "\ndef oops(:\n"})
    lines = (tmp_path / "assignments/01_tensor/tensor.py").read_text().count("\n")
    proc = _python("import tinytorch.core.tensor", TINYTORCH_ROOT=str(tmp_path))
    assert proc.returncode != 0
    assert str(tmp_path / "assignments/01_tensor/tensor.py") in proc.stderr
    assert f"line {lines}" in proc.stderr and "SyntaxError" in proc.stderr


def test_missing_student_file_is_named(tmp_path):
    build_submission(tmp_path)
    (tmp_path / "assignments/02_activations/activations.py").unlink()
    proc = _python("import tinytorch.core.activations", TINYTORCH_ROOT=str(tmp_path))
    assert "ModuleNotFoundError" in proc.stderr and "activations.py does not exist" in proc.stderr


def test_unknown_module_is_not_found():
    proc = _python("import tinytorch.core.nope")
    assert "ModuleNotFoundError" in proc.stderr
