"""Fail fast on a degraded backend: what has failed hard is not asked again.

Every guarded client reports hard failures here (after botocore's own bounded retries): an
endpoint that gave no HTTP answer at all is *unreachable*; an endpoint whose writes answered
5xx has *failing writes*. Later requests of that kind to that endpoint are refused before they
are sent, with the cause and the criterion whose test met it first, so dependent criteria
fail at once, *by dependency*, instead of each waiting out its own timeouts. Each proof step
also has a time budget. Pure: no I/O, no boto3.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pytest_hastate.errors import BackendDegraded

TripKind = Literal["unreachable", "writes"]

# Requests that store data (a full store answers them 5xx while reads and deletes still work).
WRITE_OPERATIONS = frozenset(
    {
        "PutObject",
        "CopyObject",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "CreateBucket",
        "PutBucketVersioning",
    }
)


@dataclass(frozen=True)
class Trip:
    endpoint: str
    kind: TripKind
    cause: str
    criterion: str | None


@dataclass
class BackendHealth:
    """The hard failures met so far in this run, and the current test's context."""

    clock: Callable[[], float] = time.monotonic
    trips: dict[tuple[str, TripKind], Trip] = field(default_factory=dict)
    current: tuple[str, ...] = ()
    step: str | None = None
    deadline: float | None = None
    budget: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- the plugin tells where the run is ----------------------------------------------------

    def enter(self, criteria: tuple[str, ...], step: str | None, budget: float | None) -> None:
        """A test starts: its criteria; a new step starts its time budget."""
        self.current = criteria
        if step != self.step:
            self.step = step
            self.budget = budget
            self.deadline = None if budget is None else self.clock() + budget

    def remaining(self) -> float | None:
        """Seconds left in the current step's budget (None: no budget)."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock())

    # --- clients report and ask ---------------------------------------------------------------

    def trip(
        self, endpoint: str, kind: TripKind, cause: str, criteria: tuple[str, ...] | None = None
    ) -> None:
        """A hard failure, met by the current test (or by work of ``criteria``)."""
        claimed = self.current if criteria is None else criteria
        criterion = claimed[0] if claimed else None
        with self._lock:
            self.trips.setdefault((endpoint, kind), Trip(endpoint, kind, cause, criterion))

    def tripped(self, endpoint: str, operation: str) -> Trip | None:
        trip = self.trips.get((endpoint, "unreachable"))
        if trip is None and operation in WRITE_OPERATIONS:
            trip = self.trips.get((endpoint, "writes"))
        return trip

    def check(self, endpoint: str, operation: str, criteria: tuple[str, ...] | None = None) -> None:
        """Refuse, before anything is sent, what has already failed hard or is out of time."""
        trip = self.tripped(endpoint, operation)
        if trip is not None:
            raise self.degraded(trip, self.current if criteria is None else criteria)
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise BackendDegraded(
                f"proof step {self.step} used up its budget of {self.budget:.0f} s "
                f"({operation} through {endpoint} not sent)",
                depends_on=None,
            )

    def degraded(self, trip: Trip, criteria: tuple[str, ...]) -> BackendDegraded:
        own = trip.criterion is None or trip.criterion in criteria
        if own:
            return BackendDegraded(trip.cause, depends_on=None)
        return BackendDegraded(
            f"by dependency on {trip.criterion}: {trip.cause}", depends_on=trip.criterion
        )

    def cause_met_by(self, criteria: tuple[str, ...]) -> str | None:
        """The cause of a hard failure met in a test claiming ``criteria`` (its own failure,
        stated as what was observed), if there was one."""
        for trip in self.trips.values():
            if trip.criterion is not None and trip.criterion in criteria:
                return trip.cause
        return None


@dataclass(frozen=True)
class AttributedHealth:
    """The run's health for work that belongs to ``criteria`` whatever test runs meanwhile
    (the conditional-write race, begun early and judged later): its hard failures are that
    criterion's, and what it is refused is refused by dependency on the others'."""

    health: BackendHealth
    criteria: tuple[str, ...]

    def check(self, endpoint: str, operation: str) -> None:
        self.health.check(endpoint, operation, self.criteria)

    def trip(self, endpoint: str, kind: TripKind, cause: str) -> None:
        self.health.trip(endpoint, kind, cause, self.criteria)
