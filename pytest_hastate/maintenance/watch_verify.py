"""After the watched window: read back what the backend acknowledged during it, through every
endpoint that answers now, and turn the log into the facts the verdict keeps."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from pytest_hastate.maintenance import watch_check as check
from pytest_hastate.maintenance.watch_log import WatchRecord
from pytest_hastate.models import WatchFacts
from pytest_hastate.s3.client import S3Client, S3Errors, status

WORKERS = 8


def read_back(
    clients: Mapping[str, S3Client], bucket: str, record: WatchRecord
) -> tuple[dict[tuple[str, str, str], str | None], dict[tuple[str, str], int | None]]:
    """(sha256 each endpoint serves for each acknowledged version, the sequence number of each
    state key's current version on each endpoint). A 404 is "served nothing"; an endpoint that
    gives no answer is left out (unreachable is not evidence that data is gone)."""
    writes = check.acknowledged_writes(record.ops)
    keys = sorted({op.key for op in writes})
    jobs: list[tuple[str, str, str | None]] = [
        (e, op.key, op.version) for e in clients for op in writes if op.version
    ]
    jobs += [(e, key, None) for e in clients for key in keys]

    def one(
        job: tuple[str, str, str | None],
    ) -> tuple[tuple[str, str, str | None], bytes | None, bool]:
        endpoint, key, version = job
        s3 = clients[endpoint]
        try:
            if version:
                response = s3.get_object(Bucket=bucket, Key=key, VersionId=version)
            else:
                response = s3.get_object(Bucket=bucket, Key=key)
            body: bytes = response["Body"].read()
        except S3Errors as exc:
            code = status(exc)
            return job, None, bool(code and code < 500)
        return job, body, True

    versions: dict[tuple[str, str, str], str | None] = {}
    latest: dict[tuple[str, str], int | None] = {}
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hastate-watch") as pool:
        for (endpoint, key, version), body, answered in pool.map(one, jobs):
            if not answered:
                continue
            if version is not None:
                versions[(endpoint, key, version)] = (
                    hashlib.sha256(body).hexdigest() if body is not None else None
                )
            else:
                latest[(endpoint, key)] = _seq(body)
    return versions, latest


def _seq(body: bytes | None) -> int | None:
    if body is None:
        return None
    try:
        return int(json.loads(body)["seq"])
    except (ValueError, KeyError, TypeError):
        return None


def watch_facts(
    record: WatchRecord, log: str, max_unavailable: float, picture: str | None = None
) -> WatchFacts:
    ops, endpoints = record.ops, record.header.endpoints
    found = check.holds(ops)
    cont = check.continuity(ops, endpoints, 0.0, record.end)
    marks = [t for t, _text in record.marks]
    return WatchFacts(
        log=log, duration_seconds=round(record.end, 3), operations=len(ops),
        acknowledged_writes=len(check.acknowledged_writes(ops)),
        lock_rounds=sum(1 for o in ops if o.kind == "acquire"),
        lock_holds=sum(1 for h in found if h.certain),
        contended_rounds=sum(1 for o in ops if o.kind == "acquire" and o.outcome == "refused"),
        possible_overlaps=check.possible_overlaps(found),
        outage_seconds={e: round(w.seconds, 3) for e, w in cont.per_endpoint.items()},
        outage_windows={e: [round(w.start, 3), round(w.end, 3)] for e, w in cont.per_endpoint.items()},
        backend_outage_seconds=round(cont.backend.seconds, 3),
        backend_outage_window=[round(cont.backend.start, 3), round(cont.backend.end, 3)],
        max_unavailable_seconds=float(max_unavailable),
        latency_seconds=_rounded(check.latency_by_period(ops, marks)),
        marks=[f"{t:.1f} s: {text}" for t, text in record.marks], picture=picture,
    )  # fmt: skip


def _rounded(
    periods: Mapping[str, Mapping[str, float | None]],
) -> dict[str, dict[str, float | None]]:
    return {
        name: {k: (round(float(v), 4) if v is not None else None) for k, v in values.items()}
        for name, values in periods.items()
    }


def overlap_lines(pairs: Sequence[tuple[check.Hold, check.Hold]]) -> list[str]:
    return [
        f"contender {a.contender} (through {a.endpoint}) held the lock from {a.start:.2f} s to "
        f"{a.end:.2f} s and contender {b.contender} (through {b.endpoint}) from {b.start:.2f} s "
        f"to {b.end:.2f} s"
        for a, b in pairs
    ]
