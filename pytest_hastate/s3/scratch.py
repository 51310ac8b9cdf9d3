"""Scratch-scope S3 operations the proof steps share. Every call goes through guarded clients."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pytest_hastate.errors import DependencyFailed, HastateError
from pytest_hastate.models import RaceFacts, ReadAfterWriteFacts
from pytest_hastate.s3.client import ClientError, S3Client, S3Errors, error_code, status
from pytest_hastate.s3.waits import eventually

T = TypeVar("T")


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
    """Seconds until a PUT through ``s3`` gets a version id and a HEAD through it serves that
    version (then the probe is removed), or None.

    Gateways cache bucket configuration: right after versioning is enabled, writes can still
    be unversioned although GetBucketVersioning already says Enabled, and the read path may
    still look for an unversioned object for a moment after the write path versions.
    """

    def put() -> bool:
        try:
            version = s3.put_object(Bucket=bucket, Key=key, Body=b"versioning probe").get(
                "VersionId"
            )
            return (
                bool(version) and s3.head_object(Bucket=bucket, Key=key).get("VersionId") == version
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


DELETE_BATCH = 1000
"""Versions named in one DeleteObjects request (the most S3 accepts)."""


def delete_everything_under(
    s3: S3Client, bucket: str, prefix: str, *, spare: str | None = None
) -> list[str]:
    """Delete every version and delete marker under ``prefix`` (but those under ``spare``);
    returns what is left (residue).

    One DeleteObjects request per DELETE_BATCH versions. Its answer is not read: the versions
    still listed afterwards (the engine refused the request as a whole, or failed some keys
    inside a 200 answer) get one DeleteObject each, with the client's retries; what is listed
    after that is the residue."""

    def listed() -> list[tuple[str, str]]:
        found = versions_under(s3, bucket, prefix)
        return [(k, v) for k, v in found if not k.startswith(spare)] if spare else found

    found = listed()
    for start in range(0, len(found), DELETE_BATCH):
        named = [{"Key": k, "VersionId": v} for k, v in found[start : start + DELETE_BATCH]]
        with contextlib.suppress(*S3Errors):  # an engine without DeleteObjects: below
            s3.delete_objects(Bucket=bucket, Delete={"Objects": named, "Quiet": True})  # type: ignore[typeddict-item]
    left = listed() if found else []
    for key, version in left:
        with contextlib.suppress(*S3Errors):  # what stays is reported below as residue
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
    if not left:
        return []
    return [f"{bucket}/{key}@{version}" for key, version in listed()]


def payload(size: int = 4096) -> bytes:
    return secrets.token_bytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(s3: S3Client, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except S3Errors:
        return None


def read_version(s3: S3Client, bucket: str, key: str) -> tuple[bytes | None, str]:
    """(body, version id) of the current object; (None, error code) when the read failed."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        return response["Body"].read(), str(response.get("VersionId") or "null")
    except S3Errors as exc:
        return None, error_code(exc)


LAG_LIMIT = 5.0
"""After a stale read, how long the lag until the endpoint serves the write is measured."""
LAG_SAMPLES = 3
"""Stale reads per writer endpoint whose lag is measured (the verdict needs only one)."""


@dataclass(frozen=True)
class ReadCheck:
    """One acknowledged write, and what another (or the same) endpoint served on the first read."""

    writer: str
    reader: str
    key: str
    kind: str  # "new" or "overwrite"
    version: str
    first_read: str  # "current", or what was served instead
    read_seconds: float
    lag: float | None = None  # for a stale read: seconds until current (None: not within LAG_LIMIT)

    @property
    def stale(self) -> bool:
        return self.first_read != "current"


def _served(got: bytes | None, version: str, body: bytes, expected_version: str) -> str:
    if got is None:
        return f"an error ({version})"
    if got != body:
        return f"other bytes (version {version})"
    if version != expected_version:
        return f"the same bytes as version {version}, not {expected_version}"
    return "current"


