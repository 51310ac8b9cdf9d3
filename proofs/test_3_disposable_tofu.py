"""Proof step 3: a disposable OpenTofu state on the backend, with the native S3 lockfile.

Runs only with --run-disposable-tofu --use-lockfile. The workspace is a temp dir with its own
TF_DATA_DIR; the backend key is ``<scratch_prefix><run-id>/disposable-tofu/<phase>/terraform.tfstate``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

from pytest_hastate.errors import DependencyFailed
from pytest_hastate.steps import DISPOSABLE_TOFU, LOCKFILE_MINIMUM

if TYPE_CHECKING:
    from pytest_hastate.tofu.gate import TofuBinary
    from pytest_hastate.tofu.workspace import DisposableState

pytestmark = DISPOSABLE_TOFU.marks
LOCK_ERROR = "Error acquiring the state lock"
"""How OpenTofu (and Terraform) say a command stopped on a held lock."""


@pytest.mark.hastate_criterion("tofu.version")
def test_binary_supports_the_native_s3_lockfile(hastate_tofu_binary: TofuBinary) -> None:
    binary, product, version = hastate_tofu_binary  # the fixture's gate refused older ones
    assert version >= LOCKFILE_MINIMUM[product], f"{binary}: {product} {version}"


@pytest.mark.hastate_criterion("tofu.init")
def test_init_against_the_scratch_backend(hastate_tofu_workspace: DisposableState) -> None:
    hastate_tofu_workspace.init()


@pytest.mark.hastate_criterion("tofu.first_write")
def test_first_apply_writes_a_state(hastate_tofu_workspace: DisposableState) -> None:
    ws = hastate_tofu_workspace
    applied = ws.apply()
    assert applied.serial >= 1, f"GET {ws.key} after the first apply: state serial {applied.serial}"
    assert applied.lineage, f"GET {ws.key} after the first apply: the state has no lineage"
    assert applied.version_id not in ("", "null"), (
        f"GET {ws.key} after the first apply answered version id {applied.version_id!r} "
        "(versioning off?)"
    )


@pytest.mark.hastate_criterion("tofu.readback")
def test_outputs_read_back_what_was_written(hastate_tofu_workspace: DisposableState) -> None:
    ws = hastate_tofu_workspace
    outputs = ws.outputs()
    expected = {"nonce": ws.last_applied().nonce, "phase": ws.phase, "run_id": ws.run_id}
    assert outputs == expected, f"output -json read back {outputs}, expected {expected}"


@pytest.mark.hastate_criterion("tofu.noop_plan")
def test_plan_of_the_same_inputs_is_a_noop(hastate_tofu_workspace: DisposableState) -> None:
    ws = hastate_tofu_workspace
    result = ws.plan_exit_code(ws.last_applied().nonce)
    stale = ws.stale_lock_problem()
    if result.code == 1 and stale is not None and LOCK_ERROR in result.stderr:
        raise DependencyFailed(
            f"plan exited 1 on the state lock: {stale}", depends_on="tofu.lock_release"
        )
    assert result.code == 0, (
        f"plan -detailed-exitcode exited {result.code} (2 = changes, 1 = error) for unchanged inputs"
    )


@pytest.mark.hastate_criterion("tofu.lock_contention")
def test_a_held_lock_stops_a_second_run(hastate_tofu_workspace: DisposableState) -> None:
    ws = hastate_tofu_workspace
    lock_id = ws.put_synthetic_lock()
    try:
        result = ws.plan_exit_code(ws.last_applied().nonce, lock_timeout="0s")
    finally:
        ws.remove_synthetic_lock()
    if result.code != 1:
        pytest.fail(
            f"store ignores If-None-Match: OpenTofu ran (exit {result.code}) while the synthetic lock {lock_id} was held",
            pytrace=False,
        )
    stderr = result.stderr
    assert LOCK_ERROR in stderr, f"plan failed, but not on the lock: {stderr[-400:]}"
    assert lock_id in stderr, f"the lock error does not name the holder {lock_id}"


@pytest.mark.hastate_criterion("tofu.lock_release")
def test_lock_is_released_and_taken_again(hastate_tofu_workspace: DisposableState) -> None:
    ws = hastate_tofu_workspace

    def fail_on_stale() -> None:
        if ws.stale:
            first = ws.stale[0]
            more = f" (and {len(ws.stale) - 1} more observation(s))" if len(ws.stale) > 1 else ""
            pytest.fail(
                f"stale lock after release: after {first.after} on {first.endpoint}: {first.metadata}{more}",
                pytrace=False,
            )

    fail_on_stale()  # every command so far released its lock on every endpoint
    first = ws.last_applied()
    second = ws.apply()  # relock after the delete markers of earlier releases
    fail_on_stale()
    assert second.lineage == first.lineage, (
        f"GET {ws.key}: lineage {first.lineage} after one apply, {second.lineage} after the next"
    )
    assert second.serial > first.serial, (
        f"GET {ws.key}: serial {first.serial} after one apply, {second.serial} after the next"
    )


@pytest.mark.hastate_criterion("tofu.restore")
def test_restore_a_previous_state_version(hastate_tofu_workspace: DisposableState) -> None:
    ws = hastate_tofu_workspace
    if len(ws.applies) < 2:
        raise DependencyFailed(
            f"restore needs two applied state versions, {len(ws.applies)} succeeded",
            depends_on="tofu.lock_release" if ws.applies else "tofu.first_write",
        )
    first, latest = ws.applies[0], ws.last_applied()
    assert hashlib.sha256(ws.version_bytes(first.version_id)).hexdigest() == first.sha256, (
        f"GET {ws.key} version {first.version_id}: other bytes than the first apply wrote"
    )
    ws.restore(first.version_id)
    body, _version = ws.current_object()
    assert hashlib.sha256(body).hexdigest() == first.sha256, (
        f"GET {ws.key} after CopyObject of version {first.version_id}: other bytes than that version"
    )
    assert ws.outputs()["nonce"] == first.nonce
    result = ws.plan_exit_code(first.nonce)
    assert result.code == 0, (
        f"plan for the restored inputs exited {result.code}, expected a no-op (0)"
    )
    changed = ws.plan_exit_code(latest.nonce)
    assert changed.code == 2, (
        f"plan for the newer inputs exited {changed.code}: the restore did not take effect"
    )
