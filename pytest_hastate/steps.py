"""The proof steps and the criteria catalogue: one table.

Markers, pytest-order positions, the flags that select each step, the step budgets, what a
step stands on, and which criteria GO requires all derive from it. Pure data (named tuples:
every pytest session reads the markers from here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import pytest


class Step(NamedTuple):
    marker: str
    order: int  # the pytest-order position of the step's module
    number: str  # the proof-order step: 1, 2a, 2b, 3, 4, 5, 6
    title: str
    flags: str  # the flags that select it
    required_for_go: bool
    budget: float | None = None  # wall-clock seconds before its remaining requests are refused
    needs: frozenset[str] = frozenset()  # markers of the steps it stands on

    @property
    def marks(self) -> list[pytest.MarkDecorator]:
        """``pytestmark`` of the step's proof module."""
        return [getattr(pytest.mark, self.marker), pytest.mark.order(self.order)]

    @property
    def description(self) -> str:
        return f"proof step {self.number}: {self.title}"


_LIVE = "--endpoint-package PATH, in live or pre-maintenance mode"
STATIC = Step(
    "static",
    10,
    "1",
    "static contract and package gates (no network)",
    "--contract PATH or --endpoint-package PATH",
    True,
)
BOUNDARY = Step("boundary", 20, "2a", "credential boundary", _LIVE, True, 120)
SCRATCH = Step("scratch", 30, "2b", "scratch S3", _LIVE, True, 240)
BUCKET_INDEX = Step(
    "bucket_index", 40, "2b", "bucket-index consistency and bucket lifecycle", _LIVE, True, 120
)
DISPOSABLE_TOFU = Step(
    "disposable_tofu",
    50,
    "3",
    "disposable OpenTofu with the native S3 lockfile",
    "--run-disposable-tofu --use-lockfile",
    True,
    600,
)
OBSERVABILITY = Step(
    "observability",
    58,
    "3b",
    "the backend's own metrics show what the proof provoked",
    "--endpoint-package PATH naming metrics_sources, in live or pre-maintenance mode",
    False,
    60,
)
PRE_MAINTENANCE = Step(
    "pre_maintenance",
    60,
    "4",
    "restart checkpoint (before maintenance)",
    "--keep-scratch-bucket --checkpoint-file PATH",
    False,
    600,
    frozenset({"static", "boundary", "scratch", "bucket_index", "disposable_tofu"}),
)
POST_MAINTENANCE = Step(
    "post_maintenance",
    70,
    "5",
    "verify (after maintenance)",
    "--verify-existing --from-checkpoint PATH",
    False,
    600,
)
CLEANUP = Step(
    "cleanup",
    80,
    "6",
    "cleanup of a checkpoint's scratch objects",
    "--cleanup-checkpoint --from-checkpoint PATH",
    False,
    300,
)
STEPS: tuple[Step, ...] = (
    STATIC, BOUNDARY, SCRATCH, BUCKET_INDEX, DISPOSABLE_TOFU, OBSERVABILITY, PRE_MAINTENANCE, POST_MAINTENANCE, CLEANUP,
)  # fmt: skip
BY_MARKER: Mapping[str, Step] = {s.marker: s for s in STEPS}

RACE_JUDGED_AT = DISPOSABLE_TOFU.order + 5
"""The pytest-order position of the conditional-write race's test. The race is begun when
step 2b starts and judged here, after the disposable OpenTofu step and before the checkpoint:
its losing writers wait seconds on some engines' lock path (SeaweedFS admits about one a
second), and that wait overlaps the other live steps instead of adding to them."""


class Criterion(NamedTuple):
    id: str
    step: Step
    proves: str
    how_to_prove: str
    optional: bool = False  # proven when its evidence exists; never asked for by GO


_PROVE_LIVE = "run the live proof: hastate prove --endpoint-package PACKAGE"
_PROVE_TOFU = (
    "run the live proof with --run-disposable-tofu --use-lockfile and an OpenTofu >= 1.10 "
    "(or Terraform >= 1.11) binary"
)

_WATCH = (
    "watch the maintenance window: hastate watch --endpoint-package P --from-checkpoint CP, "
    "then verify (or give --watch-log PATH)"
)

_METRICS = (
    "name the backend's metrics in the package's metrics_sources (docs/guide/observability.md)"
)

