"""Write the student repository (the GitHub Classroom template) from this course checkout.

    python -m grading template OUT [--force]

What goes in:
    assignments/NN_slug/slug.py      the stub, generated from the solution (as `make stubs` writes it)
    assignments/NN_slug/README.md    the assignment
    assignments/NN_slug/tests/       the visible tests
    tinytorch_stub/, grading/, milestones/, course.toml, Makefile, pyproject.toml, .gitignore
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

from grading.plan import PLAN_FILE, collect_plan, plan_to_json
from grading.sandbox import course_test_sources
from grading.stubs import write_stubs
from grading.workflow import CLASSROOM_FILE, classroom_text
from tinytorch.manifest import Course, load_course

SHIPPED_TREES = ("tinytorch_stub", "grading", "milestones")
SHIPPED_FILES = ("course.toml", "Makefile", "pyproject.toml", ".gitignore")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "out", PLAN_FILE)
KEEP = {".git"}


class TemplateError(ValueError):
    """The template or bundle cannot be written: a course file is missing, or OUT cannot be used."""


def require_files(course: Course, *names: str) -> None:
    """Fail before writing anything when a module lacks one of its files (names below assignments/NN_slug/)."""
    missing = [f"{m.solution_file}" for m in course.modules if not (course.root / m.solution_file).is_file()]
    missing += [f"assignments/{m.folder}/{name}" for m in course.modules for name in names
                if not (course.root / "assignments" / m.folder / name).exists()]
    if missing:
        raise TemplateError("these course files are missing (see docs/AUTHORING.md):\n  " + "\n  ".join(missing))


def prepare_output(out: Path, force: bool, course: Course) -> Path:
    """Make `out` an empty folder (except .git); refuse a non-empty one without `force`."""
    out = out.resolve()
    if out == course.root or course.root.is_relative_to(out):
        raise TemplateError(f"{out} holds this course checkout; choose a folder outside it (e.g. ../tinytorch-template)")
    if out.exists() and not out.is_dir():
        raise TemplateError(f"{out} exists and is not a folder")
    present = [p for p in out.iterdir() if p.name not in KEEP] if out.is_dir() else []
    if present and not force:
        raise TemplateError(f"{out} is not empty; pass --force (make ... FORCE=1) to replace its contents "
                          "(a .git folder is kept)")
    for path in present:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def split_plan(course: Course) -> tuple[dict, dict]:
    """The plan (collected against the reference) as (visible part, hidden part), in plan.json form."""
    data = plan_to_json(collect_plan(course, course_test_sources(course)))
    visible, hidden = ({"tests": [t for t in data["tests"] if t["visibility"] == visibility], "tasks": data["tasks"]}
                       for visibility in ("visible", "hidden"))
    return visible, hidden


def _table(course: Course) -> list[str]:
    rows = ["| # | module | import | points | deadline |", "|---|---|---|---:|---|"]
    for m in course.modules:
        rows.append(f"| {m.id} | {m.title} | `{m.import_name}` | {m.points:g} | {m.deadline or ''} |")
    return rows


def student_readme(course: Course) -> str:
    first = course.modules[0]
    milestones = [f"- **Milestone {ms.id}: {ms.title}** (`make milestone N={ms.id}`) needs modules "
                  f"{', '.join(ms.requires)}." for ms in course.milestones]
    lines = [
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
        "   file, the report says `blocked` and names that file.",
        "",
        "Only your files `assignments/NN_slug/slug.py` are graded. Use NumPy and the standard library.",
        "The grader copies nothing else from your repository: your own tests, conftest.py, configuration,",
        "Makefile and workflow changes play no part in the grade your instructor records.",
        "",
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
        "## Commands",
        "",
        "| command | what |",
        "|---|---|",
        "| `make test [M=03]` | visible tests |",
        "| `make status` | progress table (visible tests) |",
        "| `make grade` | grade this working copy with the visible tests (reports in `reports/`) |",
        "| `make milestone N=1 [FORCE=1]` | run a milestone |",
        "",
        "A local grade counts the visible tests only (its report says so); the grade on GitHub adds",
        "the hidden tests.",
    ]
    return "\n".join(lines) + "\n"


def build_template(course: Course, out: Path, force: bool = False) -> Path:
    """Write the student repository into `out`; return it."""
    require_files(course, "README.md", "tests")  # first: nothing is written for a broken course
    visible_plan, _ = split_plan(course)
    out = prepare_output(out, force, course)
    for name in SHIPPED_TREES:
        shutil.copytree(course.root / name, out / name, ignore=IGNORE)
    for name in SHIPPED_FILES:
        shutil.copyfile(course.root / name, out / name)
    for module in course.modules:
        src, dest = course.root / "assignments" / module.folder, out / "assignments" / module.folder
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / "README.md", dest / "README.md")
        shutil.copytree(src / "tests", dest / "tests", ignore=IGNORE)
    write_stubs(course, root=out)
    (out / "grading" / PLAN_FILE).write_text(json.dumps(visible_plan, indent=1) + "\n", encoding="utf-8")
    (out / CLASSROOM_FILE).parent.mkdir(parents=True, exist_ok=True)
    (out / CLASSROOM_FILE).write_text(classroom_text(course), encoding="utf-8")
    (out / "README.md").write_text(student_readme(course), encoding="utf-8")
    return out


def run_builder(args, build, done: str) -> int:
    """Run `build(course, OUT, force)` for a command; a missing file or a non-empty OUT exits 2."""
    course = load_course()
    try:
        out = build(course, Path(args.out), force=args.force)
    except TemplateError as exc:
        print(f"error: {exc}", flush=True)
        return 2
    print(done.format(out=out, modules=len(course.modules)))
    return 0


def cmd_template(args) -> int:
    return run_builder(args, build_template, "wrote the student template to {out}\nNext: push it to the "
                       "template repository of your GitHub Classroom assignment (README, 'Instructors').")


def add_parser(sub) -> None:
    p = sub.add_parser("template", help="write the student repository (GitHub Classroom template) into OUT")
    p.add_argument("out")
    p.add_argument("--force", action="store_true", help="replace the contents of a non-empty OUT (keeps .git)")
    p.set_defaults(func=cmd_template)
