"""Fixtures shared by the project's tests (helpers live in ``tests/support``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import TlsMotoServer, make_test_ca
from tests.support.helpers import PUBLIC_CONTRACT, REPO, filled_package, load

pytest_plugins = ["pytest_hastate.lab.fixtures"]


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
