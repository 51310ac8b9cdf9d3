"""pytest hooks of pytest-hastate, and nothing else.

Importing this module does no work: no file reads, no clients, no subprocesses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from datetime import UTC, datetime

import pytest
from _pytest.junitxml import xml_key

from pytest_hastate.errors import GuardRefusal, HastateError, InputError, SettingsError
from pytest_hastate.io.checkpoints import save_checkpoint, with_phase
from pytest_hastate.io.evidence import write_model
from pytest_hastate.io.redact import Masker
from pytest_hastate.models import CriterionResult, PhaseRecord, VerdictInputs, VerdictRecord
from pytest_hastate.run import ProofRun
from pytest_hastate.settings import (
    CRITERION_ID,
    CRITERION_MARKER,
    OPTIONS,
    PHASE_MARKERS,
    resolve,
)
from pytest_hastate.steps import BY_ID, BY_MARKER, STEPS
from pytest_hastate.verdict.decide import decide, exit_code

pytest_plugins = [
    "pytest_hastate.fixtures.core",
    "pytest_hastate.fixtures.s3",
    "pytest_hastate.fixtures.tofu",
    "pytest_hastate.fixtures.maintenance",
]

RUN_KEY = pytest.StashKey[ProofRun]()
PREFIX = "pytest-hastate"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hastate", "pytest-hastate: prove an HA OpenTofu state backend")
    for spec in OPTIONS:
        env = f" [env {spec.env}, ini hastate_{spec.dest[8:]}]"
        if spec.kind == "flag":
            group.addoption(
                spec.flag, action="store_true", default=False, dest=spec.dest, help=spec.help + env
            )
            parser.addini(spec.dest, spec.help, type="bool", default=False)
        else:
            metavar = "PATH" if spec.kind == "path" else spec.name.split("-")[-1].upper()
            group.addoption(
                spec.flag,
                action="store",
                default=None,
                dest=spec.dest,
                metavar=metavar,
                help=spec.help + env,
            )
            parser.addini(spec.dest, spec.help, type="string", default="")


def pytest_configure(config: pytest.Config) -> None:
    for step in STEPS:
        config.addinivalue_line("markers", f"{step.marker}: {step.description}")
    config.addinivalue_line(
        "markers", f"{CRITERION_MARKER}(id, ...): the verdict criteria this test proves"
    )
    if config.option.help or getattr(config.option, "version", False):
        return
    try:
        settings = resolve(
            lambda dest: getattr(config.option, dest, None),
            config.getini,
            os.environ,
            invocation_dir=config.invocation_params.dir,
            ini_dir=config.rootpath,
            markexpr=config.option.markexpr,
        )
        run = ProofRun.start(
            settings,
            roots=tuple(dict.fromkeys((config.rootpath, config.invocation_params.dir))),
            redact=Masker.from_environment(os.environ),
        )
    except SettingsError as exc:
        raise pytest.UsageError(f"{PREFIX}: {exc}") from None
    except InputError as exc:
        raise pytest.UsageError(f"{PREFIX}: {exc}") from None
    if run.has_input and _distributed(config):
        raise pytest.UsageError(
            f"{PREFIX}: pytest-xdist (-n / --dist) is not supported: a proof run is one session "
            "with one verdict and one checkpoint chain; run it without -n"
        )
    config.stash[RUN_KEY] = run
    config.pluginmanager.register(RunHooks(run), RunHooks.NAME)


def _distributed(config: pytest.Config) -> bool:
    """True on an xdist controller that will start workers, and on an xdist worker."""
    if hasattr(config, "workerinput"):
        return True
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) or getattr(config.option, "dist", "no") not in ("no", None)


def pytest_report_header(config: pytest.Config) -> str | None:
    run = config.stash.get(RUN_KEY, None)
    if run is None or not run.has_input:
        return None
    s = run.settings
    line = f"hastate: run {s.run_id}, mode {s.mode.value}, phase {s.phase}"
    if run.package is not None:
        line += f", package {run.package.path.name} sha256:{run.package.sha256[:12]}"
    if run.contract is not None:
        line += f", contract {run.contract.path.name}"
    return line


LIVE_STEPS = frozenset(BY_MARKER) - {"static"}
PHASE_OF_MODE = {mode: marker for marker, (mode, _flag) in PHASE_MARKERS.items()}


def _steps_of(item: pytest.Item) -> set[str]:
    return {m.name for m in item.iter_markers() if m.name in BY_MARKER}


def _criteria_of(item: pytest.Item) -> list[str]:
    """The criteria a test declares; a malformed or unknown id is a usage error (a typo must
    not leave a criterion silently unproven)."""
    criteria: list[str] = []
    for mark in item.iter_markers(CRITERION_MARKER):
        for cid in mark.args:
            if not isinstance(cid, str) or not CRITERION_ID.match(cid):
                raise pytest.UsageError(f"{PREFIX}: {item.nodeid}: invalid criterion id {cid!r}")
            if cid not in BY_ID:
                raise pytest.UsageError(
                    f"{PREFIX}: {item.nodeid}: unknown criterion {cid!r} (the catalogue: "
                    f"{', '.join(BY_ID)})"
                )
            criteria.append(cid)
    return criteria


def _own_steps(run: ProofRun, item: pytest.Item) -> set[str]:
    """The step markers the test itself carries (not the phase marker a phase mode adds)."""
    return set(run.item_steps.get(item.nodeid, _steps_of(item)))


@pytest.hookimpl(trylast=True)  # after pytest's own -m / -k deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    proofs_seen = False
    for item in items:
        criteria = _criteria_of(item)
        steps = _steps_of(item)
        proofs_seen = proofs_seen or bool(criteria or steps)
        if steps and not steps & run.settings.steps:
            drop.append(item)
            continue
        keep.append(item)
        if criteria:
            run.collector.expect(item.nodeid, tuple(dict.fromkeys(criteria)))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if proofs_seen and not run.has_input:
        raise pytest.UsageError(
            f"{PREFIX}: nothing to prove: give --endpoint-package PATH (live proof) or --contract PATH (static gate)"
        )
    _check_needs(config, run, keep)
    backend = [item for item in keep if _needs_backend(item)]
    if backend and run.package is None:
        raise pytest.UsageError(
            f"{PREFIX}: {backend[0].nodeid} needs a backend (a live step or an S3 fixture): "
            "give --endpoint-package PATH"
        )
    if backend:
        try:
            run.connect()
        except InputError as exc:
            raise pytest.UsageError(f"{PREFIX}: {exc}") from None


# Fixtures that reach the backend: a test using one is a live test, marked or not.
BACKEND_FIXTURES = frozenset(
    {
        "hastate_s3_access", "hastate_s3", "hastate_s3_primary", "hastate_s3_factory",
        "hastate_scratch_bucket", "hastate_reachability", "hastate_tofu_workspace",
        "hastate_open_workspace", "hastate_sample_verification", "hastate_checkpoint_workspace",
    }
)  # fmt: skip


def _needs_backend(item: pytest.Item) -> bool:
    if any(m.name in LIVE_STEPS for m in item.iter_markers()):
        return True
    return bool(BACKEND_FIXTURES & set(getattr(item, "fixturenames", ())))


def _check_needs(config: pytest.Config, run: ProofRun, kept: list[pytest.Item]) -> None:
    """A selected test whose prerequisite steps were deselected (by -m or -k) would prove
    nothing, or crash: a usage error naming what is missing."""
    present: set[str] = set()
    for item in kept:
        present |= _own_steps(run, item)
    for step in sorted(present):
        wanted = BY_MARKER[step].needs & run.settings.steps & run.collected_steps
        missing = sorted(wanted - present)
        if missing:
            how = " ".join(
                f"{flag} {value!r}"
                for flag, value in (("-m", config.option.markexpr), ("-k", config.option.keyword))
                if value
            )
            raise pytest.UsageError(
                f"{PREFIX}: {how or 'the selection'} leaves out the {', '.join(missing)} tests, "
                f"which the {step} tests stand on (select the whole phase, e.g. -m {step})"
            )


def pytest_unconfigure(config: pytest.Config) -> None:
    hooks = config.pluginmanager.get_plugin(RunHooks.NAME)
    if hooks is not None:
        config.pluginmanager.unregister(hooks)


class RunHooks:
    """The hooks of one proof run, registered in ``pytest_configure`` (the junitxml pattern)."""

    NAME = "hastate-run"

    def __init__(self, run: ProofRun) -> None:
        self.run = run

    @pytest.hookimpl(tryfirst=True)  # before pytest's own -m deselection
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """In a phase mode every test the phase runs carries the phase marker, so
        ``-m pre_maintenance`` selects the whole phase, exactly as its flags do."""
        settings = self.run.settings
        phase = PHASE_OF_MODE.get(settings.mode)
        for item in items:
            _criteria_of(item)  # every collected test, selected or not
            steps = _steps_of(item)
            self.run.item_steps[item.nodeid] = frozenset(steps)
            self.run.collected_steps |= steps
            if phase is not None and steps & settings.steps and phase not in steps:
                item.add_marker(phase)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.run.collector.add_collect_error(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Tell the backend health which test runs (for "by dependency") and which step."""
        run = self.run
        steps = sorted(_own_steps(run, item))
        step = steps[0] if steps else None
        run.health.enter(
            run.collector.criteria.get(item.nodeid, ()), step, run.settings.step_budget(step)
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        _mask_report(report, self.run.redact)
        if call.excinfo is not None:
            error = call.excinfo.value
            if isinstance(error, GuardRefusal):
                self.run.collector.add_guard_refusal(error.target)
            criteria = self.run.collector.criteria.get(item.nodeid, ())
            observed = None
            if not isinstance(error, HastateError | AssertionError | pytest.fail.Exception):
                observed = self.run.health.cause_met_by(criteria)  # a backend error, in words
            self.run.collector.note_failure(item.nodeid, call.when, error, observed)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.run.collector.add(report)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(
        self, session: pytest.Session, exitstatus: int
    ) -> Generator[None, None, None]:
        """Decide before junitxml and the terminal summary run; set the exit code after."""
        run = self.run
        # Evidence only from a run in which a test ran: --collect-only, an empty selection and
        # a run stopped before its first test never write or change a verdict or checkpoint.
        proof_run = run.collector.active or run.has_input
        if proof_run and run.collector.ran and exitstatus != pytest.ExitCode.USAGE_ERROR:
            if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
                _teardown_before_deciding(run, session)
            _decide(run, session, int(exitstatus))
        yield
        if run.exit_code is not None:
            session.exitstatus = run.exit_code

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        _summarise(self.run, terminalreporter)


def _mask_report(report: pytest.TestReport, mask: Masker) -> None:
    """Credential values never reach the terminal, junit XML or any report: the failure text
    and the captured output of every report are masked."""
    if not mask.secrets:
        return
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], mask(str(longrepr[2])))
    elif longrepr is not None and mask.leaks(str(longrepr)):
        report.longrepr = mask(str(longrepr))
    report.sections = [(name, mask(content)) for name, content in report.sections]


