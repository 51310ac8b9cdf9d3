"""Every reason a verdict gives is true: a scratch bucket the proof identity does not own (an
admin made it and opened it to the proof identity) is absent from the identity's ListBuckets
on Ceph RGW and AWS; that is ownership, not a divergent index and not a boundary failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import admin, environment
from pytest_hastate.s3.scratch import delete_everything_under
from tests.support.helpers import faulty_proxy, lab_package, needs_tofu, run_proofs

SHARED = "hastate-lab-scratch-probe-shared"
"""Made by the lab admin; the proof identity may use it (its grants cover this name) but does
not own it: SeaweedFS reports the admin as its owner."""


@pytest.fixture
def shared_bucket(hastate_lab: LabCluster) -> Iterator[str]:
    s3 = admin(hastate_lab)
    s3.create_bucket(Bucket=SHARED)
    s3.put_bucket_versioning(Bucket=SHARED, VersioningConfiguration={"Status": "Enabled"})
    try:
        yield SHARED
    finally:
        delete_everything_under(s3, SHARED, "")
        s3.delete_bucket(Bucket=SHARED)


@needs_tofu
def test_a_shared_scratch_bucket_missing_from_list_buckets_is_no_failure(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_lab: LabCluster,
    shared_bucket: str,
) -> None:
    hidden = frozenset({shared_bucket})
    with (
        faulty_proxy(hastate_lab, 0, strip_if_none_match=False, hide_buckets=hidden) as a,
        faulty_proxy(hastate_lab, 1, strip_if_none_match=False, hide_buckets=hidden) as b,
    ):
        package = lab_package(
            hastate_lab, proofs.path, endpoint_url=a.endpoint,
            ha_endpoints=[a.endpoint, b.endpoint], scratch_bucket=shared_bucket,
            scratch_bucket_policy=[
                f"allow list/read/write/delete for {shared_bucket} (the lab admin created it)",
                "deny tofu-state and protected stack prefixes",
            ],
        )  # fmt: skip
        env = {**environment(hastate_lab), "TOFU_HA_STATE_ENDPOINT": a.endpoint}
        result, verdict = run_proofs(proofs, monkeypatch, env, package)
    criteria = verdict["criteria"]
    assert criteria["boundary.scoped"] == "passed", verdict["reasons"]
    assert criteria["scratch.index_consistency"] == "passed", verdict["reasons"]
    assert criteria["scratch.bucket"] == "passed", verdict["reasons"]
    assert not any("ListBuckets" in reason for reason in verdict["reasons"]), verdict["reasons"]
    evidence = verdict["facts"]["list_buckets_evidence"]
    assert evidence.startswith(
        f"not used as index evidence for {shared_bucket}: owned by lab-admin"
    )
    assert "lists only the buckets the caller owns" in evidence
    views = verdict["facts"]["index_views"]
    assert set(views) == {a.endpoint, b.endpoint}
    assert all("ListBuckets" not in view for view in views.values()), views
    assert verdict["verdict"] == "INTERIM_ONLY", verdict["reasons"]
    assert result.ret == 10


def test_a_refused_package_is_the_root_and_the_live_steps_fail_by_dependency_on_it(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_lab: LabCluster
) -> None:
    package = lab_package(hastate_lab, proofs.path, scratch_bucket="some-other-bucket")
    result, verdict = run_proofs(proofs, monkeypatch, environment(hastate_lab), package)
    assert result.ret == 1
    reasons = verdict["reasons"]
    assert reasons[0].startswith("static.package failed: package gate refused "), reasons
    assert "P07 $.scratch_bucket_policy: does not name the scratch bucket" in reasons[0]
    later = reasons[1:]
    assert later, reasons
    assert all(" failed: by dependency on static.package: " in r for r in later), later
