"""Command line of the grader: grade, status, stubs, milestone, and the GitHub Classroom tools.

    python -m grading grade SUBMISSION [--out DIR | --reports ROOT] [--staff] [--hidden DIR] [--modules 01,02]
    python -m grading status [SUBMISSION]
    python -m grading stubs [--check]
    python -m grading milestone N [--force] [--quick] [--out DIR] [the program's own options]
    python -m grading classroom REPORT_DIR        points table + GitHub Classroom annotations
    python -m grading workflow [--check]          .github/workflows/ from course.toml
    python -m grading template OUT [--force]      the student repository
    python -m grading hidden-bundle OUT [--force] the instructor's private repository (grader + hidden tests)
    python -m grading notebooks [--check]         notebooks/NN_slug.ipynb from the stubs (Jupyter, Colab)
    python -m grading export NB                   a notebook's code cells back into its student file

The class (make gradebook, snapshot, similarity; the regrade workflow):

    python -m grading gradebook DIR [--roster CSV] [--jobs N] [--at deadlines] [--out DIR]
    python -m grading snapshot DIR [--deadline MODULE|ISO]     record each student's HEAD at a deadline
    python -m grading similarity DIR [--out DIR]              code similarity, module by module (copydetect)
    python -m grading analytics OUT                           charts and summary.md of a gradebook again
    python -m grading shard ROSTER --shards N --index I       the I-th part of a roster
    python -m grading clone ROSTER --into DIR                 clone the roster's repositories
    python -m grading merge-gradebooks DIR... --out DIR       one gradebook from the shards' gradebooks

Exit codes of `grade`: 0 graded; 2 nothing was graded (the submission folder is missing or not a
folder, a bad option); 3 graded, but the layout is wrong (none of the student files is where the
course expects it: the report says where they were found).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from grading import (analytics, bundle, classroom, generated, gradebook, notebooks, roster, similarity, snapshot,
                     template, workflow)
from grading.grader import grade
from grading.limits import Limits
from grading.notebooks import NotebookError
from grading.plan import PlanError
from grading.policy import check_files
from grading.report import UNOFFICIAL_NOTE, progress_line, terminal, to_markdown, write_reports
from grading.sandbox import SubmissionError, course_test_sources
from grading.stubs import StubError, stub_files
from tinytorch.contract import LOADER_DIR
from tinytorch.manifest import ManifestError, load_course

EXIT_BAD_INPUT = 2
EXIT_LAYOUT = 3


def _modules(value: str | None, course) -> list[str] | None:
    if not value:
        return None
    return [course.module(part).id for part in value.replace(" ", ",").split(",") if part]


def report_folder(root: Path, label: str, commit: str | None, generated_at: str, dirty: bool) -> Path:
    """ROOT/<submission>/<time>-<commit>/: one folder per grading, so a regrade keeps the last one.

    The submission's key is its label with `/` as `__` (a/alice and b/alice stay apart).
    """
    key = roster.student_key(label)
    stamp = re.sub(r"[^0-9TZ]", "", generated_at) + (f"-{commit[:10]}" if commit else "") + ("-dirty" if dirty else "")
    return root / key / stamp


def point_latest(folder: Path) -> None:
    """`latest` beside the grading folders names the newest (a link, or a file where links fail)."""
    latest = folder.parent / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(folder.name, target_is_directory=True)
    except OSError:
        latest.write_text(folder.name + "\n", encoding="utf-8")


def cmd_grade(args) -> int:
    course = load_course()
    submission = Path(args.submission)
    if not submission.is_dir():
        what = "is not a folder" if submission.exists() else "does not exist"
        print(f"error: submission folder {submission} {what} "
              f"(for make grade STUDENT=x: put the student's repository in submissions/x)", file=sys.stderr)
        return EXIT_BAD_INPUT
    sources = course_test_sources(course, hidden=Path(args.hidden) if args.hidden else None,
                                  visible_only=args.visible_only)
    limits = Limits.from_manifest(course.grading)
    overrides = {"test_timeout": args.test_timeout, "module_timeout": args.module_timeout, "memory_mb": args.memory_mb}
    show = not args.quiet
    if show:
        print(f"Grading {args.label or submission} ...", flush=True)
    report = grade(course, submission, sources, limits=limits, overrides=overrides,
                   modules=_modules(args.modules, course), jobs=args.jobs, label=args.label, fork=not args.no_fork,
                   isolated=False if args.no_isolated else None,
                   progress=(lambda m, isolated: print(progress_line(m, isolated), flush=True)) if show else None)
    if args.unofficial:
        report = replace(report, note=UNOFFICIAL_NOTE)
    if args.commit:                      # the folder is an export of that commit (make gradebook AT=deadlines)
        report = replace(report, commit=args.commit)
    out = Path(args.out) if args.out else None
    if args.reports:
        out = report_folder(Path(args.reports), args.label or submission.resolve().name, report.commit,
                            report.generated_at, report.integrity.working_tree == "dirty")
    if out:
        paths = write_reports(report, out, staff=args.staff)
        if args.reports:
            point_latest(out)
        if os.environ.get("GITHUB_STEP_SUMMARY") and args.step_summary:
            with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
                fh.write(paths["markdown"].read_text(encoding="utf-8"))
    if show:
        print("\n" + (to_markdown(report) if args.verbose else terminal(report)))
        if out:
            print(f"Reports written to {out}/ (report.json, report.md, grades.csv, classroom.env"
                  + (", staff.md" if args.staff else "") + ")")
    if report.integrity.layout:
        print(f"error: graded, but the layout is wrong: {report.integrity.layout}", file=sys.stderr)
        return EXIT_LAYOUT
    return 0


def cmd_status(args) -> int:
    """A student's progress: visible tests of the working copy, per module, and milestones."""
    course = load_course()
    sources = course_test_sources(course, visible_only=True)
    report = grade(course, Path(args.submission), sources, modules=_modules(args.modules, course), isolated=False)
    print(terminal(report).replace("visible tests only; official grade pending\n", ""))
    print("\n(visible tests only: the grade on GitHub adds hidden tests)")
    return 0


