"""Proof step 6: remove every scratch object of a checkpoint's run; the bucket only if this
product created it and it is empty. Runs with --cleanup-checkpoint --from-checkpoint PATH
(or -m cleanup --from-checkpoint PATH). Deletes through whichever endpoint answers and
confirms through every endpoint that answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.steps import CLEANUP

if TYPE_CHECKING:
    from pytest_hastate.maintenance.ops import MaintenanceOps
    from pytest_hastate.maintenance.reachability import Reachability
    from pytest_hastate.models import Checkpoint
    from pytest_hastate.run import ProofRun
    from pytest_hastate.s3.scratch import ScratchBucket

pytestmark = CLEANUP.marks


@pytest.mark.hastate_criterion("cleanup.complete")
def test_cleanup_removes_everything_of_the_run(
    hastate_run: ProofRun,
    hastate_checkpoint: Checkpoint,
    hastate_scope: ScratchScope,
    hastate_scratch_bucket: ScratchBucket,
    hastate_reachability: Reachability,
    hastate_maintenance: MaintenanceOps,
) -> None:
    ops = hastate_maintenance
    plan = ops.CleanupPlan(
        bucket=hastate_scope.bucket,
        prefix=hastate_scope.run_prefix,
        probe_bucket=hastate_scope.probe_bucket,
        delete_bucket=hastate_run.settings.delete_scratch_bucket,
        created_by_this_product=hastate_checkpoint.bucket_created_by_this_product,
    )
    record = ops.clean_up(plan, hastate_reachability.clients, hastate_reachability.unreachable)
    hastate_run.finish_chain(record)
    assert not record.residue, f"cleanup left residue: {', '.join(record.residue[:20])}"
    assert record.done, (
        "no endpoint answered the version listing of the run's keys after the deletes: "
        "the cleanup is not confirmed"
    )
