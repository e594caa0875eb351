"""Hostile and broken submissions, end to end through the real grader.

Each case builds a submission whose modules are honest except one, which cheats, crashes,
hangs, floods or is unreadable. For each: the module scores no more than its honest part,
the other modules keep their scores, the status and message say what happened, and grading
ends in bounded time. Most cases grade module 02 only (its tests import the honest 01 file);
the attacks sit in `sigmoid_saturation`, which only the two `*saturation*` tests call, so
"the honest part" is every other test of the module.

`policy=False` cases switch the static check off to show what the runtime containment alone
does with code the check would have refused.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grading.plan import cache_dir, load_plan
from grading.report import to_json
from grading.sandbox import course_test_sources
from support import COURSE, build_submission, by_id, grade_folder

pytestmark = pytest.mark.slow

LIMITS = dict(test_timeout=3, module_timeout=20, memory_mb=2048)
BUDGET = 60                   # seconds any one grading may take
STUDENT_FILE = "assignments/02_activations/activations.py"
TARGET = "saturation"         # the tests that call sigmoid_saturation


def graded(root: Path, modules=("02",), **kw):
    """Grade `modules` of `root` with small limits; check the time bound; results by module id."""
    started = time.monotonic()
    report = grade_folder(root, modules=list(modules), **{**LIMITS, **kw})
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET, f"grading took {elapsed:.0f} s"
    return by_id(report)


def at_end(code: str):
    """An edit that appends module-level code (it runs when the module is imported)."""
    return lambda text: text + "\n" + code.strip() + "\n"


def in_function(name: str, code: str):
    """An edit that puts `code` at the top of the body of the top-level function `name`."""
    def edit(text: str) -> str:
        start = text.index(f"\ndef {name}(")
        body = text.index('"""', text.index('"""', start) + 3) + 3          # end of its docstring
        indented = "".join(f"    {line}\n" for line in code.strip().splitlines())
        return text[:body] + "\n" + indented + text[body:]
    return edit


def only_target_failed(module, message: str | None = None) -> None:
    """Every test but the `saturation` ones passed; those failed (with `message` when visible)."""
    hit = [t for t in module.tests if TARGET in t.name]
    assert hit and all(t.outcome != "passed" and t.score == 0 for t in hit), [(t.name, t.outcome) for t in hit]
    others = [t for t in module.tests if TARGET not in t.name]
    assert all(t.outcome == "passed" for t in others), [(t.name, t.message) for t in others if t.outcome != "passed"]
    assert module.score == module.max - sum(t.max for t in hit)
    if message:
        visible = [t for t in hit if t.visibility == "visible"]
        assert visible and all(message in t.message for t in visible), [t.message for t in visible]


# ---------------------------------------------------------------------------- the policy check

POLICY_CASES = {
    "ctypes": ("import ctypes", "import of 'ctypes'"),
    "patch-pytest": ("import _pytest.runner\n_pytest.runner.call_and_report = None", "import of '_pytest.runner'"),
    "pluggy": ("from pluggy import HookimplMarker", "import of 'pluggy'"),
    "sys-modules": ("import sys\nsys.modules['pytest'].main = None", "'sys.modules'"),
    "eval": ("eval('1 + 1')", "'eval'"),
    "import-builtin": ("os = __import__('os')", "'__import__'"),
    "subclasses": ("escape = ().__class__.__base__.__subclasses__()", "access to '.__subclasses__'"),
    "frames": ("import sys\ncaller = sys._getframe(1).f_globals", "'sys._getframe'"),
    "globals-by-name": ("leak = getattr(print, '__self__')", "the string '__self__'"),
    "os-exit": ("import os\nos._exit(0)", "'os._exit'"),
    "sys-exit": ("import sys\nsys.exit(0)", "'sys.exit'"),
    "raise-systemexit": ("raise SystemExit(0)", "'SystemExit'"),
    "fork": ("import os\nos.fork()", "'os.fork'"),
    "subprocess": ("import subprocess\nsubprocess.run(['true'])", "import of 'subprocess'"),
    "threads": ("import threading", "import of 'threading'"),
    "recursion-limit": ("import sys\nsys.setrecursionlimit(10 ** 6)", "'sys.setrecursionlimit'"),
    "environ": ("import os\nos.environ['TINYTORCH_SOURCE'] = 'solutions'", "changing os.environ"),
    "patch-numpy": ("np.allclose = lambda *a, **k: True", "assignment to 'np.allclose'"),
    "unpickle": ("np.load('x.npy', allow_pickle=True)", "allow_pickle other than False"),
    "later-module": ("import tinytorch.core.losses", "import of 'tinytorch.core.losses'"),
}


@pytest.mark.parametrize("case", POLICY_CASES, ids=list(POLICY_CASES))
def test_refused_construct_scores_zero_with_status_policy_naming_file_and_line(tmp_path, case):
    code, construct = POLICY_CASES[case]
    root = build_submission(tmp_path, edits={"02": at_end(code)})
    written = (root / STUDENT_FILE).read_text(encoding="utf-8").splitlines()
    line = len(written) - len(code.splitlines()) + 1     # the first line of the appended code
    module = graded(root)["02"]
    assert (module.status, module.score) == ("policy", 0), (module.status, module.message)
    assert module.message.startswith(f"{STUDENT_FILE}:"), module.message
    assert f"{construct} is not allowed in course code" in module.message, module.message
    reported = int(re.match(rf"{re.escape(STUDENT_FILE)}:(\d+): ", module.message).group(1))
    assert line <= reported < line + len(code.splitlines()), (reported, line)
    assert all(t.outcome == "not_run" for t in module.tests)


def test_refused_module_blocks_its_dependents_and_spares_the_others(tmp_path):
    root = build_submission(tmp_path, edits={"02": at_end("import ctypes")})
    modules = graded(root, modules=("01", "02", "03"))
    assert modules["01"].status == "passed" and modules["01"].score == modules["01"].max
    assert modules["02"].status == "policy" and modules["02"].score == 0
    assert modules["03"].status == "blocked" and modules["03"].blocked_by == ("02",), modules["03"].message
    assert "not run by the grader" in modules["03"].message and "ctypes" in modules["03"].message


# ---------------------------------------------------------------------------- forged results


def _planned_ids(module_id: str) -> list[str]:
    plan = load_plan(COURSE, course_test_sources(COURSE))
    return [t.nodeid for t in plan.for_module(module_id)]


FORGED_PROBE = "tt-adversarial-probe"


def test_reports_written_by_student_code_are_ignored_or_refused(tmp_path):
    ids = _planned_ids("02")
    fake_report = json.dumps({"tests": [{"nodeid": n, "outcome": "passed"} for n in ids], "exitcode": 0})
    fake_lines = "".join(json.dumps({"kind": "test", "nodeid": n, "when": "call", "outcome": "passed"}) + "\n"
                         for n in ids)
    course_probe = COURSE.root / FORGED_PROBE
    cache_probe = cache_dir() / f"{FORGED_PROBE}.json"
    code = f"""
