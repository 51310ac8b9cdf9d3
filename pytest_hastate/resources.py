"""What the product ships beside its code, found where it is installed.

The proof suite is the package ``pytest_hastate.proofs`` and the documents the package
``pytest_hastate.contracts``; in a checkout they are the top-level ``proofs/`` and
``contracts/`` folders (pyproject.toml maps them), installed they live in the package. Nothing
here climbs out of the installed package, so an installed wheel works from any folder.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

PROOF_SUITE = "pytest_hastate.proofs"
"""The proof suite as pytest names it with ``--pyargs``."""

SELECTED_CONTRACT = "ha-opentofu-state-managed-s3-candidate.json"
PACKAGE_TEMPLATE = "ha-opentofu-state-endpoint-package.template.json"


def contracts_dir() -> Path:
    """The shipped documents' folder (the checkout's ``contracts/`` in a checkout)."""
    return Path(str(resources.files("pytest_hastate.contracts")))


def profiles_dir() -> Path:
    """The shipped policy profiles (``<name>.json``)."""
    return contracts_dir() / "profiles"


def schema_dir() -> Path:
    """The shipped JSON Schemas."""
    return contracts_dir() / "schema"


def proof_suite_dir() -> Path:
    """The proof suite's folder (the checkout's ``proofs/`` in a checkout)."""
    return Path(str(resources.files(PROOF_SUITE)))


def proof_argv(*args: str, python: str = sys.executable) -> list[str]:
    """pytest on the installed proof suite, with ``args``; no cache folder written. The folder
    it runs in is someone's repository: its ``conftest.py`` files are not loaded into the proof
    (they would run beside the proof credentials: ``--noconftest``, the suite's own conftest
    loaded as a plugin instead), and its ``addopts`` are not applied (options for its own
    tests); its ``hastate_*`` ini settings still are."""
    return [
        python, "-m", "pytest", "--pyargs", PROOF_SUITE, "-p", "no:cacheprovider",
        "--noconftest", "-p", f"{PROOF_SUITE}.conftest", "-o", "addopts=", *args,
    ]  # fmt: skip
