"""Proof step 1: the static contract and package gates. No network."""

from __future__ import annotations

import pytest

from pytest_hastate.gates.files import PackageGateRun
from pytest_hastate.gates.text import GateReport
from pytest_hastate.steps import STATIC

pytestmark = STATIC.marks


@pytest.mark.hastate_criterion("static.contract")
def test_candidate_contract_passes_gate(
    hastate_contract_gate: GateReport | None, hastate_package_gate: PackageGateRun | None
) -> None:
    if hastate_contract_gate is None:
        # A package was given but its contract did not resolve: the package gate names why.
        assert hastate_package_gate is not None
        pytest.fail(hastate_package_gate.report.summary(), pytrace=False)
    if not hastate_contract_gate.passed:
        pytest.fail(hastate_contract_gate.summary(), pytrace=False)


@pytest.mark.hastate_criterion("static.package")
def test_endpoint_package_passes_gate(hastate_package_gate: PackageGateRun | None) -> None:
    if hastate_package_gate is None:
        pytest.skip("no --endpoint-package given: the package gate did not run")
    if not hastate_package_gate.report.passed:
        pytest.fail(hastate_package_gate.report.summary(), pytrace=False)
