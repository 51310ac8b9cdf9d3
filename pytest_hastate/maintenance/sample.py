"""The durability sample: written before maintenance, verified byte for byte after it."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pytest_hastate.models import SampleObject
from pytest_hastate.s3.client import NO_ANSWER, S3Client, S3Errors, error_code, status

SIZES = (1, 100, 1_000, 10_000, 100_000, 1_000_000, 3_000_000)
"""From a byte to a few MB, cycled over the sample."""
WORKERS = 8
UNREACHABLE = NO_ANSWER


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


@dataclass(frozen=True)
class EndpointAnswer:
    """What one endpoint said after maintenance. No answer is a fact, not a verdict on data."""

    endpoint: str
    status: int | None  # HTTP status of HeadBucket on the scratch bucket; None: no answer
    seen: str  # the last thing seen while waiting (for the record and for messages)
    served_after: float | None = None

    @property
    def answered(self) -> bool:
        """An HTTP answer that is about the bucket (not a 5xx of a service still starting)."""
        return self.status is not None and self.status < 500


def _head(s3: S3Client, bucket: str) -> tuple[int | None, str]:
    try:
        s3.head_bucket(Bucket=bucket)
    except UNREACHABLE as exc:
        return None, f"no answer ({type(exc).__name__})"
    except S3Errors as exc:
        code = status(exc)
        return (code or None), (f"answered {code}" if code else error_code(exc))
    return 200, "answered 200"


def reachability(
    clients: Mapping[str, S3Client],
    bucket: str,
    *,
    timeout: float,
    grace: float,
) -> list[EndpointAnswer]:
    """Ask every endpoint about ``bucket`` at once; wait (bounded, with backoff) up to
    ``timeout`` s for the backend to answer, then at most ``grace`` s more for the others."""
    start = time.monotonic()
    deadline = [start + timeout]
    lock = threading.Lock()

    def one(endpoint: str) -> EndpointAnswer:
        delay = 0.1
        while True:
            code, seen = _head(clients[endpoint], bucket)
            now = time.monotonic()
            if code is not None and code < 500:
                with lock:
                    deadline[0] = min(deadline[0], now + grace)
                return EndpointAnswer(endpoint, code, seen, round(now - start, 3))
            if now + delay > deadline[0]:
                return EndpointAnswer(endpoint, code, f"{seen} for {now - start:.1f} s")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="hastate-reach") as pool:
        return list(pool.map(one, clients))


def bucket_problem(answers: Sequence[EndpointAnswer], bucket: str, *, gone_ok: bool) -> str | None:
    """Why the scratch bucket cannot be used after maintenance, stated as what was observed;
    None when some endpoint serves it (or, with ``gone_ok``, every answering endpoint says 404)."""
    answering = [a for a in answers if a.answered]
    silent = [f"{a.endpoint} ({a.seen})" for a in answers if not a.answered]
    if not answering:
        return f"no endpoint answered HeadBucket {bucket}: " + "; ".join(silent)
    by_status: dict[int, list[str]] = {}
    for answer in answering:
        assert answer.status is not None
        by_status.setdefault(answer.status, []).append(answer.endpoint)
    said = "; ".join(f"{', '.join(eps)} answered {code}" for code, eps in sorted(by_status.items()))
    if set(by_status) == {200} or (gone_ok and set(by_status) == {404}):
        return None
    if 200 in by_status:
        return f"endpoints disagree about the scratch bucket {bucket}: {said}"
    note = f" ({len(silent)} endpoint(s) did not answer)" if silent else ""
    if set(by_status) == {404}:
        return f"HeadBucket {bucket}: {said}: the bucket is gone{note}"
    return f"HeadBucket {bucket}: {said}: the proof credentials cannot use it{note}"


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


def verify_endpoint(
    s3: S3Client,
    answer: EndpointAnswer,
    bucket: str,
    sample: Sequence[SampleObject],
    *,
    retry_for: float = SERVICE_ERROR_RETRY,
) -> EndpointVerification:
    """Check every sample object through an endpoint that answered: bytes and current version."""
    report = EndpointVerification(answer.endpoint, answer.answered, answer.served_after)
    if not answer.answered:
        return report

    def get(item: SampleObject) -> bytes | str:
        deadline = time.monotonic() + retry_for
        while True:
            try:
                response = s3.get_object(Bucket=bucket, Key=item.key, VersionId=item.version_id)
                body: bytes = response["Body"].read()
            except S3Errors as exc:
                code = status(exc)
                if (code and code < 500) or time.monotonic() > deadline:
                    return f"GET of version {item.version_id} answered {error_code(exc)}"
                time.sleep(0.5)
                continue
            return body

    def check(item: SampleObject) -> str | None:
        body = get(item)
        if isinstance(body, str):
            return f"{item.key}: {body}"
        if hashlib.sha256(body).hexdigest() != item.sha256 or len(body) != item.size:
            return f"{item.key}: bytes differ from the checkpoint ({len(body)} bytes, expected {item.size})"
        try:
            current = s3.head_object(Bucket=bucket, Key=item.key)
        except S3Errors as exc:
            return f"{item.key}: HEAD answered {error_code(exc)}: the sampled version is no longer current (deleted?)"
        if str(current.get("VersionId") or "null") != item.version_id:
            return (
                f"{item.key}: a newer version {current.get('VersionId')} replaced the sampled one"
            )
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
