"""The scratch guard: properties over generated targets, traversal tricks, and the factory hook."""

from __future__ import annotations

import dataclasses
import re
import string
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.models.profile import Profile
from pytest_hastate.s3.client import S3Access, client
from pytest_hastate.scope.names import is_canonical_key, normalize_key
from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.scope.targets import ProtectedTargets
from tests.support.helpers import GLORIOUS

SCOPE = ScratchScope(
    bucket="darkmap-ha-state-proof",
    prefix=".gloriousflywheel/ha-state-candidate/",
    run_id="20261126t230000z-abcdef12",
    protected=ProtectedTargets.of(
        GLORIOUS,
        [
            "deny tofu-state bucket",
            "deny tofu-state/darkmap-tinyland-dev/terraform.tfstate",
            "deny spokes/darkmap/terraform.tfstate",
        ],
    ),
)
RUN = SCOPE.run_prefix
MUTATING = ("PutObject", "DeleteObject", "CopyObject")
READING = ("GetObject", "HeadObject", "ListObjectsV2")
# Operations the proof never sends: refused whatever they name (they may carry a target in a
# header or a body, e.g. RenameObject's x-amz-rename-source, RestoreObject's OutputLocation).
NEVER_SENT = (
    "RenameObject", "RestoreObject", "CreateMultipartUpload", "PutObjectTagging",
    "SelectObjectContent", "GetObjectAttributes", "PutBucketPolicy", "PutBucketLogging",
)  # fmt: skip


def refused(operation: str, bucket: str | None, key: str | None = None, **kwargs: object) -> bool:
    try:
        SCOPE.check(operation, bucket, key, **kwargs)  # type: ignore[arg-type]
    except GuardRefusal:
        return True
    return False


segment = st.text(
    alphabet=string.ascii_lowercase + string.digits + "-_.", min_size=1, max_size=12
).filter(lambda s: s not in (".", ".."))


@given(st.lists(segment, min_size=1, max_size=4), st.sampled_from(MUTATING))
def test_canonical_keys_under_the_run_prefix_may_be_written(
    parts: list[str], operation: str
) -> None:
    key = RUN + "/".join(parts)
    assume(SCOPE.protected.reason(SCOPE.bucket, key) is None)
    assert not refused(operation, SCOPE.bucket, key)
    assert not refused(operation, SCOPE.probe_bucket, key)


any_bucket = st.one_of(
    st.sampled_from(
        [
            SCOPE.bucket,
            SCOPE.probe_bucket,
            "tofu-state",
            "TOFU-STATE",
            "ｔｏｆｕ-state",
            "tоfu-state",
            "other",
            "spokes",
        ]
    ),
    st.text(min_size=1, max_size=20),
)
any_key = st.one_of(
    st.builds(lambda k: RUN + k, st.text(max_size=40)),
    st.text(max_size=60),
    st.sampled_from(
        [f"{RUN}../../{k}" for k in tuple(GLORIOUS.protected.state_keys)]
        + list(tuple(GLORIOUS.protected.state_keys))
    ),
)


run_key = st.builds(lambda parts: RUN + "/".join(parts), st.lists(segment, min_size=1, max_size=4))


