"""Data shapes of pytest-hastate: the two input documents, the checkpoint and the verdict.

Pure pydantic v2 models; this package imports nothing of ours and does no I/O.

Our documents are strict: unknown fields are refused (a typo such as
``scratch_bukcet`` must never be silently ignored) and values are not coerced
(``"true"`` is not ``true``). Field names follow the public format operators
already use; the optional fields are this project's additions.
"""

from __future__ import annotations

from pytest_hastate.models.base import (
    CREDENTIAL_ENV_NAMES,
    SESSION_TOKEN_ENV,
)
from pytest_hastate.models.checkpoint import (
    Checkpoint,
    CleanupRecord,
    DisposableStateRecord,
    PackageIdentity,
    PhaseRecord,
    ProfileIdentity,
    SampleObject,
)
from pytest_hastate.models.contract import (
    BucketRecovery,
    CandidateContract,
    FailureBehavior,
)
from pytest_hastate.models.metrics import MetricSelector, MetricsSource, SignalId
from pytest_hastate.models.package import (
    NON_AWS_BACKEND_DEFAULTS,
    BackendOptionValue,
    CredentialInjection,
    EndpointPackage,
    HaSemantics,
    MaintenanceProof,
    is_aws_endpoint,
)
from pytest_hastate.models.verdict import (
    CriterionResult,
    MaintenanceEvent,
    ObservabilityFacts,
    Outcome,
    Provenance,
    RaceFacts,
    ReadAfterWriteFacts,
    RunFacts,
    SignalEvidence,
    Status,
    Verdict,
    VerdictInputs,
    VerdictRecord,
    WatchFacts,
)

__all__ = [
    "CREDENTIAL_ENV_NAMES",
    "NON_AWS_BACKEND_DEFAULTS",
    "SESSION_TOKEN_ENV",
    "BackendOptionValue",
    "BucketRecovery",
    "CandidateContract",
    "Checkpoint",
    "CleanupRecord",
    "CredentialInjection",
    "CriterionResult",
    "DisposableStateRecord",
    "EndpointPackage",
    "FailureBehavior",
    "HaSemantics",
    "MaintenanceEvent",
    "MaintenanceProof",
    "MetricSelector",
    "MetricsSource",
    "ObservabilityFacts",
    "Outcome",
    "PackageIdentity",
    "PhaseRecord",
    "ProfileIdentity",
    "Provenance",
    "RaceFacts",
    "ReadAfterWriteFacts",
    "RunFacts",
    "SampleObject",
    "SignalEvidence",
    "SignalId",
    "Status",
    "Verdict",
    "VerdictInputs",
    "VerdictRecord",
    "WatchFacts",
    "is_aws_endpoint",
]
