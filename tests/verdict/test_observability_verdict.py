"""The observability criteria in the verdict: notes unless required; required, not proven is
STOP naming the signal; required and not run awaits the run that proves it."""

from __future__ import annotations

from pytest_hastate.models import CriterionResult, Outcome, Status, VerdictInputs
from pytest_hastate.steps import OPTIONAL, REQUIRED_FOR_GO
from pytest_hastate.verdict.decide import decide

P = CriterionResult(outcome=Outcome.PASSED)
HIDDEN = CriterionResult(
    outcome=Outcome.SKIPPED,
    message='not proven: SeaweedFS_s3_request_total{code=~"403"} grew by 0 over 1 source(s), '
    "fewer than the 9 403 answers (the boundary probes) the proof received",
)
NO_SOURCE = CriterionResult(
    outcome=Outcome.SKIPPED,
    message="not proven: the package names no metrics source (metrics_sources)",
)
GO_RESULTS = {
    **dict.fromkeys(REQUIRED_FOR_GO, P),
    "maintenance.verified": P,
    "maintenance.writable": P,
    "maintenance.endpoint_loss_observed": P,
}


def test_the_observability_criteria_are_optional() -> None:
    assert {c for c in OPTIONAL if c.startswith("observability.")} == {
        "observability.failed_auth", "observability.failed_write",
        "observability.delete_behavior", "observability.replication_lag",
        "observability.object_availability",
    }  # fmt: skip


def test_not_proven_and_not_required_is_a_note_and_go_stays_go() -> None:
    verdict = decide(VerdictInputs(results={**GO_RESULTS, "observability.failed_auth": NO_SOURCE}))
    assert verdict.status is Status.GO
    assert verdict.notes == [
        "observability.failed_auth not proven (not required): the package names no metrics "
        "source (metrics_sources)"
    ]
    assert not any("observability" in reason for reason in verdict.reasons)


def test_required_and_not_proven_is_stop_naming_the_signal() -> None:
    verdict = decide(
        VerdictInputs(
            results={**GO_RESULTS, "observability.failed_auth": HIDDEN,
                     "observability.failed_write": P},
            required_observability=["observability.failed_auth", "observability.failed_write"],
        )
    )  # fmt: skip
    assert verdict.status is Status.STOP
    assert verdict.reasons == [
        "observability.failed_auth required, not proven: "
        + HIDDEN.message.removeprefix("not proven: ")
    ]
    assert verdict.notes == []


def test_the_backends_own_failure_comes_before_a_required_signal() -> None:
    failed = CriterionResult(outcome=Outcome.FAILED, message="two winners")
    verdict = decide(
        VerdictInputs(
            results={**GO_RESULTS, "scratch.conditional_write": failed,
                     "observability.failed_auth": HIDDEN},
            required_observability=["observability.failed_auth"],
        )
    )  # fmt: skip
    assert verdict.status is Status.STOP
    assert verdict.reasons[0].startswith("scratch.conditional_write failed")
    assert verdict.reasons[1].startswith("observability.failed_auth required, not proven")


def test_required_and_not_run_awaits_the_run_that_proves_it() -> None:
    verdict = decide(
        VerdictInputs(results=GO_RESULTS, required_observability=["observability.failed_auth"])
    )
    assert verdict.status is Status.INTERIM_ONLY
    assert any(
        r.startswith("not proven: observability.failed_auth (required;") for r in verdict.reasons
    )


def test_a_dry_run_is_not_stopped_by_a_required_signal() -> None:
    verdict = decide(
        VerdictInputs(
            results={"observability.failed_auth": NO_SOURCE}, dry_run=True,
            required_observability=["observability.failed_auth"],
        )
    )  # fmt: skip
    assert verdict.status is Status.INTERIM_ONLY
