"""The candidate contract (public format)."""

from __future__ import annotations

from pydantic import Field

from pytest_hastate.models.base import _Document


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
    require_observability: bool = Field(
        default=False,
        description="This project's addition: the observability.* criteria are required (a "
        "signal the backend's metrics do not show is STOP), as with --require-observability.",
    )
    non_secret: bool = Field(
        json_schema_extra={"const": True},
        description="Must be true: the document holds no secret (the gates refuse false).",
    )
