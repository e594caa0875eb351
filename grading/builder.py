"""What the template and the instructor's bundle builders share: checks, the output folder, the plan.

Both write a repository from this course checkout: the student template (template.py) and the
instructor's private repository with the grader and the hidden tests (bundle.py). Neither ever
contains solutions/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grading.plan import collect_plan, plan_to_json
from grading.sandbox import course_test_sources
from tinytorch.contract import LOADER_DIR
from tinytorch.manifest import Course, load_course

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "out", "plan.json", "VERSION")
KEEP = {".git"}
GRADER_TREES = (LOADER_DIR, "grading")          # what runs the grading, in both repositories
GRADER_FILES = ("course.toml", "Makefile", "pyproject.toml", ".gitignore")


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


def copy_grader(course: Course, out: Path) -> None:
    """The grader, the loader and the files that install and configure them."""
    for name in GRADER_TREES:
        shutil.copytree(course.root / name, out / name, ignore=IGNORE)
    for name in GRADER_FILES:
        shutil.copyfile(course.root / name, out / name)


def copy_module_files(course: Course, out: Path, *names: str) -> None:
    """assignments/NN_slug/<name> of every module (files or folders)."""
    for module in course.modules:
        src, dest = course.root / "assignments" / module.folder, out / "assignments" / module.folder
        dest.mkdir(parents=True, exist_ok=True)
        for name in names:
            if (src / name).is_dir():
                shutil.copytree(src / name, dest / name, ignore=IGNORE)
            else:
                shutil.copyfile(src / name, dest / name)


def split_plan(course: Course) -> tuple[dict, dict]:
    """The plan (collected against the reference) as (visible part, everything), in plan.json form."""
    data = plan_to_json(collect_plan(course, course_test_sources(course)))
    visible = {**data, "tests": [t for t in data["tests"] if t["visibility"] == "visible"]}
    return visible, data


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