def _teardown_before_deciding(run: ProofRun, session: pytest.Session) -> None:
    """After Ctrl-C pytest tears the session's fixtures down only after every sessionfinish
    hook: do it now, so what the cleanup removed or could not remove is in the verdict."""
    setup_state = getattr(session, "_setupstate", None)
    if setup_state is None:
        return
    try:
        setup_state.teardown_exact(None)
    except BaseException as exc:
        leaves = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
        for leaf in leaves:
            text = " ".join(str(leaf).split()) or type(leaf).__name__
            run.collector.unattributed_failures.append(f"teardown after the interruption: {text}")


def _decide(run: ProofRun, session: pytest.Session, exitstatus: int) -> None:
    s = run.settings
    incomplete = {
        int(pytest.ExitCode.INTERRUPTED): "interrupted",
        int(pytest.ExitCode.INTERNAL_ERROR): "internal error",
    }.get(exitstatus)
    checkpoint = run.checkpoint
    results = run.collector.results()
    inputs = VerdictInputs(
        results=results,
        carried=checkpoint.carried_criteria() if checkpoint else {},
        guard_refusals=run.collector.guard_refusals,
        unattributed_failures=run.collector.unattributed_failures,
        static_stop_conditions=run.static_stop_conditions(),
        ha_semantics=run.ha_semantics(),
        maintenance_event=s.maintenance_event
        or (checkpoint.declared_event() if checkpoint else None),  # type: ignore[arg-type]
        dry_run=s.dry_run,
        incomplete=incomplete,
    )
    verdict = decide(inputs)
    verdict = verdict.model_copy(update={"reasons": [run.redact(r) for r in verdict.reasons]})
    run.verdict = verdict
    run.exit_code = exit_code(
        verdict.status, expect_interim=s.expect_interim, pytest_exit=exitstatus
    )
    package = run.endpoint_package()
    record = VerdictRecord(
        verdict=verdict.status,
        reasons=verdict.reasons,
        criteria=verdict.criteria,
        run_id=s.run_id,
        phase=s.phase,
        mode=s.mode.value,
        package_name=package.name if package else None,
        package_digest=run.package.sha256 if run.package else None,
        contract_digest=run.contract_digest(),
        maintenance_event=s.maintenance_event,  # type: ignore[arg-type]
        dry_run=s.dry_run,
        expect_interim=s.expect_interim,
        exit_code=run.exit_code,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        facts=run.phase_facts,
    )
    xml = session.config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property("hastate_verdict", verdict.status.value)
        xml.add_global_property("hastate_reasons", json.dumps(verdict.reasons))
        xml.add_global_property("hastate_run_id", s.run_id)
        xml.add_global_property("hastate_phase", s.phase)
        xml.add_global_property("hastate_package_digest", record.package_digest or "")
    run.verdict_file = s.evidence_dir / "verdict.json"
    write_model(run.verdict_file, record)
    write_model(s.evidence_dir / f"verdict-{s.phase}.json", record)
    _record_phase(run, results)


