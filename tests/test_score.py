"""Scoring and gating as pure functions, on hand-made run records."""

from __future__ import annotations

from grading.model import Failure, ModuleRun, PlannedTest
from grading.score import describe, gate, module_of_file, score_module
from support import COURSE

M02 = COURSE.module("02")
PLAN = [PlannedTest(f"02_activations/test_a.py::test_{i}", "02", "visible" if i < 2 else "hidden", 10.0)
        for i in range(4)]
NIE = dict(exc_type="NotImplementedError", message="Module 02 (activations): write ReLU.forward",
           origin_file="assignments/02_activations/activations.py", origin_line=40, not_implemented=True)


def run(outcomes=None, failures=None, **kw):
    return ModuleRun(module="02", returncode=1, duration=1.0, outcomes=outcomes or {}, failures=failures or {},
                     report_found=True, **kw)


def all_failed(failure: Failure) -> ModuleRun:
    return run({t.nodeid: "failed" for t in PLAN}, {t.nodeid: failure for t in PLAN})


def test_all_passed():
    result = score_module(M02, PLAN, run({t.nodeid: "passed" for t in PLAN}), tasks_total=3)
    assert (result.status, result.score, result.max) == ("passed", 40.0, 40.0)


def test_partial_scores_passed_tests_only():
    outcomes = {PLAN[0].nodeid: "passed", PLAN[1].nodeid: "failed", PLAN[2].nodeid: "passed", PLAN[3].nodeid: "skipped"}
    failures = {PLAN[1].nodeid: Failure("AssertionError", "wrong", "assignments/02_activations/activations.py", 3)}
    result = score_module(M02, PLAN, run(outcomes, failures), tasks_total=3)
    assert (result.status, result.score) == ("partial", 20.0)


def test_untouched_stub_is_not_started():
    edited = all_failed(Failure(**NIE))          # tasks_remaining 0: every stub body was replaced
    result = score_module(M02, PLAN, edited, tasks_total=3)
    assert result.status == "partial"
    untouched = all_failed(Failure(**NIE))
    untouched.tasks_remaining = 3
    result = score_module(M02, PLAN, untouched, tasks_total=3)
    assert (result.status, result.score) == ("not_started", 0.0)


def test_failures_in_an_earlier_module_block():
    failure = Failure("ValueError", "bad", "assignments/01_tensor/tensor.py", 12)
    result = score_module(M02, PLAN, all_failed(failure), tasks_total=3)
    assert (result.status, result.blocked_by) == ("blocked", ["01"])


def test_collection_error_in_own_file_is_an_error_with_file_and_line():
    r = run(collect_errors=[Failure("SyntaxError", "invalid syntax", "assignments/02_activations/activations.py", 7)])
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert result.status == "error" and "assignments/02_activations/activations.py:7" in result.message
    assert result.score == 0 and all(t.outcome == "not_run" for t in result.tests)


def test_collection_error_in_earlier_file_blocks():
    r = run(collect_errors=[Failure("SyntaxError", "x", "assignments/01_tensor/tensor.py", 3)])
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert (result.status, result.blocked_by) == ("blocked", ["01"])


def test_wall_timeout_keeps_finished_tests():
    r = run({PLAN[0].nodeid: "passed"}, wall_timeout=True)
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert (result.status, result.score) == ("timeout", 10.0)
    assert "test_1" in result.message


def test_per_test_timeout():
    outcomes = {t.nodeid: "passed" for t in PLAN[:3]} | {PLAN[3].nodeid: "failed"}
    failures = {PLAN[3].nodeid: Failure("Failed", "Timeout >1.0s", "assignments/02_activations/activations.py", 9, timeout=True)}
    result = score_module(M02, PLAN, run(outcomes, failures), tasks_total=3)
    assert (result.status, result.score) == ("timeout", 30.0)


def test_process_death_is_an_error_naming_the_test():
    r = run({PLAN[0].nodeid: "passed"})
    r.returncode = -9
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert result.status == "error" and "SIGKILL" in result.message and "test_1" in result.message
    assert result.score == 10.0


def test_missing_file_is_an_error():
    result = score_module(M02, PLAN, run(), tasks_total=3, file_problem="assignments/02_activations/activations.py is missing")
    assert result.status == "error" and "missing" in result.message and result.score == 0


