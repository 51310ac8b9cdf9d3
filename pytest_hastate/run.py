"""The state of one proof run: settings, the loaded documents, the collector, the verdict."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_hastate.errors import InputError
from pytest_hastate.gates.contract import check_contract, static_stop_conditions
from pytest_hastate.gates.files import PACKAGE, load_contract, load_package, resolve_contract
from pytest_hastate.io.documents import LoadedDocument, validate_model
from pytest_hastate.io.redact import Masker
from pytest_hastate.models import Checkpoint, EndpointPackage, HaSemantics, Verdict
from pytest_hastate.s3.health import BackendHealth
from pytest_hastate.settings import Settings
from pytest_hastate.verdict.collector import Collector

if TYPE_CHECKING:
    from pytest_hastate.s3.client import S3Access


@dataclass
class ProofRun:
    settings: Settings
    roots: tuple[Path, ...]
    redact: Masker
    package: LoadedDocument | None = None
    contract: LoadedDocument | None = None
    collector: Collector = field(default_factory=Collector)
    verdict: Verdict | None = None
    exit_code: int | None = None
    verdict_file: Path | None = None
    access: S3Access | None = None
    scratch_bucket_created: bool | None = None
    residue: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    phase_facts: dict[str, Any] = field(default_factory=dict)
    collected_steps: set[str] = field(default_factory=set)
    item_steps: dict[str, frozenset[str]] = field(default_factory=dict)
    health: BackendHealth = field(default_factory=BackendHealth)

    @classmethod
    def start(cls, settings: Settings, roots: tuple[Path, ...], redact: Masker) -> ProofRun:
        """Load the documents the options name. Bad input raises ``InputError``; nothing is written."""
        run = cls(settings=settings, roots=roots, redact=redact)
        _check_outputs(settings)
        if settings.endpoint_package is not None:
            run.package = load_package(settings.endpoint_package)
        if settings.contract is not None:
            run.contract = load_contract(settings.contract)
        if settings.from_checkpoint is not None:
            from pytest_hastate.io.checkpoints import (
                check_checkpoint_scope,
                check_package_digest,
                load_checkpoint,
            )

            run.checkpoint = load_checkpoint(settings.from_checkpoint)
            assert run.package is not None  # the settings demand --endpoint-package here
            check_package_digest(run.checkpoint, run.package, settings.from_checkpoint)
            package = validate_model(run.package, PACKAGE, EndpointPackage)
            check_checkpoint_scope(run.checkpoint, package, settings.from_checkpoint)
            # Later phases address the same scratch objects: the run id is the checkpoint's.
            run.settings = dataclasses.replace(settings, run_id=run.checkpoint.run_id)
        return run

    def connect(self) -> None:
        """Read the credentials for the live steps (only when one was selected); refuses before
        any S3 call when they are missing or the endpoint/region overrides disagree."""
        package = self.endpoint_package()
        if (
            package is None
            or self.package is None
            or self.settings.dry_run
            or self.access is not None
        ):
            return
        from pytest_hastate.s3.client import access_from  # boto3 only when a live step will run

        self.access = access_from(package, self.package.path, os.environ)

    @property
    def has_input(self) -> bool:
        return self.package is not None or self.contract is not None

    def linked_contract(self) -> LoadedDocument | None:
        """The contract the package names, if it resolves and loads; else None."""
        if self.package is None:
            return None
        reference = self.package.data.get("candidate_contract")
        if not isinstance(reference, str) or not reference.strip():
            return None
        path = resolve_contract(reference, self.package.path, self.roots)
        if path is None:
            return None
        try:
            return load_contract(path)
        except InputError:
            return None

    def base_checkpoint(self) -> Checkpoint | None:
        """A checkpoint with no sample yet (a live run given --checkpoint-file)."""
        from datetime import UTC, datetime

        from pytest_hastate.models import PackageIdentity

        package = self.endpoint_package()
        if package is None or self.package is None:
            return None
        return Checkpoint(
            run_id=self.settings.run_id,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            package=PackageIdentity(
                name=package.name, sha256=self.package.sha256, basename=self.package.path.name
            ),
            contract_sha256=self.contract_digest(),
            endpoints=list(package.endpoints),
            scratch_bucket=package.scratch_bucket,
            scratch_prefix=package.scratch_prefix,
            bucket_created_by_this_product=bool(self.scratch_bucket_created),
        )

    def contract_digest(self) -> str | None:
        document = self.contract or self.linked_contract()
        return document.sha256 if document is not None else None

    def endpoint_package(self) -> EndpointPackage | None:
        if self.package is None:
            return None
        try:
            return validate_model(self.package, PACKAGE, EndpointPackage)
        except InputError:
            return None

    def ha_semantics(self) -> HaSemantics | None:
        package = self.endpoint_package()
        return package.ha_semantics if package is not None else None

    def static_stop_conditions(self) -> list[str]:
        """C03/C04/C12 findings of every contract in play, whether or not step 1 ran."""
        found: list[str] = []
        for document in (self.contract, self.linked_contract()):
            if document is None:
                continue
            for finding in static_stop_conditions(check_contract(document.data)):
                found.append(f"{document.path.name}: {finding}")
        return list(dict.fromkeys(found))


def _writable_folder_problem(path: Path) -> str | None:
    """Why files cannot be written into ``path`` (created if missing), or None."""
    if path.exists() and not path.is_dir():
        return "exists and is not a folder"
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot be written ({existing} is not a writable folder)"
    return None


def _check_outputs(settings: Settings) -> None:
    """Where the run will write, checked before anything runs (never a crash at the end)."""
    problem = _writable_folder_problem(settings.evidence_dir)
    if problem:
        raise InputError(f"--evidence-dir {settings.evidence_dir}", "", problem)
    target = settings.checkpoint_file
    if target is not None:
        if target.exists():
            raise InputError(
                f"--checkpoint-file {target}",
                "",
                "exists: a new chain of phases starts in a new checkpoint file (the existing "
                "chain is evidence: move it away or pick another path; later phases use "
                "--from-checkpoint)",
            )
        problem = _writable_folder_problem(target.parent)
        if problem:
            raise InputError(f"--checkpoint-file {target}", "", f"its folder {problem}")
