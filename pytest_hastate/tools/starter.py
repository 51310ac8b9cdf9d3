"""``hastate init``: a starter candidate contract and endpoint package for a team's own
endpoint, under a policy profile; every value that is the team's to state is a template
sentinel (``replace-me``), and the fields still to fill are listed in one line."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_hastate.errors import InputError
from pytest_hastate.gates.package import endpoint_problem
from pytest_hastate.gates.rules import TEMPLATE_SENTINELS
from pytest_hastate.gates.text import iter_strings
from pytest_hastate.io.evidence import write_atomic
from pytest_hastate.io.profiles import DEFAULT_PROFILE, LoadedProfile, shipped_profiles
from pytest_hastate.models.profile import Profile
from pytest_hastate.resources import PACKAGE_TEMPLATE, SELECTED_CONTRACT, contracts_dir
from pytest_hastate.scope.names import bucket_name_problem
from pytest_hastate.scope.targets import endpoint_origin_problem

PACKAGE_FILE = "endpoint-package.json"
CONTRACT_FILE = "candidate-contract.json"
FILL = "replace-me"


@dataclass(frozen=True)
class Starter:
    profile: LoadedProfile
    endpoints: tuple[str, ...] = ()
    name: str | None = None
    region: str | None = None
    scratch_bucket: str | None = None

    def check(self) -> None:
        """What the operator gave, refused in one line before anything is written."""
        for url in self.endpoints:
            problem = endpoint_problem(url, self.profile.model) or endpoint_origin_problem(url)
            if problem:
                raise InputError(f"--endpoint {url}", "", problem)
        if self.scratch_bucket and (problem := bucket_name_problem(self.scratch_bucket)):
            raise InputError(f"--scratch-bucket {self.scratch_bucket}", "", problem)


def _separation(profile: Profile, document: str) -> list[str]:
    surfaces = getattr(profile.separation, document)
    lines = [f"{s.name} is separate from OpenTofu state authority" for s in surfaces]
    return lines or [f"{FILL}: what stays separate from OpenTofu state authority (caches ...)"]


def _denials(profile: Profile) -> list[str]:
    protected = profile.protected
    lines = [f"deny {b} bucket" for b in protected.buckets]
    lines += [f"deny {k}" for k in protected.state_keys]
    return lines or [f"deny {FILL}-protected-state bucket", f"deny {FILL}/terraform.tfstate"]


def starter_package(starter: Starter, folder: Path) -> dict[str, Any]:
    """The shipped package template under the profile, filled with what the operator gave."""
    profile = starter.profile.model
    package: dict[str, Any] = json.loads((contracts_dir() / PACKAGE_TEMPLATE).read_text("utf-8"))
    package.pop("scratch_prefix", None)  # the profile's
    package["candidate_contract"] = CONTRACT_FILE
    if starter.name:
        package["name"] = starter.name
    if starter.region:
        package["region"] = starter.region
    if starter.endpoints:
        package["endpoint_url"] = starter.endpoints[0]
        package["ha_endpoints"] = list(starter.endpoints)
    bucket = starter.scratch_bucket or f"{FILL}-scratch-bucket"
    package["scratch_bucket"] = bucket
    buckets = profile.protected.buckets or [f"{FILL}-protected-state"]
    stacks = " and protected stack prefixes" if profile.protected.state_keys else ""
    package["scratch_bucket_policy"] = [
        f"{FILL}: allow create/list/read/write/delete for {bucket} and {bucket}-probe-* only",
        f"deny {buckets[0]}{stacks}",
    ]
    package["protected_state_denials"] = _denials(profile)
    package["credential_source"] = f"{FILL}: a dedicated state-only secret authority"
    package["bucket_recovery"]["retention_or_backup"] = (
        f"{FILL}: retained backup independent from cache storage"
    )
    package["authority_separation"] = _separation(profile, "package")
    prove = f"hastate prove --endpoint-package {PACKAGE_FILE}"
    package["proof_commands"] = [
        f"{prove} --credential-boundary-check --checkpoint-file credential-boundary.json",
        f"{prove} --run-disposable-tofu --use-lockfile",
        f"{prove} --run-disposable-tofu --use-lockfile --keep-scratch-bucket "
        "--checkpoint-file checkpoint.json",
    ]
    reference = _profile_reference(starter.profile, folder)
    if reference is not None:
        package["profile"] = reference
    return package


def _profile_reference(profile: LoadedProfile, folder: Path) -> str | None:
    """How the package names its profile: nothing for the default, a shipped name, or the
    file's path relative to the package."""
    if profile.reference == DEFAULT_PROFILE:
        return None
    if profile.reference in shipped_profiles():
        return profile.reference
    return os.path.relpath(profile.path.resolve(), folder.resolve())


