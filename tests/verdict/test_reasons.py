"""The verdict's reasons, word for word and in order: what an operator reads first is the root
cause, and every shortfall says how to prove it. (test_decide.py holds the status table.)"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hastate.models import CriterionResult, HaSemantics, Outcome, Status, VerdictInputs
from pytest_hastate.steps import BY_ID, REQUIRED_FOR_GO
from pytest_hastate.verdict.decide import LOSS_HOW, combined, decide, fold, ha_not_proven

P = CriterionResult(outcome=Outcome.PASSED)
STEPS_1_3 = dict.fromkeys(REQUIRED_FOR_GO, P)
VERIFIED = {"maintenance.verified": P, "maintenance.writable": P}
TOFU_HOW = BY_ID["tofu.init"].how_to_prove


def failed(message: str = "", depends_on: str | None = None) -> CriterionResult:
    return CriterionResult(outcome=Outcome.FAILED, message=message, depends_on=depends_on)


def skipped(message: str = "") -> CriterionResult:
    return CriterionResult(outcome=Outcome.SKIPPED, message=message)


def reasons(**inputs: Any) -> tuple[Status, list[str]]:
    verdict = decide(VerdictInputs(**inputs))
    return verdict.status, verdict.reasons


# --- STOP: roots first, then what followed from them, then everything else --------------------


def test_a_stop_names_root_causes_first_in_step_order_then_what_followed() -> None:
    status, said = reasons(
        results={
            **STEPS_1_3,
            "tofu.noop_plan": failed("by dependency on tofu.lock_release: exited 1", "tofu.lock_release"),
            "tofu.lock_release": failed("stale lock after release"),
            "tofu.lock_contention": failed("lock held", "tofu.lock_release"),
            "scratch.versioning": failed(),
            "maintenance.verified": failed("object gone"),
        },
        guard_refusals=["tofu-state/attic/terraform.tfstate"],
        unattributed_failures=["proofs/x.py::y: E boom"],
        cleanup_residue=["cleanup left residue: b/k@1"],
        static_stop_conditions=["C03 $.bucket_recovery"],
        incomplete="interrupted",
    )  # fmt: skip
    assert status is Status.STOP
    assert said == [
        "scratch.versioning failed: no message",
        "tofu.lock_release failed: stale lock after release",
        "maintenance.verified failed: object gone",
        "tofu.noop_plan failed: by dependency on tofu.lock_release: exited 1",
        "tofu.lock_contention failed: lock held",
        "scratch guard refused tofu-state/attic/terraform.tfstate",
        "failure outside any criterion: proofs/x.py::y: E boom",
        "cleanup left residue: b/k@1",
        "static stop condition: C03 $.bucket_recovery",
        "run incomplete: interrupted",
    ]


def test_a_failed_criterion_outside_the_catalogue_comes_after_the_catalogues() -> None:
    _, said = reasons(results={"zz.unknown": failed("x"), "cleanup.complete": failed("y")})
    assert said == ["cleanup.complete failed: y", "zz.unknown failed: x"]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("guard_refusals", ["b/k"], "scratch guard refused b/k"),
        ("unattributed_failures", ["t: E"], "failure outside any criterion: t: E"),
        ("static_stop_conditions", ["C01"], "static stop condition: C01"),
        ("cleanup_residue", ["cleanup left residue: b/k"], "cleanup left residue: b/k"),
    ],
)
def test_each_run_level_finding_alone_is_a_stop(field: str, value: list[str], reason: str) -> None:
    assert reasons(results={**STEPS_1_3, **VERIFIED}, maintenance_event="node-loss", **{field: value}) == (
        Status.STOP, [reason],
    )  # fmt: skip


# --- INTERIM_ONLY: every shortfall with how to prove it ---------------------------------------


def test_an_interim_names_every_shortfall_with_how_to_prove_it() -> None:
    required_skips = {"tofu.version": skipped("no OpenTofu binary"), "scratch.bucket": skipped()}
    deselected = ["boundary.scoped"]
    results = {
        cid: r for cid, r in {**STEPS_1_3, **required_skips}.items()
        if cid not in deselected and not cid.startswith("tofu.i")
    }  # fmt: skip
    results |= {
        "watch.lock_exclusive": skipped("optional: not watched"),
        "maintenance.checkpoint": skipped(),
        "maintenance.endpoint_loss_observed": skipped("every endpoint answered"),
    }
    status, said = reasons(
        results=results, deselected=deselected, incomplete="stopped early", dry_run=True
    )
    assert status is Status.INTERIM_ONLY
    assert said == [
        "run incomplete: stopped early",
        "dry run: nothing was sent, so nothing is proven",
        "scratch.bucket skipped, not proven: no reason given",
        "tofu.version skipped, not proven: no OpenTofu binary",
        "not proven: boundary.scoped (its tests were deselected by the selection)",
        f"not proven: tofu.init ({TOFU_HOW})",
        f"HA not proven: still needs maintenance.verified, maintenance.writable {LOSS_HOW}",
        "maintenance.checkpoint skipped, not proven: no reason given",
        "maintenance.endpoint_loss_observed skipped, not proven: every endpoint answered",
    ]


def test_a_declared_loss_makes_the_unobserved_loss_no_shortfall() -> None:
    results = {
        **STEPS_1_3, **VERIFIED,
        "maintenance.endpoint_loss_observed": skipped("every endpoint answered"),
        "tofu.version": skipped("no binary"),
        "cleanup.complete": skipped("not yet"),
    }  # fmt: skip
    assert reasons(results=results, maintenance_event="endpoint-loss") == (
        Status.INTERIM_ONLY,
        ["tofu.version skipped, not proven: no binary",
         "cleanup.complete skipped, not proven: not yet"],
    )  # fmt: skip
    assert reasons(results=results, maintenance_event="restart")[1] == [
        "tofu.version skipped, not proven: no binary",
        f"HA not proven: still needs the verify {LOSS_HOW}",
        "maintenance.endpoint_loss_observed skipped, not proven: every endpoint answered",
        "cleanup.complete skipped, not proven: not yet",
    ]


def test_nothing_ran_says_so_and_names_every_required_criterion() -> None:
    status, said = reasons()
    assert status is Status.INTERIM_ONLY
    assert said[0] == "no criterion ran"
    named = [cid for reason in said if reason.startswith("not proven: ")
             for cid in reason.removeprefix("not proven: ").split(" (")[0].split(", ")]  # fmt: skip
    assert named == list(REQUIRED_FOR_GO)


def test_ha_not_proven_names_only_what_is_missing() -> None:
    assert ha_not_proven({}) == (
        "HA not proven: still needs endpoints.independent, maintenance.verified, "
        f"maintenance.writable {LOSS_HOW}"
    )
    assert ha_not_proven({"endpoints.independent": P, "maintenance.verified": skipped(),
                          "maintenance.writable": P}) == (
        f"HA not proven: still needs maintenance.verified {LOSS_HOW}"
    )  # fmt: skip


@pytest.mark.parametrize(
    "semantics",
    [
        HaSemantics(kind="managed", reference="   "),
        HaSemantics(kind="managed"),
        HaSemantics(kind="endpoints", reference="https://docs.example.com/ha"),
    ],
)
def test_managed_semantics_need_a_reference_and_the_managed_kind(semantics: HaSemantics) -> None:
    results = {**STEPS_1_3, **VERIFIED}
    assert reasons(results=results, maintenance_event="managed", ha_semantics=semantics) == (
        Status.INTERIM_ONLY, [f"HA not proven: still needs the verify {LOSS_HOW}"],
    )  # fmt: skip


@pytest.mark.parametrize("missing", ["maintenance.verified", "maintenance.writable"])
def test_managed_semantics_need_the_verify(missing: str) -> None:
    results = {**STEPS_1_3, **VERIFIED}
    del results[missing]
    semantics = HaSemantics(kind="managed", reference="https://docs.example.com/ha")
    status, _ = reasons(results=results, maintenance_event="managed", ha_semantics=semantics)
    assert status is Status.INTERIM_ONLY


# --- GO: how HA was proven --------------------------------------------------------------------

GO = "every criterion of steps 1-3 passed and HA was proven: "


@pytest.mark.parametrize(
    ("extra", "event", "semantics", "how"),
    [
        (
            {"maintenance.endpoint_loss_observed": P}, "restart", None,
            "an endpoint loss was observed during the verify",
        ),
        (
            {"maintenance.endpoint_loss_observed": skipped("all answered")}, "node-loss", None,
            "--maintenance-event node-loss was declared; every endpoint answered during the "
            "verify, so the loss was not observed",
        ),
        (
            {}, "endpoint-loss", None,
            "--maintenance-event endpoint-loss was declared; every endpoint answered during the "
            "verify, so the loss was not observed",
        ),
        (
            {}, "managed", HaSemantics(kind="managed", reference="https://docs.example.com/ha"),
            "managed HA semantics with a reference, after a declared managed event",
        ),
    ],
)  # fmt: skip
def test_go_says_how_ha_was_proven(
    extra: dict[str, CriterionResult], event: str, semantics: HaSemantics | None, how: str
) -> None:
    results = {**STEPS_1_3, **VERIFIED, **extra}
    assert reasons(results=results, maintenance_event=event, ha_semantics=semantics) == (
        Status.GO, [GO + how],
    )  # fmt: skip


# --- folding one criterion's results ----------------------------------------------------------


def test_a_failure_of_its_own_beats_failures_by_dependency_and_messages_are_said_once() -> None:
    assert fold(
        [P, skipped("s"), failed("a", "x.root"), failed("b"), failed("b"), failed("c")]
    ) == (failed("b; c"))
    assert fold([failed("a", "x.first"), failed("a", "x.second"), P]) == failed("a", "x.first")
    assert fold([P, skipped("s"), skipped(""), skipped("t")]) == skipped("s; t")
    assert fold([P, P]) == P


def test_an_earlier_phases_failure_is_kept_and_otherwise_this_runs_word_counts() -> None:
    carried = {"a": failed("then"), "b": P, "c": skipped("then"), "d": P}
    now = {"a": P, "b": skipped("now"), "c": P, "e": failed("now")}
    merged = combined(VerdictInputs(results=now, carried=carried))
    assert merged == {
        "a": failed("then"), "b": skipped("now"), "c": P, "d": P, "e": failed("now"),
    }  # fmt: skip
    assert list(merged) == ["a", "b", "c", "d", "e"]
    both = combined(VerdictInputs(results={"a": failed("now")}, carried={"a": failed("then")}))
    assert both == {"a": failed("then; now")}