def test_any_allowed_write_is_inside_the_scratch_scope() -> None:
    """Two of three generated writes are this run's (they must be allowed), one is anything;
    every refusal is a ``GuardRefusal`` naming its operation and a reason, every allowed write
    is inside the scope. A guard that refuses everything, or allows everything, fails here."""
    counts: Counter[str] = Counter()

    @settings(
        max_examples=600, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(st.sampled_from(["run", "run", "any"]), st.data())
    def one(kind: str, data: st.DataObject) -> None:
        in_run = kind == "run"
        bucket = data.draw(
            st.sampled_from([SCOPE.bucket, SCOPE.probe_bucket]) if in_run else any_bucket
        )
        key = data.draw(run_key if in_run else any_key)
        operation = data.draw(st.sampled_from(MUTATING))
        refusal: GuardRefusal | None = None
        try:
            SCOPE.check(operation, bucket, key)
        except GuardRefusal as refused_:
            refusal = refused_
        if refusal is not None:
            counts["refused"] += 1
            assert refusal.operation == operation
            assert refusal.reason.strip()
            assert not in_run or SCOPE.protected.reason(bucket, key), (bucket, key, refusal)
            return
        counts["allowed"] += 1
        assert bucket in (SCOPE.bucket, SCOPE.probe_bucket)
        assert is_canonical_key(key)
        assert key.startswith(RUN)
        assert normalize_key(key) == key.casefold()
        assert SCOPE.protected.reason(bucket, key) is None

    one()
    assert counts["allowed"] >= 300, counts
    assert counts["refused"] >= 100, counts


def _tricks(key: str) -> list[str]:
    head, _, tail = key.partition("/")
    return [
        key,
        key.upper(),
        "/" + key,
        key.replace("/", "//"),
        f"{RUN}../../../{key}",
        f"{RUN}%2e%2e/%2e%2e/%2e%2e/{key}",
        f"{RUN}%252e%252e/%252e%252e/%252e%252e/{key}",
        key.replace("/", "%2F"),
        key.replace("/", "\\"),
        f"./{head}/./{tail}",
        f"{head}/x/../{tail}",
        f"{RUN}{key}",
        f"env:/workspace/{key}",
        key + ".tflock",
        key + ".backup",
        key.replace("a", "а", 1),  # Cyrillic a
        key.replace(".", "․"),  # one-dot leader
        "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in key),  # fullwidth
        key.replace("/", "／"),
        key[:3] + "\u200b" + key[3:],  # zero-width space
    ]


@pytest.mark.parametrize("protected", tuple(GLORIOUS.protected.state_keys))
@pytest.mark.parametrize("bucket", ["tofu-state", SCOPE.bucket, SCOPE.probe_bucket, "any-bucket"])
def test_protected_keys_are_refused_in_every_disguise(protected: str, bucket: str) -> None:
    for key in _tricks(protected):
        for operation in (*MUTATING, *READING):
            assert refused(operation, bucket, key), (operation, bucket, key)


@given(
    st.sampled_from(tuple(GLORIOUS.protected.state_keys)),
    st.sampled_from([SCOPE.bucket, "x"]),
    st.text(alphabet="/.%2e5cF", max_size=8),
)
def test_generated_prefix_noise_never_unlocks_a_protected_key(
    protected: str, bucket: str, noise: str
) -> None:
    key = noise + "/" + protected
    assert refused("GetObject", bucket, key)
    assert refused("PutObject", bucket, key)


@pytest.mark.parametrize(
    "bucket",
    ["tofu-state", "TOFU-STATE", "tofu-state.", "ｔｏｆｕ-ｓｔａｔｅ", "tоfu-state", "tofu‐state"],
)
def test_protected_bucket_look_alikes_are_refused(bucket: str) -> None:
    assert refused("ListObjectsV2", bucket)
    assert refused("PutObject", bucket, RUN + "x")


def test_denials_from_the_package_are_protected() -> None:
    assert refused("GetObject", "spokes", "darkmap/terraform.tfstate")
    assert refused("GetObject", "any", "spokes/darkmap/terraform.tfstate")
    assert refused("PutObject", SCOPE.bucket, RUN + "spokes/darkmap/terraform.tfstate")


def test_boundary_probes_may_only_head() -> None:
    assert not refused("HeadBucket", "tofu-state", boundary_probe=True)
    assert not refused("HeadObject", "tofu-state", "attic/terraform.tfstate", boundary_probe=True)
    assert refused("GetObject", "tofu-state", "attic/terraform.tfstate", boundary_probe=True)
    assert refused("ListObjectsV2", "tofu-state", boundary_probe=True)
    assert refused("PutObject", "tofu-state", "x", boundary_probe=True)


def test_bucket_level_mutations() -> None:
    assert not refused("CreateBucket", SCOPE.bucket)
    assert not refused("PutBucketVersioning", SCOPE.bucket)
    assert refused("DeleteBucket", SCOPE.bucket)
    assert not refused("DeleteBucket", SCOPE.probe_bucket)
    assert refused(
        "CreateBucket", "darkmap-ha-state-proof-probe-00000000"
    )  # another run's probe name
    assert refused("PutBucketPolicy", SCOPE.bucket)
    assert refused("CreateBucket", "other")


def test_batch_delete_and_copy_check_every_target() -> None:
    assert not refused("DeleteObjects", SCOPE.bucket, keys=[RUN + "a", RUN + "b"])
    assert refused("DeleteObjects", SCOPE.bucket, keys=[RUN + "a", "other/run/b"])
    assert refused("DeleteObjects", SCOPE.bucket, keys=[RUN + "a", "attic/terraform.tfstate"])
    assert refused(
        "CopyObject",
        SCOPE.bucket,
        RUN + "copy",
        copy_source=("tofu-state", "attic/terraform.tfstate"),
    )


@pytest.mark.parametrize("operation", NEVER_SENT)
def test_operations_the_proof_never_sends_are_refused_even_in_scope(operation: str) -> None:
    assert refused(operation, SCOPE.bucket, RUN + "in-scope")
    assert refused(operation, SCOPE.bucket)


def test_version_and_upload_ids_are_plain_tokens() -> None:
    from pytest_hastate.scope.requests import Target

    for token in ("../../decoy", "a/b", ".", ".."):
        with pytest.raises(GuardRefusal, match="not a plain token"):
            SCOPE.check_target(
                Target("GetObject", SCOPE.bucket, RUN + "x", tokens=(("VersionId", token),))
            )
    SCOPE.check_target(
        Target(
            "GetObject",
            SCOPE.bucket,
            RUN + "x",
            tokens=(("VersionId", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"),),
        )
    )


def test_listing_prefixes_that_cover_protected_keys_are_refused() -> None:
    for prefix in ("attic/terraform", "att", "tinyland-infra/", "ATTIC/"):
        assert refused("ListObjectsV2", SCOPE.bucket, prefixes=[prefix], listing_prefix=prefix)
    assert not refused("ListObjectsV2", SCOPE.bucket, prefixes=[RUN], listing_prefix=RUN)
    assert not refused(
        "ListObjectsV2", SCOPE.bucket, prefixes=[RUN + "a/"], listing_prefix=RUN + "a/"
    )


@pytest.mark.parametrize("listed", [None, "", SCOPE.prefix, "x/", RUN.rstrip("/")])
@pytest.mark.parametrize("operation", ["ListObjectsV2", "ListObjectVersions"])
def test_a_listing_of_the_scratch_bucket_stays_under_the_runs_prefix(
    operation: str, listed: str | None
) -> None:
    """Its answer names keys: outside the run they may be another run's, or a key the package
    denies (a denied object, a key ending in a protected state key)."""
    prefixes = [] if listed is None else [listed]
    label = f"{SCOPE.bucket}/{listed or ''}"
    with pytest.raises(
        GuardRefusal,
        match=re.escape(
            f"{operation} on {label}: a listing of the scratch bucket must stay under this run's "
            f"prefix {RUN} (its answer would name keys the run did not write)"
        ),
    ):
        SCOPE.check(operation, SCOPE.bucket, prefixes=prefixes, listing_prefix=listed)
    # a StartAfter or KeyMarker does not narrow a listing: only its Prefix does
    with pytest.raises(GuardRefusal, match="must stay under this run's prefix"):
        SCOPE.check(operation, SCOPE.bucket, prefixes=[RUN + "a"], listing_prefix=listed)
    SCOPE.check(operation, SCOPE.probe_bucket, prefixes=[], listing_prefix=None)  # its own bucket
    deleting = dataclasses.replace(SCOPE, allow_scratch_bucket_delete=True)
    deleting.check(operation, SCOPE.bucket, listing_prefix=None)  # empty before DeleteBucket


def test_a_bucket_named_like_arn_is_a_plain_bucket() -> None:
    scope = ScratchScope(bucket="arnold-ha-state-proof", prefix=SCOPE.prefix, run_id=SCOPE.run_id)
    scope.check("HeadBucket", "arnold-ha-state-proof")
    with pytest.raises(GuardRefusal, match="an ARN"):
        scope.check("HeadBucket", "arn:aws:s3:::arnold-ha-state-proof")


def test_other_runs_are_out_of_scope() -> None:
    other = SCOPE.prefix + "20261126t230000z-00000000/x"
    assert refused("PutObject", SCOPE.bucket, other)
    assert refused("DeleteObject", SCOPE.bucket, SCOPE.prefix.rstrip("/"))
    assert not refused("GetObject", SCOPE.bucket, other)  # reading another run's object is harmless


# --- the hook inside the one client factory ------------------------------------------------

DEAD = "https://127.0.0.1:9"  # nothing listens: a request that got sent would fail to connect


def _client(boundary_probes: bool = False) -> Any:
    access = S3Access(
        endpoints=(DEAD,),
        region="us-east-1",
        access_key="AKIDEXAMPLE",
        secret_key="x" * 20,
        path_style=True,
    )
    return client(access, SCOPE, boundary_probes=boundary_probes, attempts=1)


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("put_object", {"Bucket": "tofu-state", "Key": "attic/terraform.tfstate", "Body": b"x"}),
        ("get_object", {"Bucket": "tofu-state", "Key": "x"}),
        ("head_object", {"Bucket": "x", "Key": "attic/terraform.tfstate"}),
        ("put_object", {"Bucket": SCOPE.bucket, "Key": "elsewhere/x", "Body": b"x"}),
        (
            "delete_objects",
            {
                "Bucket": SCOPE.bucket,
                "Delete": {"Objects": [{"Key": RUN + "a"}, {"Key": "attic/terraform.tfstate"}]},
            },
        ),
        (
            "copy_object",
            {
                "Bucket": SCOPE.bucket,
                "Key": RUN + "c",
                "CopySource": "tofu-state/attic/terraform.tfstate",
            },
        ),
        ("delete_bucket", {"Bucket": SCOPE.bucket}),
    ],
)
def test_factory_refuses_before_anything_is_sent(call: str, kwargs: dict[str, object]) -> None:
    s3 = _client()
    with pytest.raises(GuardRefusal):
        getattr(s3, call)(**kwargs)


def test_factory_lets_allowed_requests_through_to_the_network() -> None:
    from botocore.exceptions import EndpointConnectionError

    with pytest.raises(EndpointConnectionError):
        _client().put_object(Bucket=SCOPE.bucket, Key=RUN + "ok", Body=b"x")
    with pytest.raises(EndpointConnectionError):
        _client(boundary_probes=True).head_object(
            Bucket="tofu-state", Key="attic/terraform.tfstate"
        )


def test_secret_key_never_in_repr(tmp_path: Path) -> None:
    access = S3Access(
        endpoints=(DEAD,),
        region="us-east-1",
        access_key="AKIDEXAMPLE",
        secret_key="super-secret-value",
    )
    assert "super-secret-value" not in repr(access)


# --- any team's profile: the guard protects what the profile names -------------------------

name_part = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=3, max_size=12)
bucket_name = name_part.filter(lambda n: n[0].isalnum() and n[-1].isalnum() and "--" not in n)


