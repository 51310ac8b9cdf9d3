"""Collects every test report (setup, call, teardown) and folds it into criterion results."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest

from pytest_hastate.models import CriterionResult, Outcome
from pytest_hastate.verdict import fold

MESSAGE_LIMIT = 400


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
    _phases: dict[str, list[tuple[Outcome, str]]] = field(default_factory=lambda: defaultdict(list))
    _called: set[str] = field(default_factory=set)
    guard_refusals: list[str] = field(default_factory=list)
    unattributed_failures: list[str] = field(default_factory=list)
    _seen: bool = False

    def expect(self, nodeid: str, criteria: tuple[str, ...]) -> None:
        self.criteria[nodeid] = criteria

    @property
    def active(self) -> bool:
        return bool(self.criteria)

    @property
    def ran(self) -> bool:
        """True once any test of the session reported (setup, call or teardown)."""
        return bool(self._phases or self._called or self.unattributed_failures or self._seen)

    def add(self, report: pytest.TestReport) -> None:
        self._seen = True
        if getattr(report, "wasxfail", None) is not None:
            outcome, message = Outcome.SKIPPED, "an xfail marker cannot prove a criterion"
        elif report.failed:
            outcome, message = Outcome.FAILED, report_message(report)
            if report.when != "call":
                message = f"{report.when} error: {message}"
        elif report.skipped:
            outcome, message = Outcome.SKIPPED, report_message(report)
        else:
            outcome, message = Outcome.PASSED, ""
            if report.when != "call":
                return  # a passing setup or teardown proves nothing by itself
        if report.when == "call":
            self._called.add(report.nodeid)
        if report.nodeid in self.criteria:
            self._phases[report.nodeid].append((outcome, message))
        elif outcome is Outcome.FAILED:
            self.unattributed_failures.append(f"{report.nodeid}: {message}")

    def add_collect_error(self, report: pytest.CollectReport) -> None:
        self.unattributed_failures.append(
            f"collecting {report.nodeid or 'session'}: {report_message(report)}"
        )

    def add_guard_refusal(self, target: str) -> None:
        self.guard_refusals.append(target)

    def results(self) -> dict[str, CriterionResult]:
        """Each criterion's folded result over the tests that claim it and that ran."""
        per_criterion: dict[str, list[CriterionResult]] = defaultdict(list)
        for nodeid, criteria in self.criteria.items():
            phases = self._phases.get(nodeid)
            if not phases:
                continue  # deselected or never reached: missing, not proven
            item = fold([CriterionResult(outcome=o, message=m) for o, m in phases])
            if item.outcome is Outcome.PASSED and nodeid not in self._called:
                item = CriterionResult(outcome=Outcome.SKIPPED, message="test body never ran")
            for cid in criteria:
                per_criterion[cid].append(item)
        return {cid: fold(items) for cid, items in per_criterion.items()}
