"""Fixtures of the live proof steps: guarded S3 clients for every endpoint, the scratch bucket.

Every client comes from ``s3.client``, so every request passes the scratch guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_hastate.guard import ProtectedTargets, ScratchScope
from pytest_hastate.models import EndpointPackage
from pytest_hastate.run import ProofRun

if TYPE_CHECKING:  # boto3 is imported only when a live step runs
    from pytest_hastate.s3 import RequestLog, S3Access, S3Client
    from pytest_hastate.scratch import ScratchBucket

ClientFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def hastate_s3_access(hastate_run: ProofRun, hastate_endpoint_package: EndpointPackage) -> S3Access:
    """Endpoints, region and credentials (from the environment only)."""
    if hastate_run.settings.dry_run:
        pytest.skip("dry run: no request is sent, so this step proves nothing")
    if hastate_run.access is None:
        raise pytest.UsageError(
            "pytest-hastate: live steps need --endpoint-package PATH and the proof credentials"
        )
    return hastate_run.access


@pytest.fixture(scope="session")
def hastate_scope(hastate_run: ProofRun, hastate_endpoint_package: EndpointPackage) -> ScratchScope:
    """Where this run may write: ``<scratch_prefix><run-id>/`` in the scratch bucket, and its probe bucket."""
    package = hastate_endpoint_package
    return ScratchScope(
        bucket=package.scratch_bucket,
        prefix=package.scratch_prefix,
        run_id=hastate_run.settings.run_id,
        protected=ProtectedTargets.from_denials(package.protected_state_denials),
        allow_scratch_bucket_delete=hastate_run.settings.delete_scratch_bucket,
    )


@pytest.fixture(scope="session")
def hastate_request_log() -> RequestLog:
    """Every request the guarded clients handed to botocore during this session."""
    from pytest_hastate.s3 import RequestLog

    return RequestLog()


@pytest.fixture(scope="session")
def hastate_s3_factory(
    hastate_s3_access: S3Access, hastate_scope: ScratchScope, hastate_request_log: RequestLog
) -> ClientFactory:
    """Build more guarded clients (e.g. one per writer of a race, without retries)."""
    from pytest_hastate.s3 import client

    def build(
        endpoint: str | None = None, *, attempts: int = 3, boundary_probes: bool = False
    ) -> S3Client:
        return client(
            hastate_s3_access,
            hastate_scope,
            endpoint,
            attempts=attempts,
            boundary_probes=boundary_probes,
            log=hastate_request_log,
        )

    return build


@pytest.fixture(scope="session")
def hastate_s3(
    hastate_s3_access: S3Access, hastate_s3_factory: ClientFactory
) -> dict[str, S3Client]:
    """A guarded client for every endpoint of the backend, primary first."""
    return {endpoint: hastate_s3_factory(endpoint) for endpoint in hastate_s3_access.endpoints}


@pytest.fixture(scope="session")
def hastate_s3_primary(hastate_s3_access: S3Access, hastate_s3: dict[str, S3Client]) -> S3Client:
    return hastate_s3[hastate_s3_access.primary]


@pytest.fixture(scope="session")
def hastate_scratch_bucket(
    hastate_run: ProofRun,
    hastate_scope: ScratchScope,
    hastate_s3_primary: S3Client,
) -> Iterator[ScratchBucket]:
    """Create-or-verify the scratch bucket; at the end remove every version this run wrote.

    Cleanup runs on success, failure and Ctrl-C; anything left is reported as residue (a
    teardown failure, so the verdict is STOP). With --keep-scratch-bucket the run's objects stay.
    """
    from pytest_hastate.scratch import delete_everything_under, ensure_bucket, head_status

    bucket = ensure_bucket(hastate_s3_primary, hastate_scope.bucket)
    hastate_run.scratch_bucket_created = bucket.created_by_this_run
    yield bucket
    if hastate_run.settings.keep_scratch_bucket:
        return
    residue = delete_everything_under(
        hastate_s3_primary, hastate_scope.bucket, hastate_scope.run_prefix
    )
    if head_status(hastate_s3_primary, hastate_scope.probe_bucket) == 200:
        residue += delete_everything_under(hastate_s3_primary, hastate_scope.probe_bucket, "")
        try:
            hastate_s3_primary.delete_bucket(Bucket=hastate_scope.probe_bucket)
        except Exception:  # reported as residue just below
            residue.append(hastate_scope.probe_bucket)
    hastate_run.residue.extend(residue)
    if residue:
        raise AssertionError(f"cleanup left residue: {', '.join(residue[:20])}")
