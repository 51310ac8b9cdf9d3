"""Proof step 5: after maintenance, the checkpoint's objects and state are intact.

Runs with --verify-existing --from-checkpoint PATH [--maintenance-event KIND]. A package whose
bytes differ from the checkpoint's was refused before any request.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pytest_hastate.s3.guard import ScratchScope
from pytest_hastate.steps import POST_MAINTENANCE

pytestmark = POST_MAINTENANCE.marks


@pytest.mark.hastate_criterion("maintenance.verified")
def test_every_sample_object_is_intact_on_every_reachable_endpoint(
    hastate_sample_verification: list[Any],
) -> None:
    reachable = [r for r in hastate_sample_verification if r.reachable]
    if not reachable:
        lost = ", ".join(r.endpoint for r in hastate_sample_verification)
        pytest.fail(
            f"no endpoint served within the verify timeout ({lost}): the backend did not come back",
            pytrace=False,
        )
    problems = [f"{r.endpoint}: {w}" for r in reachable for w in r.wrong]
    assert not problems, f"{len(problems)} sample problem(s): " + "; ".join(problems[:10])


@pytest.mark.hastate_criterion("maintenance.endpoint_loss_observed")
def test_endpoint_loss_was_observed(hastate_sample_verification: list[Any]) -> None:
    lost = [r.endpoint for r in hastate_sample_verification if not r.reachable]
    if not lost:
        pytest.skip("every endpoint answered: no endpoint loss was observed during the verify")
    assert any(r.reachable for r in hastate_sample_verification), "every endpoint was lost"


@pytest.mark.hastate_criterion("maintenance.verified")
def test_disposable_state_still_plans_clean(
    hastate_checkpoint: Any, hastate_checkpoint_workspace: Any
) -> None:
    import hashlib

    record = hastate_checkpoint.disposable_state
    ws = hastate_checkpoint_workspace
    ws.init()
    body, _version = ws.current_object()
    assert hashlib.sha256(body).hexdigest() == record.sha256, (
        f"the disposable state {record.key} changed during maintenance"
    )
    result = ws.plan_exit_code(record.nonce)
    assert result.code == 0, f"plan on the kept state exited {result.code}, expected a no-op (0)"
    assert not ws.stale, f"stale lock after release: {ws.stale[0]}"


@pytest.mark.hastate_criterion("maintenance.verified")
def test_fresh_write_read_and_lock_cycle(
    hastate_run: Any,
    hastate_scope: ScratchScope,
    hastate_scratch_bucket: Any,
    hastate_reachability: Any,
) -> None:
    from pytest_hastate.maintenance.sample import lock_cycle
    from pytest_hastate.s3.scratch import payload, read

    phase = hastate_run.settings.phase
    clients = hastate_reachability.clients
    assert clients, "no endpoint to write through"
    bucket = hastate_scratch_bucket.name
    for writer, s3 in clients.items():
        key, body = hastate_scope.key(phase, "fresh", uuid.uuid4().hex), payload(4096)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        for reader, other in clients.items():
            got = read(other, bucket, key)
            assert got == body, (
                f"stale read: {reader} served {'nothing' if got is None else 'other bytes'} "
                f"for {key} on the first read after a write through {writer}"
            )
        problems = lock_cycle(
            s3, bucket, hastate_scope.key(phase, "lock", uuid.uuid4().hex + ".tflock")
        )
        assert not problems, f"lock cycle through {writer}: {'; '.join(problems)}"
