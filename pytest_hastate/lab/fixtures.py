"""Session fixtures that give tests a running lab and always tear it down.

Load with ``pytest_plugins = ["pytest_hastate.lab.fixtures"]`` (or ``-p pytest_hastate.lab.fixtures``).
Lab processes are started with a parent-death signal, so even a killed test run leaves none.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_hastate.lab.artifacts import start
from pytest_hastate.lab.engine import LabCluster


def _lab(tmp_path_factory: pytest.TempPathFactory, topology: str) -> Iterator[LabCluster]:
    lab = start(tmp_path_factory.mktemp(f"lab-{topology}"), topology, die_with_parent=True)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="session")
def hastate_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCluster]:
    """A running ``ha`` lab: 3 masters, 3 volume servers, 2 filers, 2 HTTPS gateways."""
    yield from _lab(tmp_path_factory, "ha")


@pytest.fixture(scope="session")
def hastate_singleton_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCluster]:
    """A running ``singleton`` lab: one of each."""
    yield from _lab(tmp_path_factory, "singleton")