def _lag(
    s3: S3Client, bucket: str, key: str, wanted: tuple[bytes, str], already: float
) -> float | None:
    """Measured only (the stale read already failed the check): seconds until ``wanted``."""
    waited = eventually(
        lambda: read_version(s3, bucket, key),
        lambda served: served == wanted,
        timeout=LAG_LIMIT,
        first_delay=0.05,
        max_delay=0.5,
    )
    return round(already + waited.seconds, 3) if waited.ok else None


READ_KEYS_PER_WRITER, READ_KEYS_IN_ALL = 8, 16
"""Read-after-write keys, each written new and then overwritten: 8 per endpoint up to 16 in all,
one per endpoint past 16. Every acknowledged write is read once through every endpoint, so each
endpoint serves 2 x 16 first reads whatever the number of endpoints (past 16, 2 per endpoint)
and every (writer, reader) pair has at least one new and one overwrite: two endpoints, 16 per
pair; six, 4 to 6. The requests grow with the square of the endpoints only in the reads."""


def read_key_shares(endpoints: int) -> list[int]:
    """Keys each endpoint writes (READ_KEYS_PER_WRITER, READ_KEYS_IN_ALL)."""
    total = max(min(READ_KEYS_PER_WRITER * endpoints, READ_KEYS_IN_ALL), endpoints)
    return [total // endpoints + (index < total % endpoints) for index in range(endpoints)]


def read_after_write(
    writer: tuple[str, S3Client],
    readers: Sequence[tuple[str, S3Client]],
    bucket: str,
    keys: Sequence[str],
    pool: Executor,
) -> list[ReadCheck]:
    """For each key: a new object, then an overwrite, through ``writer``; after each
    acknowledged write every reader (the writer's own endpoint among them) reads it at once,
    on ``pool``, and must serve those bytes and that version id on its first read."""
    checks: list[ReadCheck] = []
    stale = 0
    for key in keys:
        for kind in ("new", "overwrite"):
            body = payload(1024)
            version = str(
                writer[1].put_object(Bucket=bucket, Key=key, Body=body).get("VersionId") or "null"
            )

            def first_read(
                reader: tuple[str, S3Client],
                key: str = key,
                body: bytes = body,
                version: str = version,
            ) -> tuple[str, float]:
                t0 = time.monotonic()
                got, got_version = read_version(reader[1], bucket, key)
                return _served(got, got_version, body, version), time.monotonic() - t0

            for reader, (first, seconds) in zip(
                readers, pool.map(first_read, readers), strict=True
            ):
                lag = None
                if first != "current":
                    stale += 1
                    if stale <= LAG_SAMPLES:
                        lag = _lag(reader[1], bucket, key, (body, version), already=seconds)
                checks.append(
                    ReadCheck(
                        writer[0], reader[0], key, kind, version, first, round(seconds, 4), lag
                    )
                )
    return checks


@dataclass
class RaceResult:
    key: str
    winners: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)
    """How long each writer waited for its answer (a fact about the engine's lock path)."""
    dependency: DependencyFailed | None = None
    """A writer refused before sending because another criterion met a hard failure first."""


def hold_connection(s3: S3Client, bucket: str, marker: str) -> tuple[Any, Exception | None]:
    """A GET of ``marker`` whose body is left unread, so its connection stays checked out of
    ``s3``'s pool (every writer holds one at once: as many connections as writers); and what
    kept it from being answered, after its retries (an error answer counts as an answer)."""
    try:
        return s3.get_object(Bucket=bucket, Key=marker)["Body"], None
    except ClientError:
        return None, None  # an answer (its connection went back at once); the race says the rest
    except (*S3Errors, HastateError) as exc:
        return None, exc


