"""Proof step 5: after maintenance, the checkpoint's objects and state are intact.

Runs with --verify-existing --from-checkpoint PATH [--maintenance-event KIND] (or
-m post_maintenance). A package whose bytes differ from the checkpoint's was refused before any
request. Every endpoint is equal: they are asked at once, and the steps use those that answer.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

import pytest

from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.steps import POST_MAINTENANCE

if TYPE_CHECKING:
    from pytest_hastate.maintenance.ops import MaintenanceOps
    from pytest_hastate.maintenance.reachability import Reachability
    from pytest_hastate.maintenance.sample import EndpointVerification
    from pytest_hastate.models import Checkpoint
    from pytest_hastate.run import ProofRun
    from pytest_hastate.s3.scratch import ScratchBucket, ScratchOps
    from pytest_hastate.tofu.workspace import DisposableState

pytestmark = POST_MAINTENANCE.marks


@pytest.mark.hastate_criterion("maintenance.verified")
def test_every_sample_object_is_intact_on_every_reachable_endpoint(
    hastate_sample_verification: list[EndpointVerification],
) -> None:
    reachable = [r for r in hastate_sample_verification if r.reachable]
    if not reachable:
        lost = ", ".join(r.endpoint for r in hastate_sample_verification)
        pytest.fail(
            f"HeadBucket after maintenance got no answer from any endpoint ({lost}): nothing could "
            "be verified (no answer is not evidence that data is gone)",
            pytrace=False,
        )
    problems = [f"{r.endpoint}: {w}" for r in reachable for w in r.wrong]
    assert not problems, f"{len(problems)} sample problem(s): " + "; ".join(problems[:10])


@pytest.mark.hastate_criterion("maintenance.endpoint_loss_observed")
def test_endpoint_loss_was_observed(
    hastate_sample_verification: list[EndpointVerification],
) -> None:
    lost = [r.endpoint for r in hastate_sample_verification if not r.reachable]
    if not lost:
        pytest.skip("every endpoint answered: no endpoint loss was observed during the verify")
    assert any(r.reachable for r in hastate_sample_verification), (
        f"HeadBucket after maintenance got no answer from any endpoint ({', '.join(lost)})"
    )


@pytest.mark.hastate_criterion("maintenance.verified")
def test_disposable_state_still_plans_clean(
    hastate_checkpoint: Checkpoint, hastate_checkpoint_workspace: DisposableState
) -> None:
    record = hastate_checkpoint.disposable_state
    assert record is not None  # the workspace fixture skips without one
    ws = hastate_checkpoint_workspace
    ws.init()
    body, version = ws.current_object()
    assert hashlib.sha256(body).hexdigest() == record.sha256, (
        f"GET {record.key} (version {version}): the disposable state changed during maintenance"
    )
    result = ws.plan_exit_code(record.nonce)
    assert result.code == 0, f"plan on the kept state exited {result.code}, expected a no-op (0)"
    assert not ws.stale, f"stale lock after release: {ws.stale[0]}"


@pytest.mark.hastate_criterion("maintenance.writable")
def test_fresh_write_read_and_lock_cycle(
    hastate_run: ProofRun,
    hastate_scope: ScratchScope,
    hastate_scratch_bucket: ScratchBucket,
    hastate_reachability: Reachability,
    hastate_scratch: ScratchOps,
    hastate_maintenance: MaintenanceOps,
) -> None:
    phase, ops = hastate_run.settings.phase, hastate_scratch
    clients = hastate_reachability.clients
    assert clients, (
        "HeadBucket after maintenance got no answer from any endpoint "
        f"({', '.join(hastate_reachability.unreachable)}): no endpoint to write through"
    )
    bucket = hastate_scratch_bucket.name
    for writer, s3 in clients.items():
        key, body = hastate_scope.key(phase, "fresh", uuid.uuid4().hex), ops.payload(4096)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        for reader, other in clients.items():
            got = ops.read(other, bucket, key)
            assert got == body, (
                f"stale read: {reader} served {'nothing' if got is None else 'other bytes'} "
                f"for {key} on the first read after a write through {writer}"
            )
        lock = hastate_scope.key(phase, "lock", uuid.uuid4().hex + ".tflock")
        # the client's retry rule sends a lock PUT again only when it provably never left
        problems = hastate_maintenance.lock_cycle(s3, bucket, lock)
        assert not problems, f"lock cycle through {writer}: {'; '.join(problems)}"
