"""The durability sample: written before maintenance, verified byte for byte after it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pytest_hastate.maintenance.reachability import EndpointAnswer, Reachability
from pytest_hastate.models import SampleObject
from pytest_hastate.s3.client import S3Client, S3Error, S3Errors, error_code, status
from pytest_hastate.s3.scratch import payload, sha256
from pytest_hastate.s3.waits import eventually

T = TypeVar("T")

SIZES = (1, 100, 1_000, 10_000, 100_000, 1_000_000, 3_000_000)
"""From a byte to a few MB, cycled over the sample."""
WORKERS = 8


def sample_sizes(count: int, sizes: Sequence[int] = SIZES) -> list[int]:
    return [sizes[i % len(sizes)] for i in range(count)]


def write_sample(
    s3: S3Client, bucket: str, keys: Sequence[str], sizes: Sequence[int] = SIZES
) -> list[SampleObject]:
    """PUT one random object per key, concurrently; record size, sha256, version id, etag."""

    def put(item: tuple[str, int]) -> SampleObject:
        key, size = item
        body = payload(size)
        response = s3.put_object(Bucket=bucket, Key=key, Body=body)
        return SampleObject(
            key=key,
            size=size,
            sha256=sha256(body),
            version_id=str(response.get("VersionId") or "null"),
            etag=str(response.get("ETag", "")).strip('"'),
        )

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hastate-sample") as pool:
        return list(pool.map(put, zip(keys, sample_sizes(len(keys), sizes), strict=True)))


@dataclass
class EndpointVerification:
    endpoint: str
    reachable: bool = False
    served_after: float | None = None
    wrong: list[str] = field(default_factory=list)
    verified: int = 0
    seconds: float = 0.0


SERVICE_ERROR_RETRY = 10.0
"""Seconds a sample read that gets no answer or a 5xx is retried (a node of the backend may
still be coming back); a 403 or 404 is an answer and is never retried."""


def until_answered(call: Callable[[], T], retry_for: float) -> T | S3Error:
    """``call``'s result, or the error it ended on: a 4xx is an answer and ends it at once; no
    answer or a 5xx is tried again for ``retry_for`` seconds."""

    def attempt() -> T | S3Error:
        try:
            return call()
        except S3Errors as exc:
            return exc

    def answered(value: T | S3Error) -> bool:
        return not isinstance(value, S3Errors) or 0 < status(value) < 500

    return eventually(attempt, answered, timeout=retry_for, first_delay=0.5, max_delay=0.5).value


def read_sampled_version(
    s3: S3Client, bucket: str, item: SampleObject, retry_for: float
) -> bytes | str:
    """The sampled version's bytes, or what the endpoint answered instead."""

    def get() -> bytes:
        response = s3.get_object(Bucket=bucket, Key=item.key, VersionId=item.version_id)
        body: bytes = response["Body"].read()
        return body

    got = until_answered(get, retry_for)
    if isinstance(got, bytes):
        return got
    return f"GET of version {item.version_id} answered {error_code(got)}"


Listing = dict[str, tuple[str, bool]]
"""Sample key -> (its latest version id, whether that is a delete marker)."""


def current_problem(
    s3: S3Client, bucket: str, item: SampleObject, listing: Listing | None
) -> str | None:
    """Why the sampled version is no longer the current one (None: it is), from the listing
    or, without one, from a HEAD of the key."""
    if listing is not None:
        latest = listing.get(item.key)
        if latest is None:
            return f"{item.key}: absent from the version listing (deleted with its history?)"
        version, deleted = latest
        if deleted:
            return f"{item.key}: a delete marker {version} hides the sampled version"
        if version != item.version_id:
            return f"{item.key}: a newer version {version} replaced the sampled one"
        return None
    try:
        current = s3.head_object(Bucket=bucket, Key=item.key)
    except S3Errors as exc:
        return f"{item.key}: HEAD answered {error_code(exc)}: the sampled version is no longer current (deleted?)"
    if str(current.get("VersionId") or "null") != item.version_id:
        return f"{item.key}: a newer version {current.get('VersionId')} replaced the sampled one"
    return None