def _record_phase(run: ProofRun, results: dict[str, CriterionResult]) -> None:
    """Write this phase into the checkpoint (atomically), and a copy into the evidence folder."""
    s = run.settings
    target = s.checkpoint_file or s.from_checkpoint
    if target is None:
        return
    checkpoint = run.checkpoint or run.base_checkpoint()
    if checkpoint is None:
        return
    record = PhaseRecord(
        phase=s.phase,
        mode=s.mode.value,
        run_at=datetime.now(UTC).isoformat(timespec="seconds"),
        criteria={
            cid: r.model_copy(update={"message": run.redact(r.message)})
            for cid, r in results.items()
        },
        maintenance_event=s.maintenance_event,  # type: ignore[arg-type]
        dry_run=s.dry_run,
        unreachable_endpoints=run.phase_facts.get("unreachable_endpoints", []),
        failover_wait_seconds=run.phase_facts.get("failover_wait_seconds"),
        facts=run.phase_facts,
    )
    run.checkpoint = with_phase(checkpoint, record)
    save_checkpoint(target, run.checkpoint)
    # The maintenance chain (one with a durability sample) is copied into the evidence bundle;
    # a boundary or live run's own checkpoint stays where the operator put it.
    copy = s.evidence_dir / "checkpoint.json"
    if run.checkpoint.sample and copy.resolve() != target.resolve():
        save_checkpoint(copy, run.checkpoint)


def _summarise(run: ProofRun, terminalreporter: pytest.TerminalReporter) -> None:
    if run.verdict is None:
        return
    verdict = run.verdict
    colour = {"GO": {"green": True}, "STOP": {"red": True}}.get(
        verdict.status.value, {"yellow": True}
    )
    terminalreporter.write_sep("=", f"hastate verdict: {verdict.status.value}", bold=True, **colour)
    for reason in verdict.reasons:
        terminalreporter.write_line(f"  - {reason}")
    where = run.verdict_file
    terminalreporter.write_line(
        f"hastate: run {run.settings.run_id}, phase {run.settings.phase}, exit code {run.exit_code}"
        + (f", written to {where}" if where else "")
    )
