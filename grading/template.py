"""Write the student repository (the GitHub Classroom template) from this course checkout.

    python -m grading template OUT [--force]

What goes in:
    assignments/NN_slug/slug.py      the stub, generated from the solution (as `make stubs` writes it)
    assignments/NN_slug/README.md    the assignment
    assignments/NN_slug/tests/       the visible tests
    notebooks/NN_slug.ipynb          the student file as a notebook (Jupyter, Colab), built from the stub
    tinytorch_stub/, grading/, milestones/, course.toml, Makefile, pyproject.toml, .gitignore
                                     (the student's own copy of the grader: the workflow grades
                                     with the instructor's, see bundle.py)
    grading/plan.json                the visible tests and their points (a student repository has
                                     no solutions to collect them against)
    .github/workflows/classroom.yml  grading on push
    README.md                        written for students (student_readme below)
What never goes in: solutions/, assignments/*/hidden/, tests/ (the course's own suite, which
needs the solutions), docs/ (authoring), benchmarks/ (they time the reference), .ci/, ci.yml.

OUT must be empty or missing; --force replaces its contents and keeps a `.git` folder, so a
clone of the template repository can be rebuilt in place.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from grading import generated
from grading.builder import (IGNORE, TemplateError, copy_grader, copy_module_files, prepare_output,  # noqa: F401
                             require_files, run_builder, split_plan)
from grading.notebooks import notebook_files, notebook_path
from grading.plan import PLAN_FILE
from grading.policy import module_extras_markdown, rules_markdown
from grading.stubs import write_stubs
from grading.workflow import CLASSROOM_FILE, classroom_text
from tinytorch.manifest import Course


def _table(course: Course) -> list[str]:
    rows = ["| # | module | import | points | deadline |", "|---|---|---|---:|---|"]
    for m in course.modules:
        due = m.deadline.isoformat(timespec="minutes") if m.deadline else ""
        rows.append(f"| {m.id} | {m.title} | `{m.import_name}` | {m.points:g} | {due} |")
    return rows


def student_readme(course: Course) -> str:
    """The template's README.md, written for students."""
    return "\n".join([*_start(course), *_how_to_work(course), *_may_use(course), *_notebooks(course),
                      *_milestones(course),
                      *_commands()]) + "\n"


def _may_use(course: Course) -> list[str]:
    """The grader's rules, where students read them (generated from grading/policy.py)."""
    extras = module_extras_markdown(course)
    return ["## What your code may use", "", rules_markdown(), "", *([extras, ""] if extras else []),
            "`make test` runs the same check first and stops with the line of anything it refuses.", ""]


def _start(course: Course) -> list[str]:
    first = course.modules[0]
    return [
        f"# {course.name}",
        "",
        "Build a PyTorch-like deep-learning library in NumPy, one module at a time. Each module is a",
        "file of yours whose bodies raise `NotImplementedError`: replace them with working code. Every",
        "push is graded on GitHub, and milestones train real models with your own code.",
        "",
        "## Start",
        "",
        "You need Python 3.11+ and `make`. The first `make` command creates `.venv/` and installs the",
        "dependencies.",
        "",
        "```sh",
        f"make test M={first.id}     # the visible tests of module {first.id}",
        "make status        # your progress: points on the visible tests, milestones unlocked",
        "```",
        "",
        "## The modules",
        "",
        *_table(course),
        "",
    ]


def _how_to_work(course: Course) -> list[str]:
    first = course.modules[0]
    return [
        "## How to work",
        "",
        f"1. Read `assignments/{first.folder}/README.md`, then open `{first.student_file}`. Each body you",
        "   write raises `NotImplementedError`; its docstring says what to do (TODO / APPROACH /",
        "   EXAMPLE / HINTS).",
        f"2. `make test M={first.id}` runs the visible tests of that module; `make test` runs them all.",
        "3. Commit and push. GitHub grades the push (the Actions tab, workflow `Autograding Tests`):",
        "   visible tests and the course's hidden tests, points per module, and the failing tests with a",
        "   short reason. The points appear in GitHub Classroom.",
        "4. Later modules build on earlier ones. When a module fails because of an earlier module's",
        "   code, the report says `blocked` and names that module; when an earlier module does not pass",
        "   yet, a failing module's note says its failures may come from there.",
        "",
        "Only your files `assignments/NN_slug/slug.py` are graded. Use NumPy and the standard library",
        "(below: what your code may use).",
        "The grader copies nothing else from your repository: your own tests, conftest.py, configuration,",
        "Makefile and workflow changes play no part in the grade your instructor records.",
        "",
    ]


