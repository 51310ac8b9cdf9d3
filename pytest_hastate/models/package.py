"""The endpoint package (public format, plus this project's optional additions)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from pytest_hastate.models.base import _Document
from pytest_hastate.models.contract import BucketRecovery
from pytest_hastate.models.metrics import MetricsSource


class CredentialInjection(_Document):
    endpoint_env: str
    region_env: str
    access_key_env: str
    secret_key_env: str


class MaintenanceProof(_Document):
    restart_or_managed_maintenance: str
    node_or_failure_domain: str
    max_unavailable_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="The longest window in a watched maintenance in which no endpoint may serve "
        "reads or writes (watch.service_continuity).",
    )


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
        "then the repository root, then the repository's contracts/ folder by file name, then "
        "the contracts pytest-hastate ships, by file name."
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
    scratch_prefix: str | None = Field(
        default=None,
        description="Key prefix of the scratch scope (default: the profile's); each run writes "
        "under <prefix><run-id>/.",
    )
    profile: str | None = Field(
        default=None,
        description="The policy profile that judges this package: a shipped name "
        "(gloriousflywheel, the default; generic) or a path relative to the package.",
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
    metrics_sources: list[MetricsSource] | None = Field(
        default=None,
        description="Where the backend's own metrics are read (Prometheus text format, GET only, "
        "no credentials): the observability.* criteria check that what the proof provoked shows.",
    )

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
