"""Fixtures shared by the project's tests (helpers live in ``tests/support``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.support.engines import TlsMotoServer, make_test_ca
from tests.support.helpers import PUBLIC_CONTRACT, REPO, filled_package, load

pytest_plugins = ["pytest_hastate.lab.fixtures"]

# Property tests are judged by what they generate, never by the clock: a loaded 2-core CI
# machine must not fail them for being slow (no deadline, no too-slow health check).
settings.register_profile(
    "hastate", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
    database=None,
)  # fmt: skip
settings.load_profile("hastate")


@pytest.fixture
def contract() -> dict[str, Any]:
    return load(PUBLIC_CONTRACT)


@pytest.fixture
def package() -> dict[str, Any]:
    return filled_package()


@pytest.fixture
def proofs(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\n")
    shutil.copytree(
        REPO / "proofs", pytester.path / "proofs", ignore=shutil.ignore_patterns("__pycache__")
    )
    return pytester


@pytest.fixture
def moto_tls(tmp_path: Path) -> Iterator[TlsMotoServer]:
    _ca, cert, key = make_test_ca(tmp_path)
    server = TlsMotoServer(cert, key)
    server.start()
    try:
        yield server
    finally:
        server.stop()
