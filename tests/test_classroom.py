"""GitHub Classroom: the generated workflows, the student template, the hidden-test bundle, and
the workflow's own grading commands run against a template in which modules 01-02 are done."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grading import classroom, generated, workflow
from grading.bundle import build_bundle
from grading.cli import build_parser
from grading.notebooks import notebook_path
from grading.plan import PLAN_FILE
from grading.stubs import BEGIN, END, find_regions
from grading.template import TemplateError, build_template
from support import COURSE, build_submission

ROOT = COURSE.root
FINISHED = ("01", "02")


# --- the workflows --------------------------------------------------------------------------

def test_committed_workflows_are_what_make_workflow_writes(tmp_path):
    files = workflow.workflow_files(COURSE)
    assert generated.stale(files, ROOT) == [], "run `make workflow` and commit .github/workflows/"
    generated.write(files, tmp_path)
    stale = tmp_path / workflow.CLASSROOM_FILE
    stale.write_text(stale.read_text().replace("milestone", "milestone-renamed", 1))
    assert generated.stale(files, tmp_path) == [str(workflow.CLASSROOM_FILE)]


def _actionlint() -> str | None:
    here = Path(sys.executable).parent          # the venv's bin: `make check` installs the dev extra
    return shutil.which("actionlint", path=os.pathsep.join([str(here), os.environ.get("PATH", "")]))


def test_actionlint_finds_nothing_in_any_workflow():
    binary = _actionlint()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing in CI: `make check` installs it (pyproject.toml, extra `dev`)")
        pytest.skip("actionlint is not installed (`make check` installs it)")
    files = [str(ROOT / path) for path in workflow.workflow_files(COURSE)]      # classroom, ci and regrade
    assert len(files) == 3
    proc = subprocess.run([binary, "-no-color", "-oneline", *files], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_workflow_shape():
    data = workflow.classroom_workflow(COURSE)
    assert data["name"] == "Autograding Tests" and data["permissions"] == {"actions": "read", "contents": "read"}
    # As GitHub Classroom's own workflow: re-runs arrive as repository_dispatch; a new push cancels the old run.
    assert data["on"] == ["push", "workflow_dispatch", "repository_dispatch"]
    assert data["concurrency"]["cancel-in-progress"] is True and "github.ref" in data["concurrency"]["group"]
    jobs = data["jobs"]
    grading = jobs[workflow.GRADING_JOB]
    assert "github.actor != 'github-classroom[bot]'" in grading["if"]
    assert all(isinstance(job.get("timeout-minutes"), int) for job in jobs.values())
    assert set(jobs) == {workflow.GRADING_JOB} | {f"milestone-{ms.id}" for ms in COURSE.milestones}
    for ms in COURSE.milestones:
        job = jobs[f"milestone-{ms.id}"]
        unlocked = f"needs.{workflow.GRADING_JOB}.outputs.milestone{ms.id} == 'true'"
        if ms.uses:                                   # after the milestones it reads, whatever their result
            assert job["needs"] == [workflow.GRADING_JOB, *(f"milestone-{u}" for u in ms.uses.values())]
            assert job["if"] == f"${{{{ !cancelled() && {unlocked} }}}}"
        else:
            assert job["needs"] == workflow.GRADING_JOB and job["if"] == unlocked
        assert f"milestone{ms.id}" in grading["outputs"]
    used = {step["uses"] for job in jobs.values() for step in job["steps"] if "uses" in step}
    assert used == {workflow.CHECKOUT, workflow.SETUP_PYTHON, workflow.UPLOAD_ARTIFACT, workflow.CACHE,
                    workflow.CACHE_RESTORE, workflow.CACHE_SAVE, workflow.DOWNLOAD_ARTIFACT}
    fetch = next(step for step in grading["steps"] if step.get("id") == "hidden")
    assert fetch["continue-on-error"] is True and fetch["with"]["persist-credentials"] is False
    assert fetch["with"]["path"] == workflow.GRADER_DIR and workflow.HIDDEN_REF_VAR in fetch["with"]["ref"]


def test_milestone_5_starts_from_the_outputs_of_milestones_3_and_4():
    """course.toml's `uses`: their artifacts are downloaded and passed as options; their files key the cache."""
    capstone = COURSE.milestone("5")
    assert capstone.uses == {"cnn-dir": "3", "gpt-dir": "4"}
    steps = workflow.classroom_workflow(COURSE)["jobs"]["milestone-5"]["steps"]
    downloads = [s for s in steps if s.get("uses") == workflow.DOWNLOAD_ARTIFACT]
    assert [d["with"] for d in downloads] == [{"name": "milestone-3", "path": "reports/milestone-3"},
                                              {"name": "milestone-4", "path": "reports/milestone-4"}]
    assert all(d["continue-on-error"] is True for d in downloads)     # none: the program trains its own
    run = next(s for s in steps if s.get("id") == "milestone")["run"]
    assert "--cnn-dir reports/milestone-3 --gpt-dir reports/milestone-4" in run
    assert steps.index(downloads[-1]) < steps.index(next(s for s in steps if s.get("id") == "milestone"))
    key = next(s for s in steps if s.get("uses") == workflow.CACHE_RESTORE)["with"]["key"]
    assert "milestones/03_cnn/**" in key and "milestones/04_tinygpt/**" in key


