"""``hastate init``: a starter candidate contract and endpoint package for a team's own
endpoint, from the documents pytest-hastate ships; the fields still to fill, in one list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_hastate.errors import InputError
from pytest_hastate.gates.package import TEMPLATE_SENTINELS
from pytest_hastate.gates.text import iter_strings
from pytest_hastate.io.evidence import write_atomic
from pytest_hastate.resources import PACKAGE_TEMPLATE, SELECTED_CONTRACT, contracts_dir

PACKAGE_FILE = "endpoint-package.json"
CONTRACT_FILE = "candidate-contract.json"


@dataclass(frozen=True)
class Starter:
    endpoints: tuple[str, ...] = ()
    name: str | None = None
    region: str | None = None
    scratch_bucket: str | None = None


def starter_package(starter: Starter) -> dict[str, Any]:
    """The shipped package template, filled with what the operator gave; its proof commands
    are the installed product's (``hastate prove``)."""
    package: dict[str, Any] = json.loads((contracts_dir() / PACKAGE_TEMPLATE).read_text("utf-8"))
    package["candidate_contract"] = CONTRACT_FILE
    if starter.name:
        package["name"] = starter.name
    if starter.region:
        package["region"] = starter.region
    if starter.endpoints:
        package["endpoint_url"] = starter.endpoints[0]
        package["ha_endpoints"] = list(starter.endpoints)
    bucket = starter.scratch_bucket or package["scratch_bucket"]
    if starter.scratch_bucket:
        package["scratch_bucket"] = bucket
    package["scratch_bucket_policy"] = [
        f"replace-me: allow create/list/read/write/delete for {bucket} only",
        "deny tofu-state and protected stack prefixes",
    ]
    prove = f"hastate prove --endpoint-package {PACKAGE_FILE}"
    package["proof_commands"] = [
        f"{prove} --credential-boundary-check --checkpoint-file credential-boundary.json",
        f"{prove} --run-disposable-tofu --use-lockfile",
        f"{prove} --run-disposable-tofu --use-lockfile --keep-scratch-bucket "
        "--checkpoint-file checkpoint.json",
    ]
    return package


def unfilled(package: dict[str, Any]) -> list[str]:
    """The JSON paths whose values still carry a template sentinel."""
    return [
        path
        for path, text in iter_strings(package)
        if any(sentinel in text.lower() for sentinel in TEMPLATE_SENTINELS)
    ]


def write_starter(folder: Path, starter: Starter) -> tuple[Path, Path, list[str]]:
    """Write both documents into ``folder`` (created if missing); refuses, writing nothing,
    when either file exists. Returns the package, the contract, and the fields to fill."""
    package_path, contract_path = folder / PACKAGE_FILE, folder / CONTRACT_FILE
    for path in (package_path, contract_path):
        if path.exists():
            raise InputError(
                str(path), "", "exists: hastate init never overwrites a file (move it away or "
                "pick another --dir)",
            )  # fmt: skip
    package = starter_package(starter)
    contract = (contracts_dir() / SELECTED_CONTRACT).read_text("utf-8")
    write_atomic(contract_path, contract)
    write_atomic(package_path, json.dumps(package, indent=2) + "\n")
    return package_path, contract_path, unfilled(package)
