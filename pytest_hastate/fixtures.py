"""Fixtures of pytest-hastate, all named ``hastate_*``; small and overridable."""

from __future__ import annotations

import pytest

from pytest_hastate.documents import validate_model
from pytest_hastate.errors import InputError
from pytest_hastate.findings import GateReport
from pytest_hastate.gating import PACKAGE, PackageGateRun, gate_contract, gate_package
from pytest_hastate.models import EndpointPackage
from pytest_hastate.run import ProofRun
from pytest_hastate.settings import Settings


def _run(config: pytest.Config) -> ProofRun:
    from pytest_hastate.plugin import RUN_KEY  # the stash key lives with the hooks

    run = config.stash.get(RUN_KEY, None)
    if run is None:
        raise pytest.UsageError("pytest-hastate is not configured for this session")
    return run


@pytest.fixture(scope="session")
def hastate_run(pytestconfig: pytest.Config) -> ProofRun:
    """The proof run: settings, loaded documents, collected outcomes."""
    return _run(pytestconfig)


@pytest.fixture(scope="session")
def hastate_settings(hastate_run: ProofRun) -> Settings:
    return hastate_run.settings


@pytest.fixture(scope="session")
def hastate_run_id(hastate_settings: Settings) -> str:
    """This run's id; every scratch key of the run lives under ``<scratch_prefix><run-id>/``."""
    return hastate_settings.run_id


@pytest.fixture(scope="session")
def hastate_package_gate(hastate_run: ProofRun) -> PackageGateRun | None:
    """The package gate's result on ``--endpoint-package``; None when no package was given."""
    if hastate_run.package is None:
        return None
    return gate_package(
        hastate_run.package,
        allow_template=hastate_run.settings.allow_template,
        roots=hastate_run.roots,
    )


@pytest.fixture(scope="session")
def hastate_contract_gate(
    hastate_run: ProofRun, hastate_package_gate: PackageGateRun | None
) -> GateReport | None:
    """The contract gate on ``--contract``, else on the contract the package names."""
    if hastate_run.contract is not None:
        return gate_contract(hastate_run.contract)
    if hastate_package_gate is not None and hastate_package_gate.contract is not None:
        return gate_contract(hastate_package_gate.contract)
    return None


@pytest.fixture(scope="session")
def hastate_endpoint_package(
    hastate_run: ProofRun, hastate_package_gate: PackageGateRun | None
) -> EndpointPackage:
    """The typed endpoint package, only once it has passed the package gate."""
    if hastate_run.package is None or hastate_package_gate is None:
        raise pytest.UsageError("pytest-hastate: live steps need --endpoint-package PATH")
    if not hastate_package_gate.report.passed:
        pytest.fail(hastate_package_gate.report.summary(), pytrace=False)
    try:
        return validate_model(hastate_run.package, PACKAGE, EndpointPackage)
    except InputError as exc:
        pytest.fail(str(exc), pytrace=False)
