"""Reporting the verdict: masked reports, the decision at the end of the session, the
evidence files (verdict.json, verdict-<phase>.json, the checkpoint chain), junit properties and
the terminal summary. The decision itself is ``decide`` (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_hastate.errors import CleanupResidue, GuardRefusal, HastateError
from pytest_hastate.io.checkpoints import save_checkpoint, with_phase
from pytest_hastate.io.evidence import write_model
from pytest_hastate.io.redact import Masker
from pytest_hastate.models import CriterionResult, PhaseRecord, VerdictInputs, VerdictRecord
from pytest_hastate.provenance import produced_by
from pytest_hastate.run import ProofRun
from pytest_hastate.verdict.decide import decide, exit_code, skipped_required

_XML_KEY: Any
try:  # pytest's own stash key of the junit XML writer (not a public API: absent is fine)
    from _pytest.junitxml import xml_key as _XML_KEY
except ImportError:  # pragma: no cover - a pytest without it writes no properties
    _XML_KEY = None

INCOMPLETE = {
    int(pytest.ExitCode.INTERRUPTED): "interrupted",
    int(pytest.ExitCode.INTERNAL_ERROR): "internal error",
}


def mask_report(report: pytest.TestReport, mask: Masker) -> None:
    """Credential values never reach the terminal, junit XML or any report: the failure text
    and the captured output of every report are masked (and any URL's user-info)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], mask(str(longrepr[2])))
    elif longrepr is not None and mask.leaks(str(longrepr)):
        report.longrepr = mask(str(longrepr))
    report.sections = [(name, mask(content)) for name, content in report.sections]


COMPACT_LINES = 6
"""Lines of the error itself a compact failure keeps (pytest's ``E`` lines)."""
FULL_TRACEBACK_HINT = "(the full traceback: -v or --tb=long)"


def compact_failure(
    report: pytest.TestReport, item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]
) -> None:
    """A failure in a few lines, unless the operator asked for more (``-v``, any ``--tb``):
    where the proof met it, the error itself, and how to see the whole traceback. A backend
    that refuses connections otherwise prints hundreds of lines of botocore and urllib3 frames
    before the verdict, which already names the cause."""
    option = item.config.option
    asked = option.tbstyle != "auto" or option.verbose > 0 or option.fulltrace or option.showlocals
    if not report.failed or asked:
        return
    if isinstance(excinfo.value, pytest.fail.Exception):
        return  # the proof's own one-line statement (pytest.fail(pytrace=False)) or a fail()
    ours = [
        entry for entry in excinfo.traceback
        if entry.path == item.path or "pytest_hastate" in str(entry.path)
    ]  # fmt: skip
    where = (
        f"{ours[-1].path}:{ours[-1].lineno + 1}"
        if ours
        else f"{item.location[0]}:{(item.location[1] or 0) + 1}"
    )
    lines = [
        line for leaf in leaves(excinfo.value)
        for line in (pytest.ExceptionInfo.from_exception(leaf).exconly().splitlines()
                     or [type(leaf).__name__])
    ]  # fmt: skip
    kept = [f"E   {line}" for line in lines[:COMPACT_LINES]]
    if len(lines) > COMPACT_LINES:
        kept.append(f"E   ... ({len(lines) - COMPACT_LINES} more line(s))")
    report.longrepr = "\n".join([f"{where}: in {item.name}", *kept, FULL_TRACEBACK_HINT])


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or the error itself."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


def note_failure(run: ProofRun, item: pytest.Item, when: str, error: BaseException) -> None:
    """A guard refusal, and whose failure this is (by dependency), in the collector. The
    session cleanup's residue is the run's finding: alone, the phase's report is not the
    test's; beside other teardown errors (one exception group), those stay the test's."""
    found = leaves(error)
    residue = [leaf for leaf in found if isinstance(leaf, CleanupResidue)]
    others = [leaf for leaf in found if not isinstance(leaf, CleanupResidue)]
    if residue and not others:
        run.collector.add_residue(item.nodeid, when, str(residue[0]))
        run.collector.cleanup_residue += [str(leaf) for leaf in residue[1:]]
        return
    run.collector.cleanup_residue += [str(leaf) for leaf in residue]
    if residue:
        error = others[0] if len(others) == 1 else error
    if isinstance(error, GuardRefusal):
        run.collector.add_guard_refusal(error.target)
    criteria = run.collector.criteria.get(item.nodeid, ())
    observed = None
    if isinstance(error, AssertionError | pytest.fail.Exception) and str(error).strip():
        # The proof's own statement of what it observed, without pytest's introspection.
        observed = " ".join(str(error).split("\nassert ")[0].split())
    elif not isinstance(error, HastateError):
        observed = run.health.cause_met_by(criteria)  # a backend error, in words
    run.collector.note_failure(item.nodeid, when, error, observed)


