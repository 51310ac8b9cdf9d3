"""Proof step 2b: the scratch bucket, versioning, an object cycle, conditional writes, and
reads that are current on every endpoint. Every key lives under ``<scratch_prefix><run-id>/``.

Consistency is checked on the first read, never after a wait: OpenTofu with ``use_lockfile``
keeps no digest of the state, so an endpoint serving an old state for a while would let a plan
run on it and an apply overwrite newer state.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from pytest_hastate.errors import DependencyFailed
from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.steps import RACE_JUDGED_AT, SCRATCH

if TYPE_CHECKING:
    from pytest_hastate.fixtures.s3 import ClientFactory
    from pytest_hastate.run import ProofRun
    from pytest_hastate.s3.client import S3Access, S3Client
    from pytest_hastate.s3.scratch import RacesUnderway, ReadCheck, ScratchBucket, ScratchOps

pytestmark = SCRATCH.marks

RACE_TEST = "test_conditional_write_race_has_exactly_one_winner"


def begin_the_race(request: pytest.FixtureRequest) -> None:
    """When the race's test is selected, its race is begun now, in the background, and judged
    by that test after the disposable OpenTofu step (see ``steps.RACE_JUDGED_AT``)."""
    if any(getattr(item, "originalname", None) == RACE_TEST for item in request.session.items):
        request.getfixturevalue("hastate_conditional_race")


@pytest.mark.hastate_criterion("scratch.bucket")
def test_scratch_bucket_exists_on_every_endpoint(
    hastate_scratch_bucket: ScratchBucket,
    hastate_s3: dict[str, S3Client],
    hastate_scratch: ScratchOps,
) -> None:
    bucket = hastate_scratch_bucket.name
    answers = {e: hastate_scratch.head_status(s3, bucket) for e, s3 in hastate_s3.items()}
    wrong = [f"{e} answered {code or 'nothing'}" for e, code in answers.items() if code != 200]
    assert not wrong, f"HeadBucket {bucket}: " + "; ".join(wrong)


@pytest.mark.hastate_criterion("scratch.versioning")
def test_versioning_is_enabled(
    hastate_scratch_bucket: ScratchBucket,
    hastate_s3: dict[str, S3Client],
    hastate_scratch: ScratchOps,
) -> None:
    bucket = hastate_scratch_bucket.name
    for endpoint, s3 in hastate_s3.items():
        state = hastate_scratch.versioning_state(s3, bucket)
        assert state == "Enabled", (
            f"GetBucketVersioning {bucket} through {endpoint}: {state}; state history and "
            "restore need versioning enabled"
        )


@pytest.mark.hastate_criterion("scratch.object_cycle")
def test_object_put_head_get_delete(
    hastate_scratch_bucket: ScratchBucket,
    hastate_scope: ScratchScope,
    hastate_s3_primary: S3Client,
    hastate_s3: dict[str, S3Client],
    hastate_scratch: ScratchOps,
) -> None:
    ops, s3 = hastate_scratch, hastate_s3_primary
    bucket, key = hastate_scratch_bucket.name, hastate_scope.key("object-cycle", uuid.uuid4().hex)
    body = ops.payload(65536)
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    version = put.get("VersionId")
    if not version and (state := ops.versioning_state(s3, bucket)) != "Enabled":
        raise DependencyFailed(
            f"PUT {key} returned no version id: the bucket's versioning is {state}",
            depends_on="scratch.versioning",
        )
    assert version, f"PUT {key} in a versioned bucket returned no version id"
    where = f"through the same endpoint right after PUT {key} answered 200 (version {version})"
    code = ops.head_status(s3, bucket, key)
    assert code == 200, f"HEAD answered {code} {where}"
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(body), (
        f"HEAD answered {head['ContentLength']} bytes {where} with {len(body)} bytes"
    )
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert ops.sha256(got) == ops.sha256(body), f"GET answered other bytes {where}"
    s3.delete_object(Bucket=bucket, Key=key)
    for endpoint, other in hastate_s3.items():
        code = ops.head_status(other, bucket, key)
        assert code == 404, (
            f"{endpoint}: HEAD {key} answered {code} right after delete (expected 404)"
        )


@pytest.mark.hastate_criterion("scratch.conditional_write")
def test_conditional_write_refuses_a_second_writer(
    request: pytest.FixtureRequest,
    hastate_scratch_bucket: ScratchBucket,
    hastate_scope: ScratchScope,
    hastate_s3_factory: ClientFactory,
    hastate_scratch: ScratchOps,
) -> None:
    begin_the_race(request)  # beside this check, on other keys
    # The client's retry rule sends each conditional PUT once (unless it provably never left):
    # sent again after a lost answer, it would meet its own object.
    ops, s3 = hastate_scratch, hastate_s3_factory()
    bucket, key = hastate_scratch_bucket.name, hastate_scope.key("conditional", uuid.uuid4().hex)
    s3.put_object(Bucket=bucket, Key=key, Body=b"first", IfNoneMatch="*")
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"second", IfNoneMatch="*")
        code, name = 200, "200 OK"
    except ops.errors as exc:
        code, name = ops.status(exc), ops.error_code(exc)
    if code == 200:
        # the engine's conditional path may differ with versioning (Ceph RGW 16 ignores it)
        versioning = ops.versioning_state(s3, bucket)
        pytest.fail(
            f"store ignores If-None-Match: a second PUT {key} with If-None-Match: * answered 200 "
            f"(GetBucketVersioning {bucket}: {versioning})",
            pytrace=False,
        )
    assert code == 412, f"a second PUT {key} with If-None-Match: * answered {name}, expected 412"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == b"first", f"GET {key}: the refused write changed the object"


@pytest.mark.hastate_criterion("scratch.conditional_write")
@pytest.mark.order(RACE_JUDGED_AT)
@pytest.mark.usefixtures("hastate_early_sweep")  # while the losers are awaited
def test_conditional_write_race_has_exactly_one_winner(
    hastate_run: ProofRun,
    hastate_conditional_race: RacesUnderway,
    hastate_scratch_bucket: ScratchBucket,
    hastate_s3_access: S3Access,
    hastate_s3: dict[str, S3Client],
    hastate_scratch: ScratchOps,
) -> None:
    """Writers across every endpoint raced on independent keys at once (the fixture says how
    many); exactly one wins each key, and every endpoint serves the winner's bytes."""
    ops, bucket, endpoints = (
        hastate_scratch,
        hastate_scratch_bucket.name,
        hastate_s3_access.endpoints,
    )
    races = hastate_conditional_race.results()
    writers = hastate_conditional_race.writers
    hastate_run.record(conditional_race=ops.race_facts(races, writers, len(endpoints)))
    for result, _ in races:
        if result.dependency is not None:  # another criterion met the failure first
            raise result.dependency
        assert not result.errors, (
            f"race on {result.key}: writers answered {sorted(set(result.errors.values()))} (not 412)"
        )
        assert len(result.winners) == 1, (
            f"conditional write race on {result.key}: {len(result.winners)} of {writers} "
            f"writers won across {len(endpoints)} endpoint(s); a lock could be held twice"
        )
    reads = [(result.key, endpoint) for result, _ in races for endpoint in hastate_s3]

    def first_read(read: tuple[str, str]) -> bytes | None:
        return ops.read(hastate_s3[read[1]], bucket, read[0])

    with ThreadPoolExecutor(max_workers=len(reads)) as pool:  # every first read at once
        served = dict(zip(reads, pool.map(first_read, reads), strict=True))
    for result, bodies in races:
        for endpoint in hastate_s3:
            got = served[(result.key, endpoint)]
            assert got == bodies[result.winners[0]], (
                f"stale read: {endpoint} served {'nothing' if got is None else 'other bytes'} for "
                f"{result.key} on the first read after the race was won"
            )


