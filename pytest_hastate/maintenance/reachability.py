"""After maintenance every endpoint is equal: ask them all at once, record who answers.

An endpoint that does not answer is *unreachable* — a fact, never evidence that data is gone;
"gone" needs an endpoint that answers and says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pytest_hastate.s3.client import NO_ANSWER, S3Client, S3Errors, error_code, status


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
    except NO_ANSWER as exc:
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


@dataclass(frozen=True)
class Reachability:
    """Every endpoint asked at once after maintenance; no step after it depends on any one."""

    answers: list[EndpointAnswer]
    clients: dict[str, S3Client]  # guarded clients of the endpoints that answered, in order

    @property
    def unreachable(self) -> list[str]:
        return [a.endpoint for a in self.answers if not a.answered]

    @property
    def failover_wait_seconds(self) -> float | None:
        served = [a.served_after for a in self.answers if a.served_after is not None]
        return min(served) if served else None


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


REACH_GRACE = 10.0
"""Once one endpoint answers, the seconds the others get to answer too (a node of the backend
may still be coming back when the verify starts)."""
CLEANUP_GRACE = 3.0
"""The same for cleanup: the verify before it already gave every endpoint its time; cleanup
deletes through whichever answers and confirms through every one that does."""


def ask_every_endpoint(
    probes: Mapping[str, S3Client],
    build: Callable[[str], S3Client],
    bucket: str,
    *,
    timeout: float,
    grace: float = REACH_GRACE,
) -> Reachability:
    """``probes`` (clients that may fail) ask; ``build`` makes the clients the run then works
    through, for the endpoints that answered."""
    answers = reachability(probes, bucket, timeout=timeout, grace=min(grace, timeout))
    return Reachability(answers, {a.endpoint: build(a.endpoint) for a in answers if a.answered})
