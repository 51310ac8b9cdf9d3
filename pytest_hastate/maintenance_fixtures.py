"""Fixtures of the maintenance steps: the checkpoint of the earlier phase and the verification."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_hastate.models import Checkpoint
from pytest_hastate.run import ProofRun

if TYPE_CHECKING:
    from pytest_hastate.disposable import DisposableState
    from pytest_hastate.maintenance import EndpointVerification
    from pytest_hastate.s3 import S3Access


@pytest.fixture(scope="session")
def hastate_checkpoint(hastate_run: ProofRun) -> Checkpoint:
    """The checkpoint given with --from-checkpoint (its package digest already matched)."""
    if hastate_run.checkpoint is None:
        raise pytest.UsageError("pytest-hastate: this step needs --from-checkpoint PATH")
    return hastate_run.checkpoint


@pytest.fixture(scope="session")
def hastate_sample_verification(
    hastate_run: ProofRun,
    hastate_checkpoint: Checkpoint,
    hastate_s3_access: S3Access,
    hastate_s3_factory: Callable[..., Any],
    hastate_progress: Callable[[str], None],
) -> list[EndpointVerification]:
    """Every sample object checked through every endpoint, endpoints concurrently."""
    from concurrent.futures import ThreadPoolExecutor

    from pytest_hastate.maintenance import verify_endpoint

    timeout = hastate_run.settings.verify_timeout
    hastate_progress(
        f"verifying {len(hastate_checkpoint.sample)} sample objects through {len(hastate_s3_access.endpoints)} endpoint(s) (waiting up to {timeout:.0f} s for each)"
    )

    def one(endpoint: str) -> EndpointVerification:
        s3 = hastate_s3_factory(endpoint, attempts=1)
        return verify_endpoint(
            s3,
            endpoint,
            hastate_checkpoint.scratch_bucket,
            hastate_checkpoint.sample,
            timeout=timeout,
            progress=hastate_progress,
        )

    with ThreadPoolExecutor(max_workers=len(hastate_s3_access.endpoints)) as pool:
        reports = list(pool.map(one, hastate_s3_access.endpoints))
    served = [r.served_after for r in reports if r.served_after is not None]
    hastate_run.phase_facts["unreachable_endpoints"] = [
        r.endpoint for r in reports if not r.reachable
    ]
    hastate_run.phase_facts["failover_wait_seconds"] = round(min(served), 3) if served else None
    for r in reports:
        if r.reachable:
            rate = r.verified / r.seconds if r.seconds else 0.0
            hastate_progress(
                f"{r.endpoint}: served after {r.served_after:.1f} s; {r.verified} objects verified ({rate:.0f}/s)"
            )
    return reports


@pytest.fixture(scope="session")
def hastate_checkpoint_workspace(
    hastate_checkpoint: Checkpoint, hastate_open_workspace: Any
) -> Iterator[DisposableState]:
    """A fresh workspace on the disposable state the checkpoint kept."""
    record = hastate_checkpoint.disposable_state
    if record is None:
        pytest.skip(
            "the checkpoint kept no disposable OpenTofu state (pre run without --run-disposable-tofu)"
        )
    with hastate_open_workspace(record.key, record.phase) as workspace:
        yield workspace
