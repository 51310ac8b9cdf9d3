"""The collector: pytest's reports (setup, call, teardown) folded into criterion results, with
the words each failure is reported in and the criterion it follows from."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from pytest_hastate.errors import CleanupResidue, DependencyFailed, HastateError
from pytest_hastate.models import CriterionResult, Outcome
from pytest_hastate.verdict.collector import MESSAGE_LIMIT, NEVER_RAN, Collector, report_message

A, B = "proofs/test_a.py::test_a", "proofs/test_b.py::test_b"


def report(
    nodeid: str, when: str = "call", outcome: str = "passed", longrepr: object = None
) -> pytest.TestReport:
    return pytest.TestReport(nodeid, ("x.py", 1, "t"), {}, outcome, longrepr, when)  # type: ignore[arg-type]


def failed(
    nodeid: str, when: str = "call", text: str = "E   AssertionError: boom"
) -> pytest.TestReport:
    return report(nodeid, when, "failed", text)


def skipped(nodeid: str, reason: str, when: str = "setup") -> pytest.TestReport:
    return report(nodeid, when, "skipped", ("x.py", 1, f"Skipped: {reason}"))


def collector(**criteria: tuple[str, ...]) -> Collector:
    made = Collector()
    for nodeid, claimed in criteria.items():
        made.expect(nodeid, claimed)
    return made


# --- one line per report ---------------------------------------------------------------------


def test_a_skip_says_its_reason_without_pytests_prefix() -> None:
    assert report_message(skipped(A, "no OpenTofu binary")) == "no OpenTofu binary"


def test_a_failure_says_its_error_lines_joined() -> None:
    text = "def test():\n>   assert x\nE   assert 1 == 2\nE    +  where 1 = f()\nx.py:3: AssertionError"
    assert report_message(failed(A, text=text)) == "assert 1 == 2 + where 1 = f()"


def test_a_failure_without_error_lines_says_its_whole_text_on_one_line() -> None:
    assert (
        report_message(failed(A, text="stale lock\n  after release")) == "stale lock after release"
    )


def test_a_short_or_empty_failure_text_is_said_as_it_is() -> None:
    assert report_message(failed(A, text="abc")) == "abc"  # three characters, not a skip tuple
    assert report_message(report(A, "call", "failed", None)) == ""


@pytest.mark.parametrize("length", [MESSAGE_LIMIT - 1, MESSAGE_LIMIT, MESSAGE_LIMIT + 1, 5000])
def test_a_long_message_is_cut_to_the_limit_with_an_ellipsis(length: int) -> None:
    message = report_message(failed(A, text="x" * length))
    if length <= MESSAGE_LIMIT:
        assert message == "x" * length
    else:
        assert message == "x" * (MESSAGE_LIMIT - 1) + "…"
        assert len(message) == MESSAGE_LIMIT


# --- outcomes per phase ----------------------------------------------------------------------


def test_a_passing_call_proves_its_criteria_and_passing_setup_and_teardown_add_nothing() -> None:
    made = collector(**{A: ("x.one", "x.two")})
    assert made.ran is False
    made.add(report(A, "setup"))
    assert made.ran is True
    assert made.never_reached() == [A]  # a passing setup alone is no evidence
    made.add(report(A, "call"))
    made.add(report(A, "teardown"))
    assert made.results() == {
        "x.one": CriterionResult(outcome=Outcome.PASSED),
        "x.two": CriterionResult(outcome=Outcome.PASSED),
    }
    assert made.never_reached() == []
    assert made.unattributed_failures == []


def test_a_selected_test_that_never_reported_keeps_its_criteria_from_passing() -> None:
    made = collector(**{A: ("x.one",), B: ("x.one", "x.two")})
    made.add(report(A))
    assert made.never_reached() == [B]
    assert made.results() == {"x.one": NEVER_RAN, "x.two": NEVER_RAN}
    assert made.active is True
    assert Collector().active is False


def test_a_setup_error_and_a_teardown_error_say_which_phase_failed() -> None:
    made = collector(**{A: ("x.one",), B: ("x.two",)})
    made.add(failed(A, "setup", "E   no scratch bucket"))
    made.add(report(B, "call"))
    made.add(failed(B, "teardown", "E   cleanup left residue"))
    results = made.results()
    assert results["x.one"] == CriterionResult(
        outcome=Outcome.FAILED, message="setup error: no scratch bucket"
    )
    assert results["x.two"] == CriterionResult(
        outcome=Outcome.FAILED, message="teardown error: cleanup left residue"
    )


def test_a_skip_is_a_skip_with_its_reason_and_an_xfail_proves_nothing() -> None:
    made = collector(**{A: ("x.one",), B: ("x.two",)})
    made.add(skipped(A, "no OpenTofu binary"))
    xfailed = report(B, "call", "skipped", ("x.py", 1, "xfail"))
    xfailed.wasxfail = "flaky"
    made.add(xfailed)
    assert made.results() == {
        "x.one": CriterionResult(outcome=Outcome.SKIPPED, message="no OpenTofu binary"),
        "x.two": CriterionResult(
            outcome=Outcome.SKIPPED, message="an xfail marker cannot prove a criterion"
        ),
    }


def test_a_failure_of_a_test_that_claims_nothing_is_kept_unattributed() -> None:
    made = collector(**{A: ("x.one",)})
    made.add(report(B))
    made.add(skipped(B, "not this phase"))
    assert made.unattributed_failures == []
    made.add(failed(B, text="E   boom"))
    assert made.unattributed_failures == [f"{B}: boom"]
    assert made.results() == {"x.one": NEVER_RAN}


def test_a_collection_error_is_kept_unattributed_with_where_it_happened() -> None:
    made = Collector()
    made.add_collect_error(pytest.CollectReport("", "failed", "E   bad conftest", []))
    made.add_collect_error(pytest.CollectReport("proofs/x.py", "failed", "E   syntax", []))
    assert made.unattributed_failures == [
        "collecting session: bad conftest",
        "collecting proofs/x.py: syntax",
    ]
    made.add_guard_refusal("tofu-state/x")
    assert made.guard_refusals == ["tofu-state/x"]


# --- the words of a failure and what it follows from -----------------------------------------


def test_what_the_backend_did_is_said_instead_of_the_report_text() -> None:
    made = collector(**{A: ("x.one",)})
    made.note_failure(
        A, "call", AssertionError("assert False"), observed="stale lock after release"
    )
    made.add(failed(A, text="E   assert False"))
    assert made.results()["x.one"].message == "stale lock after release"


def test_our_own_errors_are_said_in_their_own_words() -> None:
    made = collector(**{A: ("x.one",), B: ("x.two",)})
    made.note_failure(A, "call", HastateError("the scratch bucket is not versioned"))
    made.add(failed(A, text="E   pytest_hastate.errors.HastateError: the scratch ..."))
    made.note_failure(B, "call", ValueError("raw"))
    made.add(failed(B, text="E   ValueError: raw"))
    results = made.results()
    assert results["x.one"].message == "the scratch bucket is not versioned"
    assert results["x.two"].message == "ValueError: raw"
    assert results["x.one"].depends_on is None


def test_a_dependency_failure_names_its_root_once() -> None:
    made = collector(**{A: ("x.one",), B: ("x.two",)})
    error = DependencyFailed("by dependency on x.one: no lock", depends_on="x.one")
    made.note_failure(B, "call", error)
    made.add(failed(B))
    assert made.results()["x.two"] == CriterionResult(
        outcome=Outcome.FAILED, message="by dependency on x.one: no lock", depends_on="x.one"
    )


def test_the_same_error_met_again_in_a_later_test_is_by_dependency_on_the_first() -> None:
    """A session fixture that failed raises the same exception object into every later test."""
    made = collector(**{A: ("x.one", "x.also"), B: ("x.two",)})
    error = HastateError("writes answer 500")
    made.note_failure(A, "setup", error)
    made.add(failed(A, "setup"))
    made.note_failure(B, "setup", error)
    made.add(failed(B, "setup"))
    results = made.results()
    assert results["x.one"] == CriterionResult(
        outcome=Outcome.FAILED, message="setup error: writes answer 500"
    )
    assert results["x.two"] == CriterionResult(
        outcome=Outcome.FAILED, message="by dependency on x.one: writes answer 500",
        depends_on="x.one",
    )  # fmt: skip


def test_a_new_error_in_a_later_test_is_its_own_failure() -> None:
    made = collector(**{A: ("x.one",), B: ("x.two",)})
    made.note_failure(A, "call", HastateError("first"))
    made.add(failed(A))
    made.note_failure(B, "call", HastateError("second"))
    made.add(failed(B))
    assert made.results()["x.two"] == CriterionResult(outcome=Outcome.FAILED, message="second")


def test_a_failure_that_depends_on_its_own_criterion_is_its_own() -> None:
    made = collector(**{A: ("x.one",)})
    made.note_failure(A, "call", DependencyFailed("no lock", depends_on="x.one"))
    made.add(failed(A))
    assert made.results()["x.one"] == CriterionResult(outcome=Outcome.FAILED, message="no lock")


def test_the_first_test_to_meet_an_error_that_claims_nothing_leaves_no_root() -> None:
    made = collector(**{B: ("x.two",)})
    error = HastateError("writes answer 500")
    made.note_failure(A, "setup", error)
    made.note_failure(B, "setup", error)
    made.add(failed(B, "setup"))
    assert made.results()["x.two"] == CriterionResult(
        outcome=Outcome.FAILED, message="setup error: writes answer 500"
    )


def test_a_dependency_is_kept_only_on_a_failure() -> None:
    made = collector(**{A: ("x.one",)})
    made.note_failure(A, "call", DependencyFailed("no lock", depends_on="x.zero"))
    made.add(skipped(A, "skipped after all", "call"))
    assert made.results()["x.one"] == CriterionResult(
        outcome=Outcome.SKIPPED, message="skipped after all"
    )


def test_a_criterion_claimed_by_two_tests_fails_on_the_root_failure() -> None:
    made = collector(**{A: ("x.one",), B: ("x.one",)})
    made.note_failure(
        A, "call", DependencyFailed("by dependency on x.zero: gone", depends_on="x.zero")
    )
    made.add(failed(A))
    made.note_failure(B, "call", HastateError("its own"))
    made.add(failed(B))
    assert made.results()["x.one"] == CriterionResult(outcome=Outcome.FAILED, message="its own")


def test_the_session_cleanups_residue_is_the_runs_finding_not_the_last_tests() -> None:
    """pytest tears session fixtures down in the last test's teardown: the residue met there
    is recorded for the run, and that teardown report says nothing about the test."""
    made = collector(**{A: ("x.one",)})
    made.add(report(A, "call"))
    made.add_residue(A, "teardown", "cleanup left residue: b/k@1")
    made.add(failed(A, "teardown", "E   cleanup left residue: b/k@1"))
    assert made.cleanup_residue == ["cleanup left residue: b/k@1"]
    assert made.results() == {"x.one": CriterionResult(outcome=Outcome.PASSED)}
    assert made.unattributed_failures == []
    made.add(failed(A, "setup", "E   other"))  # only that phase's report is the run's
    assert made.results()["x.one"].outcome is Outcome.FAILED


def test_a_declared_dependency_is_kept_when_the_same_error_is_met_again() -> None:
    made = collector(**{A: ("x.one",), B: ("x.two",)})
    error = DependencyFailed("no lock", depends_on="x.zero")
    made.note_failure(A, "call", error)
    made.note_failure(B, "call", error)
    made.add(failed(B))
    assert made.results()["x.two"].depends_on == "x.zero"


def test_a_dependency_met_by_a_test_that_claims_nothing_is_kept() -> None:
    made = Collector()
    made.note_failure(A, "call", DependencyFailed("no lock", depends_on="x.zero"))
    made.add(failed(A, text="E   no lock"))
    assert made.unattributed_failures == [f"{A}: by dependency on x.zero: no lock"]


def fake_run(made: Collector) -> Any:
    return SimpleNamespace(collector=made, health=SimpleNamespace(cause_met_by=lambda _c: None))


def test_residue_inside_an_exception_group_is_still_the_runs_finding() -> None:
    from pytest_hastate.verdict.reporter import note_failure

    made = collector(**{A: ("x.one",)})
    item = SimpleNamespace(nodeid=A)
    made.add(report(A, "call"))
    alone = BaseExceptionGroup("teardown", [CleanupResidue("cleanup left residue: b/k@1")])
    note_failure(fake_run(made), item, "teardown", alone)  # type: ignore[arg-type]
    made.add(failed(A, "teardown", "E   ExceptionGroup"))
    assert made.cleanup_residue == ["cleanup left residue: b/k@1"]
    assert made.results()["x.one"].outcome is Outcome.PASSED

    other = HastateError("the workspace's evidence could not be written")
    both = BaseExceptionGroup(
        "teardown", [CleanupResidue("cleanup left residue: b/k@2"), ExceptionGroup("g", [other])]
    )
    made = collector(**{A: ("x.one",)})
    made.add(report(A, "call"))
    note_failure(fake_run(made), item, "teardown", both)  # type: ignore[arg-type]
    made.add(failed(A, "teardown", "E   ExceptionGroup"))
    assert made.cleanup_residue == ["cleanup left residue: b/k@2"]
    assert made.results()["x.one"] == CriterionResult(
        outcome=Outcome.FAILED,
        message="teardown error: the workspace's evidence could not be written",
    )
