"""Command line of the grader: grade, status, stubs, milestone, and the GitHub Classroom tools.

    python -m grading grade SUBMISSION [--out DIR] [--visible-only] [--hidden DIR] [--modules 01,02]
    python -m grading status [SUBMISSION]
    python -m grading stubs [--check]
    python -m grading milestone N [--force] [--quick] [--out DIR]
    python -m grading classroom REPORT_DIR        points table + GitHub Classroom annotations
    python -m grading workflow [--check]          .github/workflows/ from course.toml
    python -m grading template OUT [--force]      the student repository
    python -m grading hidden-bundle OUT [--force] the hidden tests for the instructor's private repo
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from grading import bundle, classroom, template, workflow
from grading.grader import grade
from grading.plan import PlanError
from grading.report import markdown_table, to_markdown, write_reports
from grading.run import Limits
from grading.sandbox import SubmissionError, course_test_sources
from grading.stubs import StubError, check_stubs, write_stubs
from tinytorch.manifest import ManifestError, load_course


def _modules(value: str | None, course) -> list[str] | None:
    if not value:
        return None
    return [course.module(part).id for part in value.replace(" ", ",").split(",") if part]


def cmd_grade(args) -> int:
    course = load_course()
    submission = Path(args.submission)
    if not submission.is_dir():
        what = "is not a folder" if submission.exists() else "does not exist"
        print(f"error: submission folder {submission} {what} "
              f"(for make grade STUDENT=x: put the student's repository in submissions/x)", file=sys.stderr)
        return 2
    sources = course_test_sources(course, hidden=Path(args.hidden) if args.hidden else None,
                                  visible_only=args.visible_only)
    limits = Limits.from_manifest(course.grading, test_timeout=args.test_timeout, module_timeout=args.module_timeout,
                                  memory_mb=args.memory_mb)
    report = grade(course, submission, sources, limits=limits, modules=_modules(args.modules, course),
                   jobs=args.jobs, label=args.label, fork=not args.no_fork)
    if args.out:
        paths = write_reports(report, Path(args.out))
        if os.environ.get("GITHUB_STEP_SUMMARY") and args.step_summary:
            with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
                fh.write(paths["markdown"].read_text(encoding="utf-8"))
    if not args.quiet:
        print(to_markdown(report) if args.verbose else _terminal(report))
        if args.out:
            print(f"Reports written to {args.out}/ (report.json, report.md, grades.csv, classroom.env)")
    return 0


def _terminal(report) -> str:
    head = f"TinyTorch grade: {report.score:g}/{report.max:g}  ({report.tests} tests, {report.duration:.1f} s)"
    if report.tests == "visible":
        head = "visible tests only; official grade pending\n" + head
    lines = [head, "", markdown_table(report), ""]
    for m in report.modules:
        if m.message:
            lines.append(f"  {m.id} {m.slug}: {m.message}")
    for ms in report.milestones:
        state = "unlocked" if ms.unlocked else "locked (needs " + ", ".join(ms.missing) + ")"
        lines.append(f"  milestone {ms.id} {ms.slug}: {state}")
    return "\n".join(lines)


def cmd_status(args) -> int:
    """A student's progress: visible tests of the working copy, per module, and milestones."""
    course = load_course()
    sources = course_test_sources(course, visible_only=True)
    report = grade(course, Path(args.submission), sources, modules=_modules(args.modules, course))
    print(_terminal(report).replace("visible tests only; official grade pending\n", ""))
    print("\n(visible tests only: the grade on GitHub adds hidden tests)")
    return 0


def write_or_check(course, check: bool, what: str, target: str, stale_fn, write_fn) -> int:
    """The shape of every "generated files" command: --check lists what is stale, else write."""
    if check:
        stale = stale_fn(course)
        if stale:
            print(f"These {what} differ from what `make {target}` writes:\n  " + "\n  ".join(stale)
                  + f"\nRun `make {target}` and commit the result.", file=sys.stderr)
            return 1
        print(f"{what} up to date ({len(course.modules)} modules)")
        return 0
    changed = write_fn(course)
    print("\n".join(f"wrote {p.relative_to(course.root)}" for p in changed) or f"{what} already up to date")
    return 0


def cmd_stubs(args) -> int:
    return write_or_check(load_course(), args.check, "stubs", "stubs", check_stubs, write_stubs)


def cmd_workflow(args) -> int:
    return write_or_check(load_course(), args.check, "workflows", "workflow",
                          workflow.check_workflows, workflow.write_workflows)


def cmd_milestone(args) -> int:
    course = load_course()
    milestone = course.milestone(args.number)
    script = course.root / milestone.script
    argv = [sys.executable, str(script)]
    argv += ["--force"] if args.force else []
    argv += ["--quick"] if args.quick else []
    argv += ["--out", args.out] if args.out else []
    argv += ["--data-dir", args.data_dir] if args.data_dir else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(course.root), os.environ.get("PYTHONPATH")]))}
    return subprocess.call(argv, env=env, cwd=course.root)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grading", description="TinyTorch autograder")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade a submission folder (only read, never written)")
    g.add_argument("submission", help="root of the submission (a student's repository)")
    g.add_argument("--out", help="folder for report.json, report.md, grades.csv, classroom.env")
    g.add_argument("--visible-only", action="store_true", help="run the visible tests only")
    g.add_argument("--hidden", help="folder of hidden tests (a hidden bundle); default: this checkout's")
    g.add_argument("--modules", help="only these modules, e.g. 01,02")
    g.add_argument("--jobs", type=int, help="modules graded at once (default: CPU count)")
    g.add_argument("--test-timeout", type=float, help="seconds per test (default from course.toml)")
    g.add_argument("--module-timeout", type=float, help="wall-clock seconds per module (default from course.toml)")
    g.add_argument("--memory-mb", type=int, help="address-space limit per module process")
    g.add_argument("--no-fork", action="store_true",
                   help="start a fresh interpreter per module instead of forking from a pre-imported one")
    g.add_argument("--label", help="name of the submission in the report (default: its path)")
    g.add_argument("--step-summary", action="store_true", help="append report.md to $GITHUB_STEP_SUMMARY")
    g.add_argument("--verbose", action="store_true", help="print the whole markdown report")
    g.add_argument("--quiet", action="store_true", help="print nothing")
    g.set_defaults(func=cmd_grade)

    s = sub.add_parser("status", help="progress of a working copy on the visible tests")
    s.add_argument("submission", nargs="?", default=".")
    s.add_argument("--modules")
    s.set_defaults(func=cmd_status)

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

    for tool in (classroom, template, bundle):                # GitHub Classroom: each adds its command
        tool.add_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ManifestError, SubmissionError, StubError, PlanError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