@st.composite
def team_profiles(draw: st.DrawFn) -> Profile:
    """A profile of some other team: its own protected buckets, stacks and key prefixes."""
    buckets = draw(st.lists(bucket_name, min_size=1, max_size=3, unique=True))
    stacks = draw(st.lists(st.lists(name_part, min_size=1, max_size=3), min_size=1, max_size=3))
    prefixes = draw(st.lists(name_part, max_size=2, unique=True))
    return Profile.model_validate(
        {
            "name": "team",
            "protected": {
                "buckets": buckets,
                "state_keys": ["/".join(parts) + "/terraform.tfstate" for parts in stacks],
                "key_prefixes": [f"{p}-folder/" for p in prefixes],
            },
            "scratch_prefix": ".team-proof/",
        }
    )


@settings(max_examples=200, derandomize=True)
@given(team_profiles(), st.sampled_from((*MUTATING, *READING)), st.data())
def test_every_request_to_a_profiles_targets_is_refused(
    profile: Profile, operation: str, data: st.DataObject
) -> None:
    """Whatever a profile protects (a generated team's buckets, stacks, prefixes), the guard
    refuses every request to it, with a reason that names it; and the scratch scope still
    takes the run's own writes (so the guard is not merely refusing everything)."""
    scope = ScratchScope(
        bucket="team-scratch", prefix=profile.scratch_prefix, run_id=SCOPE.run_id,
        protected=ProtectedTargets.of(profile),
    )  # fmt: skip
    protected = profile.protected
    bucket = data.draw(st.sampled_from(protected.buckets), label="bucket")
    with pytest.raises(GuardRefusal, match=r"bucket .* is protected"):
        scope.check(operation, bucket, scope.key("x"))
    key = data.draw(st.sampled_from(protected.state_keys), label="key")
    disguise = data.draw(st.sampled_from(_tricks(key)), label="disguise")
    with pytest.raises(GuardRefusal, match=f"refused {operation} on "):
        scope.check(operation, "team-scratch", disguise)
    for prefix in protected.key_prefixes:
        with pytest.raises(GuardRefusal, match="protected key prefix"):
            scope.check(operation, "team-scratch", prefix + "terraform.tfstate")
    scope.check("PutObject", "team-scratch", scope.key("sample", "0001"))  # allowed: the run's