def start_marker(s3: S3Client, bucket: str, key: str) -> str:
    """The object beside a race's key whose GETs hold the writers' connections."""
    marker = f"{key}.start"
    with contextlib.suppress(*S3Errors, DependencyFailed):  # without it, the GETs answer 404
        s3.put_object(Bucket=bucket, Key=marker, Body=b"start")
    return marker


def let_go(body: Any) -> None:
    """Read a held body to its end: its connection goes back to the pool, where the same
    writer's PUT finds it (a writer gives one back before it takes one)."""
    with contextlib.suppress(Exception):  # a connection that broke is the PUT's to meet
        body.read()


def conditional_race(
    clients: Sequence[S3Client], bucket: str, key: str, bodies: Sequence[bytes]
) -> RaceResult:
    """Every client PUTs ``key`` with ``If-None-Match: *`` at the same moment.

    Each writer first opens its connection with a read that may be retried: a GET of a start
    marker beside the key (a plain PUT before the race; not the race's key, so no engine can
    remember that as missing), held unread until every writer has one. A PUT should not be
    the request that meets a failed TLS handshake on a loaded machine (sent again after a
    pause, it would no longer race the others): each writer gives its connection back just
    before its PUT takes one, so the PUTs open none."""
    result = RaceResult(key)
    barrier = threading.Barrier(len(clients))
    lock = threading.Lock()
    marker = start_marker(clients[0], bucket, key)

    def writer(index: int) -> None:
        try:
            barrier.wait(timeout=30)  # every writer opens its connection at once
            held, unready = hold_connection(clients[index], bucket, marker)
            barrier.wait(timeout=30)  # the others race without waiting on this one
            if held is not None:
                let_go(held)
            if unready is not None:
                raise unready
            t0 = time.monotonic()
            try:
                clients[index].put_object(
                    Bucket=bucket, Key=key, Body=bodies[index], IfNoneMatch="*"
                )
            finally:
                with lock:
                    result.seconds[index] = round(time.monotonic() - t0, 3)
        except S3Errors as exc:
            with lock:
                if status(exc) == 412:
                    result.refused.append(index)
                else:
                    result.errors[index] = error_code(exc)
        except threading.BrokenBarrierError:
            with lock:
                result.errors[index] = "barrier broken"
        except HastateError as exc:  # refused before sending (the backend already failed)
            with lock:
                result.errors[index] = str(exc)
                if isinstance(exc, DependencyFailed) and exc.depends_on and not result.dependency:
                    result.dependency = exc
        else:
            with lock:
                result.winners.append(index)

    threads = [  # daemons: an operator who leaves does not wait for the engine's answers
        threading.Thread(target=writer, args=(i,), name=f"hastate-race-{i}", daemon=True)
        for i in range(len(clients))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return result


def concurrent_races(
    clients: Sequence[S3Client], bucket: str, keys: Sequence[str], body_size: int = 256
) -> list[tuple[RaceResult, list[bytes]]]:
    """One race per key, every race at the same time (independent keys, the same writers)."""

    def one(key: str) -> tuple[RaceResult, list[bytes]]:
        bodies = [payload(body_size) for _ in clients]
        return conditional_race(clients, bucket, key, bodies), bodies

    return [race.result() for race in [in_background(one, key) for key in keys]]


def in_background(work: Callable[..., T], *args: Any) -> Future[T]:
    """``work(*args)`` on a daemon thread (unlike an executor's workers, never joined when the
    process exits: a third Ctrl-C leaves at once)."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work(*args))
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="hastate-background", daemon=True).start()
    return future


class RacesUnderway:
    """``concurrent_races`` begun in the background: the losers' wait on the engine's lock
    path overlaps whatever runs meanwhile; ``results`` waits for every writer's answer."""

    def __init__(self, clients: Sequence[S3Client], bucket: str, keys: Sequence[str]) -> None:
        self.writers = len(clients)
        self._future = in_background(concurrent_races, clients, bucket, list(keys))

    def results(self) -> list[tuple[RaceResult, list[bytes]]]:
        return self._future.result()

    def done(self) -> bool:
        return self._future.done()

    def wait(self) -> None:
        """Every writer has answered (or failed); nothing of the race is left running."""
        self._future.exception()

    def finish(self, say: Callable[[str], None], leaves: str) -> None:
        """Wait for every writer before the session cleans up (its winners' objects are the
        run's). A Ctrl-C during the wait is asked to be repeated: the first keeps waiting, so the
        cleanup still runs; another leaves ``leaves`` behind."""
        if not self.done():
            say("waiting for the conditional-write race's last writers to answer before cleanup")
        try:
            self.wait()
        except KeyboardInterrupt:
            say(f"interrupted: still waiting for the race's writers, then cleanup; interrupt "
                f"again to leave the run's scratch objects behind ({leaves})")  # fmt: skip
            self.wait()


def race_facts(
    races: Sequence[tuple[RaceResult, list[bytes]]], writers: int, endpoints: int
) -> RaceFacts:
    refused = sorted(r.seconds[i] for r, _ in races for i in r.refused if i in r.seconds)
    return RaceFacts(
        keys=len(races), writers=writers, endpoints=endpoints,
        winners=[len(r.winners) for r, _ in races],
        refused_seconds_median=refused[len(refused) // 2] if refused else None,
        refused_seconds_max=refused[-1] if refused else None,
    )  # fmt: skip


def read_facts(checks: Sequence[ReadCheck]) -> ReadAfterWriteFacts:
    times = sorted(c.read_seconds for c in checks) or [0.0]
    return ReadAfterWriteFacts(
        reads=len(checks), stale=sum(c.stale for c in checks),
        first_read_seconds_p50=times[len(times) // 2], first_read_seconds_max=times[-1],
        stale_lag_seconds=sorted(c.lag for c in checks if c.stale and c.lag is not None),
    )  # fmt: skip


def caller_owns(s3: S3Client, bucket: str) -> tuple[bool, str]:
    """Whether the proof identity owns ``bucket``, and how that is known. ListBuckets lists
    only the buckets the caller owns (Ceph users, AWS accounts): a bucket opened to the proof
    identity by a bucket policy is absent from it, and that is ownership, not divergence."""
    try:
        caller = s3.list_buckets().get("Owner", {}).get("ID")
        owner = s3.get_bucket_acl(Bucket=bucket).get("Owner", {}).get("ID")
    except S3Errors as exc:
        return False, f"the owner is unknown (GetBucketAcl answered {error_code(exc)})"
    if caller and owner and caller == owner:
        return True, "the proof identity owns it"
    return (
        False,
        f"owned by {owner or 'an unknown owner'}, not by the proof identity ({caller or 'unknown'})",
    )


def versioning_state(s3: S3Client, bucket: str) -> str:
    """The bucket's versioning as its endpoint says it: Enabled, Suspended, never enabled, or
    the error code that answered instead."""
    try:
        return str(s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled"))
    except S3Errors as exc:
        return error_code(exc)


class ScratchOps:
    """The scratch-scope operations a proof uses, as one typed object. A fixture hands it out,
    so a proof module never imports a boto3-backed module when it is collected."""

    errors = S3Errors
    error_code = staticmethod(error_code)
    status = staticmethod(status)
    head_status = staticmethod(head_status)
    bucket_names = staticmethod(bucket_names)
    read = staticmethod(read)
    payload = staticmethod(payload)
    sha256 = staticmethod(sha256)
    versions_under = staticmethod(versions_under)
    delete_everything_under = staticmethod(delete_everything_under)
    read_after_write = staticmethod(read_after_write)
    read_key_shares = staticmethod(read_key_shares)
    race_facts = staticmethod(race_facts)
    read_facts = staticmethod(read_facts)
    caller_owns = staticmethod(caller_owns)
    versioning_state = staticmethod(versioning_state)