def _notebooks(course: Course) -> list[str]:
    first = course.modules[min(2, len(course.modules) - 1)]
    notebook = notebook_path(first).as_posix()
    return [
        "## Notebooks (Jupyter, Colab)",
        "",
        f"`notebooks/` holds each module's file as a notebook (`{notebook}` is `{first.student_file}`):",
        "one cell per class or function, then an export cell and a test cell. **The tests and the grader",
        "read the `.py` file, never the notebook**, so the work goes: edit the cells, save the notebook,",
        f"export (`make export NB={notebook}`, or the notebook's export cell), then test (the",
        f"notebook's test cell, or `make test M={first.id}`), and commit the `.py` file. Export overwrites",
        "the `.py` file: work in the notebook or in the file, not in both at once.",
        "",
        "- **Colab**: open the notebook from your repository (File, Open notebook, GitHub), put your",
        "  repository's address in its first cell and run it: it clones the repository, installs it and",
        "  changes into it (a private repository needs a Colab secret `GITHUB_TOKEN`, a token that can read",
        "  it). Commit and push from a cell (`!git add ... && git commit ... && git push`) or download the",
        "  `.py` file and commit it on your machine.",
        "- **Your machine**: `make install`, then `.venv/bin/pip install -e '.[notebooks]' jupyterlab` and",
        "  `.venv/bin/jupyter lab notebooks/`. The first cell does nothing there.",
        "",
        "Cells you add are scratch: export leaves them out. Export refuses a notebook whose course cells",
        "were deleted, moved or split, and names the cell.",
        "",
    ]


def _milestones(course: Course) -> list[str]:
    milestones = [f"- **Milestone {ms.id}: {ms.title}** (`make milestone N={ms.id}`) needs modules "
                  f"{', '.join(ms.requires)}." for ms in course.milestones]
    return [
        "## Milestones",
        "",
        "When every module a milestone needs has passed, the workflow runs it and attaches its plots and",
        "metrics to the run (artifact `milestone-N`). Locally:",
        "",
        *milestones,
        "",
        "`FORCE=1 make milestone N=1` runs a milestone before its modules pass, to explore; the result",
        "then says it does not count.",
        "",
    ]


def _commands() -> list[str]:
    return [
        "## Commands",
        "",
        "| command | what |",
        "|---|---|",
        "| `make test [M=03]` | visible tests |",
        "| `make status` | progress table (visible tests) |",
        "| `make grade` | grade this working copy with the visible tests (reports in `reports/`) |",
        "| `make milestone N=1 [FORCE=1]` | run a milestone |",
        "| `make export NB=notebooks/03_layers.ipynb` | write a notebook's code cells into its `.py` file |",
        "",
        "A local grade counts the visible tests only (its report says so); the grade on GitHub adds",
        "the hidden tests.",
    ]


def build_template(course: Course, out: Path, force: bool = False) -> Path:
    """Write the student repository into `out`; return it."""
    require_files(course, "README.md", "tests")  # first: nothing is written for a broken course
    visible_plan, _ = split_plan(course)
    out = prepare_output(out, force, course)
    copy_grader(course, out)
    shutil.copytree(course.root / "milestones", out / "milestones", ignore=IGNORE)
    copy_module_files(course, out, "README.md", "tests")
    write_stubs(course, root=out)
    generated.write(notebook_files(course), out)
    (out / "grading" / PLAN_FILE).write_text(json.dumps(visible_plan, indent=1) + "\n", encoding="utf-8")
    (out / CLASSROOM_FILE).parent.mkdir(parents=True, exist_ok=True)
    (out / CLASSROOM_FILE).write_text(classroom_text(course), encoding="utf-8")
    (out / "README.md").write_text(student_readme(course), encoding="utf-8")
    return out


def cmd_template(args) -> int:
    return run_builder(args, build_template, "wrote the student template to {out}\nNext: push it to the "
                       "template repository of your GitHub Classroom assignment (README, 'Instructors').")


def add_parser(sub) -> None:
    p = sub.add_parser("template", help="write the student repository (GitHub Classroom template) into OUT")
    p.add_argument("out")
    p.add_argument("--force", action="store_true", help="replace the contents of a non-empty OUT (keeps .git)")
    p.set_defaults(func=cmd_template)
