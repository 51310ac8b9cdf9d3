"""Proof step 6: remove every scratch object of a run, through whichever endpoint answers, and
confirm it through every endpoint that answers.

Cleanup never reports success for what it could not see: a listing that gets no answer, a 403
or a 5xx leaves the objects *unknown*, and unknown objects are residue. ``done`` holds only
when every version and delete marker under the run prefix is confirmed gone by every endpoint
that answered (at least one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pytest_hastate.models import CleanupRecord
from pytest_hastate.s3.client import S3Client, S3Errors, error_code
from pytest_hastate.s3.scratch import head_status, versions_under


@dataclass
class CleanupPlan:
    bucket: str
    prefix: str
    probe_bucket: str
    delete_bucket: bool
    created_by_this_product: bool


@dataclass
class _Listing:
    items: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None


def _list(s3: S3Client, bucket: str, prefix: str) -> _Listing:
    try:
        return _Listing(versions_under(s3, bucket, prefix))
    except S3Errors as exc:
        return _Listing(error=error_code(exc))


def _first_listing(clients: Mapping[str, S3Client], bucket: str, prefix: str) -> _Listing:
    errors: list[str] = []
    for endpoint, s3 in clients.items():
        listing = _list(s3, bucket, prefix)
        if listing.error is None:
            return listing
        errors.append(f"{endpoint}: {listing.error}")
    return _Listing(error="; ".join(errors) or "no endpoint answered")


def _delete(clients: Mapping[str, S3Client], bucket: str, key: str, version: str) -> None:
    for s3 in clients.values():
        with contextlib.suppress(*S3Errors):  # the confirmation below says what stayed
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
            return


def _bucket_present(clients: Mapping[str, S3Client], bucket: str) -> bool:
    return any(head_status(s3, bucket) == 200 for s3 in clients.values())


def clean_up(
    plan: CleanupPlan, clients: Mapping[str, S3Client], silent: Sequence[str]
) -> CleanupRecord:
    """Delete through the answering ``clients`` (in order); ``silent`` endpoints did not answer
    and are recorded as unconfirmed."""
    residue: list[str] = []
    if not clients:
        return CleanupRecord(
            done=False,
            residue=[f"unknown: no endpoint answered, {plan.bucket}/{plan.prefix} not seen"],
            unconfirmed=list(silent),
        )
    present = _bucket_present(clients, plan.bucket)
    if present:
        listing = _first_listing(clients, plan.bucket, plan.prefix)
        if listing.error is not None:
            residue.append(f"unknown: could not list {plan.bucket}/{plan.prefix} ({listing.error})")
        for key, version in listing.items:
            _delete(clients, plan.bucket, key, version)
    if _bucket_present(clients, plan.probe_bucket):
        probe = _first_listing(clients, plan.probe_bucket, "")
        for key, version in probe.items:
            _delete(clients, plan.probe_bucket, key, version)
        for s3 in clients.values():
            with contextlib.suppress(*S3Errors):  # still present: residue below
                s3.delete_bucket(Bucket=plan.probe_bucket)
                break
        if _bucket_present(clients, plan.probe_bucket):
            residue.append(f"{plan.probe_bucket} (probe bucket) still exists")
    confirmed: list[str] = []
    for endpoint, s3 in clients.items():
        if not present:
            confirmed.append(endpoint)
            continue
        left = _list(s3, plan.bucket, plan.prefix)
        if left.error is not None:
            residue.append(f"unknown: {endpoint} could not list what is left ({left.error})")
            continue
        residue += [
            f"{plan.bucket}/{key}@{version} (seen on {endpoint})" for key, version in left.items
        ]
        if not left.items:
            confirmed.append(endpoint)
    deleted, kept_because = False, None
    if plan.delete_bucket and present and not residue:
        deleted, kept_because = _delete_bucket(plan, clients)
        if deleted:
            still = [e for e, s3 in clients.items() if head_status(s3, plan.bucket) != 404]
            residue += [
                f"{plan.bucket} still answers HeadBucket on {e} after delete" for e in still
            ]
    return CleanupRecord(
        done=not residue and bool(confirmed),
        residue=residue,
        bucket_deleted=deleted,
        bucket_kept_because=kept_because,
        confirmed_on=confirmed,
        unconfirmed=list(silent),
    )


def _delete_bucket(plan: CleanupPlan, clients: Mapping[str, S3Client]) -> tuple[bool, str | None]:
    if not plan.created_by_this_product:
        return False, "not created by this product"
    everything = _first_listing(clients, plan.bucket, "")
    if everything.error is not None:
        return False, f"could not list it ({everything.error})"
    if everything.items:
        return False, "not empty: other runs' objects are in it"
    errors: list[str] = []
    for endpoint, s3 in clients.items():
        try:
            s3.delete_bucket(Bucket=plan.bucket)
        except S3Errors as exc:
            errors.append(f"{endpoint}: {error_code(exc)}")
            continue
        return True, None
    return False, "DeleteBucket failed: " + "; ".join(errors)