from pathlib import Path
FAKE_REPORT = {fake_report!r}
FAKE_LINES = {fake_lines!r}
here = Path(__file__).resolve()
sandbox = here.parents[3]
targets = [Path.cwd(), Path.home(), Path('/tmp'), sandbox, sandbox / 'tests', sandbox / 'tests' / '02_activations',
           here.parent] + sorted(Path('/tmp').glob('tt-results-*'))
for folder in targets:
    for name in ('report.json', 'records.jsonl', 'results.jsonl', '.report.json'):
        try:
            (folder / name).write_text(FAKE_LINES if name.endswith('l') else FAKE_REPORT)
        except OSError:
            pass
for descriptor in Path('/proc/self/fd').iterdir():       # the records file is open in this process
    try:
        with open(descriptor, 'a') as fh:
            fh.write(FAKE_LINES)
    except OSError:
        pass
for probe in ({str(course_probe)!r}, {str(cache_probe)!r}, '/tmp/{FORGED_PROBE}'):
    try:
        Path(probe).write_text('written by student code')
    except OSError:
        pass
"""
    root = build_submission(tmp_path, keep={"01"}, edits={"02": at_end(code)})
    module = graded(root)["02"]
    assert module.score == 0 and module.status == "not_started", (module.status, module.message)
    for probe in (course_probe, cache_probe, Path("/tmp") / FORGED_PROBE):
        assert not probe.exists(), f"student code wrote {probe}"


def test_results_written_into_the_recorder_are_rejected(tmp_path):
    """Without the policy check, raw writes to every open descriptor reach the records: unsigned, rejected."""
    ids = _planned_ids("02")
    lines = "".join(json.dumps({"kind": "test", "nodeid": n, "when": "call", "outcome": "passed"}) + "\n" for n in ids)
    code = f"""
