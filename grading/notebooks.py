"""Notebooks from the student files, for Jupyter and Colab, and back (jupytext's percent format).

    python -m grading notebooks [--check]   write notebooks/NN_slug.ipynb from the stubs (make notebooks)
    python -m grading export NB             write NB's code cells back into its student file (make export NB=...)

A notebook holds the student file cut at its top-level boundaries, between cells of its own:

    [Colab set-up]  code; clones, installs and enters the student's repository on Colab only
    [how to work]   markdown; the tests read the .py file, so: edit, export, test
    the file        the module docstring (markdown), the imports cell, then one code cell per
                    top-level class or function, and each `# ---` banner comment as markdown
    [export]        code; writes the course cells back into the .py (what `make export` does)
    [tests]         code; the module's visible tests, in-process, from the repository root

py -> notebook: a cell marker (`# %%`, or `# %% [markdown]` before a banner) is inserted before
each part of the file, and jupytext reads that percent text: a banner becomes a markdown cell
(its comment lines without `# `, written back as the same lines), and the blank lines after a
cell go to its `lines_to_next_cell`. Two cells are then shown better, reversibly: the docstring
as markdown (its first line a `#` heading, the rest a ```text block) and a banner's rules and
title as a `## title` heading (the notebook's metadata keeps the rules). Each course cell carries
`tinytorch.cell`, its place in the file; the notebook's metadata names every cell, so that
export can say which one is missing or out of place.

notebook -> py (export): the course cells in order (cells without `tinytorch.cell` are the
student's scratch cells and stay out), the docstring and headings turned back, jupytext's
percent text, and the markers removed: exactly what was inserted. Building a notebook checks
that export gives the file back byte for byte, so a file that cannot round-trip is refused.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from grading.stubs import stub_files
from tinytorch.manifest import Course, Module, load_course

if TYPE_CHECKING:
    from nbformat import NotebookNode

FOLDER = "notebooks"
FORMAT = {"extension": ".py", "format_name": "percent", "comment_magics": False,
          "notebook_metadata_filter": "-all", "cell_metadata_filter": "-all"}
CODE_MARKER, MARKDOWN_MARKER = "# %%\n", "# %% [markdown]\n"
JUPYTEXT_KEYS = ("lines_to_next_cell",)     # the cell metadata jupytext needs to write a cell back
BANNER = re.compile(r"^# -{3,}")            # a top-level comment block that starts so is a section
KEY = "tinytorch"                            # notebook and cell metadata of the course
KINDS = ("docstring", "banner", "code")


class NotebookError(ValueError):
    """A notebook that cannot be built from its file, or written back into it."""


@dataclass(frozen=True)
class Part:
    """A run of lines of a student file that becomes one cell."""
    kind: str       # "docstring" and "banner" become markdown cells, "code" a code cell
    name: str       # how messages name the cell: "class Linear", "banner 'Linear'"
    text: str       # the file's lines, exactly, with the blank lines that follow them


def notebook_path(module: Module) -> Path:
    return Path(FOLDER) / f"{module.folder}.ipynb"


# --- py -> parts ------------------------------------------------------------------------------

def split_parts(source: str, path: str) -> list[Part]:
    """The file cut before its docstring, its first statement, each top-level def/class (with
    its decorators and the comment lines right above it) and each banner comment block."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise NotebookError(f"{path}:{exc.lineno}: does not parse ({exc.msg}); a notebook needs a file "
                            "that runs") from None
    lines = source.splitlines(keepends=True)
    comments = _comment_lines(source)
    starts: dict[int, tuple[str, str]] = {0: ("code", "")}
    body = list(tree.body)
    if body and _is_docstring(body[0]):
        doc = body.pop(0)
        literal = "".join(lines[doc.lineno - 1:doc.end_lineno]).removesuffix("\n")
        starts[doc.lineno - 1] = ("docstring" if _docstring_markdown(literal) else "code", "the module docstring")
        if body:
            first = isinstance(body[0], (ast.Import, ast.ImportFrom))
            starts[_first_line(body[0]) - 1] = ("code", "the imports" if first else "")
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = _first_line(node) - 1
            while start - 1 in comments:
                start -= 1
            starts[start] = ("code", f"{'class' if isinstance(node, ast.ClassDef) else 'def'} {node.name}")
    inside = {n - 1 for node in tree.body for n in range(_first_line(node), node.end_lineno + 1)}
    for line, (kind, name) in _banners(lines, comments, inside).items():
        if kind == "banner" or line not in starts:
            starts[line] = (kind, name)
    bounds = sorted(starts) + [len(lines)]
    return [Part(starts[a][0], starts[a][1] or _first_words(lines[a:b]), "".join(lines[a:b]))
            for a, b in zip(bounds, bounds[1:]) if a < b]


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _first_line(node: ast.stmt) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _comment_lines(source: str) -> set[int]:
    """0-based numbers of the lines that hold nothing but a comment starting in column 0."""
    return {tok.start[0] - 1 for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT and tok.start[1] == 0}