def test_hidden_messages_are_categories_only():
    secret = Failure("AssertionError", "expected [0.1234, 0.5678]", "assignments/02_activations/activations.py", 5)
    assert describe(secret, "hidden") == "wrong result"
    assert "0.1234" in describe(secret, "visible")
    raised = Failure("ValueError", "shape (3, 7) secret", "assignments/02_activations/activations.py", 5)
    assert describe(raised, "hidden") == "ValueError raised in assignments/02_activations/activations.py:5"


def test_gate_requires_every_module_passed():
    milestone = COURSE.milestone("1")
    passed = {m: score_module(COURSE.module(m), [], run(), tasks_total=0) for m in milestone.requires}
    assert gate(milestone, passed).unlocked
    passed["03"].status = "partial"
    verdict = gate(milestone, passed)
    assert not verdict.unlocked and verdict.missing == ["03"]


def test_module_of_file():
    assert module_of_file("assignments/02_activations/activations.py") == "02"
    assert module_of_file("tests/x.py") is None and module_of_file(None) is None


def test_rejected_results_score_nothing_whatever_they_say():
    r = run({t.nodeid: "passed" for t in PLAN}, problems=["2 result line(s) without the run's signature"])
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert (result.status, result.score) == ("error", 0)
    assert "rejected" in result.message and "signature" in result.message
    assert all(t.score == 0 for t in result.tests)


def test_file_refused_by_the_policy_check_is_status_policy():
    problem = "assignments/02_activations/activations.py:3: import of 'ctypes' is not allowed in course code"
    result = score_module(M02, PLAN, run(), tasks_total=3, file_problem=problem, file_status="policy")
    assert (result.status, result.score, result.message) == ("policy", 0, problem)
    assert all(t.outcome == "not_run" for t in result.tests)


def test_limits_are_named_in_messages():
    limits = {"memory_mb": 512, "output_kb": 64, "cpu_seconds": 30, "module_timeout": 9, "test_timeout": 2}
    memory = Failure("MemoryError", "Unable to allocate 745. GiB", "assignments/02_activations/activations.py", 9)
    r = run({PLAN[0].nodeid: "passed", PLAN[1].nodeid: "failed"}, {PLAN[1].nodeid: memory}, limits=limits)
    r.returncode = -24                                     # SIGXCPU
    assert "CPU-time limit 30 s (SIGXCPU)" in score_module(M02, PLAN, r, tasks_total=3).message
    r.returncode, r.output_limit = 1, True
    assert "output over 64 KB was cut" in score_module(M02, PLAN, r, tasks_total=3).message
    r = run({t.nodeid: "passed" for t in PLAN[1:]} | {PLAN[0].nodeid: "failed"}, {PLAN[0].nodeid: memory},
            limits=limits)
    assert "memory limit 512 MB" in score_module(M02, PLAN, r, tasks_total=3).message
    r = run({PLAN[0].nodeid: "passed"}, wall_timeout=True, limits=limits)
    assert score_module(M02, PLAN, r, tasks_total=3).message.startswith("timeout after 9 s")


def test_results_verify_only_with_the_runs_secret(tmp_path):
    import json

    from grading.run import check_ids, read_results, sign

    def line(record, secret):
        body = json.dumps(record, sort_keys=True)
        return json.dumps({"body": body, "mac": sign(secret, body)}) + "\n"

    ok = {"kind": "test", "nodeid": PLAN[0].nodeid, "when": "call", "outcome": "passed"}
    records = tmp_path / "records.jsonl"
    records.write_text(line(ok, "s3cret") + line({**ok, "nodeid": PLAN[1].nodeid}, "guessed")
                       + json.dumps(ok) + "\n")
    lines, report, problems = read_results(records, tmp_path / "none.json", "s3cret")
    assert lines == [ok] and report == {} and problems == ["2 result line(s) without the run's signature"]
    expected = {t.nodeid for t in PLAN}
    assert check_ids([ok, ok], {}, expected) == [f"results recorded twice: {PLAN[0].nodeid}"]
    extra = {**ok, "nodeid": "02_activations/test_a.py::test_mine"}
    assert "did not plan" in check_ids([extra], {}, expected)[0]
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"tests": [{"nodeid": PLAN[0].nodeid, "outcome": "passed"}], "signature": "x"}))
    assert read_results(records, summary, "s3cret")[2][-1] == "a test summary without the run's signature"
