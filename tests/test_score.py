"""Scoring, blame, isolation and gating as pure functions, on hand-made run records."""

from __future__ import annotations

import json
from dataclasses import replace

from grading.blame import Blame, function_spans
from grading.isolate import charge, merged_source, recorded
from grading.model import Failure, ModuleResult, ModuleRun, PlannedTest, TestResult
from grading.results import check_ids, read_results, sign
from grading.score import describe, gate, score_module, with_hints
from support import COURSE

M02 = COURSE.module("02")
PLAN = [PlannedTest(f"02_activations/test_a.py::test_{i}", "02", "visible" if i < 2 else "hidden", 10.0)
        for i in range(4)]
ACT = "assignments/02_activations/activations.py"
TENSOR = "assignments/01_tensor/tensor.py"
NIE = dict(exc_type="NotImplementedError", message="Module 02 (activations): write ReLU.forward",
           origin_file=ACT, origin_line=40, not_implemented=True, owner="02", task="ReLU.forward")


def run(outcomes=None, failures=None, **kw):
    return ModuleRun(**{"module": "02", "returncode": 1, "duration": 1.0, "outcomes": outcomes or {},
                        "failures": failures or {}, **kw})


def all_failed(failure: Failure, **kw) -> ModuleRun:
    return run({t.nodeid: "failed" for t in PLAN}, {t.nodeid: failure for t in PLAN}, **kw)


def test_all_passed():
    result = score_module(M02, PLAN, run({t.nodeid: "passed" for t in PLAN}), tasks_total=3)
    assert (result.status, result.score, result.max) == ("passed", 40.0, 40.0)


def test_partial_scores_passed_tests_only():
    outcomes = {PLAN[0].nodeid: "passed", PLAN[1].nodeid: "failed", PLAN[2].nodeid: "passed", PLAN[3].nodeid: "skipped"}
    failures = {PLAN[1].nodeid: Failure("AssertionError", "wrong", ACT, 3, owner="02")}
    result = score_module(M02, PLAN, run(outcomes, failures), tasks_total=3)
    assert (result.status, result.score) == ("partial", 20.0)


def test_untouched_stub_is_not_started_and_an_unfinished_task_is_named():
    edited = all_failed(Failure(**NIE))          # tasks_remaining 0: every stub body was replaced
    result = score_module(M02, PLAN, edited, tasks_total=3)
    assert result.status == "partial" and result.message == "not finished: ReLU.forward"
    result = score_module(M02, PLAN, replace(edited, tasks_remaining=3), tasks_total=3)
    assert (result.status, result.score) == ("not_started", 0.0)


def test_blame_goes_to_the_owner_of_the_task_not_of_the_file():
    """tensor.py is module 01's file, but MulBackward.backward is module 05's task."""
    module09 = COURSE.module("09")
    plan = [replace(t, module="09") for t in PLAN]
    stub05 = Failure("NotImplementedError", "Module 05 (autograd): write MulBackward.backward", TENSOR, 346,
                     not_implemented=True, owner="05", task="MulBackward.backward")
    result = score_module(module09, plan, replace(all_failed(stub05), module="09"), tasks_total=5)
    assert (result.status, result.blocked_by) == ("blocked", ("05",)), result.message
    assert "MulBackward.backward" in result.message
    module05 = COURSE.module("05")
    result = score_module(module05, [replace(t, module="05") for t in PLAN], replace(all_failed(stub05), module="05"),
                          tasks_total=29)
    assert result.status == "partial" and "MulBackward.backward" in result.message
    assert "in module 05's" not in describe(stub05, "visible", "05")
    assert "in module 05's MulBackward.backward" in describe(replace(stub05, not_implemented=False), "visible", "09")


def test_failures_in_an_earlier_module_block():
    failure = Failure("ValueError", "bad", TENSOR, 12, owner="01", task="Tensor.__add__")
    result = score_module(M02, PLAN, all_failed(failure), tasks_total=3)
    assert (result.status, result.blocked_by) == ("blocked", ("01",))


def test_collection_error_in_own_file_is_an_error_with_file_and_line():
    r = run(collect_errors=(Failure("SyntaxError", "invalid syntax", ACT, 7, owner="02"),))
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert result.status == "error" and f"{ACT}:7" in result.message
    assert result.score == 0 and all(t.outcome == "not_run" for t in result.tests)


def test_collection_error_in_earlier_file_blocks():
    r = run(collect_errors=(Failure("SyntaxError", "x", TENSOR, 3, owner="01"),))
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert (result.status, result.blocked_by) == ("blocked", ("01",))


def test_wall_timeout_keeps_finished_tests():
    result = score_module(M02, PLAN, run({PLAN[0].nodeid: "passed"}, wall_timeout=True), tasks_total=3)
    assert (result.status, result.score) == ("timeout", 10.0)
    assert "test_1" in result.message