def _banners(lines: list[str], comments: set[int], inside: set[int]) -> dict[int, tuple[str, str]]:
    """Banner blocks between top-level statements: a comment block that starts with `# ---` after a
    blank line and ends before one. The code after a banner starts a cell of its own."""
    found: dict[int, tuple[str, str]] = {}
    i = 0
    while i < len(lines):
        end = i
        while end in comments and end not in inside:
            end += 1
        before_blank = i == 0 or not lines[i - 1].strip()
        after_blank = end >= len(lines) or not lines[end].strip()
        if end > i and BANNER.match(lines[i]) and before_blank and after_blank:
            found[i] = ("banner", f"banner '{_banner_title(lines[i:end])}'")
            code = next((n for n in range(end, len(lines)) if lines[n].strip()), None)
            if code is not None:
                found.setdefault(code, ("code", ""))
        i = max(end, i + 1)
    return found


def _banner_title(lines: list[str]) -> str:
    return next((t for t in (line.strip("#- \n") for line in lines) if t), "")


def _first_words(lines: list[str]) -> str:
    first = next((line.strip() for line in lines if line.strip()), "")
    return first if len(first) <= 50 else first[:47] + "..."


# --- the docstring and the banners as markdown ------------------------------------------------

RULE_AND_TITLE = re.compile(r"^(-{3,}) (\S.*)$")      # "---------------------- shape rules"
RULE = re.compile(r"^-{3,}$")                         # a rule, the title on the next line, the rule again


def _docstring_markdown(code: str) -> str | None:
    """A docstring of the shape title line, empty line, body, closing quotes on their own line, as
    a `# title` heading and the body in a ```text block; None for another shape (it stays code)."""
    if not (code.startswith('"""') and code.endswith('\n"""')) or "```" in code:
        return None
    lines = code[3:-4].split("\n")
    if len(lines) < 2 or not lines[0].strip() or lines[0] != lines[0].lstrip() or lines[1]:
        return None
    return f"# {lines[0]}\n\n```text\n" + "\n".join(lines[2:]) + "\n```"


def _docstring_code(markdown: str, name: str, where: str) -> str:
    lines = markdown.split("\n")
    if len(lines) < 4 or not lines[0].startswith("# ") or lines[1] or lines[2] != "```text" or lines[-1] != "```":
        raise NotebookError(f"{where}: the cell '{name}' can no longer be written back as the file's docstring: keep "
                            "its first line `# title`, then an empty line, then the text between ```text and ```")
    return '"""' + lines[0][2:] + "\n\n" + "\n".join(lines[3:-1]) + '\n"""'


def _banner_heading(markdown: str) -> tuple[str, str] | None:
    """A banner (as jupytext reads it) with its rules and title shown as a `## title` heading, and
    the template that gives them back; None for another shape (the banner is then shown as it is)."""
    lines = markdown.split("\n")
    if match := RULE_AND_TITLE.match(lines[0]):
        title, template, rest = match[2], match[1] + " {title}", lines[1:]
    elif len(lines) >= 3 and RULE.match(lines[0]) and lines[2] == lines[0] and lines[1] == lines[1].strip() != "":
        title, template, rest = lines[1], lines[0] + "\n{title}\n" + lines[0], lines[3:]
    else:
        return None
    if "{title}" in title:
        return None
    return "\n".join([f"## {title}", *rest]), template


def _banner_text(markdown: str, template: str, name: str, where: str) -> str:
    first, newline, rest = markdown.partition("\n")
    if not first.startswith("## ") or not first[3:].strip():
        raise NotebookError(f"{where}: the cell '{name}' must keep its first line `## title`: it becomes the "
                            "banner comment of the file")
    return template.replace("{title}", first[3:]) + newline + rest