@pytest.fixture(scope="module")
def read_after_write_checks(
    hastate_run: ProofRun,
    hastate_scratch_bucket: ScratchBucket,
    hastate_scope: ScratchScope,
    hastate_s3: dict[str, S3Client],
    hastate_scratch: ScratchOps,
) -> list[ReadCheck]:
    """Every endpoint writes its share of the keys, all at once; every acknowledged write is
    read at the same moment through every endpoint, the writer's own included."""
    ops, bucket = hastate_scratch, hastate_scratch_bucket.name
    endpoints = list(hastate_s3.items())
    shares = ops.read_key_shares(len(endpoints))
    keys = [
        [hastate_scope.key("read-after-write", uuid.uuid4().hex) for _ in range(share)]
        for share in shares
    ]

    def one(index: int) -> list[ReadCheck]:
        return ops.read_after_write(endpoints[index], endpoints, bucket, keys[index], readers)

    with (
        ThreadPoolExecutor(max_workers=len(endpoints)) as writers,
        ThreadPoolExecutor(max_workers=len(endpoints) ** 2) as readers,
    ):
        checks = [c for found in writers.map(one, range(len(endpoints))) for c in found]
    hastate_run.record(read_after_write=ops.read_facts(checks))
    return checks


@pytest.mark.hastate_criterion("consistency.read_after_write")
def test_every_endpoint_serves_an_acknowledged_write_on_the_first_read(
    read_after_write_checks: list[ReadCheck],
) -> None:
    stale = [c for c in read_after_write_checks if c.stale]
    if stale:
        first = stale[0]
        lag = (
            f"current after {first.lag:.2f} s"
            if first.lag is not None
            else "not current within 5 s"
        )
        pytest.fail(
            f"stale read: {first.reader} served {first.first_read} for {first.key} on the first "
            f"read after a {first.kind} write through {first.writer} acknowledged version "
            f"{first.version} ({lag}); {len(stale)} of {len(read_after_write_checks)} first reads "
            "were stale",
            pytrace=False,
        )


@pytest.mark.hastate_criterion("endpoints.independent")
def test_at_least_two_endpoints_served_the_proof(
    hastate_s3: dict[str, S3Client], read_after_write_checks: list[ReadCheck]
) -> None:
    if len(hastate_s3) < 2:
        pytest.skip("only one endpoint in the package: independent endpoints are not proven")
    writers = {c.writer for c in read_after_write_checks if not c.stale}
    readers = {c.reader for c in read_after_write_checks if not c.stale}
    silent = sorted(set(hastate_s3) - (writers & readers))
    assert not silent, f"endpoints that did not both take writes and serve reads: {silent}"