import os
for fd in range(3, 64):
    try:
        os.write(fd, {lines.encode()!r})
    except OSError:
        pass
"""
    root = build_submission(tmp_path, keep={"01"}, edits={"02": at_end(code)})
    module = graded(root, policy=False)["02"]
    assert (module.status, module.score) == ("error", 0), (module.status, module.message)
    assert "results were rejected" in module.message and "signature" in module.message, module.message


def test_tests_and_configuration_in_the_submission_change_nothing(tmp_path):
    root = build_submission(tmp_path, keep={"01"})
    passing = "".join(f"def {name.split('::')[-1]}():\n    pass\n" for name in _planned_ids("02"))
    (root / "assignments/02_activations/tests").mkdir(parents=True)
    (root / "assignments/02_activations/hidden").mkdir(parents=True)
    (root / "assignments/02_activations/tests/test_activations.py").write_text(passing)
    (root / "assignments/02_activations/hidden/test_activations_hidden.py").write_text(passing)
    forge = ("import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
             "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n")
    config = {
        "conftest.py": forge, "pytest.ini": "[pytest]\naddopts = -p no:python\n",
        "tox.ini": "[pytest]\naddopts = --deselect x\n", "setup.cfg": "[tool:pytest]\naddopts = -x\n",
        "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-p no:python'\n",
        "sitecustomize.py": "import os\nos._exit(0)\n", "usercustomize.py": "import os\nos._exit(0)\n",
    }
    for folder in ("", "assignments", "assignments/02_activations", "assignments/02_activations/tests",
                   "assignments/02_activations/hidden", "tests"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name, text in config.items():
            (root / folder / name).write_text(text)
    modules = graded(root, modules=("01", "02"))
    assert modules["01"].status == "passed" and modules["01"].score == modules["01"].max
    assert (modules["02"].status, modules["02"].score) == ("not_started", 0)


def test_student_code_cannot_rewrite_the_trusted_tests_while_they_run(tmp_path):
    ids = _planned_ids("02")
    passing = "".join(f"def {name.split('::')[-1]}():\n    pass\n" for name in ids)
    code = f"""
from pathlib import Path
tests = Path(__file__).resolve().parents[3] / 'tests' / '02_activations'
for path in [*tests.rglob('test_*.py'), tests / 'conftest.py', tests / 'hidden' / 'conftest.py']:
    try:
        path.write_text({passing!r})
    except OSError:
        pass
"""
    module = graded(build_submission(tmp_path, keep={"01"}, edits={"02": at_end(code)}))["02"]
    assert (module.status, module.score) == ("not_started", 0), (module.status, module.message)


def test_changing_the_loader_does_not_load_the_reference(tmp_path):
    """TINYTORCH_SOURCE=solutions from module 02's file would make module 03 load the reference."""
    code = "import os\ntry:\n    os.environ['TINYTORCH_SOURCE'] = 'solutions'\nexcept OSError:\n    pass\n"
    root = build_submission(tmp_path, keep={"01", "02"}, edits={"02": at_end(code)})
    modules = graded(root, modules=("02", "03"), policy=False)
    assert modules["02"].status == "passed"
    assert (modules["03"].status, modules["03"].score) == ("not_started", 0), modules["03"].message


# ---------------------------------------------------------------------------- crashes, hangs, floods


def test_sys_exit_at_import_is_contained(tmp_path):
    root = build_submission(tmp_path, edits={"02": at_end("import sys\nsys.exit(0)")})
    modules = graded(root, modules=("01", "02"), policy=False)
    assert modules["01"].status == "passed"
    assert modules["02"].score == 0 and modules["02"].status == "error", modules["02"].message


def test_hang_at_import_is_cut_off_by_the_module_time_limit(tmp_path):
    root = build_submission(tmp_path, edits={"02": at_end("while True:\n    pass")})
    module = graded(root, module_timeout=5)["02"]
    assert (module.status, module.score) == ("timeout", 0)
    assert module.message.startswith("timeout after 5 s"), module.message


def test_fork_is_refused_while_tests_run(tmp_path):
    root = build_submission(tmp_path, edits={"02": in_function("sigmoid_saturation", "import os\nos.fork()")})
    module = graded(root, policy=False)["02"]
    only_target_failed(module, "PermissionError: os.fork is not allowed while the grader runs the tests")


