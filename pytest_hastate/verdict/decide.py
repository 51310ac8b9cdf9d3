"""The verdict: one pure function from criterion outcomes to GO / INTERIM_ONLY / STOP.

Imports only the models, the steps table and the exit codes (docs/guide/verdict.md):

- STOP: any executed criterion failed or errored (setup/teardown included), a failure outside
  any criterion, a scratch-guard refusal, residue the cleanup left, or a static stop condition.
- GO: no STOP, every criterion of proof steps 1-3 passed, and HA is proven, either by two
  independent endpoints plus a maintenance verify after an endpoint/node loss (observed or
  declared), or by managed HA semantics (with a reference) plus a verify after a declared
  managed event. A dry run is never GO.
- INTERIM_ONLY: everything else. A skipped criterion never counts as proven.

The observability.* criteria do not change the status unless required: not proven, they are
notes; required (``required_observability``), one not proven is STOP, one not run INTERIM_ONLY.
"""

from __future__ import annotations

from collections.abc import Mapping

from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.models import (
    CriterionResult,
    Outcome,
    Status,
    Verdict,
    VerdictInputs,
)
from pytest_hastate.steps import BY_ID, OBSERVABILITY_CRITERIA, OPTIONAL, REQUIRED_FOR_GO

LOSS_EVENTS = frozenset({"endpoint-loss", "node-loss"})

_RANK = {Outcome.FAILED: 2, Outcome.SKIPPED: 1, Outcome.PASSED: 0}


def fold(results: list[CriterionResult]) -> CriterionResult:
    """Fold several results of one criterion: failed beats skipped beats passed; a failure of
    its own beats a failure by dependency."""
    worst = max(results, key=lambda r: _RANK[r.outcome])
    same = [r for r in results if r.outcome is worst.outcome]
    roots = [r for r in same if r.depends_on is None]
    chosen = roots or same
    messages = [r.message for r in chosen if r.message]
    return CriterionResult(
        outcome=worst.outcome,
        message="; ".join(dict.fromkeys(messages)),
        depends_on=None if roots else chosen[0].depends_on,
    )


def combined(inputs: VerdictInputs) -> dict[str, CriterionResult]:
    """This run's results merged with the carried ones of earlier phases."""
    ids = list(dict.fromkeys([*inputs.carried, *inputs.results]))
    merged: dict[str, CriterionResult] = {}
    for cid in ids:
        both = [r for r in (inputs.carried.get(cid), inputs.results.get(cid)) if r is not None]
        failed = [r for r in both if r.outcome is Outcome.FAILED]
        if failed:
            merged[cid] = fold(failed)
        else:
            # This run's word on a criterion it re-ran, else the carried one.
            merged[cid] = both[-1]
    return merged


def _ha_proven(results: Mapping[str, CriterionResult], inputs: VerdictInputs) -> bool:
    def passed(cid: str) -> bool:
        result = results.get(cid)
        return result is not None and result.outcome is Outcome.PASSED

    verified = passed("maintenance.verified") and passed("maintenance.writable")
    by_endpoints = (
        passed("endpoints.independent")
        and verified
        and (
            passed("maintenance.endpoint_loss_observed") or inputs.maintenance_event in LOSS_EVENTS
        )
    )
    semantics = inputs.ha_semantics
    by_managed = (
        semantics is not None
        and semantics.kind == "managed"
        and bool(semantics.reference and semantics.reference.strip())
        and verified
        and inputs.maintenance_event == "managed"
    )
    return by_endpoints or by_managed


def decide(inputs: VerdictInputs) -> Verdict:
    """The verdict and its reasons. Pure: same inputs, same verdict."""
    results = combined(inputs)
    criteria: dict[str, str] = {cid: "missing" for cid in BY_ID}
    criteria.update({cid: r.outcome.value for cid, r in results.items()})
    notes, required_stop, required_missing = _observability(results, inputs)
    stop = _stop_reasons(results, inputs)
    if stop or required_stop:
        reasons = stop + required_stop  # the backend's failures first: they are the cause
        return Verdict(status=Status.STOP, reasons=reasons, criteria=criteria, notes=notes)  # type: ignore[arg-type]
    interim = _interim_reasons(results, inputs) + required_missing
    if interim:
        return Verdict(status=Status.INTERIM_ONLY, reasons=interim, criteria=criteria, notes=notes)  # type: ignore[arg-type]
    go = [_go_reason(results, inputs)]
    return Verdict(status=Status.GO, reasons=go, criteria=criteria, notes=notes)  # type: ignore[arg-type]


def _observability(
    results: Mapping[str, CriterionResult], inputs: VerdictInputs
) -> tuple[list[str], list[str], list[str]]:
    """(notes, STOP reasons, INTERIM reasons) of the observability criteria: not proven and
    not required is a note; required and not proven (skipped) is STOP; required and not run
    awaits the run that proves it. A dry run proves nothing and stops nothing."""
    notes: list[str] = []
    stop: list[str] = []
    missing: list[str] = []
    required = set(inputs.required_observability)
    for cid in OBSERVABILITY_CRITERIA:
        result = results.get(cid)
        if result is None:
            if cid in required and not inputs.dry_run:
                missing.append(f"not proven: {cid} (required; {BY_ID[cid].how_to_prove})")
            continue
        if result.outcome is not Outcome.SKIPPED:
            continue
        why = result.message.removeprefix("not proven: ") or "no reason given"
        if cid in required and not inputs.dry_run:
            stop.append(f"{cid} required, not proven: {why}")
        elif cid in required:
            notes.append(f"{cid} not proven (required, but a dry run reads no metrics): {why}")
        else:
            notes.append(f"{cid} not proven (not required): {why}")
    return notes, stop, missing


