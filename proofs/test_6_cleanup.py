"""Proof step 6: remove every scratch object of a checkpoint's run; the bucket only if this
product created it and it is empty. Runs with --cleanup-checkpoint --from-checkpoint PATH
(or -m cleanup --from-checkpoint PATH). Deletes through whichever endpoint answers and
confirms through every endpoint that answers."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hastate.s3.guard import ScratchScope
from pytest_hastate.steps import CLEANUP

pytestmark = CLEANUP.marks


@pytest.mark.hastate_criterion("cleanup.complete")
def test_cleanup_removes_everything_of_the_run(
    hastate_run: Any,
    hastate_checkpoint: Any,
    hastate_scope: ScratchScope,
    hastate_scratch_bucket: Any,
    hastate_reachability: Any,
) -> None:
    from pytest_hastate.maintenance.cleanup import CleanupPlan, clean_up

    plan = CleanupPlan(
        bucket=hastate_scope.bucket,
        prefix=hastate_scope.run_prefix,
        probe_bucket=hastate_scope.probe_bucket,
        delete_bucket=hastate_run.settings.delete_scratch_bucket,
        created_by_this_product=hastate_checkpoint.bucket_created_by_this_product,
    )
    record = clean_up(plan, hastate_reachability.clients, hastate_reachability.unreachable)
    hastate_run.checkpoint = hastate_checkpoint.model_copy(update={"cleanup": record})
    assert not record.residue, f"cleanup left residue: {', '.join(record.residue[:20])}"
    assert record.done, "no endpoint confirmed the cleanup"
