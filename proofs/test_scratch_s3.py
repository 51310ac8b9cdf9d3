"""Proof step 2b: the scratch bucket, versioning, an object cycle, conditional writes, and
reads across endpoints. Every key lives under ``<scratch_prefix><run-id>/``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pytest_hastate.guard import ScratchScope

pytestmark = [pytest.mark.scratch, pytest.mark.order(3)]

RACE_ROUNDS = 5
RACE_WRITERS = 8


@pytest.mark.hastate_criterion("scratch.bucket")
def test_scratch_bucket_exists_on_every_endpoint(
    hastate_scratch_bucket: Any, hastate_s3: dict[str, Any]
) -> None:
    from pytest_hastate.scratch import head_status
    from pytest_hastate.waits import eventually

    for endpoint, s3 in hastate_s3.items():
        waited = eventually(
            lambda s3=s3: head_status(s3, hastate_scratch_bucket.name),
            lambda code: code == 200,
            timeout=15,
        )
        assert waited.ok, (
            f"{endpoint}: HeadBucket {hastate_scratch_bucket.name} answered {waited.value}"
        )


@pytest.mark.hastate_criterion("scratch.versioning")
def test_versioning_is_enabled(hastate_scratch_bucket: Any, hastate_s3: dict[str, Any]) -> None:
    from pytest_hastate.s3 import S3Errors, error_code
    from pytest_hastate.waits import eventually

    def status(s3: Any) -> str:
        try:
            return str(
                s3.get_bucket_versioning(Bucket=hastate_scratch_bucket.name).get(
                    "Status", "never enabled"
                )
            )
        except S3Errors as exc:  # a gateway that has not caught up yet answers NoSuchBucket
            return error_code(exc)

    for endpoint, s3 in hastate_s3.items():
        waited = eventually(lambda s3=s3: status(s3), lambda state: state == "Enabled", timeout=15)
        assert waited.ok, (
            f"versioning is not enabled on {hastate_scratch_bucket.name} (status: {waited.value}) through "
            f"{endpoint} after {waited.seconds:.1f} s: state history and restore need it"
        )


@pytest.mark.hastate_criterion("scratch.object_cycle")
def test_object_put_head_get_delete(
    hastate_scratch_bucket: Any,
    hastate_scope: ScratchScope,
    hastate_s3_primary: Any,
    hastate_s3: dict[str, Any],
) -> None:
    from pytest_hastate.scratch import head_status, payload, sha256
    from pytest_hastate.waits import eventually

    bucket, key, body = (
        hastate_scratch_bucket.name,
        hastate_scope.key("object-cycle", uuid.uuid4().hex),
        payload(65536),
    )
    put = hastate_s3_primary.put_object(Bucket=bucket, Key=key, Body=body)
    assert put.get("VersionId"), "PUT in a versioned bucket returned no version id"
    head = hastate_s3_primary.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(body)
    got = hastate_s3_primary.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert sha256(got) == sha256(body), "GET returned other bytes than were PUT"
    hastate_s3_primary.delete_object(Bucket=bucket, Key=key)
    for endpoint, s3 in hastate_s3.items():
        waited = eventually(
            lambda s3=s3: head_status(s3, bucket, key), lambda code: code == 404, timeout=15
        )
        assert waited.ok, (
            f"{endpoint}: HEAD {key} answered {waited.value} after delete (expected 404)"
        )


@pytest.mark.hastate_criterion("scratch.conditional_write")
def test_conditional_write_refuses_a_second_writer(
    hastate_scratch_bucket: Any, hastate_scope: ScratchScope, hastate_s3_primary: Any
) -> None:
    from pytest_hastate.s3 import S3Errors, error_code, status

    bucket, key = hastate_scratch_bucket.name, hastate_scope.key("conditional", uuid.uuid4().hex)
    hastate_s3_primary.put_object(Bucket=bucket, Key=key, Body=b"first", IfNoneMatch="*")
    try:
        hastate_s3_primary.put_object(Bucket=bucket, Key=key, Body=b"second", IfNoneMatch="*")
        code, name = 200, "200 OK"
    except S3Errors as exc:
        code, name = status(exc), error_code(exc)
    if code == 200:
        pytest.fail(
            f"store ignores If-None-Match: a second conditional write to {key} succeeded",
            pytrace=False,
        )
    assert code == 412, f"second conditional write got {name}, expected 412 PreconditionFailed"
    body = hastate_s3_primary.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == b"first", "the refused write changed the object"


@pytest.mark.hastate_criterion("scratch.conditional_write")
def test_conditional_write_race_has_exactly_one_winner(
    hastate_scratch_bucket: Any,
    hastate_scope: ScratchScope,
    hastate_s3_access: Any,
    hastate_s3_factory: Any,
) -> None:
    from pytest_hastate.scratch import conditional_race, payload, read_eventually

    endpoints = hastate_s3_access.endpoints
    clients = [
        hastate_s3_factory(endpoints[i % len(endpoints)], attempts=1) for i in range(RACE_WRITERS)
    ]
    outcomes: list[str] = []
    for round_no in range(1, RACE_ROUNDS + 1):
        key = hastate_scope.key("race", f"{round_no}-{uuid.uuid4().hex[:8]}")
        bodies = [payload(256) for _ in clients]
        result = conditional_race(clients, hastate_scratch_bucket.name, key, bodies)
        outcomes.append(
            f"round {round_no}: {len(result.winners)} winner(s), {len(result.refused)} refused"
        )
        assert not result.errors, (
            f"round {round_no}: writers failed with {sorted(set(result.errors.values()))} (not 412)"
        )
        assert len(result.winners) == 1, (
            f"conditional write race on {key}: {len(result.winners)} of {RACE_WRITERS} writers won "
            f"across {len(endpoints)} endpoint(s); a lock could be held twice"
        )
        winner_body = bodies[result.winners[0]]
        for endpoint in endpoints:
            ok, _ = read_eventually(
                hastate_s3_factory(endpoint), hastate_scratch_bucket.name, key, winner_body
            )
            assert ok, f"{endpoint} does not serve the winner's bytes for {key}"
    print("; ".join(outcomes))


@pytest.mark.hastate_criterion("endpoints.independent")
def test_every_endpoint_serves_what_another_wrote(
    hastate_scratch_bucket: Any, hastate_scope: ScratchScope, hastate_s3: dict[str, Any]
) -> None:
    from pytest_hastate.scratch import payload, read_eventually

    if len(hastate_s3) < 2:
        pytest.skip("only one endpoint in the package: independent endpoints are not proven")
    for writer, s3 in hastate_s3.items():
        key, body = hastate_scope.key("cross-endpoint", uuid.uuid4().hex), payload(8192)
        s3.put_object(Bucket=hastate_scratch_bucket.name, Key=key, Body=body)
        for reader, other in hastate_s3.items():
            if reader == writer:
                continue
            ok, seconds = read_eventually(other, hastate_scratch_bucket.name, key, body)
            assert ok, (
                f"{reader} did not serve {key} written through {writer} within {seconds:.1f} s"
            )