# --- parts -> notebook ------------------------------------------------------------------------

def _nbformat():
    """nbformat, imported on first use: the grader's other commands start without it (0.1 s)."""
    import nbformat
    return nbformat


def _v4():
    return _nbformat().v4


def _jupytext():
    try:
        import jupytext
    except ImportError:
        raise NotebookError("jupytext is not installed: `pip install -e '.[notebooks]'` (or run "
                            "`make export NB=...`, which installs it)") from None
    return jupytext


def course_cells(parts: list[Part]) -> tuple[list, list[dict]]:
    """The cells of the file's parts, each marked with its place in the file, and what the
    notebook's metadata says of each: kind, name, and a banner's heading template."""
    text = "".join((MARKDOWN_MARKER if part.kind == "banner" else CODE_MARKER) + part.text for part in parts)
    cells = _jupytext().reads(text, fmt=FORMAT).cells
    if len(cells) != len(parts):
        raise NotebookError(f"jupytext read {len(cells)} cells from {len(parts)} parts (a line `# %%` in the file?)")
    entries = []
    for k, (part, cell) in enumerate(zip(parts, cells)):
        entry = {"kind": part.kind, "name": part.name}
        if part.kind == "docstring":
            cell = _v4().new_markdown_cell(_docstring_markdown(cell.source), metadata=cell.metadata)
        elif part.kind == "banner" and (heading := _banner_heading(cell.source)):
            cell.source, entry["heading"] = heading
        cell.metadata[KEY] = {"cell": k}
        cell.id = f"cell-{k:02d}"
        cells[k] = cell
        entries.append(entry)
    return cells, entries


def build_notebook(module: Module, source: str, path: str) -> NotebookNode:
    cells, entries = course_cells(split_parts(source, path))
    values = {"id": module.id, "slug": module.slug, "title": module.title, "file": module.student_file,
              "notebook": notebook_path(module).as_posix(), "tests": f"assignments/{module.folder}/tests"}
    head = [_cell(kind, role, template, values) for kind, role, template in HEAD_CELLS]
    tail = [_cell(kind, role, template, values) for kind, role, template in TAIL_CELLS]
    metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        KEY: {"module": module.id, "file": module.student_file, "cells": entries},
    }
    return _v4().new_notebook(cells=[*head, *cells, *tail], metadata=metadata)


def _cell(kind: str, ident: str, template: str, values: dict) -> NotebookNode:
    text = Template(template).substitute(values).strip("\n")
    cell = _v4().new_code_cell(text) if kind == "code" else _v4().new_markdown_cell(text)
    cell.id = ident
    cell.metadata[KEY] = {"role": ident}
    return cell


def notebook_text(nb: NotebookNode) -> str:
    return _nbformat().writes(nb) + "\n"


def notebook_files(course: Course, source: str = "stubs") -> dict[Path, str]:
    """{notebooks/NN_slug.ipynb: notebook JSON} built from the stubs or from the reference solutions.

    Each one is checked: exporting it gives its source file back byte for byte."""
    if source not in ("stubs", "solutions"):
        raise ValueError(f"source must be 'stubs' or 'solutions'; got {source!r}")
    texts = stub_files(course) if source == "stubs" else {
        Path(m.solution_file): (course.root / m.solution_file).read_text(encoding="utf-8") for m in course.modules}
    files: dict[Path, str] = {}
    for module, (path, text) in zip(course.modules, texts.items()):
        nb = build_notebook(module, text, str(path))
        if notebook_source(course, nb, str(path))[1] != text:
            raise NotebookError(f"{path}: the notebook does not give the file back byte for byte; "
                                "see grading/notebooks.py for what a file may hold")
        files[notebook_path(module)] = notebook_text(nb)
    return files


# --- notebook -> py ---------------------------------------------------------------------------

def notebook_source(course: Course, nb: NotebookNode, where: str) -> tuple[Module, str]:
    """The module a course notebook belongs to and the text of its student file, from its course cells."""
    module, entries = _course_notebook(course, nb, where)
    cells = _ordered_course_cells(nb, entries, where)
    plain = [_file_cell(cell, entry, where) for cell, entry in zip(cells, entries)]
    text = _jupytext().writes(_v4().new_notebook(cells=plain), fmt=FORMAT)
    source, starts = _remove_markers(text, len(plain), where)
    _check_parses(source, starts, [entry["name"] for entry in entries], module, where)
    return module, source