def test_per_test_timeout_names_the_looping_line():
    outcomes = {t.nodeid: "passed" for t in PLAN[:3]} | {PLAN[3].nodeid: "failed"}
    failures = {PLAN[3].nodeid: Failure("Failed", "Timeout >1.0s", ACT, 9, timeout=True, owner="02", task="relu")}
    result = score_module(M02, PLAN, run(outcomes, failures), tasks_total=3)
    assert (result.status, result.score) == ("timeout", 30.0)
    assert f"{ACT}:9 (relu)" in result.message


def test_stopped_after_two_timeouts_is_a_timeout_not_a_crash():
    hang = Failure("Failed", "Timeout >1.0s", ACT, 9, timeout=True, owner="02", task="relu")
    outcomes = {PLAN[0].nodeid: "failed", PLAN[1].nodeid: "failed"}
    r = run(outcomes, {PLAN[0].nodeid: hang, PLAN[1].nodeid: hang}, stopped="stopped after 2 timeouts")
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert result.status == "timeout" and "stopped after 2 timeouts" in result.message
    assert [t.message for t in result.tests[2:]] == ["not run: stopped after 2 timeouts"] * 2


def test_a_hang_in_an_earlier_modules_code_blocks():
    hang = Failure("Failed", "Timeout >1.0s", TENSOR, 599, timeout=True, owner="01", task="Tensor.__init__")
    r = run({PLAN[0].nodeid: "failed"}, {PLAN[0].nodeid: hang}, stopped="stopped at the first timeout")
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert (result.status, result.blocked_by) == ("blocked", ("01",))
    assert f"{TENSOR}:599 (Tensor.__init__)" in result.message


def test_process_death_is_an_error_naming_the_test():
    result = score_module(M02, PLAN, run({PLAN[0].nodeid: "passed"}, returncode=-9), tasks_total=3)
    assert result.status == "error" and "SIGKILL" in result.message and "test_1" in result.message
    assert result.score == 10.0


def test_missing_file_is_an_error():
    result = score_module(M02, PLAN, run(), tasks_total=3, file_problem=f"{ACT} is missing")
    assert result.status == "error" and "missing" in result.message and result.score == 0


def test_hidden_messages_are_categories_only_and_staff_see_the_rest():
    secret = Failure("AssertionError", "expected [0.1234, 0.5678]", ACT, 5, owner="02")
    assert describe(secret, "hidden") == "wrong result"
    assert "0.1234" in describe(secret, "visible")
    raised = Failure("ValueError", "shape (3, 7) secret", ACT, 5, owner="02")
    assert describe(raised, "hidden") == f"ValueError raised in {ACT}:5"
    result = score_module(M02, PLAN, all_failed(secret), tasks_total=3)
    hidden = [t for t in result.tests if t.visibility == "hidden"]
    assert all(t.message == "wrong result" and "0.1234" in t.staff and f"{ACT}:5" in t.staff for t in hidden)


def test_gate_requires_every_module_passed():
    milestone = COURSE.milestone("1")
    passed = {m: score_module(COURSE.module(m), [], run(), tasks_total=0) for m in milestone.requires}
    assert gate(milestone, passed).unlocked
    passed["03"] = replace(passed["03"], status="partial")
    verdict = gate(milestone, passed)
    assert not verdict.unlocked and verdict.missing == ("03",)


def test_rejected_results_score_nothing_whatever_they_say():
    r = run({t.nodeid: "passed" for t in PLAN}, problems=("2 result line(s) without the run's signature",))
    result = score_module(M02, PLAN, r, tasks_total=3)
    assert (result.status, result.score) == ("error", 0)
    assert "rejected" in result.message and "signature" in result.message
    assert all(t.score == 0 for t in result.tests)


def test_file_refused_by_the_policy_check_is_status_policy():
    problem = f"{ACT}:3: import of 'ctypes' is not allowed in course code"
    result = score_module(M02, PLAN, run(), tasks_total=3, file_problem=problem, file_status="policy")
    assert (result.status, result.score, result.message) == ("policy", 0, problem)
    assert all(t.outcome == "not_run" for t in result.tests)


def test_limits_are_named_in_messages():
    limits = {"memory_mb": 512, "output_kb": 64, "cpu_seconds": 30, "module_timeout": 9, "test_timeout": 2}
    memory = Failure("MemoryError", "Unable to allocate 745. GiB", ACT, 9, owner="02")
    r = run({PLAN[0].nodeid: "passed", PLAN[1].nodeid: "failed"}, {PLAN[1].nodeid: memory}, limits=limits,
            returncode=-24)                                     # SIGXCPU
    assert "CPU-time limit 30 s (SIGXCPU)" in score_module(M02, PLAN, r, tasks_total=3).message
    r = replace(r, returncode=1, output_limit=True)
    assert "output over 64 KB was cut" in score_module(M02, PLAN, r, tasks_total=3).message
    r = run({t.nodeid: "passed" for t in PLAN[1:]} | {PLAN[0].nodeid: "failed"}, {PLAN[0].nodeid: memory},
            limits=limits)
    assert "memory limit 512 MB" in score_module(M02, PLAN, r, tasks_total=3).message
    r = run({PLAN[0].nodeid: "passed"}, wall_timeout=True, limits=limits)
    assert score_module(M02, PLAN, r, tasks_total=3).message.startswith("timeout after 9 s")


