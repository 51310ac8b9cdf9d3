"""Collects every test report (setup, call, teardown) and folds it into criterion results."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest

from pytest_hastate.errors import DependencyFailed, HastateError
from pytest_hastate.models import CriterionResult, Outcome
from pytest_hastate.verdict.decide import fold

MESSAGE_LIMIT = 400
NEVER_RAN = CriterionResult(
    outcome=Outcome.SKIPPED, message="a selected test never ran: the run stopped before it"
)


def report_message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """One line saying why a report failed or skipped."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, lineno, reason)
        text = str(longrepr[2]).removeprefix("Skipped: ")
    else:
        full = report.longreprtext or ""
        error_lines = [line[1:].strip() for line in full.splitlines() if line.startswith("E ")]
        text = (
            " ".join(error_lines) if error_lines else full
        )  # pytest.fail(pytrace=False): the message
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


@dataclass
class Collector:
    """What every proof test claimed and what happened to it, in every phase."""

    criteria: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _phases: dict[str, list[CriterionResult]] = field(default_factory=lambda: defaultdict(list))
    guard_refusals: list[str] = field(default_factory=list)
    cleanup_residue: list[str] = field(default_factory=list)
    unattributed_failures: list[str] = field(default_factory=list)
    _seen: bool = False
    deselected: set[str] = field(default_factory=set)
    # The first test each failure was met in (a session fixture that failed raises the same
    # exception object into every later test that uses it), and the dependencies found.
    _first_seen: dict[int, tuple[BaseException, str]] = field(default_factory=dict)
    _depends: dict[tuple[str, str], str] = field(default_factory=dict)
    _messages: dict[tuple[str, str], str] = field(default_factory=dict)
    _not_the_tests: set[tuple[str, str]] = field(default_factory=set)

    def expect(self, nodeid: str, criteria: tuple[str, ...]) -> None:
        self.criteria[nodeid] = criteria

    @property
    def active(self) -> bool:
        return bool(self.criteria)

    @property
    def ran(self) -> bool:
        """True once any test of the session reported (setup, call or teardown)."""
        return self._seen

    def note_failure(
        self, nodeid: str, when: str, error: BaseException, observed: str | None = None
    ) -> None:
        """Remember whether a failure is another criterion's, met again (by dependency), and
        the words for it: ``observed`` (what the backend did), or our own error's message."""
        own = self.criteria.get(nodeid, ())
        if observed is not None:
            self._messages[(nodeid, when)] = observed
        elif isinstance(error, HastateError):
            self._messages[(nodeid, when)] = str(error)
        depends_on = error.depends_on if isinstance(error, DependencyFailed) else None
        first = self._first_seen.setdefault(id(error), (error, nodeid))
        if depends_on is None and first[1] != nodeid:
            earlier = self.criteria.get(first[1], ())
            depends_on = earlier[0] if earlier else None
        if depends_on is not None and depends_on not in own:
            self._depends[(nodeid, when)] = depends_on

    def add_residue(self, nodeid: str, when: str, message: str) -> None:
        """The session cleanup's residue, met in ``nodeid``'s ``when`` phase: the run's finding;
        that phase's report says nothing about the test."""
        self.cleanup_residue.append(message)
        self._not_the_tests.add((nodeid, when))

    def add(self, report: pytest.TestReport) -> None:
        self._seen = True
        if (report.nodeid, report.when) in self._not_the_tests:
            return
        depends_on = self._depends.get((report.nodeid, report.when))
        if getattr(report, "wasxfail", None) is not None:
            outcome, message = Outcome.SKIPPED, "an xfail marker cannot prove a criterion"
        elif report.failed:
            outcome = Outcome.FAILED
            message = self._messages.get((report.nodeid, report.when)) or report_message(report)
            if depends_on is not None:
                message = message.removeprefix(f"by dependency on {depends_on}: ")
                message = f"by dependency on {depends_on}: {message}"
            elif report.when != "call":
                message = f"{report.when} error: {message}"
        elif report.skipped:
            outcome, message = Outcome.SKIPPED, report_message(report)
        else:
            outcome, message = Outcome.PASSED, ""
            if report.when != "call":
                return  # a passing setup or teardown proves nothing by itself
        if report.nodeid in self.criteria:
            self._phases[report.nodeid].append(
                CriterionResult(
                    outcome=outcome,
                    message=message,
                    depends_on=depends_on if outcome is Outcome.FAILED else None,
                )
            )
        elif outcome is Outcome.FAILED:
            self.unattributed_failures.append(f"{report.nodeid}: {message}")

    def add_collect_error(self, report: pytest.CollectReport) -> None:
        self.unattributed_failures.append(
            f"collecting {report.nodeid or 'session'}: {report_message(report)}"
        )

    def add_guard_refusal(self, target: str) -> None:
        self.guard_refusals.append(target)

    def never_reached(self) -> list[str]:
        """Selected tests that never reported: the run stopped before them."""
        return [nodeid for nodeid in self.criteria if nodeid not in self._phases]

    def results(self) -> dict[str, CriterionResult]:
        """Each criterion's folded result over the tests that claim it; one selected test that
        never ran keeps its criteria from passing."""
        per_criterion: dict[str, list[CriterionResult]] = defaultdict(list)
        for nodeid, criteria in self.criteria.items():
            phases = self._phases.get(nodeid)
            if not phases:
                phases = [NEVER_RAN]
            item = fold(phases)  # passing phases are only ever calls: setups and teardowns
            for cid in criteria:  # that pass prove nothing and are not kept
                per_criterion[cid].append(item)
        return {cid: fold(items) for cid, items in per_criterion.items()}
