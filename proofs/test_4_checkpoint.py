"""Proof step 4: before maintenance, a durability sample and the checkpoint.

Runs with --keep-scratch-bucket --checkpoint-file PATH (or -m pre_maintenance), after the live
steps passed in the same run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_hastate.io.checkpoints import save_checkpoint
from pytest_hastate.models import Outcome
from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.steps import DISPOSABLE_TOFU, PRE_MAINTENANCE

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_hastate.maintenance.ops import MaintenanceOps
    from pytest_hastate.run import ProofRun
    from pytest_hastate.s3.client import S3Client
    from pytest_hastate.s3.scratch import ScratchBucket
    from pytest_hastate.tofu.workspace import DisposableState

pytestmark = PRE_MAINTENANCE.marks


@pytest.mark.hastate_criterion("maintenance.checkpoint")
def test_write_durability_sample_and_checkpoint(
    request: pytest.FixtureRequest,
    hastate_run: ProofRun,
    hastate_scope: ScratchScope,
    hastate_scratch_bucket: ScratchBucket,
    hastate_s3_primary: S3Client,
    hastate_progress: Callable[[str], None],
    hastate_maintenance: MaintenanceOps,
) -> None:
    settings = hastate_run.settings
    results = hastate_run.collector.results()
    failed = sorted(cid for cid, r in results.items() if r.outcome is Outcome.FAILED)
    if failed:  # durability is its own fact: the sample is written, the failures stay in the chain
        hastate_progress(f"the chain carries failed criteria ({', '.join(failed)})")
    keys = [hastate_scope.key("sample", f"{i:04d}") for i in range(settings.sample_objects)]
    hastate_progress(f"writing a durability sample of {len(keys)} objects")
    sample = hastate_maintenance.write_sample(hastate_s3_primary, hastate_scratch_bucket.name, keys)
    disposable = None
    if DISPOSABLE_TOFU.marker in settings.steps:
        workspace: DisposableState = request.getfixturevalue("hastate_tofu_workspace")
        disposable = workspace.record()
    checkpoint = hastate_run.begin_chain(sample, disposable)
    assert settings.checkpoint_file is not None  # the mode demands it
    save_checkpoint(settings.checkpoint_file, checkpoint)
    assert len(checkpoint.sample) == settings.sample_objects