def _stop_reasons(results: Mapping[str, CriterionResult], inputs: VerdictInputs) -> list[str]:
    """Root causes first (the failures others depend on), then those that failed by dependency;
    each group in the order of the proof steps; then refusals, other failures, static stops."""
    order = {cid: index for index, cid in enumerate(BY_ID)}
    failed = [(cid, r) for cid, r in results.items() if r.outcome is Outcome.FAILED]

    def rank(item: tuple[str, CriterionResult]) -> tuple[bool, int]:
        return item[1].depends_on is not None, order.get(item[0], len(order))

    reasons = [f"{cid} failed: {r.message or 'no message'}" for cid, r in sorted(failed, key=rank)]
    reasons += [f"scratch guard refused {target}" for target in inputs.guard_refusals]
    reasons += [f"failure outside any criterion: {text}" for text in inputs.unattributed_failures]
    reasons += list(inputs.cleanup_residue)
    reasons += [f"static stop condition: {text}" for text in inputs.static_stop_conditions]
    if reasons and inputs.incomplete:
        reasons.append(f"run incomplete: {inputs.incomplete}")
    return reasons


def _interim_reasons(results: Mapping[str, CriterionResult], inputs: VerdictInputs) -> list[str]:
    reasons: list[str] = []
    if inputs.incomplete:
        reasons.append(f"run incomplete: {inputs.incomplete}")
    if inputs.dry_run:
        reasons.append("dry run: nothing was sent, so nothing is proven")
    if not results:
        reasons.append("no criterion ran")
    missing: dict[str, list[str]] = {}
    for cid in REQUIRED_FOR_GO:
        required = results.get(cid)
        if required is None:
            how = (
                "its tests were deselected by the selection"
                if cid in inputs.deselected
                else BY_ID[cid].how_to_prove
            )
            missing.setdefault(how, []).append(cid)
        elif required.outcome is Outcome.SKIPPED:
            reasons.append(f"{cid} skipped, not proven: {required.message or 'no reason given'}")
    reasons += [f"not proven: {', '.join(ids)} ({how})" for how, ids in missing.items()]
    if not _ha_proven(results, inputs):
        reasons.append(ha_not_proven(results))
    declared_loss = inputs.maintenance_event in LOSS_EVENTS
    for cid, result in results.items():
        if cid == "maintenance.endpoint_loss_observed" and declared_loss:
            continue  # the loss was declared: observing it is one way of two
        if cid in REQUIRED_FOR_GO or cid in OPTIONAL:
            continue  # required ones are reported above; optional ones prove only when present
        if result.outcome is Outcome.SKIPPED:
            reasons.append(f"{cid} skipped, not proven: {result.message or 'no reason given'}")
    return reasons


HA_CRITERIA = ("endpoints.independent", "maintenance.verified", "maintenance.writable")
LOSS_HOW = (
    "after an endpoint or node loss (observed, or --maintenance-event endpoint-loss|node-loss), "
    "or ha_semantics.kind=managed with a reference and a verify after a declared managed event"
)


def ha_not_proven(results: Mapping[str, CriterionResult]) -> str:
    """Why HA is not proven yet, naming only what is still missing."""
    missing = [
        cid for cid in HA_CRITERIA
        if (result := results.get(cid)) is None or result.outcome is not Outcome.PASSED
    ]  # fmt: skip
    needs = ", ".join(missing) if missing else "the verify"
    return f"HA not proven: still needs {needs} {LOSS_HOW}"


def _go_reason(results: Mapping[str, CriterionResult], inputs: VerdictInputs) -> str:
    """GO, saying how HA was proven (an auditor must see a loss that was only declared)."""
    observed = results.get("maintenance.endpoint_loss_observed")
    if observed is not None and observed.outcome is Outcome.PASSED:
        how = "an endpoint loss was observed during the verify"
    elif inputs.maintenance_event in LOSS_EVENTS:
        how = (
            f"--maintenance-event {inputs.maintenance_event} was declared; every endpoint "
            "answered during the verify, so the loss was not observed"
        )
    else:
        how = "managed HA semantics with a reference, after a declared managed event"
    return f"every criterion of steps 1-3 passed and HA was proven: {how}"


NOT_THE_RUNS_SHORTFALL = frozenset({"endpoints.independent", "static.contract", "static.package"})
"""Skips that describe the backend or the inputs chosen, not a shortfall of the run: a package
with one endpoint is an interim backend by nature, and a static gate skipped for a document
not given was not asked for; --expect-interim accepts them."""


def skipped_required(verdict: Verdict) -> list[str]:
    """The criteria required for GO that were selected but skipped (not proven) for a reason
    of the run (a missing tool, an earlier step), not a fact of the backend or of the inputs."""
    return [
        cid for cid in REQUIRED_FOR_GO
        if verdict.criteria.get(cid) == "skipped" and cid not in NOT_THE_RUNS_SHORTFALL
    ]  # fmt: skip


def exit_code(
    status: Status, *, expect_interim: bool, pytest_exit: int, skipped: list[str] | None = None
) -> int:
    """The process exit code. pytest's own codes other than 0/1 (interrupted, internal or
    usage error, no tests) are kept: they say the run itself did not complete.
    ``--expect-interim`` makes an INTERIM_ONLY exit 0 only when it awaits what a later phase
    proves: a required criterion that was skipped (``skipped``) keeps exit 10."""
    if pytest_exit not in (0, 1):
        return pytest_exit
    if status is Status.GO:
        return ExitCode.OK
    if status is Status.STOP:
        return ExitCode.STOP
    return ExitCode.OK if expect_interim and not skipped else ExitCode.INTERIM_ONLY
