"""Proof step 2b (bucket index): every endpoint agrees on buckets and listings, and a fresh
bucket lives and dies cleanly everywhere. ``just rustfs-bucket-index-rca --scratch-probe``."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest

from pytest_hastate.s3.guard import ScratchScope
from pytest_hastate.steps import BUCKET_INDEX

pytestmark = BUCKET_INDEX.marks

INDEX_OBJECTS = 5
SETTLE = 15.0
"""Bound on how long a bucket this run just created (or deleted) may take to show on every
endpoint: bucket metadata, not state. Objects are always read on the first read."""


@pytest.mark.hastate_criterion("scratch.index_consistency")
def test_bucket_index_agrees_on_every_endpoint(
    hastate_scratch_bucket: Any,
    hastate_scope: ScratchScope,
    hastate_s3_primary: Any,
    hastate_s3: dict[str, Any],
) -> None:
    from pytest_hastate.s3.scratch import bucket_names, head_status

    bucket = hastate_scratch_bucket.name
    prefix = hastate_scope.key("index", uuid.uuid4().hex[:8]) + "/"
    expected = sorted(f"{prefix}{i:02d}" for i in range(INDEX_OBJECTS))
    for key in expected:
        hastate_s3_primary.put_object(Bucket=bucket, Key=key, Body=key.encode())

    def view(s3: Any) -> tuple[bool, int, list[str]]:
        listed = sorted(
            o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        )
        return bucket in bucket_names(s3), head_status(s3, bucket), listed

    divergent: list[str] = []
    for endpoint, s3 in hastate_s3.items():
        seen = view(s3)  # the first read: a listing must be current as soon as writes are acked
        if seen != (True, 200, expected):
            in_list, head, listed = seen
            divergent.append(
                f"{endpoint}: ListBuckets {'shows' if in_list else 'misses'} {bucket}, HeadBucket {head}, "
                f"ListObjectsV2 {len(listed)}/{len(expected)} keys"
            )
    assert not divergent, "bucket index diverges: " + "; ".join(divergent)


@pytest.mark.hastate_criterion("scratch.bucket_lifecycle")
def test_fresh_bucket_lifecycle(
    hastate_scratch_bucket: Any,
    hastate_scope: ScratchScope,
    hastate_s3_primary: Any,
    hastate_s3: dict[str, Any],
) -> None:
    from pytest_hastate.s3.client import S3Errors, error_code
    from pytest_hastate.s3.scratch import (
        bucket_names,
        delete_everything_under,
        head_status,
        payload,
        read,
    )
    from pytest_hastate.s3.waits import eventually

    probe = hastate_scope.probe_bucket
    try:
        hastate_s3_primary.create_bucket(Bucket=probe)
    except S3Errors as exc:
        pytest.fail(
            f"proof credentials cannot create the probe bucket {probe}: {error_code(exc)}",
            pytrace=False,
        )
    try:
        key, body = hastate_scope.key("lifecycle", "object"), payload(2048)
        for endpoint, s3 in hastate_s3.items():
            waited = eventually(lambda s3=s3: probe in bucket_names(s3), bool, timeout=SETTLE)
            assert waited.ok, (
                f"{endpoint}: new bucket {probe} not listed after {waited.seconds:.1f} s"
            )
        hastate_s3_primary.put_object(Bucket=probe, Key=key, Body=body)
        for endpoint, s3 in hastate_s3.items():
            got = read(s3, probe, key)
            assert got == body, (
                f"stale read: {endpoint} served {'nothing' if got is None else 'other bytes'} "
                f"for {key} in the new bucket {probe} on the first read"
            )
        residue = delete_everything_under(hastate_s3_primary, probe, "")
        assert not residue, f"could not empty {probe}: {residue}"
        hastate_s3_primary.delete_bucket(Bucket=probe)
        for endpoint, s3 in hastate_s3.items():
            waited = eventually(
                lambda s3=s3: (head_status(s3, probe), probe in bucket_names(s3)),
                lambda v: v == (404, False),
                timeout=SETTLE,
            )
            assert waited.ok, (
                f"{endpoint}: deleted bucket {probe} still visible (HeadBucket {waited.value[0]}, listed {waited.value[1]})"
            )
    finally:
        if head_status(hastate_s3_primary, probe) == 200:
            delete_everything_under(hastate_s3_primary, probe, "")
            with contextlib.suppress(*S3Errors):  # the scratch cleanup reports it as residue
                hastate_s3_primary.delete_bucket(Bucket=probe)
