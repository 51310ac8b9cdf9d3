"""Proof step 2a: the proof credentials reach the scratch scope and nothing protected.

Read-only: ListBuckets, then HEAD probes on the protected bucket and keys, which must answer
403 or 404. The probes go through a boundary client, the only one the guard lets HEAD a
protected target; nothing is written.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hastate.s3.guard import ScratchScope
from pytest_hastate.steps import BOUNDARY

pytestmark = BOUNDARY.marks

ALLOWED = (403, 404)


@pytest.mark.hastate_criterion("boundary.scoped")
def test_proof_credentials_are_scoped_to_scratch(
    hastate_s3_access: Any,
    hastate_s3_factory: Any,
    hastate_scope: ScratchScope,
    hastate_request_log: Any,
) -> None:
    from pytest_hastate.s3.guard import is_read_only
    from pytest_hastate.s3.scratch import bucket_names, head_status

    sent_before = len(hastate_request_log.entries)
    protected = hastate_scope.protected
    problems: list[str] = []
    for endpoint in hastate_s3_access.endpoints:
        s3 = hastate_s3_factory(endpoint, boundary_probes=True)
        listed = bucket_names(s3)
        for bucket in sorted(protected.buckets & listed):
            problems.append(f"{endpoint}: ListBuckets shows the protected bucket {bucket}")
        if head_status(s3, hastate_scope.bucket) == 200 and hastate_scope.bucket not in listed:
            problems.append(
                f"{endpoint}: the scratch bucket {hastate_scope.bucket} exists but ListBuckets does not show it"
            )
        probes: list[tuple[str, str | None]] = [
            (bucket, None) for bucket in sorted(protected.buckets)
        ]
        probes += [(bucket, key) for bucket in sorted(protected.buckets) for key in protected.keys]
        probes += sorted(protected.objects)
        for bucket, key in probes:
            code = head_status(s3, bucket, key)
            if code not in ALLOWED:
                target = f"{bucket}/{key}" if key else bucket
                what = "can read" if code == 200 else f"got {code or 'no answer'} for"
                problems.append(
                    f"{endpoint}: proof credentials {what} the protected target {target} (expected 403/404)"
                )
    writes = [e for e in hastate_request_log.entries[sent_before:] if not is_read_only(e[1])]
    assert not writes, f"the boundary step sent mutating requests: {writes}"
    assert not problems, "; ".join(problems)