def verify_endpoint(
    s3: S3Client,
    answer: EndpointAnswer,
    bucket: str,
    sample: Sequence[SampleObject],
    *,
    retry_for: float = SERVICE_ERROR_RETRY,
) -> EndpointVerification:
    """Check every sample object through an endpoint that answered: the sampled version's
    bytes (a GET each), and that it is still current (one version listing for all)."""
    report = EndpointVerification(answer.endpoint, answer.answered, answer.served_after)
    if not answer.answered:
        return report
    t0 = time.monotonic()

    def bytes_problem(item: SampleObject) -> str | None:
        body = read_sampled_version(s3, bucket, item, retry_for)
        if isinstance(body, str):
            return f"{item.key}: {body}"
        if sha256(body) != item.sha256 or len(body) != item.size:
            return f"{item.key}: bytes differ from the checkpoint ({len(body)} bytes, expected {item.size})"
        return None

    # The version listing runs beside the reads, on its own thread (a few sequential pages
    # the reads do not need), and is consulted once both are done.
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="hastate-list") as lister,
        ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hastate-verify") as pool,
    ):
        listed = lister.submit(
            latest_versions, s3, bucket, [item.key for item in sample], retry_for=retry_for
        )
        read_problems = list(pool.map(bytes_problem, sample))
        listing = listed.result()

        def judged(pair: tuple[SampleObject, str | None]) -> str | None:
            return pair[1] or current_problem(s3, bucket, pair[0], listing)

        pairs = zip(sample, read_problems, strict=True)
        # With the listing it is a lookup per object; only a HEAD per object needs the workers.
        problems = list(map(judged, pairs) if listing is not None else pool.map(judged, pairs))
    for problem in problems:
        if problem:
            report.wrong.append(problem)
        else:
            report.verified += 1
    report.seconds = time.monotonic() - t0
    return report


def sample_prefix(keys: Sequence[str]) -> str:
    """The folder every sample key is under (one listing covers them all)."""
    if not keys:
        return ""
    folders = [key.split("/")[:-1] for key in keys]
    common: list[str] = []
    for parts in zip(*folders, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "".join(f"{part}/" for part in common)


def latest_versions(
    s3: S3Client, bucket: str, keys: Sequence[str], *, retry_for: float = SERVICE_ERROR_RETRY
) -> Listing | None:
    """The latest version of each sample key, and whether it is a delete marker, from one
    version listing of the sample's folder: the same fact as a HEAD per object, in a few
    requests. None when the listing is not answered (a HEAD per object then proves it)."""
    prefix = sample_prefix(keys)
    if not prefix:
        return None
    wanted = set(keys)

    def listing() -> Listing:
        latest: Listing = {}
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        for page in cast(Iterable[dict[str, Any]], pages):
            for kind, deleted in (("Versions", False), ("DeleteMarkers", True)):
                for entry in page.get(kind, []):
                    if entry.get("IsLatest") and entry.get("Key") in wanted:
                        latest[entry["Key"]] = (str(entry.get("VersionId") or "null"), deleted)
        return latest

    got = until_answered(listing, retry_for)
    return None if isinstance(got, S3Errors) else got


def lock_cycle(s3: S3Client, bucket: str, key: str) -> list[str]:
    """A lock the way OpenTofu takes it, twice: acquire, refuse a second holder, release, relock."""
    problems: list[str] = []

    def put(body: bytes) -> int:
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
        except S3Errors as exc:
            return status(exc)
        return 200

    if (code := put(b"holder-1")) != 200:
        problems.append(f"first lock PUT answered {code}")
    if (code := put(b"holder-2")) != 412:
        problems.append(f"second holder got {code}, expected 412")
    s3.delete_object(Bucket=bucket, Key=key)
    if (code := put(b"holder-3")) != 200:
        problems.append(f"relock after release answered {code}")
    s3.delete_object(Bucket=bucket, Key=key)
    return problems


def verify_sample(
    reach: Reachability, bucket: str, sample: Sequence[SampleObject]
) -> list[EndpointVerification]:
    """Every sample object through every endpoint that answered, endpoints at once; the
    endpoints that did not answer are in the result, unreachable."""

    def one(answer: EndpointAnswer) -> EndpointVerification:
        client = reach.clients.get(answer.endpoint)
        if client is None:
            return EndpointVerification(answer.endpoint)
        return verify_endpoint(client, answer, bucket, sample)

    with ThreadPoolExecutor(max_workers=max(1, len(reach.answers))) as pool:
        return list(pool.map(one, reach.answers))