def cmd_policy(args) -> int:
    """The grader's static check, where students test: what it refuses scores 0, so say it first."""
    course = load_course()
    found = check_files(course, Path(args.submission), _modules(args.modules, course))
    for line in found:
        print(line)
    if found:
        print(f"\n{len(found)} finding(s): the grader does not run a file it refuses (its module scores 0, "
              "status `policy`). README.md, 'What your code may use', lists what is allowed.")
        return 1
    return 0


def write_or_check(course, check: bool, what: str, target: str, files: dict[Path, str]) -> int:
    """The shape of every "generated files" command: --check lists what is stale, else write."""
    if check:
        stale = generated.stale(files, course.root)
        if stale:
            print(f"These {what} differ from what `make {target}` writes:\n  " + "\n  ".join(stale)
                  + f"\nRun `make {target}` and commit the result.", file=sys.stderr)
            return 1
        print(f"{what} up to date ({len(files)} files)")
        return 0
    changed = generated.write(files, course.root)
    print("\n".join(f"wrote {p.relative_to(course.root)}" for p in changed) or f"{what} already up to date")
    return 0


def cmd_stubs(args) -> int:
    course = load_course()
    return write_or_check(course, args.check, "stubs", "stubs", stub_files(course))


def cmd_workflow(args) -> int:
    course = load_course()
    return write_or_check(course, args.check, "workflows", "workflow", workflow.workflow_files(course))


def cmd_milestone(args) -> int:
    course = load_course()
    milestone = course.milestone(args.number)
    argv = [sys.executable, str(course.root / milestone.script)]
    argv += ["--force"] if args.force else []
    argv += ["--quick"] if args.quick else []
    argv += ["--out", args.out] if args.out else []
    argv += ["--data-dir", args.data_dir] if args.data_dir else []
    argv += getattr(args, "program_options", [])
    path = os.pathsep.join(filter(None, [str(course.root), str(course.root / LOADER_DIR), os.environ.get("PYTHONPATH")]))
    return subprocess.call(argv, env={**os.environ, "PYTHONPATH": path}, cwd=course.root)


