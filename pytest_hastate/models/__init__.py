"""Data shapes of pytest-hastate: the two input documents and the verdict.

Pure pydantic v2 models; this module imports nothing of ours and does no I/O.

Our documents are strict: unknown fields are refused (a typo such as
``scratch_bukcet`` must never be silently ignored) and values are not coerced
(``"true"`` is not ``true``). Field names follow the public format operators
already use; the optional fields are this project's additions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SCRATCH_PREFIX = ".gloriousflywheel/ha-state-candidate/"
PROTECTED_BUCKET = "tofu-state"
PROTECTED_STATE_KEYS: tuple[str, ...] = (
    "attic/terraform.tfstate",
    "arc-runners/terraform.tfstate",
    "tinyland-infra/gitlab-runners/terraform.tfstate",
    "tinyland-infra/runner-dashboard/terraform.tfstate",
)
CREDENTIAL_ENV_NAMES = {
    "endpoint_env": "TOFU_HA_STATE_ENDPOINT",
    "region_env": "TOFU_HA_STATE_REGION",
    "access_key_env": "TOFU_HA_STATE_ACCESS_KEY",
    "secret_key_env": "TOFU_HA_STATE_SECRET_KEY",
}
SESSION_TOKEN_ENV = "TOFU_HA_STATE_SESSION_TOKEN"  # noqa: S105 (a variable name)


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class CandidateClass(StrEnum):
    """The candidate classes of the decision record (SPEC 2.1)."""

    DEDICATED = "dedicated HA S3-compatible state service"
    MANAGED = "managed or appliance S3-compatible state bucket with versioning"
    CLUSTER_MINIO = "cluster-local MinIO / AIStor-style distributed object store"
    REPLICATED_RUSTFS = "replicated RustFS"
    INTERIM_SINGLETON = "current attic-rustfs-openebs singleton"
    LOCAL_PATH = "Sting local-path storage"
    CACHE_SURFACE = "Attic or Bazel cache object-store surface"

    @property
    def posture(self) -> Literal["primary", "acceptable", "conditional", "rejected-final"]:
        return _POSTURES[self]


_POSTURES: dict[
    CandidateClass, Literal["primary", "acceptable", "conditional", "rejected-final"]
] = {
    CandidateClass.DEDICATED: "primary",
    CandidateClass.MANAGED: "acceptable",
    CandidateClass.CLUSTER_MINIO: "conditional",
    CandidateClass.REPLICATED_RUSTFS: "conditional",
    CandidateClass.INTERIM_SINGLETON: "rejected-final",
    CandidateClass.LOCAL_PATH: "rejected-final",
    CandidateClass.CACHE_SURFACE: "rejected-final",
}


class BucketRecovery(_Document):
    versioning: str = Field(description="How object versions (or generations) are kept.")
    retention_or_backup: str = Field(description="Retention or backup independent of caches.")
    restore_test: str = Field(description="How a restore is tested before migration.")


class FailureBehavior(_Document):
    endpoint_loss: str = Field(description="What keeps S3 available through one endpoint loss.")
    node_or_failure_domain_loss: str = Field(
        description="What keeps the candidate available through one node / failure-domain loss."
    )


class CandidateContract(_Document):
    """The written contract of a state backend candidate (public format)."""

    name: str
    posture: str
    candidate_class: str = Field(description="One of the decision record's candidate classes.")
    s3_endpoint_shape: str
    audience: str
    credential_source: str
    rotation_owner: str
    read_write_scope: str
    bucket_recovery: BucketRecovery
    state_locking: str = Field(description="Must require OpenTofu's native S3 lockfile.")
    failure_behavior: FailureBehavior
    observability: list[str]
    bucket_index_divergence_response: str
    authority_separation: list[str]
    proof_plan: list[str]
    protected_state_migration: str
    selected_by: str | None = None
    selected_on: str | None = None
    non_secret: bool = Field(
        json_schema_extra={"const": True},
        description="Must be true: the document holds no secret (the gates refuse false).",
    )


class CredentialInjection(_Document):
    endpoint_env: str
    region_env: str
    access_key_env: str
    secret_key_env: str


class MaintenanceProof(_Document):
    restart_or_managed_maintenance: str
    node_or_failure_domain: str


class HaSemantics(_Document):
    """How high availability is proven: by independent endpoints, or by managed semantics."""

    kind: Literal["endpoints", "managed"]
    reference: str | None = Field(
        default=None,
        description="Documentation of the managed HA semantics (required when kind is managed).",
    )


BackendOptionValue = bool | int | str

NON_AWS_BACKEND_DEFAULTS: dict[str, BackendOptionValue] = {
    "skip_credentials_validation": True,
    "skip_requesting_account_id": True,
    "skip_region_validation": True,
    "skip_metadata_api_check": True,
    "use_path_style": True,
}
"""Backend settings an S3-compatible endpoint that is not AWS needs (without them OpenTofu's S3
backend calls STS GetCallerIdentity, the EC2 metadata service and AWS's region list)."""
_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")


def is_aws_endpoint(url: str) -> bool:
    """True for an endpoint of AWS itself (``*.amazonaws.com``, ``*.amazonaws.com.cn``)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.endswith(_AWS_HOST_SUFFIXES)


class EndpointPackage(_Document):
    """The non-secret endpoint package a live proof runs against (public format + additions)."""

    name: str
    posture: str
    candidate_contract: str = Field(
        description="Path of the candidate contract, resolved against the package's folder, "
        "then the repository root, then the repository's contracts/ folder by file name."
    )
    endpoint_url: str = Field(description="The primary HTTPS endpoint.")
    region: str
    network_audience: str
    credential_source: str
    rotation_owner: str
    restore_owner: str
    credential_injection: CredentialInjection
    scratch_bucket: str
    scratch_bucket_policy: list[str]
    protected_state_denials: list[str]
    bucket_recovery: BucketRecovery
    state_locking: str
    maintenance_proof: MaintenanceProof
    observability: list[str]
    authority_separation: list[str]
    proof_commands: list[str]
    non_secret: bool = Field(
        json_schema_extra={"const": True},
        description="Must be true: the document holds no secret (the gates refuse false).",
    )
    # Additions of this project (all optional).
    ha_endpoints: list[str] | None = Field(
        default=None,
        description="Every independent HTTPS endpoint of the same backend, endpoint_url included.",
    )
    scratch_prefix: str = Field(
        default=DEFAULT_SCRATCH_PREFIX,
        description="Key prefix of the scratch scope; each run writes under <prefix><run-id>/.",
    )
    ca_bundle: str | None = Field(
        default=None,
        description="Path (relative to the package) of a non-secret CA PEM for the endpoints.",
    )
    backend_options: dict[str, BackendOptionValue] = Field(
        default_factory=dict,
        description="S3 backend settings the protected stacks will use (e.g. use_path_style).",
    )
    ha_semantics: HaSemantics | None = None

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Every endpoint the proof must exercise, primary first, without duplicates."""
        ordered = [self.endpoint_url, *(self.ha_endpoints or ())]
        return tuple(dict.fromkeys(ordered))

    @property
    def effective_backend_options(self) -> dict[str, BackendOptionValue]:
        """The S3 backend settings the proof (and the protected stacks) run with.

        An endpoint that is not AWS has no STS, no account id, no region list and no instance
        metadata, and usually serves path-style URLs only: for such endpoints those settings
        default to what they need (NON_AWS_BACKEND_DEFAULTS); the package overrides each.
        """
        defaults = {} if is_aws_endpoint(self.endpoint_url) else NON_AWS_BACKEND_DEFAULTS
        return {**defaults, **self.backend_options}


# --- outcomes and the verdict -------------------------------------------------------------


class Status(StrEnum):
    GO = "GO"
    INTERIM_ONLY = "INTERIM_ONLY"
    STOP = "STOP"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class CriterionResult(_Document):
    """The folded outcome of one criterion over every test (and phase) that claims it."""

    outcome: Outcome
    message: str = ""
    depends_on: str | None = Field(
        default=None,
        description="The criterion whose failure this one's follows from (it failed by dependency).",
    )


MaintenanceEvent = Literal["endpoint-loss", "node-loss", "restart", "managed"]


class VerdictInputs(_Document):
    """Everything the verdict depends on; built by the plugin, judged by ``verdict.decide``."""

    results: dict[str, CriterionResult] = Field(default_factory=dict)
    carried: dict[str, CriterionResult] = Field(
        default_factory=dict, description="Results of earlier phases (the checkpoint chain)."
    )
    guard_refusals: list[str] = Field(default_factory=list)
    unattributed_failures: list[str] = Field(default_factory=list)
    static_stop_conditions: list[str] = Field(default_factory=list)
    ha_semantics: HaSemantics | None = None
    maintenance_event: MaintenanceEvent | None = None
    dry_run: bool = False
    incomplete: str | None = Field(
        default=None, description="Why the run did not finish (interrupted, internal error)."
    )


class Verdict(_Document):
    status: Status
    reasons: list[str]
    criteria: dict[str, Literal["passed", "failed", "skipped", "missing"]]


class VerdictRecord(_Document):
    """What ``<evidence-dir>/verdict.json`` holds."""

    verdict_schema: Literal["pytest_hastate.verdict.v1"] = "pytest_hastate.verdict.v1"
    verdict: Status
    reasons: list[str]
    criteria: dict[str, Literal["passed", "failed", "skipped", "missing"]]
    run_id: str
    phase: str
    mode: str
    package_name: str | None
    package_digest: str | None = Field(description="sha256 of the exact endpoint package bytes.")
    contract_digest: str | None
    maintenance_event: MaintenanceEvent | None
    dry_run: bool
    expect_interim: bool
    exit_code: int
    created_at: str
    facts: dict[str, Any] = Field(
        default_factory=dict,
        description="What the run measured (read-after-write lag, race answer times, waits ...).",
    )
    non_secret: Literal[True] = True


# --- the checkpoint (SPEC 7) ------------------------------------------------------------------


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
    facts: dict[str, Any] = Field(default_factory=dict)


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


class Checkpoint(_Document):
    """The state a later phase needs, written atomically; no secrets, no private paths."""

    checkpoint_schema: Literal["pytest_hastate.checkpoint.v1"] = "pytest_hastate.checkpoint.v1"
    run_id: str
    created_at: str
    package: PackageIdentity
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