def _file_cell(cell, entry: dict, where: str) -> NotebookNode:
    """A course cell as jupytext is to write it into the file: the docstring as code, a banner's
    heading as its rules again, and of the metadata only what jupytext needs."""
    kind, name = entry["kind"], entry["name"]
    expected = "code" if kind == "code" else "markdown"
    if cell.cell_type != expected:
        raise NotebookError(f"{where}: the cell '{name}' was turned into a {cell.cell_type} cell; "
                            f"make it a {expected} cell again")
    metadata = {key: cell.metadata[key] for key in JUPYTEXT_KEYS if key in cell.metadata}
    if kind == "docstring":
        return _v4().new_code_cell(_docstring_code(cell.source, name, where), metadata=metadata)
    if kind == "banner":
        source = _banner_text(cell.source, entry["heading"], name, where) if "heading" in entry else cell.source
        return _v4().new_markdown_cell(source, metadata=metadata)
    return _v4().new_code_cell(cell.source, metadata=metadata)


def _course_notebook(course: Course, nb, where: str) -> tuple[Module, list[dict]]:
    """The module named by the notebook's metadata, and what it says of each course cell."""
    meta = nb.get("metadata", {}).get(KEY)
    hint = "`make notebooks` writes the course's notebooks as notebooks/NN_slug.ipynb"
    if not isinstance(meta, dict) or "module" not in meta or not isinstance(meta.get("cells"), list):
        raise NotebookError(f"{where} is not one of the course's notebooks (its metadata has no '{KEY}' "
                            f"entry); {hint}")
    try:
        module = course.module(str(meta["module"]))
    except KeyError:
        raise NotebookError(f"{where} is a notebook of module {meta['module']!r}, which course.toml does not "
                            f"list; {hint}") from None
    if meta.get("file") != module.student_file:
        raise NotebookError(f"{where} names the file {meta.get('file')!r}, not {module.student_file}; {hint}")
    entries = meta["cells"]
    if not all(isinstance(e, dict) and e.get("kind") in KINDS and isinstance(e.get("name"), str)
               and isinstance(e.get("heading", ""), str) for e in entries):
        raise NotebookError(f"{where}: its metadata '{KEY}.cells' was changed; {hint}")
    return module, entries


def _course_mark(cell) -> dict:
    mark = cell.get("metadata", {}).get(KEY)
    return mark if isinstance(mark, dict) else {}


def _ordered_course_cells(nb, entries: list[dict], where: str) -> list:
    """The course cells, checked: each once, none missing, in the order of the file."""
    if not any(_course_mark(cell) for cell in nb.cells):
        return _cells_by_position(nb, entries, where)
    names = [entry["name"] for entry in entries]
    seen: dict[int, int] = {}
    order: list[tuple[int, object]] = []
    for position, cell in enumerate(nb.cells):
        k = _course_mark(cell).get("cell")
        if not isinstance(k, int) or not 0 <= k < len(names):
            continue                                   # a cell of the student's own, or an added one
        if k in seen:
            raise NotebookError(f"{where}: the cell '{names[k]}' appears twice (cells {seen[k] + 1} and "
                                f"{position + 1}: copied or split?); keep one cell with all of its code")
        seen[k] = position
        order.append((k, cell))
    missing = [names[k] for k in range(len(names)) if k not in seen]
    if missing:
        raise NotebookError(f"{where}: the cell '{missing[0]}' is missing (deleted, or its metadata lost); "
                            "export needs every course cell to rebuild the file: restore it (git checkout "
                            "the notebook, then copy your code into it)")
    for (k_before, _), (k, _) in zip(order, order[1:]):
        if k < k_before:
            raise NotebookError(f"{where}: the cell '{names[k]}' was moved: it now comes after "
                                f"'{names[k_before]}'; move it back above it, the file keeps that order")
    return [cell for _, cell in order]


def _cells_by_position(nb, entries: list[dict], where: str) -> list:
    """Every cell lost its metadata (an editor that drops what it does not know): the course cells
    are then the ones between the notebook's own head and tail cells, if nothing was added or moved."""
    cells = nb.cells[len(HEAD_CELLS):len(nb.cells) - len(TAIL_CELLS)]
    types = ["code" if entry["kind"] == "code" else "markdown" for entry in entries]
    if len(nb.cells) != len(HEAD_CELLS) + len(entries) + len(TAIL_CELLS) or [c.cell_type for c in cells] != types:
        raise NotebookError(f"{where}: no cell carries the course's metadata any more (removed by the editor?) "
                            f"and the cells do not line up with the {len(entries)} cells of the file, so export "
                            "cannot tell which is which: take a fresh copy of the notebook (git checkout) and "
                            "copy your code into its cells")
    return cells