def starter_contract(profile: Profile) -> dict[str, Any]:
    """The selected contract as a starting point: the team's own statements are sentinels."""
    contract: dict[str, Any] = json.loads((contracts_dir() / SELECTED_CONTRACT).read_text("utf-8"))
    contract.update(
        name=f"{FILL}-candidate",
        candidate_class=f"{FILL}: your backend's candidate class",
        s3_endpoint_shape=f"{FILL}: where the endpoints live and who reaches them",
        audience=f"{FILL}: who runs the proofs and the state workflows",
        credential_source=f"{FILL}: a dedicated state-only secret authority",
        rotation_owner=f"{FILL}: the team that rotates the credentials",
        authority_separation=_separation(profile, "contract"),
        read_write_scope=_read_write_scope(profile),
    )
    contract["bucket_recovery"]["retention_or_backup"] = (
        f"{FILL}: retained backup or managed retention, independent from cache storage"
    )
    contract["bucket_index_divergence_response"] = (
        f"{FILL}: what the backend does when listings and reads disagree"
    )
    prove = "hastate prove --endpoint-package endpoint-package.json"
    contract["proof_plan"] = [
        f"credential boundary proof uses {prove} --credential-boundary-check before any write",
        f"scratch S3 proof uses {prove} --phase baseline --checkpoint-file checkpoint.json",
        f"disposable OpenTofu proof uses {prove} --run-disposable-tofu --use-lockfile",
        "restart verification is captured through the checkpoint flow",
        "node maintenance verification is captured through one node or failure-domain event",
    ]
    for field in ("selected_by", "selected_on"):
        contract.pop(field, None)
    return contract


def _read_write_scope(profile: Profile) -> str:
    """The selected contract's scope statement, naming the profile's protected buckets."""
    buckets = profile.protected.buckets
    if not buckets:
        named = "the protected state buckets"
    else:
        named = f"the active {' and '.join(buckets)} bucket" + ("s" if len(buckets) > 1 else "")
    return (
        f"candidate scratch buckets and later state-only buckets; no access to {named} during proof"
    )


def unfilled(document: dict[str, Any]) -> list[str]:
    """The JSON paths whose values still carry a template sentinel."""
    return [
        path
        for path, text in iter_strings(document)
        if any(sentinel in text.lower() for sentinel in TEMPLATE_SENTINELS)
    ]


def write_starter(folder: Path, starter: Starter) -> tuple[Path, Path, list[str], list[str]]:
    """Write both documents into ``folder`` (created if missing); refuses, writing nothing,
    when either file exists. Returns the package, the contract, and each one's fields to fill."""
    starter.check()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--dir {folder}", "", "exists and is not a folder")
    package_path, contract_path = folder / PACKAGE_FILE, folder / CONTRACT_FILE
    for path in (package_path, contract_path):
        if path.exists():
            raise InputError(
                str(path), "", "exists: hastate init never overwrites a file (move it away or "
                "pick another --dir)",
            )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    package = starter_package(starter, folder)
    contract = starter_contract(starter.profile.model)
    write_atomic(contract_path, json.dumps(contract, indent=2) + "\n")
    write_atomic(package_path, json.dumps(package, indent=2) + "\n")
    return package_path, contract_path, unfilled(package), unfilled(contract)
