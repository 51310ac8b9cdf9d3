"""pytest hooks of pytest-hastate, and nothing else.

Importing this module does no work: no file reads, no clients, no subprocesses, and no heavy
imports (every pytest session loads it). The work is in plain modules, imported only by a
session whose options name something to prove: ``settings`` (options), ``run`` (inputs),
``selection`` (which tests run), ``verdict.reporter`` (masking, deciding, writing the evidence).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from pytest_hastate import selection
from pytest_hastate.errors import InputError, SettingsError
from pytest_hastate.settings import CRITERION_MARKER, OPTIONS, resolve
from pytest_hastate.stash import RUN_KEY
from pytest_hastate.steps import STEPS

if TYPE_CHECKING:
    from collections.abc import Generator

    from pytest_hastate.run import ProofRun

pytest_plugins = [
    "pytest_hastate.fixtures.core",
    "pytest_hastate.fixtures.s3",
    "pytest_hastate.fixtures.tofu",
    "pytest_hastate.fixtures.maintenance",
]
PREFIX = selection.PREFIX


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
        if not settings.names_an_input:
            return  # nothing to prove: collection refuses proof tests (see below)
        from pytest_hastate.io.redact import Masker
        from pytest_hastate.run import ProofInputs, ProofRun

        roots = tuple(dict.fromkeys((config.rootpath, config.invocation_params.dir)))
        inputs = ProofInputs.load(settings, roots, Masker.from_environment(os.environ))
    except (SettingsError, InputError) as exc:
        raise pytest.UsageError(f"{PREFIX}: {exc}") from None
    if inputs.has_input and _distributed(config):
        raise pytest.UsageError(
            f"{PREFIX}: pytest-xdist (-n / --dist) is not supported: a proof run is one session "
            "with one verdict and one checkpoint chain; run it without -n"
        )
    run = ProofRun(inputs)
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
    if run is None or not run.inputs.has_input:
        return None
    s, package, contract = run.settings, run.inputs.package, run.inputs.contract
    line = f"hastate: run {s.run_id}, mode {s.mode.value}, phase {s.phase}"
    if package is not None:
        line += f", package {package.path.name} sha256:{package.sha256[:12]}"
    if contract is not None:
        line += f", contract {contract.path.name}"
    return line


@pytest.hookimpl(trylast=True)  # after pytest's own -m / -k deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash.get(RUN_KEY, None)
    dropped = selection.keep_mode_steps(run, items) if run is not None else []
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    claims = any(selection.steps_of(i) or selection.criteria_of(i) for i in (*items, *dropped))
    if claims and (run is None or not run.inputs.has_input):
        raise pytest.UsageError(
            f"{PREFIX}: nothing to prove: give --endpoint-package PATH (live proof) or --contract PATH (static gate)"
        )
    if run is not None:
        selection.check_needs(config, run, items)
        selection.check_backend(run, items)


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
        selection.mark_phase(self.run, items)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        selection.note_deselected(self.run, items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.run.collector.add_collect_error(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Tell the backend health which test runs (for "by dependency") and which step."""
        run = self.run
        steps = sorted(selection.own_steps(run, item))
        step = steps[0] if steps else None
        run.health.enter(
            run.collector.criteria.get(item.nodeid, ()), step, run.settings.step_budget(step)
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        from pytest_hastate.verdict import reporter

        report = yield
        reporter.mask_report(report, self.run.mask)
        if call.excinfo is not None:
            reporter.note_failure(self.run, item, call.when, call.excinfo.value)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.run.collector.add(report)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(
        self, session: pytest.Session, exitstatus: int
    ) -> Generator[None, None, None]:
        """Decide before junitxml and the terminal summary run; set the exit code after."""
        from pytest_hastate.verdict import reporter

        reporter.finish(self.run, session, int(exitstatus))
        yield
        if self.run.exit_code is not None:
            session.exitstatus = self.run.exit_code

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        from pytest_hastate.verdict import reporter

        reporter.summarise(self.run, terminalreporter)
