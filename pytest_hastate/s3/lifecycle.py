"""The scratch bucket's life in one run: open it, keep what a checkpoint needs, remove the rest.

One session-scoped object owns it (the fixture that exposes it is a few lines): ``open``
creates or checks the bucket (after maintenance: judges what every endpoint answered),
``close`` removes what this phase wrote and returns what it could not remove (residue).
A live run may ``sweep_early``: remove, in the background, what its finished steps wrote while
the run waits on something else; ``close`` still lists and removes whatever is left.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Literal

from pytest_hastate.errors import GuardRefusal, HastateError
from pytest_hastate.maintenance.reachability import EndpointAnswer, bucket_problem
from pytest_hastate.s3.client import S3Client, S3Errors
from pytest_hastate.s3.scratch import (
    ScratchBucket,
    delete_everything_under,
    ensure_bucket,
    head_status,
    in_background,
    versioning_in_effect,
)
from pytest_hastate.scope.scratch import ScratchScope

Phase = Literal["live", "pre-maintenance", "post-maintenance", "cleanup"]
PHASES: Mapping[str, Phase] = {
    "pre-maintenance": "pre-maintenance", "post-maintenance": "post-maintenance",
    "cleanup": "cleanup",
}  # fmt: skip
"""The phase of a run's mode (``modes.Mode`` values); any other mode's is "live"."""


class ScratchUnusable(AssertionError):
    """The scratch bucket cannot be used; the message states what was observed."""


@dataclass
class ScratchLifecycle:
    scope: ScratchScope
    phase: Phase
    clients: Mapping[str, S3Client]  # every endpoint (before maintenance) or those that answer
    phase_label: str = "baseline"
    created_by_product: bool = False  # after maintenance: what the checkpoint recorded
    answers: Sequence[EndpointAnswer] = ()
    settle_seconds: dict[str, float] = field(default_factory=dict)
    bucket: ScratchBucket | None = None
    closed: bool = False  # the session's cleanup ran to its end (whatever it left)
    sweep: Future[list[str]] | None = None  # sweep_early's work, awaited by close

    @property
    def primary(self) -> S3Client:
        return next(iter(self.clients.values()))

    def open(self) -> ScratchBucket:
        if self.phase in ("post-maintenance", "cleanup"):
            problem = bucket_problem(
                self.answers, self.scope.bucket, gone_ok=self.phase == "cleanup"
            )
            if problem:
                raise ScratchUnusable(problem)
            self.bucket = ScratchBucket(self.scope.bucket, self.created_by_product)
            return self.bucket
        self.bucket = ensure_bucket(self.primary, self.scope.bucket)
        if self.bucket.created_by_this_run:
            self._settle()
        return self.bucket

    def _settle(self) -> None:
        """A bucket this run created must version writes through every endpoint (gateways
        cache bucket configuration for a moment); the wait is bounded and reported."""
        assert self.bucket is not None
        for index, (endpoint, s3) in enumerate(self.clients.items()):
            key = self.scope.key("versioning-settle", str(index))
            seconds = versioning_in_effect(s3, self.bucket.name, key)
            if seconds is None:
                raise ScratchUnusable(
                    f"{endpoint}: writes to the new bucket {self.bucket.name} stay unversioned "
                    "after versioning was enabled"
                )
            self.settle_seconds[endpoint] = round(seconds, 3)

    def sweep_early(self, *, spare: str) -> None:
        """Begin removing every version under the run's prefix but those under ``spare``, in
        the background (live runs only: nothing of theirs is kept). What it fails to remove,
        ``close`` meets in its own listing; its answers are not needed."""
        if self.phase == "live" and self.bucket is not None and self.sweep is None:
            self.sweep = in_background(
                functools.partial(delete_everything_under, spare=spare),
                self.primary, self.scope.bucket, self.scope.run_prefix,
            )  # fmt: skip

    def sweep_done(self) -> None:
        """Wait for ``sweep_early``'s work. A request the guard refused in it is raised here:
        a request outside the scope is a finding of the run. Whatever else it met, ``close``
        meets in its own listing."""
        if self.sweep is not None and isinstance(refused := self.sweep.exception(), GuardRefusal):
            raise refused

    def close(self, *, keep: bool) -> list[str]:
        """Remove what this phase wrote (unless ``keep``: a checkpoint recorded it, or cleanup
        does its own work); returns the residue."""
        if self.sweep is not None:
            self.sweep.exception()  # its work is over (sweep_done said what it was refused)
        if keep or self.phase == "cleanup" or self.bucket is None:
            self.closed = True
            return []
        prefix = (
            self.scope.key(self.phase_label) + "/"
            if self.phase == "post-maintenance"
            else self.scope.run_prefix
        )
        try:
            residue = self._remove(prefix)
        except (HastateError, *S3Errors) as exc:  # the backend failed: nothing is confirmed gone
            residue = [f"unknown: {self.scope.bucket}/{prefix} not removed ({exc})"]
        self.closed = True  # only once the removal has finished (a Ctrl-C inside it: not closed)
        return residue

    def _remove(self, prefix: str) -> list[str]:
        residue = delete_everything_under(self.primary, self.scope.bucket, prefix)
        probe = self.scope.probe_bucket
        if head_status(self.primary, probe) == 200:
            residue += delete_everything_under(self.primary, probe, "")
            with contextlib.suppress(*S3Errors):  # still there: residue just below
                self.primary.delete_bucket(Bucket=probe)
            if head_status(self.primary, probe) == 200:
                residue.append(probe)
        return residue
