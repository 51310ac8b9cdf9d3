"""Scratch-scope S3 operations the proof steps share. Every call goes through guarded clients."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_hastate.s3 import S3Client, S3Errors, error_code, status
from pytest_hastate.waits import eventually

PROPAGATION_TIMEOUT = 15.0
"""How long a write may take to show through another endpoint before it counts as divergence."""


@dataclass(frozen=True)
class ScratchBucket:
    name: str
    created_by_this_run: bool


def head_status(s3: S3Client, bucket: str, key: str | None = None) -> int:
    """HTTP status of a HEAD on a bucket or object (0 when no HTTP answer came back)."""
    try:
        if key is None:
            s3.head_bucket(Bucket=bucket)
        else:
            s3.head_object(Bucket=bucket, Key=key)
    except S3Errors as exc:
        return status(exc)
    return 200


def ensure_bucket(s3: S3Client, bucket: str) -> ScratchBucket:
    """Create the bucket if it is absent (and enable versioning on it); verify it otherwise."""
    code = head_status(s3, bucket)
    if code == 200:
        return ScratchBucket(bucket, created_by_this_run=False)
    if code != 404:
        raise AssertionError(
            f"HeadBucket {bucket} answered {code or 'nothing'}: the proof credentials cannot use it"
        )
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return ScratchBucket(bucket, created_by_this_run=True)


def versioning_in_effect(
    s3: S3Client, bucket: str, key: str, timeout: float = 30.0
) -> float | None:
    """Seconds until a PUT through ``s3`` gets a version id (then the probe is removed), or None.

    Gateways cache bucket configuration: right after versioning is enabled, writes can still
    be unversioned although GetBucketVersioning already says Enabled.
    """

    def put() -> bool:
        try:
            return bool(
                s3.put_object(Bucket=bucket, Key=key, Body=b"versioning probe").get("VersionId")
            )
        except S3Errors:
            return False

    waited = eventually(put, bool, timeout=timeout)
    delete_everything_under(s3, bucket, key)
    return waited.seconds if waited.ok else None


def bucket_names(s3: S3Client) -> set[str]:
    return {b["Name"] for b in s3.list_buckets().get("Buckets", [])}


def versions_under(s3: S3Client, bucket: str, prefix: str) -> list[tuple[str, str]]:
    """(key, version id) of every version and delete marker under ``prefix``."""
    found: list[tuple[str, str]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for item in (*page.get("Versions", []), *page.get("DeleteMarkers", [])):
            found.append((item["Key"], item.get("VersionId") or "null"))
    return found


def delete_everything_under(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    """Delete every version and delete marker under ``prefix``; returns what is left (residue)."""
    for key, version in versions_under(s3, bucket, prefix):
        with contextlib.suppress(*S3Errors):  # what stays is reported below as residue
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
    return [f"{bucket}/{key}@{version}" for key, version in versions_under(s3, bucket, prefix)]


def payload(size: int = 4096) -> bytes:
    return secrets.token_bytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(s3: S3Client, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except S3Errors:
        return None


def read_eventually(
    s3: S3Client, bucket: str, key: str, expected: bytes, timeout: float = PROPAGATION_TIMEOUT
) -> tuple[bool, float]:
    waited = eventually(lambda: read(s3, bucket, key), lambda got: got == expected, timeout=timeout)
    return waited.ok, waited.seconds


@dataclass
class RaceResult:
    key: str
    winners: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


def conditional_race(
    clients: Sequence[S3Client], bucket: str, key: str, bodies: Sequence[bytes]
) -> RaceResult:
    """Every client PUTs ``key`` with ``If-None-Match: *`` at the same moment."""
    result = RaceResult(key)
    barrier = threading.Barrier(len(clients))
    lock = threading.Lock()

    def writer(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            clients[index].put_object(Bucket=bucket, Key=key, Body=bodies[index], IfNoneMatch="*")
        except S3Errors as exc:
            with lock:
                if status(exc) == 412:
                    result.refused.append(index)
                else:
                    result.errors[index] = error_code(exc)
        except threading.BrokenBarrierError:
            with lock:
                result.errors[index] = "barrier broken"
        else:
            with lock:
                result.winners.append(index)

    threads = [
        threading.Thread(target=writer, args=(i,), name=f"hastate-race-{i}")
        for i in range(len(clients))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return result