CATALOGUE: tuple[Criterion, ...] = (
    Criterion("static.contract", STATIC, "the candidate contract passes C01-C12",
              "give --contract FILE or --endpoint-package FILE"),
    Criterion("static.package", STATIC, "the endpoint package passes P01-P16",
              "give --endpoint-package FILE"),
    Criterion("boundary.scoped", BOUNDARY,
              "proof credentials see the scratch bucket and no protected target", _PROVE_LIVE),
    Criterion("scratch.bucket", SCRATCH, "the scratch bucket exists or was created", _PROVE_LIVE),
    Criterion("scratch.versioning", SCRATCH, "versioning is enabled on the scratch bucket", _PROVE_LIVE),
    Criterion("scratch.object_cycle", SCRATCH, "put/head/get/delete of an object", _PROVE_LIVE),
    Criterion("scratch.conditional_write", SCRATCH,
              "If-None-Match refuses a second writer, one winner in a race", _PROVE_LIVE),
    Criterion("scratch.index_consistency", BUCKET_INDEX,
              "HeadBucket, listings and ListBuckets (for buckets the caller owns) agree on every endpoint",
              _PROVE_LIVE),
    Criterion("scratch.bucket_lifecycle", BUCKET_INDEX, "a fresh bucket's full lifecycle", _PROVE_LIVE),
    Criterion("consistency.read_after_write", SCRATCH,
              "a write acknowledged through one endpoint is served by every endpoint on the first read",
              _PROVE_LIVE),
    Criterion("endpoints.independent", SCRATCH, "at least two independent endpoints served the proof",
              "list at least two endpoints of the same backend in ha_endpoints"),
    Criterion("tofu.version", DISPOSABLE_TOFU, "the binary supports the native S3 lockfile", _PROVE_TOFU),
    Criterion("tofu.init", DISPOSABLE_TOFU, "init against the scratch backend", _PROVE_TOFU),
    Criterion("tofu.first_write", DISPOSABLE_TOFU, "apply writes state", _PROVE_TOFU),
    Criterion("tofu.readback", DISPOSABLE_TOFU, "output -json reads the state back", _PROVE_TOFU),
    Criterion("tofu.noop_plan", DISPOSABLE_TOFU, "plan -detailed-exitcode is a no-op", _PROVE_TOFU),
    Criterion("tofu.lock_contention", DISPOSABLE_TOFU, "a held lock stops a second run", _PROVE_TOFU),
    Criterion("tofu.lock_release", DISPOSABLE_TOFU, "no stale lock; relock works", _PROVE_TOFU),
    Criterion("tofu.restore", DISPOSABLE_TOFU, "state restored from a previous version", _PROVE_TOFU),
    Criterion("maintenance.checkpoint", PRE_MAINTENANCE, "durability sample and checkpoint written",
              "run with --keep-scratch-bucket --checkpoint-file PATH before maintenance"),
    Criterion("maintenance.verified", POST_MAINTENANCE, "the sample survived maintenance byte for byte",
              "after maintenance, run with --verify-existing --from-checkpoint PATH"),
    Criterion("maintenance.writable", POST_MAINTENANCE,
              "after maintenance every answering endpoint takes a fresh write, serves it on the first read, and refuses a second lock holder",
              "after maintenance, run with --verify-existing --from-checkpoint PATH"),
    Criterion("maintenance.endpoint_loss_observed", POST_MAINTENANCE, "an endpoint was down during verify",
              "verify while an endpoint or node is lost, or declare --maintenance-event"),
    Criterion("watch.acknowledged_writes_survive", POST_MAINTENANCE,
              "every write acknowledged during the watched window is served with its bytes afterwards, and no older version came back as latest",
              _WATCH, optional=True),
    Criterion("watch.lock_exclusive", POST_MAINTENANCE,
              "no two contenders held the lock at the same instant during the watched window",
              _WATCH, optional=True),
    Criterion("watch.service_continuity", POST_MAINTENANCE,
              "some endpoint served reads or writes at every instant of the watched window, but for windows within maintenance_proof.max_unavailable_seconds",
              _WATCH, optional=True),
    Criterion("observability.failed_auth", OBSERVABILITY,
              "the backend's metrics count at least the 403s the boundary probes received",
              _METRICS, optional=True),
    Criterion("observability.failed_write", OBSERVABILITY,
              "the backend's metrics count at least the 412s of the race and the lock contention",
              _METRICS, optional=True),
    Criterion("observability.delete_behavior", OBSERVABILITY,
              "the backend's metrics count at least the deletes the proof made",
              _METRICS, optional=True),
    Criterion("observability.replication_lag", OBSERVABILITY,
              "a metrics source exposes the replication-lag metric the package names",
              _METRICS, optional=True),
    Criterion("observability.object_availability", POST_MAINTENANCE,
              "an endpoint lost during the verify is visible in the metrics (its source silent, or failing)",
              _METRICS + ", and verify while an endpoint is lost", optional=True),
    Criterion("cleanup.complete", CLEANUP, "every scratch object of the run is gone",
              "run with --cleanup-checkpoint --from-checkpoint PATH"),
)  # fmt: skip
BY_ID: Mapping[str, Criterion] = {c.id: c for c in CATALOGUE}
REQUIRED_FOR_GO: tuple[str, ...] = tuple(c.id for c in CATALOGUE if c.step.required_for_go)
OPTIONAL: frozenset[str] = frozenset(c.id for c in CATALOGUE if c.optional)
OBSERVABILITY_CRITERIA: tuple[str, ...] = tuple(
    c.id for c in CATALOGUE if c.id.startswith("observability.")
)
"""Not proven unless a metrics source shows the signal; required only on request."""

LOCKFILE_MINIMUM: Mapping[str, tuple[int, int, int]] = {
    "OpenTofu": (1, 10, 0),
    "Terraform": (1, 11, 0),
}
"""The first releases with the native S3 lockfile (``use_lockfile``)."""