def test_results_verify_only_with_the_runs_secret(tmp_path):
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


def test_child_signs_and_digests_as_the_grader_checks():
    """child.py imports nothing from the grader: its copies of sign and outcomes_digest must agree."""
    from grading import child, results
    tests = [{"nodeid": "b", "outcome": "failed"}, {"nodeid": "a", "outcome": "passed"}]
    assert child.sign("k", "body") == results.sign("k", "body")
    assert child.outcomes_digest(tests) == results.outcomes_digest(tests)


# ------------------------------------------------------------------- blame map on a student's own file


def test_blame_follows_functions_in_the_students_own_line_numbers(tmp_path):
    text = "import numpy\n\n\ndef helper():\n    return 1\n\n\nclass MulBackward:\n    def backward(self, g):\n\n\n        return g\n"
    (tmp_path / TENSOR).parent.mkdir(parents=True)
    (tmp_path / TENSOR).write_text(text)
    blame = Blame(COURSE, {TENSOR: {"MulBackward.backward": "05"}}, tmp_path)
    assert blame.owner_at(TENSOR, 12) == ("05", "MulBackward.backward")
    assert blame.owner_at(TENSOR, 5) == ("01", "helper")
    assert blame.owner_at(TENSOR, 1) == ("01", None)
    assert blame.owner_at("elsewhere.py", 1) == (None, None)
    assert blame.spans()[TENSOR]["module"] == "01" and [9, 12, "05"] in blame.spans()[TENSOR]["spans"]
    assert blame.hang_span(TENSOR, 10)[:3] == [TENSOR, 9, 12]


def test_every_task_of_the_course_has_one_owner():
    from grading.stubs import task_owners
    owners = task_owners(COURSE)
    assert owners["assignments/01_tensor/tensor.py"]["MulBackward.backward"] == "05"
    assert owners["assignments/01_tensor/tensor.py"]["Tensor.__add__"] == "01"
    spans = function_spans((COURSE.root / "solutions/01_tensor/tensor.py").read_text())
    assert {"MulBackward.backward", "Tensor.__add__", "graph_op.decorate.recorded"} <= {s[2] for s in spans}


# ------------------------------------------------------------------- isolation, hints, policy


def _result(status, scores, blocked=()):
    tests = tuple(TestResult(f"t{i}", "visible", "passed" if s else "failed", s, 10.0) for i, s in enumerate(scores))
    return ModuleResult("03", "layers", "Layers", sum(scores), 10.0 * len(scores), status, blocked_by=blocked,
                        tests=tests)


def test_merged_source_swaps_only_the_taken_functions():
    student = "import os\n\ndef mine():\n    return 'student'\n\n\ndef theirs():\n    return 'wrong'\n    # extra\n"
    reference = "import os\n\ndef mine():\n    return 'ref'\n\n\ndef theirs():\n    return 'right'\n"
    merged = merged_source(student, reference, {"theirs"}, fallback="FALLBACK")
    assert "'student'" in merged and "'right'" in merged and "'wrong'" not in merged
    assert merged_source("raise ImportError('x')\n", reference, {"theirs"}, fallback="FALLBACK") == "FALLBACK"


def test_charge_blocks_only_when_every_failure_is_explained():
    integrated = _result("partial", [10.0, 0.0, 0.0])
    fixed_all = _result("passed", [10.0, 10.0, 10.0])
    charged = charge(integrated, fixed_all, {"02": {"t1", "t2"}})
    assert (charged.status, charged.blocked_by, charged.isolated.score) == ("blocked", ("02",), 30.0)
    fixed_one = _result("partial", [10.0, 10.0, 0.0])
    charged = charge(integrated, fixed_one, {"02": {"t1"}})
    assert charged.status == "partial" and "1 failing test(s) pass with the reference for module 02" in charged.message
    nothing = charge(integrated, integrated, {})
    assert nothing.status == "partial" and nothing.isolated.score == 10.0 and not nothing.blocked_by


def test_recorded_score_follows_the_course_policy():
    result = charge(_result("partial", [10.0, 0.0]), _result("passed", [10.0, 10.0]), {"02": {"t1"}})
    assert recorded(result, "integrated").score == 10.0
    assert recorded(result, "isolated").score == 20.0 and recorded(result, "max").score == 20.0


def test_without_a_reference_failing_modules_get_a_hint():
    results = [replace(_result("partial", [0.0]), id="02", slug="activations"), _result("partial", [10.0, 0.0])]
    hinted = with_hints(results, COURSE)
    assert hinted[1].hint == "module 02 does not pass yet; failures here may come from it"
    assert hinted[0].hint == ""
