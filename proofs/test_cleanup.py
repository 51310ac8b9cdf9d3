"""Proof step 6: remove every scratch object of a checkpoint's run; the bucket only if this
product created it and it is empty. Runs with --cleanup-checkpoint --from-checkpoint PATH."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hastate.guard import ScratchScope

pytestmark = [pytest.mark.cleanup, pytest.mark.order(8)]


@pytest.mark.hastate_criterion("cleanup.complete")
def test_cleanup_removes_everything_of_the_run(
    hastate_run: Any,
    hastate_checkpoint: Any,
    hastate_scope: ScratchScope,
    hastate_scratch_bucket: Any,
    hastate_s3_primary: Any,
    hastate_s3: dict[str, Any],
) -> None:
    from pytest_hastate.models import CleanupRecord
    from pytest_hastate.scratch import delete_everything_under, head_status, versions_under
    from pytest_hastate.waits import eventually

    bucket, prefix = hastate_scope.bucket, hastate_scope.run_prefix
    present = head_status(hastate_s3_primary, bucket) == 200
    residue = delete_everything_under(hastate_s3_primary, bucket, prefix) if present else []
    if head_status(hastate_s3_primary, hastate_scope.probe_bucket) == 200:
        residue += delete_everything_under(hastate_s3_primary, hastate_scope.probe_bucket, "")
        hastate_s3_primary.delete_bucket(Bucket=hastate_scope.probe_bucket)
    deleted, kept_because = False, None
    if hastate_run.settings.delete_scratch_bucket and present and not residue:
        if not hastate_checkpoint.bucket_created_by_this_product:
            kept_because = "not created by this product"
        elif versions_under(hastate_s3_primary, bucket, ""):
            kept_because = "not empty: other runs' objects are in it"
        else:
            hastate_s3_primary.delete_bucket(Bucket=bucket)
            deleted = True
    confirmed: list[str] = []
    unconfirmed: list[str] = []
    for endpoint, s3 in hastate_s3.items():
        if head_status(s3, bucket) == 0:  # nothing answers there (an endpoint still down)
            unconfirmed.append(endpoint)
            continue
        if deleted:
            waited = eventually(
                lambda s3=s3: head_status(s3, bucket), lambda code: code == 404, timeout=15
            )
        else:
            waited = eventually(
                lambda s3=s3: versions_under(s3, bucket, prefix) if present else [],
                lambda left: not left,
                timeout=15,
            )
        if waited.ok:
            confirmed.append(endpoint)
        else:
            residue.append(f"{endpoint} still shows the run's objects")
    hastate_run.checkpoint = hastate_checkpoint.model_copy(
        update={
            "cleanup": CleanupRecord(
                done=not residue,
                residue=residue,
                bucket_deleted=deleted,
                bucket_kept_because=kept_because,
                confirmed_on=confirmed,
                unconfirmed=unconfirmed,
            )
        }
    )
    assert not residue, f"cleanup left residue: {', '.join(residue[:20])}"
    assert confirmed, "no endpoint answered, so the cleanup could not be confirmed anywhere"
