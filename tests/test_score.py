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
    assert result.status == "error" and "signal 9" in result.message and "test_1" in result.message
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
