"""The notebooks: .py -> .ipynb -> .py byte for byte, the committed ones up to date, export (an
edited cell lands in its place; a malformed notebook is refused by name), the Colab cell, and
every notebook built from the reference solutions run top to bottom with nbclient."""

from __future__ import annotations

import ast
import copy
import dataclasses
import os
import re
import shutil
import sys
import types
from pathlib import Path

import pytest
from nbformat import v4

from grading import generated
from grading.cli import main
from grading.notebooks import (KEY, NotebookError, build_notebook, export, export_and_report, notebook_files,
                               notebook_path, notebook_text, read_notebook)
from grading.template import student_readme
from support import COURSE
from tinytorch.contract import COURSE_ENV, LOADER_DIR, SOURCE_ENV

ROOT = COURSE.root
LAYERS = COURSE.module("03")
CELL_TIMEOUT = 120          # seconds per cell when a notebook runs (the visible tests of a module take ~1 s)
PLACEHOLDER = '"https://github.com/<you>/<your-repo>"'


def _course_cell(nb, name: str):
    names = [c["name"] for c in nb.metadata[KEY]["cells"]]
    return next(c for c in nb.cells if c.metadata.get(KEY, {}).get("cell") == names.index(name))


def _role_cell(nb, role: str):
    return next(c for c in nb.cells if c.metadata.get(KEY, {}).get("role") == role)


# --- the round trip and the committed notebooks -----------------------------------------------

