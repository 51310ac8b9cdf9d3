"""Fixtures of the maintenance steps: the checkpoint of the earlier phase, which endpoints
answer after maintenance, and the verification of the durability sample."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pytest_hastate.models import Checkpoint
from pytest_hastate.run import ProofRun

if TYPE_CHECKING:
    from pytest_hastate.disposable import DisposableState
    from pytest_hastate.maintenance import EndpointAnswer, EndpointVerification
    from pytest_hastate.s3 import S3Access, S3Client

REACH_GRACE = 10.0
"""Once one endpoint answers, the seconds the others get to answer too."""


@pytest.fixture(scope="session")
def hastate_checkpoint(hastate_run: ProofRun) -> Checkpoint:
    """The checkpoint given with --from-checkpoint (its package digest already matched)."""
    if hastate_run.checkpoint is None:
        raise pytest.UsageError("pytest-hastate: this step needs --from-checkpoint PATH")
    return hastate_run.checkpoint


@dataclass(frozen=True)
class Reachability:
    """Every endpoint asked at once after maintenance; no step after it depends on any one."""

    answers: list[EndpointAnswer]
    clients: dict[str, S3Client]  # guarded clients of the endpoints that answered, in order

    @property
    def unreachable(self) -> list[str]:
        return [a.endpoint for a in self.answers if not a.answered]


@pytest.fixture(scope="session")
def hastate_reachability(
    hastate_run: ProofRun,
    hastate_checkpoint: Checkpoint,
    hastate_s3_access: S3Access,
    hastate_s3_factory: Callable[..., Any],
    hastate_progress: Callable[[str], None],
) -> Reachability:
    """Which endpoints answer HeadBucket on the scratch bucket (bounded wait, all at once)."""
    from pytest_hastate.maintenance import reachability

    settings = hastate_run.settings
    endpoints = hastate_s3_access.endpoints
    bucket = hastate_checkpoint.scratch_bucket
    hastate_progress(
        f"asking {len(endpoints)} endpoint(s) about {bucket} "
        f"(waiting up to {settings.verify_timeout:.0f} s for the backend to answer)"
    )
    probes = {e: hastate_s3_factory(e, attempts=1, probe=True) for e in endpoints}
    answers = reachability(
        probes, bucket, timeout=settings.verify_timeout,
        grace=min(REACH_GRACE, settings.verify_timeout),
    )  # fmt: skip
    clients = {a.endpoint: hastate_s3_factory(a.endpoint) for a in answers if a.answered}
    result = Reachability(answers, clients)
    served = [a.served_after for a in answers if a.served_after is not None]
    hastate_run.phase_facts["unreachable_endpoints"] = result.unreachable
    hastate_run.phase_facts["failover_wait_seconds"] = min(served) if served else None
    for answer in answers:
        state = "answers" if answer.answered else "unreachable"
        hastate_progress(f"{answer.endpoint}: {answer.seen} ({state})")
    return result


@pytest.fixture(scope="session")
def hastate_sample_verification(
    hastate_checkpoint: Checkpoint,
    hastate_reachability: Reachability,
    hastate_scratch_bucket: Any,
    hastate_progress: Callable[[str], None],
) -> list[EndpointVerification]:
    """Every sample object checked through every endpoint that answered, endpoints at once."""
    from concurrent.futures import ThreadPoolExecutor

    from pytest_hastate.maintenance import verify_endpoint

    reach = hastate_reachability
    hastate_progress(
        f"verifying {len(hastate_checkpoint.sample)} sample objects through "
        f"{len(reach.clients)} answering endpoint(s)"
    )

    def one(answer: EndpointAnswer) -> EndpointVerification:
        client = reach.clients.get(answer.endpoint)
        if client is None:
            from pytest_hastate.maintenance import EndpointVerification

            return EndpointVerification(answer.endpoint)
        return verify_endpoint(
            client, answer, hastate_checkpoint.scratch_bucket, hastate_checkpoint.sample
        )

    with ThreadPoolExecutor(max_workers=len(reach.answers)) as pool:
        reports = list(pool.map(one, reach.answers))
    for r in reports:
        if r.reachable:
            rate = r.verified / r.seconds if r.seconds else 0.0
            hastate_progress(f"{r.endpoint}: {r.verified} objects verified ({rate:.0f}/s)")
    return reports


@pytest.fixture(scope="session")
def hastate_checkpoint_workspace(
    hastate_checkpoint: Checkpoint, hastate_reachability: Reachability, hastate_open_workspace: Any
) -> Iterator[DisposableState]:
    """A fresh workspace on the disposable state the checkpoint kept, through an endpoint
    that answers (whichever it is)."""
    record = hastate_checkpoint.disposable_state
    if record is None:
        pytest.skip(
            "the checkpoint kept no disposable OpenTofu state (pre run without --run-disposable-tofu)"
        )
    with hastate_open_workspace(
        record.key, record.phase, clients=hastate_reachability.clients
    ) as workspace:
        yield workspace