def teardown_before_deciding(run: ProofRun, session: pytest.Session) -> None:
    """After Ctrl-C pytest tears the session's fixtures down only after every sessionfinish
    hook: do it now, so what the cleanup removed or could not remove is in the verdict."""
    setup_state = getattr(session, "_setupstate", None)
    if setup_state is None:
        return
    try:
        setup_state.teardown_exact(None)
    except BaseException as exc:
        for leaf in leaves(exc):
            if isinstance(leaf, KeyboardInterrupt):
                continue  # the operator's own interrupt: what it left is said below
            text = " ".join(str(leaf).split()) or type(leaf).__name__
            if isinstance(leaf, CleanupResidue):
                run.collector.cleanup_residue.append(text)
            else:
                run.collector.unattributed_failures.append(
                    f"teardown after the interruption: {text}"
                )
    scratch = run.scratch
    if scratch is not None and scratch.bucket is not None and not scratch.closed:
        run.collector.unattributed_failures.append(
            "the cleanup did not run: this run's scratch objects may remain under "
            f"{scratch.scope.bucket}/{scratch.scope.run_prefix}"
        )


def finish(run: ProofRun, session: pytest.Session, exitstatus: int) -> None:
    """Decide, and write the evidence. Only for a run in which a test ran: --collect-only, an
    empty selection and a run stopped before its first test write or change nothing."""
    proof_run = run.collector.active or run.inputs.has_input
    if not (proof_run and run.collector.ran) or exitstatus == pytest.ExitCode.USAGE_ERROR:
        return
    if exitstatus == pytest.ExitCode.OK and run.collector.never_reached():
        exitstatus = int(pytest.ExitCode.INTERRUPTED)  # a second Ctrl-C pytest itself lost
    if exitstatus in INCOMPLETE:
        teardown_before_deciding(run, session)
    results = run.collector.results()
    run.record(timing=run.busy.summary())
    verdict = decide(_verdict_inputs(run, results, exitstatus))
    run.verdict = verdict.model_copy(update={
        "reasons": [run.mask(r) for r in verdict.reasons],
        "notes": [run.mask(n) for n in verdict.notes],
    })  # fmt: skip
    settings = run.settings
    run.exit_code = exit_code(
        verdict.status, expect_interim=settings.expect_interim, pytest_exit=exitstatus,
        skipped=skipped_required(verdict),
    )  # fmt: skip
    record = _verdict_record(run)
    _junit_properties(session, record)
    run.verdict_file = settings.evidence_dir / "verdict.json"
    write_model(run.verdict_file, record)
    write_model(settings.evidence_dir / f"verdict-{settings.phase}.json", record)
    _record_phase(run, results)


def _verdict_inputs(
    run: ProofRun, results: dict[str, CriterionResult], exitstatus: int
) -> VerdictInputs:
    settings, checkpoint = run.settings, run.checkpoint
    return VerdictInputs(
        results=results,
        carried=checkpoint.carried_criteria() if checkpoint else {},
        guard_refusals=run.collector.guard_refusals,
        unattributed_failures=run.collector.unattributed_failures,
        cleanup_residue=run.collector.cleanup_residue,
        static_stop_conditions=list(run.inputs.static_stops),
        ha_semantics=run.inputs.ha_semantics,
        maintenance_event=run.maintenance_event,  # type: ignore[arg-type]
        dry_run=settings.dry_run,
        deselected=sorted(run.collector.deselected),
        incomplete=INCOMPLETE.get(exitstatus),
        required_observability=_required_observability(run),
    )


def _required_observability(run: ProofRun) -> list[str]:
    """The observability criteria required: those of the signals the documents list, when
    --require-observability or the contract asks for them."""
    from pytest_hastate.observability.signals import SIGNALS, listed

    inputs = run.inputs
    if not (run.settings.require_observability or inputs.contract_requires_observability):
        return []
    lists = inputs.observability_lists
    return [f"observability.{signal}" for signal in SIGNALS if listed(signal, lists)]


