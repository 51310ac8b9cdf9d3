"""Proof step 4: before maintenance, a durability sample and the checkpoint (SPEC 7).

Runs with --keep-scratch-bucket --checkpoint-file PATH, after the live steps passed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_hastate.s3.guard import ScratchScope
from pytest_hastate.steps import PRE_MAINTENANCE

pytestmark = PRE_MAINTENANCE.marks


@pytest.mark.hastate_criterion("maintenance.checkpoint")
def test_write_durability_sample_and_checkpoint(
    request: pytest.FixtureRequest,
    hastate_run: Any,
    hastate_endpoint_package: Any,
    hastate_scope: ScratchScope,
    hastate_scratch_bucket: Any,
    hastate_s3_primary: Any,
    hastate_s3_access: Any,
    hastate_progress: Any,
) -> None:
    from pytest_hastate.io.checkpoints import save_checkpoint
    from pytest_hastate.maintenance.sample import write_sample
    from pytest_hastate.models import Checkpoint, DisposableStateRecord, Outcome, PackageIdentity
    from pytest_hastate.tofu.workspace import parse_state

    settings = hastate_run.settings
    failed = [
        cid for cid, r in hastate_run.collector.results().items() if r.outcome is Outcome.FAILED
    ]
    if failed:
        pytest.fail(
            f"live steps failed ({', '.join(sorted(failed))}): no durability sample is worth keeping",
            pytrace=False,
        )
    keys = [hastate_scope.key("sample", f"{i:04d}") for i in range(settings.sample_objects)]
    hastate_progress(f"writing a durability sample of {len(keys)} objects")
    sample = write_sample(hastate_s3_primary, hastate_scratch_bucket.name, keys)
    disposable = None
    if "disposable_tofu" in settings.steps:
        ws = request.getfixturevalue("hastate_tofu_workspace")
        body, version = ws.current_object()
        state = parse_state(body)
        import hashlib

        disposable = DisposableStateRecord(
            key=ws.key,
            serial=int(state["serial"]),
            lineage=str(state["lineage"]),
            sha256=hashlib.sha256(body).hexdigest(),
            version_id=version,
            nonce=str(state.get("outputs", {}).get("nonce", {}).get("value", "")),
            phase=ws.phase,
        )
    package = hastate_run.package
    checkpoint = Checkpoint(
        run_id=settings.run_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        package=PackageIdentity(
            name=hastate_endpoint_package.name, sha256=package.sha256, basename=package.path.name
        ),
        contract_sha256=hastate_run.contract_digest(),
        endpoints=list(hastate_s3_access.endpoints),
        scratch_bucket=hastate_scope.bucket,
        scratch_prefix=hastate_scope.prefix,
        bucket_created_by_this_product=bool(hastate_run.scratch_bucket_created),
        sample=sample,
        disposable_state=disposable,
    )
    hastate_run.checkpoint = checkpoint
    save_checkpoint(settings.checkpoint_file, checkpoint)
    assert len(checkpoint.sample) == settings.sample_objects