def test_thread_storm_is_stopped_by_the_limits(tmp_path):
    code = ("import threading, time\nfor _ in range(100_000):\n"
            "    threading.Thread(target=time.sleep, args=(600,)).start()")
    module = graded(build_submission(tmp_path, edits={"02": in_function("sigmoid_saturation", code)}),
                    policy=False)["02"]
    only_target_failed(module, "can't start new thread")


def test_a_100_mb_print_is_cut(tmp_path):
    """Printing is not cheating: the tests go on, the output is cut, the report stays small."""
    code = "print('x' * 100_000_000)"
    report = grade_folder(build_submission(tmp_path, edits={"02": in_function("sigmoid_saturation", code)}),
                          modules=["02"], **LIMITS)
    module = by_id(report)["02"]
    assert (module.status, module.score) == ("passed", module.max), module.message
    assert f"output over {COURSE.grading['output_kb']} KB was cut" in module.message, module.message
    assert len(json.dumps(to_json(report))) < 100_000


def test_infinite_recursion_fails_only_its_tests(tmp_path):
    code = "def down(n):\n    return down(n + 1)\ndown(0)"
    module = graded(build_submission(tmp_path, edits={"02": in_function("sigmoid_saturation", code)}))["02"]
    only_target_failed(module, "RecursionError")


def test_a_100_gb_allocation_is_a_memory_error_naming_the_limit(tmp_path):
    code = "np.ones((100_000, 1_000_000))"
    module = graded(build_submission(tmp_path, edits={"02": in_function("sigmoid_saturation", code)}))["02"]
    only_target_failed(module, "MemoryError")
    assert f"memory limit {LIMITS['memory_mb']} MB" in module.message, module.message


# ---------------------------------------------------------------------------- broken inputs


def _write(path: Path, data: bytes | None = None, kind: str = "file") -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "dir":
        path.mkdir()
    elif kind == "link":
        outside = path.parents[3] / "outside.py"
        outside.write_bytes((COURSE.root / COURSE.module("02").solution_file).read_bytes())
        path.symlink_to(outside)
    elif data is not None:
        path.write_bytes(data)


BROKEN = {
    "missing": (dict(), "is missing"),
    "empty": (dict(data=b"\n\n"), "is empty"),
    "binary": (dict(data=b"\x7fELF\x02\x01\x01\x00\x00"), "is a binary file, not Python source (NUL byte at offset 7)"),
    "latin-1": (dict(data="# café\nx = 1\n".encode("latin-1")), "is not UTF-8 text (byte 0xe9 at offset 5)"),
    "directory": (dict(kind="dir"), "is a directory, not a file"),
    "link-outside": (dict(kind="link"), "is a symbolic link; links are not followed"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_unreadable_student_file_is_an_error_naming_it_and_blocks_its_dependents(tmp_path, case):
    kwargs, message = BROKEN[case]
    root = build_submission(tmp_path / "submission")
    _write(root / STUDENT_FILE, **kwargs)
    modules = graded(root, modules=("02", "03"))
    assert (modules["02"].status, modules["02"].score) == ("error", 0)
    assert modules["02"].message.startswith(STUDENT_FILE) and message in modules["02"].message, modules["02"].message
    assert modules["03"].status == "blocked" and modules["03"].blocked_by == ("02",), modules["03"].message


def test_a_submission_that_is_a_file_is_a_clear_cli_error(tmp_path):
    (tmp_path / "repo").write_text("not a folder")
    proc = subprocess.run([sys.executable, "-m", "grading", "grade", str(tmp_path / "repo")],
                          capture_output=True, text=True, cwd=COURSE.root, timeout=60)
    assert proc.returncode == 2 and "is not a folder" in proc.stderr, proc.stderr


# ---------------------------------------------------------------------------- determinism


def _normalised(report) -> dict:
    data = to_json(report)
    for key in ("generated_at", "duration_s"):
        data.pop(key)
    for module in data["modules"]:
        module.pop("duration_s")
    return data


def test_grading_twice_gives_the_same_report(tmp_path):
    def subtly_wrong(text: str) -> str:      # some tests fail, with messages
        return in_function("sigmoid_saturation", "return 0.25")(text)
    root = build_submission(tmp_path, edits={"02": subtly_wrong})
    first = grade_folder(root, modules=["01", "02"], **LIMITS)
    second = grade_folder(root, modules=["01", "02"], fork=False, **LIMITS)
    assert by_id(first)["02"].status == "partial"
    assert json.dumps(_normalised(first), indent=1) == json.dumps(_normalised(second), indent=1)