def test_a_milestone_runs_again_only_when_its_files_change():
    """Each push would otherwise retrain every unlocked milestone (milestone 3: about 20 runner minutes)."""
    for ms in COURSE.milestones:
        steps = workflow.classroom_workflow(COURSE)["jobs"][f"milestone-{ms.id}"]["steps"]
        restore = next(s for s in steps if s.get("uses") == workflow.CACHE_RESTORE)
        save = next(s for s in steps if s.get("uses") == workflow.CACHE_SAVE)
        assert restore["with"] == save["with"] and restore["id"] == "result"
        for m in ms.requires:
            assert COURSE.module(m).student_file in restore["with"]["key"]
        assert f"milestones/{ms.folder}/**" in restore["with"]["key"]
        run = next(s for s in steps if s.get("id") == "milestone")
        assert run["if"] == save["if"] == "steps.result.outputs.cache-hit != 'true'"
        summary = next(s for s in steps if s.get("id") == "summary")
        assert "restored" in summary["run"] and summary["env"]["RESTORED"] == "${{ steps.result.outputs.cache-hit }}"


def _invocations(script: str) -> list[list[str]]:
    """The simple commands of a shell script: [program, args...], shell keywords and case labels dropped."""
    keywords = {"if", "then", "else", "elif", "do"}
    commands: list[list[str]] = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens, current, start = list(lexer), None, True
        for i, token in enumerate(tokens):
            if token in (";", ";;", "&&", "||", "|"):
                start, current = True, None
            elif start and token in keywords:
                continue
            elif start and i + 1 < len(tokens) and tokens[i + 1] == ")":
                continue                                    # a case label: `success)`
            elif token == ")" and current is None:
                continue
            elif start and re.match(r"^[A-Za-z_]\w*=", token):
                start = False                               # an assignment: `hidden=""`
            elif start:
                current = [token]
                commands.append(current)
                start = False
            elif current is not None:
                current.append(token)
    return commands


def _workflow_scripts() -> list[str]:
    scripts = [step.run for step in workflow.STEPS.values()]
    scripts += [workflow.milestone_step(key, ms).run for ms in COURSE.milestones for key in workflow.MILESTONE_STEPS]
    return scripts


def test_every_workflow_command_is_a_make_target_or_a_grader_command():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    shell = {"echo", "cat", "[", "case", "fi", "esac", "cd"}
    seen = set()
    for script in _workflow_scripts():
        for program, *args in _invocations(script):
            if program == "make":
                args = args[2:] if args[:1] == ["-C"] else args
                target = next(a for a in args if "=" not in a)
                assert target in targets, f"the workflow runs `make {target}`, which the Makefile lacks"
            elif program == "python":
                assert args[:2] == ["-m", "grading"], f"the workflow runs python {' '.join(args)}"
                parsed, extra = build_parser().parse_known_args(args[2:])
                if parsed.command == "milestone":          # a program's own options: those course.toml names
                    own = {f"--{option}" for option in COURSE.milestone(parsed.number).uses}
                    assert set(extra[::2]) <= own, f"milestone {parsed.number} gets options {extra}"
                else:
                    assert not extra, f"the workflow passes unknown options {extra}"
            else:
                assert program in shell, f"the workflow runs {program!r}, neither make nor the grader"
            seen.add(program)
    assert {"make", "python"} <= seen


def test_annotation_lines_are_exact():
    results = [
        ("module01", {"max_score": 100, "tests": [{"score": 60}, {"score": 2.5}]}),
        ("module02", {"max_score": 0, "tests": [{"score": 5}]}),       # the reporter skips max_score 0
        ("module03", {"max_score": 50, "tests": [{"score": 0}]}),
    ]
    assert classroom.totals(results) == (62.5, 150)
    assert classroom.annotations(*classroom.totals(results)) == [
        "::notice title=Autograding complete::Points 62.5/150",
        '::notice title=Autograding report::{"totalPoints":62.5,"maxPoints":150}',
    ]
    assert classroom.annotations(160.0, 300.0) == [
        "::notice title=Autograding complete::Points 160/300",
        '::notice title=Autograding report::{"totalPoints":160,"maxPoints":300}',
    ]
    assert classroom.annotations(0, 0) == []


