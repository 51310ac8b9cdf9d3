"""The durability sample: written before maintenance, verified byte for byte after it."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from pytest_hastate.models import SampleObject
from pytest_hastate.s3 import S3Client, S3Errors, error_code, status

SIZES = (1, 100, 1_000, 10_000, 100_000, 1_000_000, 3_000_000)
"""From a byte to a few MB, cycled over the sample."""
WORKERS = 8
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, BotoConnectionError)


def sample_sizes(count: int) -> list[int]:
    return [SIZES[i % len(SIZES)] for i in range(count)]


def write_sample(s3: S3Client, bucket: str, keys: Sequence[str]) -> list[SampleObject]:
    """PUT one random object per key, concurrently; record size, sha256, version id, etag."""

    def put(item: tuple[str, int]) -> SampleObject:
        key, size = item
        body = secrets.token_bytes(size)
        response = s3.put_object(Bucket=bucket, Key=key, Body=body)
        return SampleObject(
            key=key,
            size=size,
            sha256=hashlib.sha256(body).hexdigest(),
            version_id=str(response.get("VersionId") or "null"),
            etag=str(response.get("ETag", "")).strip('"'),
        )

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hastate-sample") as pool:
        return list(pool.map(put, zip(keys, sample_sizes(len(keys)), strict=True)))


@dataclass
class EndpointVerification:
    endpoint: str
    reachable: bool = False
    served_after: float | None = None
    wrong: list[str] = field(default_factory=list)
    verified: int = 0
    seconds: float = 0.0


def _served(s3: S3Client, bucket: str) -> bool | None:
    """True when the endpoint answers S3 at all; None when nothing answers (connection level)."""
    try:
        s3.head_bucket(Bucket=bucket)
    except UNREACHABLE:
        return None
    except S3Errors as exc:
        return status(exc) not in (0, 500, 502, 503, 504)
    return True


def verify_endpoint(
    s3: S3Client,
    endpoint: str,
    bucket: str,
    sample: Sequence[SampleObject],
    *,
    timeout: float,
    progress: Callable[[str], None] = lambda line: None,
) -> EndpointVerification:
    """Wait (bounded, with backoff) until the endpoint serves, then check every sample object."""
    report = EndpointVerification(endpoint)
    start = time.monotonic()
    delay = 0.2
    while True:
        answer = _served(s3, bucket)
        if answer:
            report.reachable = True
            report.served_after = time.monotonic() - start
            break
        if time.monotonic() - start + delay > timeout:
            progress(f"{endpoint}: no answer after {timeout:.0f} s: counted as lost")
            return report
        time.sleep(delay)
        delay = min(delay * 2, 3.0)

    def check(item: SampleObject) -> str | None:
        deadline = time.monotonic() + max(5.0, timeout - (time.monotonic() - start))
        last = ""
        while True:
            try:
                response = s3.get_object(Bucket=bucket, Key=item.key, VersionId=item.version_id)
                body = response["Body"].read()
            except S3Errors as exc:
                last = error_code(exc)
                if status(exc) in (403, 404) or time.monotonic() > deadline:
                    return f"{item.key}: {last}"
                time.sleep(0.5)
                continue
            if hashlib.sha256(body).hexdigest() != item.sha256 or len(body) != item.size:
                return f"{item.key}: bytes differ from the checkpoint ({len(body)} bytes, expected {item.size})"
            try:
                current = s3.head_object(Bucket=bucket, Key=item.key)
            except S3Errors as exc:
                return f"{item.key}: the sampled object is no longer current ({error_code(exc)}: deleted?)"
            if str(current.get("VersionId") or "null") != item.version_id:
                return f"{item.key}: a newer version {current.get('VersionId')} replaced the sampled one"
            return None

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hastate-verify") as pool:
        for problem in pool.map(check, sample):
            if problem:
                report.wrong.append(problem)
            else:
                report.verified += 1
    report.seconds = time.monotonic() - t0
    return report


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
