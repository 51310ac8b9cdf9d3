"""The checkpoint (docs/guide/running.md): what a later phase needs, and every attempt of every phase."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pytest_hastate.models.base import _Document
from pytest_hastate.models.verdict import (
    CriterionResult,
    MaintenanceEvent,
    Outcome,
    Provenance,
    RunFacts,
)


class SampleObject(_Document):
    key: str
    size: int
    sha256: str
    version_id: str
    etag: str


class DisposableStateRecord(_Document):
    key: str
    serial: int
    lineage: str
    sha256: str
    version_id: str
    nonce: str
    phase: str


class PhaseRecord(_Document):
    """What one phase of the proof established."""

    phase: str
    mode: str
    run_at: str
    attempt: int = Field(default=1, description="1 for a phase's first run, 2 for its re-run ...")
    criteria: dict[str, CriterionResult]
    maintenance_event: MaintenanceEvent | None = None
    dry_run: bool = False
    unreachable_endpoints: list[str] = Field(default_factory=list)
    failover_wait_seconds: float | None = None
    facts: RunFacts = Field(default_factory=RunFacts)
    produced_by: Provenance | None = None


class CleanupRecord(_Document):
    done: bool
    residue: list[str] = Field(default_factory=list)
    bucket_deleted: bool = False
    bucket_kept_because: str | None = None
    confirmed_on: list[str] = Field(default_factory=list)
    unconfirmed: list[str] = Field(
        default_factory=list,
        description="Endpoints that did not answer, so absence is not confirmed there.",
    )


class PackageIdentity(_Document):
    name: str
    sha256: str
    basename: str


class ProfileIdentity(_Document):
    """The policy profile that judged a chain: its name and the sha256 of its exact bytes."""

    name: str
    sha256: str


class Checkpoint(_Document):
    """The state a later phase needs, written atomically; no secrets, no private paths."""

    checkpoint_schema: Literal["pytest_hastate.checkpoint.v1"] = "pytest_hastate.checkpoint.v1"
    run_id: str
    created_at: str
    package: PackageIdentity
    profile: ProfileIdentity | None = Field(
        default=None, description="The policy profile of the chain (every phase uses the same)."
    )
    contract_sha256: str | None
    endpoints: list[str]
    scratch_bucket: str
    scratch_prefix: str
    bucket_created_by_this_product: bool
    sample: list[SampleObject] = Field(default_factory=list)
    disposable_state: DisposableStateRecord | None = None
    phases: list[PhaseRecord] = Field(default_factory=list)
    cleanup: CleanupRecord | None = None
    non_secret: Literal[True] = True

    @property
    def run_prefix(self) -> str:
        """Where every scratch object of the run lives: ``<scratch_prefix><run_id>/``."""
        return f"{self.scratch_prefix}{self.run_id}/"

    def carried_criteria(self) -> dict[str, CriterionResult]:
        """Criteria of every recorded attempt of every phase (a failure in any attempt stays a
        failure: re-running a phase cannot wash it out)."""
        carried: dict[str, CriterionResult] = {}
        for record in self.phases:
            for cid, result in record.criteria.items():
                if cid not in carried or result.outcome is Outcome.FAILED:
                    carried[cid] = result
        return carried

    def declared_event(self) -> MaintenanceEvent | None:
        events = [p.maintenance_event for p in self.phases if p.maintenance_event is not None]
        return events[-1] if events else None
