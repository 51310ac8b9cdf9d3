"""pytest hooks of pytest-hastate, and nothing else.

Every pytest session of an environment the plugin is installed in loads it, so it stays inert
until a session proves something (``activation``): importing it does no work (no file reads,
no clients, no subprocesses, no heavy imports), and a session that collects no proof test and
names nothing to prove on its command line is left exactly as it would be without the plugin.
The work is in plain modules: ``activation`` (whether the session proves anything, its inputs),
``selection`` (which tests run), ``verdict.reporter`` (masking, deciding, writing the evidence).
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

import pytest

from pytest_hastate.aliases import add_options
from pytest_hastate.options import CRITERION_MARKER, OPTIONS, SUITE_FLAG
from pytest_hastate.stash import HEAP_FROZEN, RUN_KEY

if TYPE_CHECKING:
    from collections.abc import Generator

    from pytest_hastate.run import ProofRun

GROUP = "hastate"
ORDER_PLUGIN = "pytest_order"
"""The proof modules run in proof order (pytest-order's ``order`` marker)."""


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") and not pluginmanager.has_plugin(
        ORDER_PLUGIN
    ):
        # ``-p hastate`` without plugin autoloading: the proofs still need their order.
        pluginmanager.import_plugin(ORDER_PLUGIN, consider_entry_points=True)
    parser.getgroup(GROUP, "pytest-hastate: prove an HA OpenTofu state backend")
    for spec in OPTIONS:
        if spec.kind == "flag":
            parser.addini(spec.dest, spec.help, type="bool", default=False)
        else:
            parser.addini(spec.dest, spec.help, type="string", default="")
    pluginmanager.register(SuiteWatch(pluginmanager), SuiteWatch.NAME)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(parser: pytest.Parser) -> Generator[None, None, None]:
    """The options, once the project's conftests have added theirs (``aliases``)."""
    yield
    add_options(parser.getgroup(GROUP))


class SuiteWatch:
    """Waits for the proof suite's conftest: the proof step markers (``static``, ``cleanup``
    ...) are registered only then, so a project's own markers of those names meet
    ``--strict-markers`` as they would without the plugin."""

    NAME = "hastate-suite-watch"

    def __init__(self, manager: pytest.PytestPluginManager) -> None:
        self.config: pytest.Config | None = manager.get_plugin("pytestconfig")
        self.done = False
        for plugin in manager.get_plugins():  # the suite loaded as a plugin (-p), before us
            self.pytest_plugin_registered(plugin)

    def pytest_plugin_registered(self, plugin: object) -> None:
        if self.done or self.config is None or not getattr(plugin, SUITE_FLAG, False):
            return
        self.done = True
        from pytest_hastate.steps import STEPS  # only once the proof suite is there

        for step in STEPS:
            self.config.addinivalue_line("markers", f"{step.marker}: {step.description}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{CRITERION_MARKER}(id, ...): the verdict criteria this test proves"
    )
    config.pluginmanager.register(CollectErrors(), CollectErrors.NAME)
    # Registered before pytest's own plugins register theirs, so it runs after them, their
    # end-of-session garbage collections included (cleanups run last registered first).
    config.add_cleanup(functools.partial(_release_heap, config))
    if not config.option.help:
        from pytest_hastate import activation

        activation.refuse_distribution(config)


def _release_heap(config: pytest.Config) -> None:
    if config.stash.get(HEAP_FROZEN, False):
        from pytest_hastate import heap

        heap.release(config)


class CollectErrors:
    """Modules that failed to be collected, kept until the session knows whether it proves
    anything (a proof run counts them in its verdict)."""

    NAME = "hastate-collect-errors"

    def __init__(self) -> None:
        self.reports: list[pytest.CollectReport] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.reports.append(report)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    """Before pytest's own -m / -k deselection: start the proof run if the session proves
    anything, and mark the phase; after every other plugin's selection: keep the mode's steps
    and check what the selected tests stand on."""
    from pytest_hastate import activation

    errors: CollectErrors | None = config.pluginmanager.get_plugin(CollectErrors.NAME)
    collect_errors = errors.reports if errors is not None else []
    run = activation.start_run(config, items, len(collect_errors))
    if run is not None:
        from pytest_hastate import selection

        config.stash[RUN_KEY] = run
        config.pluginmanager.register(RunHooks(run), RunHooks.NAME)
        for report in collect_errors:
            run.collector.add_collect_error(report)
        selection.mark_phase(run, items)
    yield
    if run is None:
        return
    from pytest_hastate import heap, selection

    dropped = selection.keep_mode_steps(run, items)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    selection.check_needs(config, run, items)
    selection.check_backend(run, items)
    selection.check_tofu(run, items)
    heap.settle(config)


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    from pytest_hastate.activation import header

    run = config.stash.get(RUN_KEY, None)
    return header(run) if run is not None else None


def pytest_unconfigure(config: pytest.Config) -> None:
    for name in (RunHooks.NAME, CollectErrors.NAME, SuiteWatch.NAME):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)


class RunHooks:
    """The hooks of one proof run, registered once the session is known to prove something
    (the junitxml pattern)."""

    NAME = "hastate-run"

    def __init__(self, run: ProofRun) -> None:
        self.run = run

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        from pytest_hastate import selection

        selection.note_deselected(self.run, items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Tell the backend health which test runs (for "by dependency") and which step."""
        from pytest_hastate import selection

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
        if call.excinfo is not None:
            reporter.compact_failure(report, item, call.excinfo)
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
