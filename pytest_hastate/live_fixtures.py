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
    hastate_run: ProofRun,
    hastate_s3_access: S3Access,
    hastate_scope: ScratchScope,
    hastate_request_log: RequestLog,
) -> ClientFactory:
    """Build more guarded clients (e.g. one per writer of a race, without retries).

    ``probe=True`` builds a client that waits for an endpoint to come back: its failures are
    expected, so they do not mark the endpoint as failed for the rest of the run.
    """
    from pytest_hastate.s3 import client

    def build(
        endpoint: str | None = None,
        *,
        attempts: int = 3,
        boundary_probes: bool = False,
        probe: bool = False,
    ) -> S3Client:
        return client(
            hastate_s3_access,
            hastate_scope,
            endpoint,
            attempts=attempts,
            boundary_probes=boundary_probes,
            log=hastate_request_log,
            health=None if probe else hastate_run.health,
        )

    return build


@pytest.fixture(scope="session")
def hastate_s3(
    hastate_s3_access: S3Access, hastate_s3_factory: ClientFactory
) -> dict[str, S3Client]:
    """A guarded client for every endpoint of the backend, primary first."""
    return {endpoint: hastate_s3_factory(endpoint) for endpoint in hastate_s3_access.endpoints}


AFTER_MAINTENANCE = ("post-maintenance", "cleanup")


@pytest.fixture(scope="session")
def hastate_s3_primary(
    request: pytest.FixtureRequest,
    hastate_run: ProofRun,
    hastate_s3_access: S3Access,
    hastate_s3: dict[str, S3Client],
) -> S3Client:
    """The client most requests go through: the package's first endpoint before maintenance;
    after it, the first endpoint that answers (no step after maintenance depends on one)."""
    if hastate_run.settings.mode.value in AFTER_MAINTENANCE:
        reach = request.getfixturevalue("hastate_reachability")
        if not reach.clients:
            from pytest_hastate.maintenance import bucket_problem

            bucket = hastate_run.checkpoint.scratch_bucket if hastate_run.checkpoint else "?"
            pytest.fail(str(bucket_problem(reach.answers, bucket, gone_ok=False)), pytrace=False)
        first: S3Client = next(iter(reach.clients.values()))
        return first
    return hastate_s3[hastate_s3_access.primary]


@pytest.fixture(scope="session")
def hastate_scratch_bucket(
    request: pytest.FixtureRequest,
    hastate_run: ProofRun,
    hastate_scope: ScratchScope,
    hastate_s3: dict[str, S3Client],
) -> Iterator[ScratchBucket]:
    """The scratch bucket; at the end of the run, remove what this phase wrote.

    Live runs create the bucket if needed and remove every version under the run prefix;
    a pre-maintenance run keeps everything for the verify; a post-maintenance run removes
    only what it wrote itself (under ``<run prefix><phase>/``); cleanup does its own work.
    After maintenance the bucket is asked about through every endpoint at once: an endpoint
    that does not answer is unreachable (recorded), and "gone" needs one that says 404.
    Cleanup runs on success, failure and Ctrl-C; anything left is residue (a teardown failure).
    """
    from pytest_hastate.scratch import ScratchBucket, delete_everything_under, head_status
    from pytest_hastate.settings import Mode

    settings = hastate_run.settings
    if settings.mode.value in AFTER_MAINTENANCE:
        from pytest_hastate.maintenance import bucket_problem

        reach = request.getfixturevalue("hastate_reachability")
        problem = bucket_problem(
            reach.answers, hastate_scope.bucket, gone_ok=settings.mode is Mode.CLEANUP
        )
        if problem:
            pytest.fail(problem, pytrace=False)
        checkpoint = hastate_run.checkpoint
        created = checkpoint.bucket_created_by_this_product if checkpoint else False
        bucket = ScratchBucket(hastate_scope.bucket, created_by_this_run=created)
        primary: S3Client = request.getfixturevalue("hastate_s3_primary")
    else:
        primary = request.getfixturevalue("hastate_s3_primary")
        bucket = _open_scratch_bucket(hastate_run, hastate_scope, primary, hastate_s3)
    yield bucket
    kept_for_a_checkpoint = settings.keep_scratch_bucket and hastate_run.checkpoint is not None
    if settings.mode is Mode.CLEANUP or kept_for_a_checkpoint:
        return  # a pre-maintenance run keeps what its checkpoint recorded; cleanup cleans
    prefix = (
        hastate_scope.run_prefix
        if settings.mode is not Mode.POST_MAINTENANCE
        else hastate_scope.key(settings.phase) + "/"
    )
    residue = delete_everything_under(primary, hastate_scope.bucket, prefix)
    if head_status(primary, hastate_scope.probe_bucket) == 200:
        residue += delete_everything_under(primary, hastate_scope.probe_bucket, "")
        try:
            primary.delete_bucket(Bucket=hastate_scope.probe_bucket)
        except Exception:  # reported as residue just below
            residue.append(hastate_scope.probe_bucket)
    hastate_run.residue.extend(residue)
    if residue:
        raise AssertionError(f"cleanup left residue: {', '.join(residue[:20])}")


def _open_scratch_bucket(
    run: ProofRun, scope: ScratchScope, primary: S3Client, clients: dict[str, S3Client]
) -> ScratchBucket:
    """Create the scratch bucket if needed; a new one must version writes on every endpoint."""
    from pytest_hastate.scratch import ensure_bucket, versioning_in_effect

    bucket = ensure_bucket(primary, scope.bucket)
    run.scratch_bucket_created = bucket.created_by_this_run
    if bucket.created_by_this_run:
        for index, (endpoint, s3) in enumerate(clients.items()):
            seconds = versioning_in_effect(
                s3, bucket.name, scope.key("versioning-settle", str(index))
            )
            if seconds is None:
                pytest.fail(
                    f"{endpoint}: writes to the new bucket {bucket.name} stay unversioned after versioning was enabled",
                    pytrace=False,
                )
            run.phase_facts.setdefault("versioning_settle_seconds", {})[endpoint] = round(
                seconds, 3
            )
    return bucket