@pytest.mark.parametrize("kind", ["stub", "solution"])
@pytest.mark.parametrize("module", COURSE.modules, ids=lambda m: m.folder)
def test_py_to_notebook_to_py_is_byte_identical(module, kind, tmp_path):
    path = module.student_file if kind == "stub" else module.solution_file
    text = (ROOT / path).read_text(encoding="utf-8")
    nb = build_notebook(module, text, path)
    saved = tmp_path / "saved.ipynb"
    saved.write_text(notebook_text(nb), encoding="utf-8")
    assert export(COURSE, saved, write=False) == text
    # and not by keeping the file in one cell: the docstring is markdown, each top-level def/class a cell
    cells = nb.metadata[KEY]["cells"]
    assert cells[0]["kind"] == "docstring" and _course_cell(nb, cells[0]["name"]).cell_type == "markdown"
    top = [n.name for n in ast.parse(text).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert [c["name"].split(" ", 1)[1] for c in cells if c["name"].startswith(("def ", "class "))] == top
    headings = [c for c in cells if c["kind"] == "banner"]
    assert headings and all(_course_cell(nb, c["name"]).source.startswith("## ") for c in headings)


def test_committed_notebooks_are_what_make_notebooks_writes():
    files = notebook_files(COURSE)
    assert set(files) == {notebook_path(m) for m in COURSE.modules}
    assert generated.stale(files, ROOT) == [], "run `make notebooks` and commit notebooks/"


def test_each_notebook_opens_with_the_colab_cell_and_says_the_tests_read_the_py_file():
    for module in COURSE.modules:
        nb = read_notebook(ROOT / notebook_path(module))
        first, how_to = nb.cells[0], nb.cells[1]
        assert first.cell_type == "code" and '"google.colab" in sys.modules' in first.source
        assert first.source.count(PLACEHOLDER) == 1
        assert how_to.cell_type == "markdown" and nb.cells.index(how_to) == 1
        assert f"The tests and the grader read `{module.student_file}`, not this notebook" in how_to.source
        assert f"make export NB={notebook_path(module).as_posix()}" in how_to.source
        assert f'pytest.main(["-q", "assignments/{module.folder}/tests"])' in nb.cells[-1].source
    readme = student_readme(COURSE)
    assert "read the `.py` file, never the notebook" in readme and "make export NB=" in readme


# --- export -----------------------------------------------------------------------------------

STUB_LINE = '    raise NotImplementedError("Module 03 (layers): write he_normal (see its docstring)")\n'
BODY = "    std = np.sqrt(2.0 / fan_in)\n    return rng.normal(0.0, std, (fan_in, fan_out)).astype(PARAM_DTYPE)\n"


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """A course root holding the manifest and module 03's stub: where export may write."""
    shutil.copyfile(ROOT / "course.toml", tmp_path / "course.toml")
    (tmp_path / LAYERS.student_file).parent.mkdir(parents=True)
    shutil.copyfile(ROOT / LAYERS.student_file, tmp_path / LAYERS.student_file)
    return tmp_path


def test_an_edited_cell_lands_in_the_file_at_its_place_and_scratch_cells_stay_out(course_copy, capsys):
    nb = read_notebook(ROOT / notebook_path(LAYERS))
    cell = _course_cell(nb, "def he_normal")
    assert STUB_LINE.rstrip("\n") in cell.source
    cell.source = cell.source.replace(STUB_LINE.rstrip("\n"), BODY.rstrip("\n"))
    banner = _course_cell(nb, "banner 'Linear'")
    assert banner.source == "## Linear"
    banner.source = "## Linear layer\nNote: y = x @ W + b."
    nb.cells.insert(6, v4.new_code_cell("def scratch_helper():\n    return 1\n\nscratch_helper()"))
    nb.cells.append(v4.new_markdown_cell("my notes"))
    saved = course_copy / "edited.ipynb"
    saved.write_text(notebook_text(nb), encoding="utf-8")

    export_and_report(saved, course_copy)

    stub = (ROOT / LAYERS.student_file).read_text(encoding="utf-8")
    lines = stub.replace(STUB_LINE, BODY, 1).splitlines(keepends=True)
    at = lines.index("# Linear\n")
    lines[at:at + 2] = ["# Linear layer\n", lines[at + 1], "# Note: y = x @ W + b.\n"]  # the title, and a line
    assert (course_copy / LAYERS.student_file).read_text(encoding="utf-8") == "".join(lines)
    out = capsys.readouterr().out
    assert f"{LAYERS.student_file}: written from edited.ipynb" in out
    assert "left out 2 cell(s) of your own" in out and "scratch_helper" in out
    export_and_report(saved, course_copy)
    assert "already up to date" in capsys.readouterr().out


def _delete(nb):
    nb.cells.remove(_course_cell(nb, "class Linear"))


def _move(nb):
    cell = _course_cell(nb, "class Linear")
    nb.cells.remove(cell)
    nb.cells.insert(nb.cells.index(_course_cell(nb, "class Dropout")) + 1, cell)


def _duplicate(nb):
    cell = _course_cell(nb, "class Linear")
    twin = copy.deepcopy(cell)
    twin.id = "my-copy"
    nb.cells.insert(nb.cells.index(cell) + 1, twin)


def _to_markdown(nb):
    cell = _course_cell(nb, "class Linear")
    nb.cells[nb.cells.index(cell)] = v4.new_markdown_cell(cell.source, metadata=cell.metadata)


def _set(path: str, value):
    def change(nb):
        target = nb
        *keys, last = path.split(".")
        for key in keys:
            target = target[key]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return change


def _edit(name: str, old: str, new: str):
    def change(nb):
        cell = _course_cell(nb, name)
        assert old in cell.source
        cell.source = cell.source.replace(old, new, 1)
    return change


def _strip_metadata(add_scratch: bool):
    def change(nb):
        for cell in nb.cells:
            cell.metadata = {}
        if add_scratch:
            nb.cells.insert(5, v4.new_code_cell("1 + 1"))
    return change


@pytest.mark.parametrize("change, message", [
    (_delete, "the cell 'class Linear' is missing"),
    (_move, "the cell 'class Linear' was moved: it now comes after 'class Dropout'"),
    (_duplicate, "the cell 'class Linear' appears twice"),
    (_to_markdown, "the cell 'class Linear' was turned into a markdown cell"),
    (_set(f"metadata.{KEY}", None), "is not one of the course's notebooks"),
    (_set(f"metadata.{KEY}.module", "99"), "module '99', which course.toml does not list"),
    (_set(f"metadata.{KEY}.file", "assignments/03_layers/other.py"), "names the file"),
    (_edit("the module docstring", "# Module 03", "Module 03"), "can no longer be written back as the file's"),
    (_edit("banner 'Linear'", "## Linear", "Linear"), "the cell 'banner 'Linear'' must keep its first line `## title`"),
    (_edit("def he_normal", STUB_LINE.rstrip("\n"), "    return (("), "the cell 'def he_normal' does not parse"),
    (_edit("class Linear", "class Linear(Module):", "%timeit 1\nclass Linear(Module):"),
     "the cell 'class Linear' does not parse"),
    (_strip_metadata(add_scratch=True), "no cell carries the course's metadata any more"),
], ids=["deleted", "moved", "duplicated", "type-changed", "no-metadata", "unknown-module", "other-file",
        "docstring-reshaped", "heading-removed", "syntax-error", "magic", "metadata-lost-and-cell-added"])
def test_a_notebook_that_cannot_be_written_back_is_refused_naming_the_cell(change, message, course_copy):
    nb = read_notebook(ROOT / notebook_path(LAYERS))
    change(nb)
    saved = course_copy / "broken.ipynb"
    saved.write_text(notebook_text(nb), encoding="utf-8")
    before = (course_copy / LAYERS.student_file).read_bytes()
    with pytest.raises(NotebookError, match=re.escape(message)):
        export(dataclasses.replace(COURSE, root=course_copy), saved)
    assert (course_copy / LAYERS.student_file).read_bytes() == before


def test_a_notebook_whose_editor_dropped_all_metadata_is_taken_by_position(course_copy):
    nb = read_notebook(ROOT / notebook_path(LAYERS))
    _strip_metadata(add_scratch=False)(nb)
    saved = course_copy / "plain.ipynb"
    saved.write_text(notebook_text(nb), encoding="utf-8")
    text = export(dataclasses.replace(COURSE, root=course_copy), saved, write=False)
    stub = (ROOT / LAYERS.student_file).read_text(encoding="utf-8")
    assert ast.dump(ast.parse(text)) == ast.dump(ast.parse(stub))     # the same code (blank lines may differ)


def test_make_export_says_what_is_wrong_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json", encoding="utf-8")
    before = (ROOT / LAYERS.student_file).read_bytes()
    assert main(["export", str(bad)]) == 2
    assert f"error: {bad} is not a notebook" in capsys.readouterr().err
    plain = tmp_path / "plain.ipynb"
    plain.write_text(notebook_text(v4.new_notebook(cells=[v4.new_code_cell("x = 1")])), encoding="utf-8")
    assert main(["export", str(plain)]) == 2
    assert "is not one of the course's notebooks" in capsys.readouterr().err
    assert (ROOT / LAYERS.student_file).read_bytes() == before


# --- the Colab cell ---------------------------------------------------------------------------

class FakeIPython:
    """What the Colab cell asks of IPython (`!git ...`, `%cd`, `%pip`), recorded instead of run."""

    def __init__(self):
        self.calls = []

    def system(self, command):
        self.calls.append(("!", command))

    def run_line_magic(self, name, line):
        self.calls.append(("%" + name, line))


def _run_colab_cell(repo: str | None = None) -> FakeIPython:
    from IPython.core.inputtransformer2 import TransformerManager
    source = read_notebook(ROOT / notebook_path(LAYERS)).cells[0].source
    if repo:
        source = source.replace(PLACEHOLDER, f'"{repo}"')
    ipython = FakeIPython()
    exec(TransformerManager().transform_cell(source), {"get_ipython": lambda: ipython})
    return ipython


def test_the_colab_cell_does_nothing_outside_colab(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    path = list(sys.path)
    assert _run_colab_cell("https://github.com/ada/tinytorch-ada").calls == []
    assert capsys.readouterr().out == "Not on Colab: nothing to set up.\n"
    assert sys.path == path


def test_the_colab_cell_clones_installs_and_enters_the_repository_on_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(ValueError, match="Put the address of your repository in REPO"):
        _run_colab_cell()
    ipython = _run_colab_cell("https://github.com/ada/tinytorch-ada.git")
    assert ipython.calls == [("!", "git clone -q {url} {clone}"), ("%cd", "{clone}"),
                             ("%pip", 'install -q -e ".[notebooks]"')]
    assert sys.path[:2] == ["/content/tinytorch-ada", f"/content/tinytorch-ada/{LOADER_DIR}"]


# --- every notebook built from the reference solutions runs -----------------------------------

@pytest.fixture(scope="module")
def solution_notebooks(tmp_path_factory) -> Path:
    """A copy of the course whose notebooks/ are built from the reference solutions."""
    root = tmp_path_factory.mktemp("course")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "hidden")
    for name in ("grading", LOADER_DIR, "assignments", "solutions"):
        shutil.copytree(ROOT / name, root / name, ignore=ignore)
    for name in ("course.toml", "pyproject.toml"):
        shutil.copyfile(ROOT / name, root / name)
    generated.write(notebook_files(COURSE, source="solutions"), root)
    return root


def _output(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("module", COURSE.modules, ids=lambda m: m.folder)
def test_every_notebook_of_the_reference_runs_top_to_bottom(module, solution_notebooks):
    from nbclient import NotebookClient
    root = solution_notebooks
    path = root / notebook_path(module)
    nb = read_notebook(path)
    env = {**os.environ, SOURCE_ENV: "solutions", COURSE_ENV: str(root), "PY_COLORS": "0",
           "IPYTHONDIR": str(root / ".ipython"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root / LOADER_DIR), os.environ.get("PYTHONPATH")]))}
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT, shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(path.parent)}})   # Jupyter starts in notebooks/
    client.execute(env=env)            # a cell that raises fails the test with its traceback

    assert _output(_role_cell(nb, "colab-setup")) == "Not on Colab: nothing to set up.\n"
    assert f"{module.student_file}: written from {path.name}" in _output(_role_cell(nb, "export"))
    assert (root / module.student_file).read_text(encoding="utf-8") == (root / module.solution_file).read_text(
        encoding="utf-8"), "the export cell should have written the notebook's code into the student file"
    tests = _output(_role_cell(nb, "tests"))
    assert re.search(r"^\d+ passed in ", tests, re.MULTILINE) and not re.search(r"failed|error", tests), tests
