"""The verdict as a pure function: a table of cases (docs/guide/verdict.md)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.models import CriterionResult, HaSemantics, Outcome, Status, VerdictInputs
from pytest_hastate.steps import REQUIRED_FOR_GO
from pytest_hastate.verdict.decide import decide, exit_code, skipped_required

P = CriterionResult(outcome=Outcome.PASSED)
F = CriterionResult(outcome=Outcome.FAILED, message="boom")
S = CriterionResult(outcome=Outcome.SKIPPED, message="no OpenTofu binary")

STEPS_1_3 = dict.fromkeys(REQUIRED_FOR_GO, P)
HA_BY_LOSS = {
    "maintenance.verified": P,
    "maintenance.writable": P,
    "maintenance.endpoint_loss_observed": P,
}


def v(**kwargs: Any) -> tuple[Status, list[str]]:
    verdict = decide(VerdictInputs(**kwargs))
    return verdict.status, verdict.reasons


CASES: list[tuple[str, dict[str, Any], Status, str]] = [
    ("nothing ran", {}, Status.INTERIM_ONLY, "no criterion ran"),
    ("all steps pass, HA missing", {"results": STEPS_1_3}, Status.INTERIM_ONLY, "HA not proven"),
    (
        "all pass with observed loss",
        {"results": {**STEPS_1_3, **HA_BY_LOSS}},
        Status.GO,
        "HA was proven",
    ),
    (
        "declared endpoint loss",
        {
            "results": {**STEPS_1_3, "maintenance.verified": P, "maintenance.writable": P},
            "maintenance_event": "endpoint-loss",
        },
        Status.GO,
        "",
    ),
    (
        "declared node loss",
        {
            "results": {**STEPS_1_3, "maintenance.verified": P, "maintenance.writable": P},
            "maintenance_event": "node-loss",
        },
        Status.GO,
        "",
    ),
    (
        "restart is not a loss",
        {
            "results": {**STEPS_1_3, "maintenance.verified": P, "maintenance.writable": P},
            "maintenance_event": "restart",
        },
        Status.INTERIM_ONLY,
        "HA not proven",
    ),
    (
        "single endpoint with loss declared",
        {
            "results": {
                **STEPS_1_3,
                "endpoints.independent": S,
                "maintenance.verified": P,
                "maintenance.writable": P,
            },
            "maintenance_event": "endpoint-loss",
        },
        Status.INTERIM_ONLY,
        "endpoints.independent skipped",
    ),
    (
        "managed semantics with reference",
        {
            "results": {
                **STEPS_1_3,
                "endpoints.independent": S,
                "maintenance.verified": P,
                "maintenance.writable": P,
            },
            "maintenance_event": "managed",
            "ha_semantics": HaSemantics(kind="managed", reference="https://docs.example.com/ha"),
        },
        Status.INTERIM_ONLY,  # endpoints.independent skipped is still a step 1-3 criterion not proven
        "endpoints.independent skipped",
    ),
    (
        "managed semantics, all steps passed",
        {
            "results": {**STEPS_1_3, "maintenance.verified": P, "maintenance.writable": P},
            "maintenance_event": "managed",
            "ha_semantics": HaSemantics(kind="managed", reference="https://docs.example.com/ha"),
        },
        Status.GO,
        "",
    ),
    (
        "managed semantics without reference",
        {
            "results": {**STEPS_1_3, "maintenance.verified": P, "maintenance.writable": P},
            "maintenance_event": "managed",
            "ha_semantics": HaSemantics(kind="managed"),
        },
        Status.INTERIM_ONLY,
        "HA not proven",
    ),
    (
        "any failure",
        {"results": {**STEPS_1_3, **HA_BY_LOSS, "scratch.versioning": F}},
        Status.STOP,
        "scratch.versioning failed: boom",
    ),
    ("failure beats everything", {"results": {"tofu.init": F}}, Status.STOP, "tofu.init failed"),
    (
        "skipped never proven",
        {"results": {**STEPS_1_3, **HA_BY_LOSS, "tofu.version": S}},
        Status.INTERIM_ONLY,
        "tofu.version skipped",
    ),
    (
        "guard refusal",
        {
            "results": {**STEPS_1_3, **HA_BY_LOSS},
            "guard_refusals": ["tofu-state/attic/terraform.tfstate"],
        },
        Status.STOP,
        "guard refused tofu-state",
    ),
    (
        "failure outside criteria",
        {"results": STEPS_1_3, "unattributed_failures": ["t.py::x: E"]},
        Status.STOP,
        "outside any criterion",
    ),
    (
        "static stop condition",
        {
            "results": {**STEPS_1_3, **HA_BY_LOSS},
            "static_stop_conditions": ["C03 $.bucket_recovery"],
        },
        Status.STOP,
        "static stop condition",
    ),
    (
        "dry run never GO",
        {"results": {**STEPS_1_3, **HA_BY_LOSS}, "dry_run": True},
        Status.INTERIM_ONLY,
        "dry run",
    ),
    (
        "interrupted never GO",
        {"results": {**STEPS_1_3, **HA_BY_LOSS}, "incomplete": "interrupted"},
        Status.INTERIM_ONLY,
        "interrupted",
    ),
    (
        "carried failure from an earlier phase",
        {"results": {**HA_BY_LOSS}, "carried": {**STEPS_1_3, "tofu.restore": F}},
        Status.STOP,
        "tofu.restore failed",
    ),
    (
        "carried passes complete the picture",
        {"results": {**HA_BY_LOSS}, "carried": STEPS_1_3},
        Status.GO,
        "",
    ),
    (
        "carried pass does not hide a failure now",
        {"results": {"scratch.bucket": F, **HA_BY_LOSS}, "carried": STEPS_1_3},
        Status.STOP,
        "scratch.bucket failed",
    ),
]


@pytest.mark.parametrize(("name", "inputs", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_verdict_table(name: str, inputs: dict[str, Any], status: Status, reason: str) -> None:
    got, reasons = v(**inputs)
    assert got is status, reasons
    assert any(reason in r for r in reasons), reasons


def test_missing_criteria_are_named_with_how_to_prove_them() -> None:
    _, reasons = v(results={"static.contract": P})
    joined = "\n".join(reasons)
    assert "static.package" in joined
    assert "--endpoint-package" in joined
    assert "tofu.init" in joined
    assert "--run-disposable-tofu" in joined


def test_criteria_map_lists_missing_ones() -> None:
    verdict = decide(VerdictInputs(results={"static.contract": P}))
    assert verdict.criteria["static.contract"] == "passed"
    assert verdict.criteria["boundary.scoped"] == "missing"


@pytest.mark.parametrize(
    ("status", "expect_interim", "pytest_exit", "code"),
    [
        (Status.GO, False, 0, 0),
        (Status.GO, True, 0, 0),
        (Status.INTERIM_ONLY, True, 0, 0),
        (Status.INTERIM_ONLY, False, 0, ExitCode.INTERIM_ONLY),
        (Status.STOP, False, 0, 1),
        (Status.STOP, True, 1, 1),
        (Status.INTERIM_ONLY, False, 2, 2),
        (Status.STOP, False, 3, 3),
    ],
)
def test_exit_codes(status: Status, expect_interim: bool, pytest_exit: int, code: int) -> None:
    assert exit_code(status, expect_interim=expect_interim, pytest_exit=pytest_exit) == code


def test_expect_interim_accepts_only_an_interim_that_awaits_a_later_phase() -> None:
    """A pre-maintenance run without an OpenTofu binary is INTERIM_ONLY too, but its skipped
    steps are not what a later phase proves: --expect-interim keeps exit 10 then."""
    skipped = {**STEPS_1_3, "tofu.version": S}
    waiting = decide(VerdictInputs(results=STEPS_1_3))
    assert waiting.status is Status.INTERIM_ONLY
    assert skipped_required(waiting) == []
    assert exit_code(waiting.status, expect_interim=True, pytest_exit=0,
                     skipped=skipped_required(waiting)) == 0  # fmt: skip
    one_endpoint = decide(VerdictInputs(results={**STEPS_1_3, "endpoints.independent": S}))
    assert skipped_required(one_endpoint) == []  # a fact of the backend: the expected interim
    unproven = decide(VerdictInputs(results=skipped))
    assert skipped_required(unproven) == ["tofu.version"]
    assert exit_code(unproven.status, expect_interim=True, pytest_exit=0,
                     skipped=skipped_required(unproven)) == ExitCode.INTERIM_ONLY  # fmt: skip


def test_interim_exit_code_is_not_one_of_pytests() -> None:
    assert ExitCode.INTERIM_ONLY not in {int(c) for c in pytest.ExitCode}


def test_go_says_how_ha_was_proven() -> None:
    observed = decide(VerdictInputs(results={**STEPS_1_3, **HA_BY_LOSS}))
    assert observed.status is Status.GO
    assert observed.reasons[0].endswith("an endpoint loss was observed during the verify")
    declared = decide(
        VerdictInputs(
            results={**STEPS_1_3, "maintenance.verified": P, "maintenance.writable": P},
            maintenance_event="endpoint-loss",
        )
    )
    assert declared.status is Status.GO
    assert "--maintenance-event endpoint-loss was declared" in declared.reasons[0]
    assert "the loss was not observed" in declared.reasons[0]
