"""Proof step 2b (bucket index): every endpoint agrees on the bucket and its listings, and a
fresh bucket lives and dies cleanly everywhere. ``just rustfs-bucket-index-rca --scratch-probe``.

ListBuckets lists only the buckets the caller owns: it is evidence of index divergence only for
a scratch bucket the proof identity owns (it created it, or the owner id matches); otherwise
HeadBucket, ListObjectsV2 and object reads decide, and the evidence says ListBuckets was not
used, and why.
"""

from __future__ import annotations

import contextlib
import uuid
from functools import partial
from typing import TYPE_CHECKING

import pytest

from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.steps import BUCKET_INDEX

if TYPE_CHECKING:
    from pytest_hastate.run import ProofRun
    from pytest_hastate.s3.client import S3Client
    from pytest_hastate.s3.scratch import ScratchBucket, ScratchOps

pytestmark = BUCKET_INDEX.marks

INDEX_OBJECTS = 5
SETTLE = 15.0
"""Bound on how long a bucket this run just created (or deleted) may take to show on every
endpoint: bucket metadata, not state. Objects are always read on the first read."""


@pytest.mark.hastate_criterion("scratch.index_consistency")
def test_bucket_index_agrees_on_every_endpoint(
    hastate_run: ProofRun,
    hastate_scratch_bucket: ScratchBucket,
    hastate_scope: ScratchScope,
    hastate_s3_primary: S3Client,
    hastate_s3: dict[str, S3Client],
    hastate_scratch: ScratchOps,
) -> None:
    ops, bucket = hastate_scratch, hastate_scratch_bucket.name
    owned, why = (
        (True, "this run created it")
        if hastate_scratch_bucket.created_by_this_run
        else ops.caller_owns(hastate_s3_primary, bucket)
    )
    hastate_run.record(
        list_buckets_evidence=f"{'used' if owned else 'not used'} as index evidence for {bucket}: "
        + why
        + ("" if owned else " (ListBuckets lists only the buckets the caller owns)")
    )
    prefix = hastate_scope.key("index", uuid.uuid4().hex[:8]) + "/"
    expected = sorted(f"{prefix}{i:02d}" for i in range(INDEX_OBJECTS))
    for key in expected:
        hastate_s3_primary.put_object(Bucket=bucket, Key=key, Body=key.encode())
    divergent: list[str] = []
    views: dict[str, str] = {}
    for endpoint, s3 in hastate_s3.items():  # the first read: listings are current once acked
        head = ops.head_status(s3, bucket)
        listed = sorted(
            o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        )
        seen = [f"HeadBucket {head}", f"ListObjectsV2 {len(listed)}/{len(expected)} keys"]
        in_list = bucket in ops.bucket_names(s3) if owned else True
        if not in_list:
            seen.append(f"ListBuckets misses it although {why}")
        views[endpoint] = ", ".join(seen)
        if head != 200 or listed != expected or not in_list:
            divergent.append(f"{endpoint}: " + ", ".join(seen))
    hastate_run.record(index_views=views)
    assert not divergent, f"bucket index diverges on {bucket}: " + "; ".join(divergent)


@pytest.mark.hastate_criterion("scratch.bucket_lifecycle")
def test_fresh_bucket_lifecycle(
    hastate_scratch_bucket: ScratchBucket,
    hastate_scope: ScratchScope,
    hastate_s3_primary: S3Client,
    hastate_s3: dict[str, S3Client],
    hastate_scratch: ScratchOps,
) -> None:
    from pytest_hastate.s3.waits import eventually

    ops, probe = hastate_scratch, hastate_scope.probe_bucket
    try:
        hastate_s3_primary.create_bucket(Bucket=probe)
    except ops.errors as exc:
        pytest.fail(
            f"CreateBucket {probe} answered {ops.error_code(exc)}: the proof credentials cannot "
            "create the probe bucket",
            pytrace=False,
        )
    try:
        key, body = hastate_scope.key("lifecycle", "object"), ops.payload(2048)
        for endpoint, s3 in hastate_s3.items():
            waited = eventually(
                partial(ops.head_status, s3, probe), lambda c: c == 200, timeout=SETTLE
            )
            assert waited.ok, (
                f"{endpoint}: HeadBucket {probe} answered {waited.value} for {waited.seconds:.1f} s after it was created"
            )
        hastate_s3_primary.put_object(Bucket=probe, Key=key, Body=body)
        for endpoint, s3 in hastate_s3.items():
            got = ops.read(s3, probe, key)
            assert got == body, (
                f"stale read: {endpoint} served {'nothing' if got is None else 'other bytes'} "
                f"for {key} in the new bucket {probe} on the first read"
            )
        residue = ops.delete_everything_under(hastate_s3_primary, probe, "")
        assert not residue, f"could not empty {probe}: {residue}"
        hastate_s3_primary.delete_bucket(Bucket=probe)
        for endpoint, s3 in hastate_s3.items():
            waited = eventually(
                partial(ops.head_status, s3, probe), lambda c: c == 404, timeout=SETTLE
            )
            assert waited.ok, (
                f"{endpoint}: HeadBucket {probe} answered {waited.value} for {waited.seconds:.1f} s after it was deleted"
            )
    finally:
        if ops.head_status(hastate_s3_primary, probe) == 200:
            ops.delete_everything_under(hastate_s3_primary, probe, "")
            with contextlib.suppress(*ops.errors):  # the scratch cleanup reports it as residue
                hastate_s3_primary.delete_bucket(Bucket=probe)