def _verdict_record(run: ProofRun) -> VerdictRecord:
    settings, inputs, verdict = run.settings, run.inputs, run.verdict
    assert verdict is not None
    assert run.exit_code is not None
    package = inputs.package_model
    return VerdictRecord(
        verdict=verdict.status, reasons=verdict.reasons, criteria=verdict.criteria,
        notes=verdict.notes, run_id=settings.run_id, phase=settings.phase, mode=settings.mode.value,
        package_name=package.name if package else None,
        package_digest=inputs.package.sha256 if inputs.package else None,
        profile=inputs.profile.name, profile_digest=inputs.profile.sha256,
        contract_digest=inputs.contract_digest,
        maintenance_event=run.maintenance_event,  # type: ignore[arg-type]
        dry_run=settings.dry_run, expect_interim=settings.expect_interim, exit_code=run.exit_code,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"), facts=run.facts,
        produced_by=produced_by(run.servers, run.tofu),
    )  # fmt: skip


def _junit_properties(session: pytest.Session, record: VerdictRecord) -> None:
    xml: Any = session.config.stash.get(_XML_KEY, None) if _XML_KEY is not None else None
    if xml is None:
        return
    for name, value in (
        ("hastate_verdict", record.verdict.value),
        ("hastate_reasons", json.dumps(record.reasons)),
        *([("hastate_notes", json.dumps(record.notes))] if record.notes else []),
        ("hastate_run_id", record.run_id),
        ("hastate_phase", record.phase),
        ("hastate_package_digest", record.package_digest or ""),
        ("hastate_profile", f"{record.profile} sha256:{record.profile_digest}"),
        *(
            [("hastate_produced_by", record.produced_by.model_dump_json())]
            if record.produced_by
            else []
        ),
        *([("hastate_watch", record.facts.watch.model_dump_json())] if record.facts.watch else []),
    ):
        xml.add_global_property(name, value)


def _record_phase(run: ProofRun, results: dict[str, CriterionResult]) -> None:
    """Append this phase to the checkpoint chain (atomically), and copy the chain into the
    evidence folder when it is the maintenance chain (one with a durability sample)."""
    settings = run.settings
    target = settings.checkpoint_file or settings.from_checkpoint
    checkpoint = run.checkpoint or run.new_checkpoint()
    if target is None or checkpoint is None:
        return
    record = PhaseRecord(
        phase=settings.phase, mode=settings.mode.value,
        run_at=datetime.now(UTC).isoformat(timespec="seconds"),
        criteria={
            cid: r.model_copy(update={"message": run.mask(r.message)}) for cid, r in results.items()
        },
        maintenance_event=settings.maintenance_event,  # type: ignore[arg-type]
        dry_run=settings.dry_run, unreachable_endpoints=run.facts.unreachable_endpoints,
        failover_wait_seconds=run.facts.failover_wait_seconds, facts=run.facts,
        produced_by=produced_by(run.servers, run.tofu),
    )  # fmt: skip
    run.checkpoint = with_phase(checkpoint, record)
    save_checkpoint(target, run.checkpoint)
    copy = settings.evidence_dir / "checkpoint.json"
    if run.checkpoint.sample and copy.resolve() != target.resolve():
        save_checkpoint(copy, run.checkpoint)


def summarise(run: ProofRun, terminalreporter: pytest.TerminalReporter) -> None:
    verdict = run.verdict
    if verdict is None:
        return
    colour = {"GO": {"green": True}, "STOP": {"red": True}}.get(
        verdict.status.value, {"yellow": True}
    )
    terminalreporter.write_sep("=", f"hastate verdict: {verdict.status.value}", bold=True, **colour)
    for reason in verdict.reasons:
        terminalreporter.write_line(f"  - {reason}")
    for note in verdict.notes:
        terminalreporter.write_line(f"  note: {note}")
    where = f", written to {run.verdict_file}" if run.verdict_file else ""
    settings = run.settings
    terminalreporter.write_line(
        f"hastate: run {settings.run_id}, phase {settings.phase}, exit code {run.exit_code}{where}"
    )
    skipped = skipped_required(verdict)
    if settings.expect_interim and verdict.status.value == "INTERIM_ONLY" and skipped:
        terminalreporter.write_line(
            f"hastate: --expect-interim accepts only an INTERIM_ONLY that awaits a later phase; "
            f"skipped, so not 0: {', '.join(skipped)}"
        )
    if line := time_line(run.facts.timing):
        terminalreporter.write_line(line)


def time_line(timing: dict[str, float]) -> str | None:
    """Where the run's time went, in one line (only when it waited on something)."""
    if not timing.get("tofu_seconds") and not timing.get("s3_seconds"):
        return None
    return (
        f"hastate: {timing['wall_seconds']:.1f} s: waiting on OpenTofu "
        f"{timing['tofu_seconds']:.1f} s, on S3 round-trips {timing['s3_seconds']:.1f} s, "
        f"other {timing['outside_seconds']:.1f} s ({timing['outside_share']:.0%})"
    )
