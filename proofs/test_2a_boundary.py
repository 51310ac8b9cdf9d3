"""Proof step 2a: the proof credentials reach the scratch scope and nothing protected.

Read-only: ListBuckets, then HEAD probes on the protected bucket and keys, which must answer
403 or 404. The probes go through a boundary client, the only one the guard lets HEAD a
protected target; nothing is written. (Whether ListBuckets shows the scratch bucket is about
ownership, not the boundary: a bucket opened to the proof identity by a policy is not listed.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_hastate.scope.requests import is_read_only
from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.steps import BOUNDARY

if TYPE_CHECKING:
    from pytest_hastate.fixtures.s3 import ClientFactory
    from pytest_hastate.s3.client import RequestLog, S3Access
    from pytest_hastate.s3.scratch import ScratchOps

pytestmark = BOUNDARY.marks

ALLOWED = (403, 404)


@pytest.mark.hastate_criterion("boundary.scoped")
def test_proof_credentials_are_scoped_to_scratch(
    hastate_s3_access: S3Access,
    hastate_s3_factory: ClientFactory,
    hastate_scope: ScratchScope,
    hastate_request_log: RequestLog,
    hastate_scratch: ScratchOps,
) -> None:
    ops = hastate_scratch
    sent_before = len(hastate_request_log.entries)
    protected = hastate_scope.protected
    probes: list[tuple[str, str | None]] = [(bucket, None) for bucket in sorted(protected.buckets)]
    probes += [(bucket, key) for bucket in sorted(protected.buckets) for key in protected.keys]
    probes += sorted(protected.objects)
    problems: list[str] = []
    for endpoint in hastate_s3_access.endpoints:
        s3 = hastate_s3_factory(endpoint, boundary_probes=True)
        for bucket in sorted(protected.buckets & ops.bucket_names(s3)):
            problems.append(f"{endpoint}: ListBuckets shows the protected bucket {bucket}")
        for bucket, key in probes:
            code = ops.head_status(s3, bucket, key)
            if code not in ALLOWED:
                target = f"{bucket}/{key}" if key else bucket
                what = "can read" if code == 200 else f"got {code or 'no answer'} for"
                problems.append(
                    f"{endpoint}: HEAD {target}: proof credentials {what} the protected target "
                    "(expected 403/404)"
                )
    writes = [e for e in hastate_request_log.entries[sent_before:] if not is_read_only(e[1])]
    assert not writes, f"the boundary step sent mutating requests: {writes}"
    assert not problems, "; ".join(problems)