def _remove_markers(text: str, count: int, where: str) -> tuple[str, list[int]]:
    """The percent text without the marker lines, and the line (1-based) each cell starts on."""
    out: list[str] = []
    starts: list[int] = []
    for line in text.splitlines(keepends=True):
        if line in (CODE_MARKER, MARKDOWN_MARKER):
            starts.append(len(out) + 1)
        else:
            out.append(line)
    if len(starts) != count or not text.startswith((CODE_MARKER, MARKDOWN_MARKER)):
        raise NotebookError(f"{where}: a course cell holds a line `# %%` (jupytext's cell marker); remove it")
    return "".join(out), starts


def _check_parses(source: str, starts: list[int], names: list[str], module: Module, where: str) -> None:
    try:
        ast.parse(source, filename=module.student_file)
    except SyntaxError as exc:
        k = max((k for k, start in enumerate(starts) if start <= (exc.lineno or 1)), default=0)
        raise NotebookError(f"{where}: the cell '{names[k]}' does not parse: {exc.msg} ({module.student_file}:"
                            f"{exc.lineno}); fix it (a `%magic` or `!command` belongs in a cell of your own) and "
                            f"export again: {module.student_file} was not changed") from None


def read_notebook(path: Path) -> NotebookNode:
    try:
        return _nbformat().reads(path.read_text(encoding="utf-8"), as_version=4)
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such notebook") from None
    except Exception as exc:            # not JSON, not UTF-8, not nbformat's schema: each says why
        raise NotebookError(f"{path} is not a notebook ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def export(course: Course, notebook: Path | str, write: bool = True) -> str:
    """The student file rebuilt from `notebook`'s course cells; `write` writes it into the course."""
    return _export(course, Path(notebook), write)[1]


def _export(course: Course, notebook: Path, write: bool) -> tuple[Module, str, bool, list]:
    """(module, file text, whether the file changed, the student's own cells)."""
    nb = read_notebook(notebook)
    module, text = notebook_source(course, nb, str(notebook))
    target = course.root / module.student_file
    changed = not (target.is_file() and target.read_text(encoding="utf-8") == text)
    if write and changed:
        target.write_text(text, encoding="utf-8")
    marked = any(_course_mark(c) for c in nb.cells)      # else export took the cells by position
    return module, text, changed, [c for c in nb.cells if marked and not _course_mark(c)]


def export_and_report(notebook: Path | str, root: Path | None = None) -> None:
    """Export, and say what was written and which cells were left out (the notebook's export cell)."""
    notebook = Path(notebook)
    if root is None:
        root = next((p for p in notebook.resolve().parents if (p / "course.toml").is_file()), None)
        if root is None:
            raise NotebookError(f"{notebook} is not inside a course repository (no course.toml above it)")
    module, _, changed, own = _export(load_course(root), notebook, write=True)
    print(f"{module.student_file}: {'written' if changed else 'already up to date'} from {notebook.name}")
    if own:
        print(_own_cells_note(own))


def _own_cells_note(cells: list) -> str:
    """Which cells of the student's own export left out; a def or class in one may be missed in the file."""
    defined = []
    for cell in cells:
        try:
            tree = ast.parse(cell.source) if cell.cell_type == "code" else None
        except SyntaxError:
            continue
        defined += [node.name for node in getattr(tree, "body", [])
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    note = f"left out {len(cells)} cell(s) of your own (scratch cells are not exported)"
    if defined:
        note += (f"; they define {', '.join(defined)}: if the file needs it, move the code into one "
                 "of the course's cells and export again")
    return note


# --- the command line -------------------------------------------------------------------------

def cmd_notebooks(args) -> int:
    from grading.cli import write_or_check
    course = load_course()
    return write_or_check(course, args.check, "notebooks", "notebooks", notebook_files(course))


def cmd_export(args) -> int:
    export_and_report(Path(args.notebook), load_course().root)
    return 0


def add_parser(sub) -> None:
    n = sub.add_parser("notebooks", help="write notebooks/NN_slug.ipynb from the stubs (or --check them)")
    n.add_argument("--check", action="store_true")
    n.set_defaults(func=cmd_notebooks)
    e = sub.add_parser("export", help="write a notebook's code cells back into its student file")
    e.add_argument("notebook", help="e.g. notebooks/03_layers.ipynb")
    e.set_defaults(func=cmd_export)


# --- the notebook's own cells ($names are filled in per module) --------------------------------

COLAB_CELL = '''
# Colab set-up. On Google Colab this clones your repository, installs it and changes into it;
# anywhere else (Jupyter on your machine) it does nothing. Your repository's address, once:
REPO = "https://github.com/<you>/<your-repo>"

import sys

if "google.colab" in sys.modules:
    from pathlib import Path

    if "<you>" in REPO:
        raise ValueError("Put the address of your repository in REPO above, then run this cell again")
    clone = Path("/content") / REPO.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]
    if not clone.exists():
        url = REPO
        try:  # a private repository: a Colab secret GITHUB_TOKEN (key icon, left) lets git read it
            from google.colab import userdata
            url = REPO.replace("https://", f"https://{userdata.get('GITHUB_TOKEN')}@", 1)
        except Exception:
            pass
        !git clone -q {url} {clone}
    %cd {clone}
    %pip install -q -e ".[notebooks]"
    sys.path[:0] = [str(clone), str(clone / "tinytorch_stub")]  # importable without a restart
else:
    print("Not on Colab: nothing to set up.")
'''

HOW_TO_WORK = '''
**How to work in this notebook.** It holds `$file`, module $id ($title), cut into cells: one per
class or function, between the module's description and the export and test cells at the end.

1. On Colab, put your repository's address in the first cell and run it. On your machine it does
   nothing.
2. Run the cells from the top. Write the bodies that raise `NotImplementedError` (each docstring
   says what to do), run the cell, and try your code in a cell of your own.
3. **The tests and the grader read `$file`, not this notebook.** Export writes the course's
   cells back into that file: save the notebook, then run the export cell at the end (or
   `make export NB=$notebook` in a terminal). Then run the test cell (`make test M=$id`).
4. Commit and push `$file`: that file is graded.

Cells you add are yours to experiment in: export leaves them out. Do not delete, move or split
the course's cells: export rebuilds the file from them, in order, and names the cell it cannot use.
'''

EXPORT_AND_TEST = '''
## Export, then test

Export writes the course's cells into `$file`; the tests import that file.
'''

EXPORT_CELL = '''
# Write this notebook's course cells into $file (like `make export NB=$notebook`).
# Save the notebook first: export reads the saved file. On Colab this cell saves it into the clone.
import sys
from pathlib import Path

ROOT = next((p for p in (Path.cwd(), *Path.cwd().parents) if (p / "course.toml").is_file()), None)
assert ROOT, "no course.toml here or above: on Colab, run the first cell; else open the notebook in your clone"
NOTEBOOK = ROOT / "$notebook"
if "google.colab" in sys.modules:
    import json
    from google.colab import _message

    NOTEBOOK.write_text(json.dumps(_message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"]))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from grading.notebooks import export_and_report

export_and_report(NOTEBOOK, ROOT)
'''

TESTS_CELL = '''
# The visible tests of module $id on $file (like `make test M=$id`): export first.
import os
import sys
from pathlib import Path

import pytest

ROOT = next((p for p in (Path.cwd(), *Path.cwd().parents) if (p / "course.toml").is_file()), None)
assert ROOT, "no course.toml here or above: on Colab, run the first cell; else open the notebook in your clone"
os.chdir(ROOT)
for name, loaded in list(sys.modules.items()):  # import the course files afresh: they may have changed
    if str(getattr(loaded, "__file__", None) or "").startswith((str(ROOT / "assignments"), str(ROOT / "solutions"))):
        del sys.modules[name]
exit_code = pytest.main(["-q", "$tests"])
assert exit_code == 0, f"the visible tests of module $id did not all pass (pytest exit code {exit_code}): see above"
'''

# (type, role, text) of the cells before and after the file's own
HEAD_CELLS = (("code", "colab-setup", COLAB_CELL), ("markdown", "how-to-work", HOW_TO_WORK))
TAIL_CELLS = (("markdown", "export-and-test", EXPORT_AND_TEST), ("code", "export", EXPORT_CELL),
              ("code", "tests", TESTS_CELL))
