"""Every refusal of the scratch guard's target check, word for word: which rule refused, in
the operation's name, on the target it names (a refusal from the wrong rule is a failure)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.scope.requests import Target
from pytest_hastate.scope.targets import ProtectedTargets
from tests.s3.test_guard_wire import RUN, SCOPE
from tests.support.helpers import GLORIOUS

B, P = SCOPE.bucket, SCOPE.probe_bucket
DOT = "contains a dot segment ('.' or '..', also percent-encoded)"
EMPTY = "contains an empty segment ('//', or a leading or trailing '/')"
BAD_BUCKET = "not a valid S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')"
OUTSIDE_RUN = f"key outside this run's prefix {RUN}"

REFUSED = [
    (Target("PutBucketPolicy", B), f"PutBucketPolicy on {B}: not an operation the proof sends"),
    (
        Target("GetObject", B, RUN + "k", tokens=(("VersionId", "a/b"),)),
        f"GetObject on {B}/{RUN}k: VersionId is not a plain token",
    ),
    (
        Target("GetObject", B, RUN + "k", tokens=(("VersionId", ".."),)),
        f"GetObject on {B}/{RUN}k: VersionId is not a plain token",
    ),
    (Target("GetObject", None), "GetObject on (no bucket): only ListBuckets may address no bucket"),
    (Target("ListBuckets", None, prefixes=("a/../b",)), f"ListBuckets on a/../b: prefix {DOT}"),
    (Target("GetObject", "Bad_Bucket", RUN + "k"), f"GetObject on Bad_Bucket: {BAD_BUCKET}"),
    (
        Target("CopyObject", B, RUN + "k", copy_source=("Bad_Bucket", RUN + "s")),
        f"CopyObject on Bad_Bucket: {BAD_BUCKET}",
    ),
    (Target("GetObject", B, RUN + "a/../k"), f"GetObject on {B}/{RUN}a/../k: key {DOT}"),
    (
        Target("DeleteObjects", B, keys=(RUN + "a", RUN + "b/../c")),
        f"DeleteObjects on {B}/{RUN}b/../c: key {DOT}",
    ),
    (
        Target("CopyObject", B, RUN + "k", copy_source=(B, RUN + "a/./s")),
        f"CopyObject on {B}/{RUN}a/./s: key {DOT}",
    ),
    (
        Target("ListObjectsV2", B, prefixes=(RUN + "a/../",), listing_prefix=RUN + "a/../"),
        f"ListObjectsV2 on {B}/{RUN}a/../: prefix {DOT}",
    ),
    (
        Target("ListObjectsV2", B, prefixes=("attic/",), listing_prefix="attic/"),
        f"ListObjectsV2 on {B}/attic/: prefix covers the protected state key attic/terraform.tfstate",
    ),
    (
        Target("GetObject", B, "attic/terraform.tfstate"),
        f"GetObject on {B}/attic/terraform.tfstate: key matches the protected state key "
        "attic/terraform.tfstate",
    ),
    (
        Target("CopyObject", B, RUN + "k", copy_source=("tofu-state", "x")),
        "CopyObject on tofu-state/x: copy source: bucket tofu-state is protected",
    ),
    (
        Target("GetObject", "other-bucket", RUN + "k"),
        f"GetObject on other-bucket/{RUN}k: outside the scratch bucket and this run's probe bucket",
    ),
    (
        Target("CopyObject", B, RUN + "k", copy_source=("other-bucket", RUN + "s")),
        f"CopyObject on other-bucket/{RUN}s: copy source outside this run's scratch scope",
    ),
    (
        Target("CopyObject", B, RUN + "k", copy_source=(B, "elsewhere/s")),
        f"CopyObject on {B}/elsewhere/s: copy source outside this run's scratch scope",
    ),
    (
        Target("DeleteBucket", B),
        f"DeleteBucket on {B}: bucket-level mutation not allowed on this bucket",
    ),
    (
        Target("DeleteObjects", B),
        f"DeleteObjects on {B}: bucket-level mutation not allowed on this bucket",
    ),
    (Target("PutObject", B), f"PutObject on {B}: bucket-level mutation not allowed on this bucket"),
    (Target("PutObject", B, RUN), f"PutObject on {B}/{RUN}: key {EMPTY}"),
    (Target("PutObject", B, RUN + "a//b"), f"PutObject on {B}/{RUN}a//b: key {EMPTY}"),
    (
        Target("PutObject", B, RUN + "a\\b"),
        f"PutObject on {B}/{RUN}a\\b: key is not in canonical form",
    ),
    (Target("PutObject", B, RUN + "%2e%2e/x"), f"PutObject on {B}/{RUN}%2e%2e/x: key {DOT}"),
    (
        Target("PutObject", B, RUN + "a\x00b"),
        f"PutObject on {B}/{RUN}a\x00b: key contains control characters",
    ),
    (Target("PutObject", B, "elsewhere/x"), f"PutObject on {B}/elsewhere/x: {OUTSIDE_RUN}"),
    (
        Target("DeleteObjects", B, keys=(RUN + "a", "elsewhere/b")),
        f"DeleteObjects on {B}/elsewhere/b: {OUTSIDE_RUN}",
    ),
    (
        Target("HeadObject", "tofu-state", "attic/terraform.tfstate"),
        "HeadObject on tofu-state/attic/terraform.tfstate: bucket tofu-state is protected",
    ),
]

ALLOWED = [
    Target("GetBucketAcl", B),
    Target("ListBuckets", None, prefixes=("a/",)),
    Target("PutBucketVersioning", B),
    Target("CreateBucket", P),
    Target("PutBucketVersioning", P),
    Target("DeleteBucket", P),
    Target("PutObject", B, RUN + "a b"),
    Target("DeleteObjects", B, keys=(RUN + "a", RUN + "b")),
    Target("CopyObject", B, RUN + "k", copy_source=(B, RUN + "s")),
    Target("ListObjectsV2", B, prefixes=(RUN,), listing_prefix=RUN),
]


@pytest.mark.parametrize(("target", "words"), REFUSED, ids=[w[:60] for _t, w in REFUSED])
def test_each_rule_refuses_in_its_own_words(target: Target, words: str) -> None:
    with pytest.raises(GuardRefusal, match=f"^{re.escape('scratch guard refused ' + words)}$"):
        SCOPE.check_target(target)


@pytest.mark.parametrize("target", ALLOWED, ids=[f"{t.operation}-{t.bucket}" for t in ALLOWED])
def test_what_the_proof_sends_in_its_scope_passes(target: Target) -> None:
    SCOPE.check_target(target)


def test_a_boundary_probe_may_head_a_protected_target_and_nothing_else() -> None:
    head = Target("HeadObject", "tofu-state", "attic/terraform.tfstate")
    SCOPE.check_target(head, boundary_probe=True)
    with pytest.raises(GuardRefusal, match="bucket tofu-state is protected"):
        SCOPE.check_target(
            Target("GetObject", "tofu-state", "attic/terraform.tfstate"), boundary_probe=True
        )


def test_the_scratch_bucket_is_deleted_only_when_the_run_may() -> None:
    SCOPE.check_target(Target("DeleteBucket", P))
    with pytest.raises(GuardRefusal, match="bucket-level mutation not allowed"):
        SCOPE.check_target(Target("DeleteBucket", B))
    dataclasses.replace(SCOPE, allow_scratch_bucket_delete=True).check_target(
        Target("DeleteBucket", B)
    )
    with pytest.raises(GuardRefusal, match="bucket-level mutation not allowed"):
        dataclasses.replace(SCOPE, allow_scratch_bucket_delete=True).check_target(
            Target("DeleteObjects", B)
        )


def test_a_denied_object_inside_the_run_is_refused_to_listings_and_deletes() -> None:
    secret = RUN + "secret"
    scope = dataclasses.replace(
        SCOPE, protected=ProtectedTargets.of(GLORIOUS, [f"deny {B}/{secret}"])
    )
    with pytest.raises(
        GuardRefusal, match=re.escape(f"prefix covers the protected object {B}/{secret.lower()}")
    ):
        scope.check_target(Target("ListObjectsV2", B, prefixes=(RUN,), listing_prefix=RUN))
    with pytest.raises(
        GuardRefusal,
        match=re.escape(
            f"DeleteObjects on {B}/{secret}: object is listed in protected_state_denials"
        ),
    ):
        scope.check_target(Target("DeleteObjects", B, keys=(RUN + "a", secret)))


def test_a_scratch_prefix_may_start_with_any_letter_in_virtual_hosted_urls() -> None:
    scope = dataclasses.replace(SCOPE, prefix="Xs/")
    key = scope.run_prefix + "k"
    scope.check_request(
        Target("GetObject", B, key), endpoint="https://s3.example.test",
        url=f"https://{B}.s3.example.test/{key}", copy_source_header=None,
    )  # fmt: skip
    scope.check_request(
        Target("GetObject", B, key), endpoint="https://s3.example.test",
        url=f"https://s3.example.test/{B}/{key}", copy_source_header=None,
    )  # fmt: skip
