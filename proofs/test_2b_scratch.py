"""Proof step 2b: the scratch bucket, versioning, an object cycle, conditional writes, and
reads that are current on every endpoint. Every key lives under ``<scratch_prefix><run-id>/``.

Consistency is checked on the first read, never after a wait: OpenTofu with ``use_lockfile``
keeps no digest of the state, so an endpoint serving an old state for a while would let a plan
run on it and an apply overwrite newer state.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pytest_hastate.s3.guard import ScratchScope
from pytest_hastate.steps import SCRATCH

pytestmark = SCRATCH.marks

RACE_KEYS = 5
RACE_WRITERS = 8
READ_KEYS = 8  # per (writer, reader) pair; each key is written new, then overwritten


@pytest.mark.hastate_criterion("scratch.bucket")
def test_scratch_bucket_exists_on_every_endpoint(
    hastate_scratch_bucket: Any, hastate_s3: dict[str, Any]
) -> None:
    from pytest_hastate.s3.scratch import head_status

    answers = {e: head_status(s3, hastate_scratch_bucket.name) for e, s3 in hastate_s3.items()}
    wrong = [f"{e} answered {code or 'nothing'}" for e, code in answers.items() if code != 200]
    assert not wrong, f"HeadBucket {hastate_scratch_bucket.name}: " + "; ".join(wrong)


@pytest.mark.hastate_criterion("scratch.versioning")
def test_versioning_is_enabled(hastate_scratch_bucket: Any, hastate_s3: dict[str, Any]) -> None:
    from pytest_hastate.s3.client import S3Errors, error_code

    def status(s3: Any) -> str:
        try:
            return str(
                s3.get_bucket_versioning(Bucket=hastate_scratch_bucket.name).get(
                    "Status", "never enabled"
                )
            )
        except S3Errors as exc:
            return error_code(exc)

    for endpoint, s3 in hastate_s3.items():
        state = status(s3)
        assert state == "Enabled", (
            f"versioning is not enabled on {hastate_scratch_bucket.name} (status: {state}) through "
            f"{endpoint}: state history and restore need it"
        )


@pytest.mark.hastate_criterion("scratch.object_cycle")
def test_object_put_head_get_delete(
    hastate_scratch_bucket: Any,
    hastate_scope: ScratchScope,
    hastate_s3_primary: Any,
    hastate_s3: dict[str, Any],
) -> None:
    from pytest_hastate.s3.scratch import head_status, payload, sha256

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
        code = head_status(s3, bucket, key)
        assert code == 404, (
            f"{endpoint}: HEAD {key} answered {code} right after delete (expected 404)"
        )


@pytest.mark.hastate_criterion("scratch.conditional_write")
def test_conditional_write_refuses_a_second_writer(
    hastate_scratch_bucket: Any, hastate_scope: ScratchScope, hastate_s3_primary: Any
) -> None:
    from pytest_hastate.s3.client import S3Errors, error_code, status

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
    hastate_run: Any,
    hastate_scratch_bucket: Any,
    hastate_scope: ScratchScope,
    hastate_s3_access: Any,
    hastate_s3_factory: Any,
    hastate_s3: dict[str, Any],
) -> None:
    """RACE_WRITERS writers across every endpoint race on RACE_KEYS independent keys at once."""
    from pytest_hastate.s3.scratch import concurrent_races, read

    endpoints = hastate_s3_access.endpoints
    clients = [
        hastate_s3_factory(endpoints[i % len(endpoints)], attempts=1) for i in range(RACE_WRITERS)
    ]
    keys = [hastate_scope.key("race", f"{n}-{uuid.uuid4().hex[:8]}") for n in range(RACE_KEYS)]
    races = concurrent_races(clients, hastate_scratch_bucket.name, keys)
    refused_after = sorted(r.seconds[i] for r, _ in races for i in r.refused if i in r.seconds)
    hastate_run.phase_facts["conditional_race"] = {
        "keys": RACE_KEYS,
        "writers": RACE_WRITERS,
        "endpoints": len(endpoints),
        "winners": [len(r.winners) for r, _ in races],
        "refused_412_seconds_max": refused_after[-1] if refused_after else None,
        "refused_412_seconds_median": refused_after[len(refused_after) // 2]
        if refused_after
        else None,
    }
    for result, bodies in races:
        assert not result.errors, (
            f"race on {result.key}: writers failed with {sorted(set(result.errors.values()))} (not 412)"
        )
        assert len(result.winners) == 1, (
            f"conditional write race on {result.key}: {len(result.winners)} of {RACE_WRITERS} "
            f"writers won across {len(endpoints)} endpoint(s); a lock could be held twice"
        )
        winner_body = bodies[result.winners[0]]
        for endpoint, s3 in hastate_s3.items():
            got = read(s3, hastate_scratch_bucket.name, result.key)
            assert got == winner_body, (
                f"stale read: {endpoint} served {'nothing' if got is None else 'other bytes'} for "
                f"{result.key} on the first read after the race was won"
            )


@pytest.fixture(scope="module")
def read_after_write_checks(
    hastate_run: Any,
    hastate_scratch_bucket: Any,
    hastate_scope: ScratchScope,
    hastate_s3: dict[str, Any],
) -> list[Any]:
    """Every (writer, reader) pair of endpoints, the same endpoint included, at once."""
    from concurrent.futures import ThreadPoolExecutor

    from pytest_hastate.s3.scratch import read_after_write

    pairs = [(w, r) for w in hastate_s3.items() for r in hastate_s3.items()]

    def one(pair: tuple[tuple[str, Any], tuple[str, Any]]) -> list[Any]:
        keys = [hastate_scope.key("read-after-write", uuid.uuid4().hex) for _ in range(READ_KEYS)]
        return read_after_write(pair[0], pair[1], hastate_scratch_bucket.name, keys)

    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        checks = [c for found in pool.map(one, pairs) for c in found]
    stale = [c for c in checks if c.stale]
    times = sorted(c.read_seconds for c in checks)
    lags = sorted(c.lag for c in stale if c.lag is not None)
    hastate_run.phase_facts["read_after_write"] = {
        "reads": len(checks),
        "stale": len(stale),
        "first_read_seconds_p50": times[len(times) // 2],
        "first_read_seconds_max": times[-1],
        "stale_lag_seconds": lags,  # measured for the first few stale reads of each pair
    }
    return checks


@pytest.mark.hastate_criterion("consistency.read_after_write")
def test_every_endpoint_serves_an_acknowledged_write_on_the_first_read(
    read_after_write_checks: list[Any],
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
    hastate_s3: dict[str, Any], read_after_write_checks: list[Any]
) -> None:
    if len(hastate_s3) < 2:
        pytest.skip("only one endpoint in the package: independent endpoints are not proven")
    writers = {c.writer for c in read_after_write_checks if not c.stale}
    readers = {c.reader for c in read_after_write_checks if not c.stale}
    silent = sorted(set(hastate_s3) - (writers & readers))
    assert not silent, f"endpoints that did not both take writes and serve reads: {silent}"
