"""Outcomes, the verdict's inputs, and what verdict.json holds."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from pytest_hastate.models.base import _Document
from pytest_hastate.models.package import HaSemantics


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


class RaceFacts(_Document):
    """The conditional-write race: writers per key, winners per key, and how long the losers
    waited for their 412 (a fact about the engine's lock path)."""

    keys: int
    writers: int
    endpoints: int
    winners: list[int]
    refused_seconds_median: float | None = None
    refused_seconds_max: float | None = None


class ReadAfterWriteFacts(_Document):
    """First reads after acknowledged writes, across every pair of endpoints."""

    reads: int
    stale: int
    first_read_seconds_p50: float
    first_read_seconds_max: float
    stale_lag_seconds: list[float] = Field(
        default_factory=list, description="Measured for the first stale reads of each pair."
    )


class WatchFacts(_Document):
    """What the watched maintenance window measured (``hastate watch`` and its checker)."""

    log: str
    duration_seconds: float
    operations: int
    acknowledged_writes: int
    lock_rounds: int = Field(description="Acquire attempts by every contender.")
    lock_holds: int
    contended_rounds: int = Field(description="Acquires refused because the lock was held (412).")
    possible_overlaps: int = Field(
        description="Overlaps involving an acquire without an answer (facts, not violations)."
    )
    outage_seconds: dict[str, float] = Field(
        description="Per endpoint: the longest window with no served read or write."
    )
    outage_windows: dict[str, list[float]] = Field(
        description="Per endpoint: that window, [start, end] in seconds since the watch started."
    )
    backend_outage_seconds: float
    backend_outage_window: list[float]
    max_unavailable_seconds: float
    latency_seconds: dict[str, dict[str, float | None]] = Field(
        description="p50/p99 of acknowledged operations before, during and after the marks."
    )
    marks: list[str] = Field(default_factory=list)
    picture: str | None = None


class SignalEvidence(_Document):
    """What the backend's own metrics showed of one signal the proof provoked."""

    signal: str
    proven: bool
    provoked: int | None = Field(
        default=None, description="How many the proof provoked and saw answered (e.g. 403s)."
    )
    metric: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    delta: float | None = Field(
        default=None, description="The metric's increase between the scrapes, summed over sources."
    )
    sources: list[str] = Field(default_factory=list, description="The sources that showed it.")
    message: str = ""


class ObservabilityFacts(_Document):
    """The metrics sources scraped around the live steps, and what each signal showed."""

    sources: dict[str, str] = Field(
        default_factory=dict,
        description="Per source URL: what its scrapes found (engine, samples) or why it gave none.",
    )
    signals: list[SignalEvidence] = Field(default_factory=list)


class RunFacts(_Document):
    """What a run measured, beside its criteria."""

    versioning_settle_seconds: dict[str, float] = Field(default_factory=dict)
    conditional_race: RaceFacts | None = None
    read_after_write: ReadAfterWriteFacts | None = None
    unreachable_endpoints: list[str] = Field(default_factory=list)
    failover_wait_seconds: float | None = None
    index_views: dict[str, str] = Field(
        default_factory=dict, description="What each endpoint said of the scratch bucket's index."
    )
    list_buckets_evidence: str | None = Field(
        default=None,
        description="Whether ListBuckets was used as bucket-index evidence, and why (ownership).",
    )
    watch: WatchFacts | None = None
    observability: ObservabilityFacts | None = None
    timing: dict[str, float] = Field(
        default_factory=dict,
        description="Wall seconds; seconds waiting on OpenTofu, on S3 round-trips; the rest.",
    )


class Provenance(_Document):
    """What produced a piece of evidence: the tool and its runtime, the OpenTofu binary, and
    what each endpoint of the backend said it is."""

    pytest_hastate: str
    python: str
    pytest: str
    boto3: str | None = None
    botocore: str | None = None
    tofu_binary: str | None = Field(
        default=None, description="The OpenTofu/Terraform binary the run used (its path)."
    )
    tofu_version: str | None = Field(
        default=None, description="What it said of itself, e.g. 'Terraform 1.11.4'."
    )
    servers: dict[str, str] = Field(
        default_factory=dict,
        description="Per endpoint that answered: its Server header ('' when it sent none).",
    )


class VerdictInputs(_Document):
    """Everything the verdict depends on; built by the plugin, judged by ``verdict.decide``."""

    results: dict[str, CriterionResult] = Field(default_factory=dict)
    carried: dict[str, CriterionResult] = Field(
        default_factory=dict, description="Results of earlier phases (the checkpoint chain)."
    )
    guard_refusals: list[str] = Field(default_factory=list)
    unattributed_failures: list[str] = Field(default_factory=list)
    cleanup_residue: list[str] = Field(
        default_factory=list,
        description="What the session's cleanup could not remove (a finding of the run).",
    )
    static_stop_conditions: list[str] = Field(default_factory=list)
    ha_semantics: HaSemantics | None = None
    maintenance_event: MaintenanceEvent | None = None
    dry_run: bool = False
    deselected: list[str] = Field(
        default_factory=list, description="Criteria whose tests were deselected (-m, -k, paths)."
    )
    incomplete: str | None = Field(
        default=None, description="Why the run did not finish (interrupted, internal error)."
    )
    required_observability: list[str] = Field(
        default_factory=list,
        description="The observability.* criteria required (--require-observability, or the "
        "contract's require_observability; those of the signals the documents list): one not "
        "proven is STOP.",
    )


class Verdict(_Document):
    status: Status
    reasons: list[str]
    criteria: dict[str, Literal["passed", "failed", "skipped", "missing"]]
    notes: list[str] = Field(
        default_factory=list,
        description="What was not proven but does not change the status (observability not "
        "required).",
    )


class VerdictRecord(_Document):
    """What ``<evidence-dir>/verdict.json`` holds."""

    verdict_schema: Literal["pytest_hastate.verdict.v1"] = "pytest_hastate.verdict.v1"
    verdict: Status
    reasons: list[str]
    criteria: dict[str, Literal["passed", "failed", "skipped", "missing"]]
    notes: list[str] = Field(
        default_factory=list, description="Not proven, not required (observability)."
    )
    run_id: str
    phase: str
    mode: str
    package_name: str | None
    package_digest: str | None = Field(description="sha256 of the exact endpoint package bytes.")
    profile: str | None = Field(default=None, description="The policy profile that judged.")
    profile_digest: str | None = Field(
        default=None, description="sha256 of the exact profile bytes."
    )
    contract_digest: str | None
    maintenance_event: MaintenanceEvent | None
    dry_run: bool
    expect_interim: bool
    exit_code: int
    created_at: str
    facts: RunFacts = Field(
        default_factory=RunFacts,
        description="What the run measured (read-after-write lag, race answer times, waits ...).",
    )
    produced_by: Provenance | None = Field(
        default=None, description="pytest-hastate and its runtime, OpenTofu, the engine."
    )
    non_secret: Literal[True] = True
