"""Shared test helpers: the public-format documents and filled variants of them."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PUBLIC_FORMAT = REPO.parent / "shared" / "fixtures" / "public-format"
SELECTED_CONTRACT = REPO / "contracts" / "ha-opentofu-state-managed-s3-candidate.json"
TEMPLATE = REPO / "contracts" / "ha-opentofu-state-endpoint-package.template.json"
PUBLIC_CONTRACT = PUBLIC_FORMAT / "ha-opentofu-state-managed-s3-candidate.json"
PUBLIC_TEMPLATE = PUBLIC_FORMAT / "ha-opentofu-state-endpoint-package.template.json"


def public_contract_path() -> Path:
    """The real public-format contract; the shipped copy must be byte-identical."""
    return PUBLIC_CONTRACT if PUBLIC_CONTRACT.is_file() else SELECTED_CONTRACT


def public_template_path() -> Path:
    return PUBLIC_TEMPLATE if PUBLIC_TEMPLATE.is_file() else TEMPLATE


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


FILLED_VALUES: dict[str, Any] = {
    "endpoint_url": "https://state-proof.example.com",
    "network_audience": "tailnet operators of the repo-managed proof runner",
    "credential_source": "dedicated state-only secret authority; no Attic, Bazel, BCR, RBE, or CAS credentials",
    "rotation_owner": "infrastructure operators",
    "restore_owner": "infrastructure operators",
    "scratch_bucket_policy": [
        "allow create/list/read/write/delete for darkmap-ha-state-proof only",
        "deny tofu-state and protected stack prefixes",
    ],
    "bucket_recovery": {
        "versioning": "enabled on every state bucket",
        "retention_or_backup": "daily retained backup independent from Attic and Bazel cache storage",
        "restore_test": "scratch and disposable OpenTofu restore test from object versions",
    },
    "maintenance_proof": {
        "restart_or_managed_maintenance": "rolling restart of one gateway preserves head/list/read/write",
        "node_or_failure_domain": "one node drained while the multi-node quorum keeps serving",
    },
    "observability": [
        "failed auth alerts",
        "failed write alerts",
        "replication lag metric",
        "delete behavior audit log",
    ],
}


def filled_package() -> dict[str, Any]:
    """The public-format template with every sentinel filled in: passes the package gate."""
    package = load(public_template_path())
    package.update(copy.deepcopy(FILLED_VALUES))
    package["candidate_contract"] = "contract.json"
    return package


@pytest.fixture
def contract() -> dict[str, Any]:
    return load(public_contract_path())


@pytest.fixture
def package() -> dict[str, Any]:
    return filled_package()


WriteJson = Callable[[str, Any], Path]


@pytest.fixture
def write_json(tmp_path: Path) -> WriteJson:
    def write(name: str, data: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2), "utf-8")
        return path

    return write


@pytest.fixture
def package_file(write_json: WriteJson, package: dict[str, Any]) -> Path:
    """A filled package and its contract in one folder."""
    shutil.copy(public_contract_path(), write_json("contract.json", {}).parent / "contract.json")
    return write_json("package.json", package)


pytest_plugins = ["pytest_hastate.lab.fixtures"]