# --- the template and the bundle ------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_template(COURSE, tmp_path_factory.mktemp("template") / "student-template")


def _texts(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_template_has_the_student_files_and_nothing_of_the_instructor(template):
    files = set(_texts(template))
    for m in COURSE.modules:
        assert m.student_file in files and f"assignments/{m.folder}/README.md" in files
        assert any(f.startswith(f"assignments/{m.folder}/tests/test_") for f in files)
        assert notebook_path(m).as_posix() in files            # built from the stub (test_notebooks.py)
    for required in (str(workflow.CLASSROOM_FILE), "grading/plan.json", "course.toml", "Makefile",
                     "pyproject.toml", "README.md", ".gitignore", "tinytorch_stub/tinytorch/__init__.py"):
        assert required in files
    assert str(workflow.CI_FILE) not in files
    for forbidden in ("solutions/", "tests/", "docs/", "benchmarks/", ".ci/"):
        assert not [f for f in files if f.startswith(forbidden)], forbidden
    assert not [f for f in files if "/hidden/" in f or "__pycache__" in f]
    plan = json.loads((template / "grading" / PLAN_FILE).read_text())
    assert plan["tests"] and {t["visibility"] for t in plan["tests"]} == {"visible"}


def _solution_lines() -> set[str]:
    """The non-trivial lines of every solution region that students are not given anyway: not
    outside the regions (code the stub keeps, like a shape check shared by several operators) and
    not in a visible test (an independent computation of the expected value may coincide)."""
    inside, outside = set(), set()
    for tree in ("grading", "tinytorch_stub", "milestones"):     # tool code ships anyway: a generic line
        for path in (ROOT / tree).rglob("*.py"):                  # (`return "\n".join(lines)`) in both is
            if path.name != "testing.py":                         # no leak; the test helpers are checked
                outside |= {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    for m in COURSE.modules:
        for test in (ROOT / "assignments" / m.folder / "tests").glob("*.py"):
            outside |= {line.strip() for line in test.read_text(encoding="utf-8").splitlines()}
        path = ROOT / m.solution_file
        source = path.read_text(encoding="utf-8")
        lines = [line.strip() for line in source.splitlines()]
        regions = find_regions(source, path, m, COURSE)
        in_region = {n for r in regions for n in range(r.start, r.end - 1)}      # 0-based body lines
        for n, text in enumerate(lines):
            (inside if n in in_region else outside).add(text)
    return {text for text in inside - outside if len(text) >= 20 and not text.startswith("#")}


def test_template_holds_no_solution_and_no_hidden_test(template):
    texts = _texts(template)
    for name, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            assert not (BEGIN.match(line) or END.match(line)), f"{name}:{number} is a solution marker"
    solution = _solution_lines()
    assert solution, "no solution lines found: the check would prove nothing"
    for name, text in texts.items():
        leaked = solution & {line.strip() for line in text.splitlines()}
        assert not leaked, f"{name} holds lines of a reference solution: {sorted(leaked)[:3]}"
    everything = "\n".join(texts.values())
    hidden_files = [p for m in COURSE.modules for p in (ROOT / "assignments" / m.folder / "hidden").glob("*.py")]
    assert hidden_files
    for path in hidden_files:
        assert path.stem not in everything, f"the template names the hidden test file {path.name}"
        for name in re.findall(r"^\s*def (test_\w+)", path.read_text(encoding="utf-8"), re.MULTILINE):
            assert name not in everything, f"the template names the hidden test {name}"


def test_template_refuses_a_non_empty_folder_unless_forced(tmp_path):
    out = tmp_path / "repo"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "old.txt").write_text("from an earlier build")
    with pytest.raises(TemplateError, match="not empty"):
        build_template(COURSE, out)
    build_template(COURSE, out, force=True)
    assert not (out / "old.txt").exists() and (out / ".git" / "HEAD").is_file()
    assert (out / COURSE.modules[0].student_file).is_file()
    with pytest.raises(TemplateError, match="course checkout"):
        build_template(COURSE, ROOT, force=True)


def test_instructor_bundle_holds_the_grader_every_test_and_their_points(tmp_path):
    out = build_bundle(COURSE, tmp_path / "grader")
    plan = json.loads((out / "grading" / PLAN_FILE).read_text())
    assert {t["visibility"] for t in plan["tests"]} == {"visible", "hidden"}
    assert set(plan["tasks"]) == {m.id for m in COURSE.modules} and plan["owners"]
    for m in COURSE.modules:
        for kind in ("tests", "hidden"):
            src = sorted(p.name for p in (ROOT / "assignments" / m.folder / kind).glob("*.py"))
            assert sorted(p.name for p in (out / "assignments" / m.folder / kind).glob("*.py")) == src, (m.id, kind)
        tests = [t for t in plan["tests"] if t["module"] == m.id]
        assert tests and all(t["points"] > 0 for t in tests)
        assert sum(t["points"] for t in tests) == m.points
    for required in ("grading/cli.py", "tinytorch_stub/tinytorch/__init__.py", "course.toml", "Makefile",
                     "pyproject.toml", "grading/VERSION"):
        assert (out / required).is_file(), required
    assert not (out / "solutions").exists() and not list(out.rglob("*.pyc"))
    readme = (out / "README.md").read_text()
    for name in (workflow.HIDDEN_REPO_VAR, workflow.HIDDEN_REF_VAR, workflow.HIDDEN_TOKEN_SECRET):
        assert name in readme


# --- the workflow's commands, run against a student's template ------------------------------

def _env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a workflow step run here, in the template `root`.

    The course's tests use this interpreter instead of the `make install` a student's runner does
    (a fresh venv with pip would be slow and needs the network): `python` on PATH is this one, and
    PYTHONPATH points the loader at the template's own tinytorch_stub, not this checkout's.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTORCH_", "GITHUB_", "FORCE"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(root / "tinytorch_stub")
    return {**env, **extra}


def _step(step: workflow.Step, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    # GitHub runs `run:` with `bash --noprofile --norc -eo pipefail {0}`.
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def student(template, tmp_path_factory):
    """The template with modules 01 and 02 finished: their solution regions filled in, and only
    theirs (module 01's file also holds regions of later modules, which stay stubs)."""
    root = tmp_path_factory.mktemp("student") / "repo"
    shutil.copytree(template, root)
    return build_submission(root, keep=set(FINISHED))


def test_role_step_grades_nothing_in_the_course_repository(tmp_path):
    output = tmp_path / "output"
    proc = _step(workflow.STEPS["role"], ROOT, _env(ROOT, GITHUB_OUTPUT=str(output)))
    assert proc.returncode == 0 and output.read_text() == "grade=false\n"
    assert "::notice title=Course repository::" in proc.stdout


@pytest.mark.slow
def test_make_test_and_make_grade_work_in_the_template(student):
    make = ["make", f"PY={sys.executable}"]        # PY=: no venv, no pip (see _env)
    env = _env(student)
    for mid in FINISHED:
        proc = subprocess.run([*make, "test", f"M={mid}"], cwd=student, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = subprocess.run([*make, "grade"], cwd=student, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not (student / ".venv").exists()
    md = (student / "reports" / "working-copy" / "report.md").read_text()
    assert md.splitlines()[0] == "**visible tests only; official grade pending**"
    data = json.loads((student / "reports" / "working-copy" / "report.json").read_text())
    assert data["tests"] == "visible"
    assert {m["id"]: m["status"] for m in data["modules"]}["01"] == "passed"


def _grading_job(root: Path, tmp_path: Path, fetch: str) -> tuple[dict, dict[str, str], Path]:
    """Run the grading job's shell steps in `root` as the runner would; (runs, step outputs, summary)."""
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    output.write_text("")
    env = _env(root, GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary), GITHUB_WORKSPACE=str(root),
               GITHUB_REPOSITORY="classroom/tinytorch-alice", HIDDEN_FETCH=fetch)
    runs = {key: _step(workflow.STEPS[key], root, env) for key in ("role", "grader")}
    chosen = dict(line.split("=", 1) for line in output.read_text().splitlines())
    env.update(GRADER=chosen["dir"], OFFICIAL=chosen["official"])
    env["PYTHONPATH"] = str((root / chosen["dir"] / "tinytorch_stub").resolve())
    runs.update({key: _step(workflow.STEPS[key], root, env) for key in ("grade", "points")})
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return runs, outputs, summary


@pytest.mark.slow
@pytest.mark.parametrize("fetch", ["success", "failure", "skipped"])
def test_workflow_grading_steps_feed_github_classroom(student, tmp_path, fetch):
    grader = student / workflow.GRADER_DIR
    if fetch == "success":
        build_bundle(COURSE, grader, force=True)
    try:
        runs, outputs, summary = _grading_job(student, tmp_path, fetch)
    finally:
        shutil.rmtree(grader, ignore_errors=True)
    for key, proc in runs.items():
        assert proc.returncode == 0, f"step {key}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"

    report_dir = student / workflow.REPORT_DIR
    report = json.loads((report_dir / "report.json").read_text())
    first_line = summary.read_text().splitlines()[0]
    if fetch == "success":
        assert report["tests"] == "all" and not runs["grader"].stdout.startswith("::warning")
        assert first_line.startswith("# TinyTorch grade:")
        assert report["total"]["score"] == sum(COURSE.module(mid).points for mid in FINISHED)
    else:
        assert report["tests"] == "visible" and first_line == "**unofficial: graded with the repository's own grader**"
        assert summary.read_text().splitlines()[1] == "**visible tests only; official grade pending**"
        warning = runs["grader"].stdout.splitlines()[0]
        assert warning.startswith("::warning title=Unofficial grade::")
        assert ("failed" in warning) == (fetch == "failure")
    assert report["submission"] == "classroom/tinytorch-alice"
    assert "integrity" not in report and not (report_dir / "staff.md").exists()   # nothing staff-only

    # The reporter's inputs: one base64 JSON per module, runner ids of letters and digits only.
    env_file = dict(line.split("=", 1) for line in (report_dir / "classroom.env").read_text().splitlines())
    runners = env_file["CLASSROOM_RUNNERS"].split(",")
    assert runners == [f"module{m.id}" for m in COURSE.modules]
    total = 0
    for runner in runners:
        assert re.fullmatch(r"[a-zA-Z0-9]+", runner)
        result = json.loads(base64.b64decode(env_file[f"{runner.upper()}_RESULTS"], validate=True))
        assert result["version"] == 1 and result["status"] in ("pass", "fail", "error")
        total += sum(t["score"] for t in result["tests"])
    assert total == report["total"]["score"]
    score, maximum = classroom.js_number(report["total"]["score"]), classroom.js_number(report["total"]["max"])
    lines = runs["points"].stdout.splitlines()
    assert lines[-2:] == [f"::notice title=Autograding complete::Points {score}/{maximum}",
                          f'::notice title=Autograding report::{{"totalPoints":{score},"maxPoints":{maximum}}}']
    assert sum(line.startswith("::notice") for line in lines) == 2

    # Job outputs: student repository; milestone 1 needs 01-04, so it stays locked.
    assert outputs["grade"] == "true"
    for ms in COURSE.milestones:
        assert outputs[f"milestone{ms.id}"] == "false"
    assert outputs["points"] == score and outputs["max-points"] == maximum


FORGED_SCORE = """
def score_module(module, planned, run, **kw):      # the student's edit: every test passed
    from grading.model import ModuleResult, TestResult
    tests = tuple(TestResult(t.name, t.visibility, "passed", t.points, t.points) for t in planned)
    total = float(sum(t.points for t in planned))
    return ModuleResult(module.id, module.slug, module.title, total, total, "passed", tests=tests)
"""


@pytest.mark.slow
def test_an_edited_grader_in_the_students_repository_changes_nothing(template, tmp_path):
    """The workflow grades with the instructor's grader: a forged grading/score.py only fools the
    unofficial fallback, whose first line says so."""
    root = tmp_path / "repo"
    shutil.copytree(template, root)                                     # a student who did nothing
    score = root / "grading" / "score.py"
    score.write_text(score.read_text() + FORGED_SCORE)
    build_bundle(COURSE, root / workflow.GRADER_DIR)
    runs, outputs, _ = _grading_job(root, tmp_path, "success")
    assert runs["grade"].returncode == 0, runs["grade"].stdout[-2000:] + runs["grade"].stderr[-2000:]
    assert outputs["points"] == "0", runs["points"].stdout
    report = json.loads((root / workflow.REPORT_DIR / "report.json").read_text())
    assert all(m["status"] == "not_started" for m in report["modules"])
    shutil.rmtree(root / workflow.GRADER_DIR)
    again = tmp_path / "again"
    again.mkdir()
    runs, outputs, summary = _grading_job(root, again, "failure")
    assert outputs["points"] == outputs["max-points"] != "0"                     # forged: full marks ...
    assert summary.read_text().splitlines()[0] == "**unofficial: graded with the repository's own grader**"


def test_classroom_command_fails_loudly_without_a_report(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grading", "classroom", str(tmp_path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and proc.stdout.startswith("::error title=No grade::")
