"""The sample verify: one version listing per endpoint proves the sampled versions are current;
where the listing is not answered, a HEAD per object proves it instead. Narrow unit tests on
moto's in-process mock, and the HEAD fallback once more on SeaweedFS behind a gateway that
denies the listing (the end-to-end cases run against SeaweedFS in test_chain.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import admin
from pytest_hastate.maintenance.reachability import EndpointAnswer
from pytest_hastate.maintenance.sample import sample_prefix, verify_endpoint, write_sample
from tests.support.helpers import faulty_proxy

BUCKET = "scratch"
KEYS = [f"hastate/run-1/sample/{i:04d}" for i in range(6)]


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


class ListingDenied:
    """A client whose version listing answers 403 (a store that denies it to the identity)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.heads = 0

    def get_paginator(self, name: str) -> Any:
        raise ClientError(cast(Any, {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}), "ListObjectVersions")  # fmt: skip

    def head_object(self, **kwargs: Any) -> Any:
        self.heads += 1
        return self.inner.head_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


ANSWER = EndpointAnswer("https://s3.example", 200, "200")


def test_the_sample_folder_is_the_common_folder_of_its_keys() -> None:
    assert sample_prefix(KEYS) == "hastate/run-1/sample/"
    assert sample_prefix(["a/b/c", "a/bc/d"]) == "a/"
    assert sample_prefix(["x", "y"]) == ""


@pytest.mark.parametrize("listing", ["answered", "denied"])
@pytest.mark.parametrize("change", [None, "overwrite", "delete"])
def test_verify_names_the_changed_key_whichever_way_it_learns_the_current_version(
    s3: Any, listing: str, change: str | None
) -> None:
    sample = write_sample(s3, BUCKET, KEYS)
    if change == "overwrite":
        s3.put_object(Bucket=BUCKET, Key=KEYS[3], Body=b"newer")
    elif change == "delete":
        s3.delete_object(Bucket=BUCKET, Key=KEYS[3])
    client: Any = s3 if listing == "answered" else ListingDenied(s3)
    report = verify_endpoint(client, ANSWER, BUCKET, sample, retry_for=0)
    if change is None:
        assert (report.verified, report.wrong) == (len(KEYS), [])
    else:
        assert report.verified == len(KEYS) - 1
        assert len(report.wrong) == 1, report.wrong
        assert report.wrong[0].startswith(KEYS[3]), report.wrong
        expected = "newer version" if change == "overwrite" else "delete"
        assert expected in report.wrong[0], report.wrong
    if isinstance(client, ListingDenied):
        assert client.heads == len(KEYS)


def test_verify_through_the_listing_sends_no_head(s3: Any) -> None:
    sample = write_sample(s3, BUCKET, KEYS)
    counting: Any = ListingDenied(s3)
    counting.get_paginator = s3.get_paginator
    report = verify_endpoint(counting, ANSWER, BUCKET, sample, retry_for=0)
    assert report.verified == len(KEYS)
    assert counting.heads == 0


def answer(code: int) -> ClientError:
    return ClientError(cast(Any, {"Error": {"Code": str(code)}, "ResponseMetadata": {"HTTPStatusCode": code}}), "GetObject")  # fmt: skip


def test_a_read_is_tried_again_on_5xx_and_no_answer_but_a_4xx_is_an_answer() -> None:
    from botocore.exceptions import EndpointConnectionError

    from pytest_hastate.maintenance.sample import until_answered

    replies: list[Any] = [answer(503), EndpointConnectionError(endpoint_url="x"), b"bytes"]

    def flaky() -> bytes:
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return bytes(reply)

    assert until_answered(flaky, retry_for=5.0) == b"bytes"
    replies[:] = [answer(404), b"never asked"]
    got = until_answered(flaky, retry_for=5.0)
    assert isinstance(got, ClientError)
    assert replies == [b"never asked"]
    replies[:] = [answer(500)] * 20
    got = until_answered(flaky, retry_for=1.2)  # the wait is bounded: the last error comes back
    assert isinstance(got, ClientError)
    assert 0 < len(replies) < 20


def test_the_head_fallback_on_seaweedfs_behind_a_gateway_that_denies_the_listing(
    hastate_singleton_lab: LabCluster,
) -> None:
    lab = hastate_singleton_lab
    s3, bucket = admin(lab), "hastate-lab-scratch"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    run = f".gloriousflywheel/ha-state-candidate/{uuid.uuid4().hex}/sample/"
    keys = [f"{run}{i:04d}" for i in range(6)]
    sample = write_sample(s3, bucket, keys)
    s3.put_object(Bucket=bucket, Key=keys[3], Body=b"newer")
    s3.delete_object(Bucket=bucket, Key=keys[4])
    with faulty_proxy(lab) as proxy:
        proxy.fail_matching = ("GET", r"[?&]versions", 403)
        through = admin(lab, proxy.endpoint)
        report = verify_endpoint(
            through, EndpointAnswer(proxy.endpoint, 200, "200"), bucket, sample, retry_for=0
        )
    assert proxy.injected >= 1  # the listing was asked for and denied
    assert report.verified == len(keys) - 2, report
    wrong = sorted(report.wrong)
    assert wrong[0].startswith(keys[3]), wrong
    assert "newer version" in wrong[0], wrong
    assert wrong[1].startswith(keys[4]), wrong
    assert "delete" in wrong[1], wrong
    for key in keys:
        listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
        for entry in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])