def _grade_parser(sub) -> None:
    g = sub.add_parser("grade", help="grade a submission folder (only read, never written)")
    g.add_argument("submission", help="root of the submission (a student's repository)")
    g.add_argument("--out", help="folder for report.json, report.md, grades.csv, classroom.env")
    g.add_argument("--reports", help="keep history: write to REPORTS/<label>/<time>-<commit>/ and point "
                                     "REPORTS/<label>/latest at it")
    g.add_argument("--staff", action="store_true", help="also write staff.md and the staff fields of report.json "
                                                        "(hidden-test messages, integrity); never for students")
    g.add_argument("--visible-only", action="store_true", help="run the visible tests only")
    g.add_argument("--hidden", help="folder of hidden tests (a hidden bundle); default: this checkout's")
    g.add_argument("--modules", help="only these modules, e.g. 01,02")
    g.add_argument("--jobs", type=int, help="modules graded at once (default: CPU count)")
    g.add_argument("--test-timeout", type=float, help="seconds per test (default from course.toml)")
    g.add_argument("--module-timeout", type=float, help="wall-clock seconds per module (default from course.toml)")
    g.add_argument("--memory-mb", type=int, help="address-space limit per module process")
    g.add_argument("--no-isolated", action="store_true", help="skip the isolated runs (reference prerequisites)")
    g.add_argument("--no-fork", action="store_true",
                   help="start a fresh interpreter per module instead of forking from a pre-imported one")
    g.add_argument("--label", help="name of the submission in the report (default: its path)")
    g.add_argument("--unofficial", action="store_true", help=f"say first: {UNOFFICIAL_NOTE}")
    g.add_argument("--commit", help="the commit the files come from, when SUBMISSION is an export of it")
    g.add_argument("--step-summary", action="store_true", help="append report.md to $GITHUB_STEP_SUMMARY")
    g.add_argument("--verbose", action="store_true", help="print the whole markdown report")
    g.add_argument("--quiet", action="store_true", help="print nothing")
    g.set_defaults(func=cmd_grade)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grading", description="TinyTorch autograder")
    sub = parser.add_subparsers(dest="command", required=True)
    _grade_parser(sub)

    s = sub.add_parser("status", help="progress of a working copy on the visible tests")
    s.add_argument("submission", nargs="?", default=".")
    s.add_argument("--modules")
    s.set_defaults(func=cmd_status)

    pol = sub.add_parser("policy", help="the grader's static check of the student files (make test runs it first)")
    pol.add_argument("submission", nargs="?", default=".")
    pol.add_argument("--modules")
    pol.set_defaults(func=cmd_policy)

    st = sub.add_parser("stubs", help="write the students' files from solutions/ (or --check them)")
    st.add_argument("--check", action="store_true")
    st.set_defaults(func=cmd_stubs)

    m = sub.add_parser("milestone", help="run a milestone (it checks its gate first)")
    m.add_argument("number")
    m.add_argument("--force", action="store_true")
    m.add_argument("--quick", action="store_true")
    m.add_argument("--out")
    m.add_argument("--data-dir")
    m.set_defaults(func=cmd_milestone)

    w = sub.add_parser("workflow", help="write .github/workflows/ from course.toml (or --check them)")
    w.add_argument("--check", action="store_true")
    w.set_defaults(func=cmd_workflow)

    for tool in (classroom, template, bundle, notebooks):     # Classroom and notebooks: each adds its commands
        tool.add_parser(sub)
    for tool in (gradebook, snapshot, similarity, analytics, roster):   # the class: each adds its commands
        tool.add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "func", None) is not cmd_milestone:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.program_options = extra               # a milestone program's own options, passed on as given
    try:
        return args.func(args)
    except (ManifestError, SubmissionError, StubError, PlanError, NotebookError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
