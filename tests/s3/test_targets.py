"""What must never be touched, read from the profile and a package's ``deny`` lines, and the
words of each refusal (``scope.targets``, ``scope.scratch``'s small helpers)."""

from __future__ import annotations

import pytest

from pytest_hastate.models import EndpointPackage
from pytest_hastate.scope.names import fully_decoded, is_canonical_key, is_probe_bucket_of
from pytest_hastate.scope.requests import Target, copy_source_of
from pytest_hastate.scope.scratch import (
    own_state_problem,
    protected_of,
    scope_of,
    scratch_prefix_problem,
)
from pytest_hastate.scope.targets import (
    Denial,
    ProtectedTargets,
    denial_lines,
    endpoint_origin_problem,
    parse_denial,
)
from tests.s3.test_guard_wire import RUN, SCOPE
from tests.support.helpers import GLORIOUS, filled_package

STACKS = ("a/terraform.tfstate", "b/terraform.tfstate")


@pytest.mark.parametrize(
    ("line", "denial"),
    [
        ("deny vault bucket", Denial(buckets=frozenset({"vault"}))),
        ("deny /vault/ and its keys", Denial(buckets=frozenset({"vault"}))),
        (
            "deny vault/x/terraform.tfstate",
            Denial(
                keys=("vault/x/terraform.tfstate",),
                objects=frozenset({("vault", "x/terraform.tfstate")}),
            ),
        ),
        ("deny protected stack prefixes", Denial(keys=STACKS)),
        (
            "deny protected stack prefixes and vault bucket",
            Denial(buckets=frozenset({"vault"}), keys=STACKS),
        ),
        (
            "deny v/k.tfstate, protected state keys",
            Denial(keys=("v/k.tfstate", *STACKS), objects=frozenset({("v", "k.tfstate")})),
        ),
    ],
)
def test_each_deny_form_protects_what_it_names(line: str, denial: Denial) -> None:
    assert parse_denial(line, STACKS) == denial


@pytest.mark.parametrize(
    "line",
    ["allow vault", "deny", "deny protected stack prefixes", "deny Not_A_Bucket", "deny b/../k"],
)
def test_a_line_that_protects_nothing_is_not_a_denial(line: str) -> None:
    assert parse_denial(line, ()) is None


def test_a_listing_prefix_that_would_reveal_protected_keys_is_named() -> None:
    targets = ProtectedTargets.of(GLORIOUS, ["deny spokes/darkmap/terraform.tfstate"])
    key = GLORIOUS.protected.state_keys[0]
    assert targets.prefix_reason("scratch", "") is None
    assert targets.prefix_reason("scratch", RUN) is None
    assert targets.prefix_reason("scratch", key.split("/")[0] + "/") == (
        f"prefix covers the protected state key {key}"
    )
    assert targets.prefix_reason("spokes", "dark") == (
        "prefix covers the protected object spokes/darkmap/terraform.tfstate"
    )
    assert targets.prefix_reason("other", "dark") is None  # the object is spokes' only
    assert targets.prefix_reason("spokes", "darkmap/terraform.tfstate") == (
        "object is listed in protected_state_denials"
    )
    exact = targets.prefix_reason("scratch", key)
    assert exact is not None
    assert exact == targets.reason("scratch", key)
    assert targets.prefix_reason("tofu-state", "") is None  # judged by the bucket alone


def test_a_prefix_covering_a_protected_key_prefix_is_named() -> None:
    profile = GLORIOUS.model_copy(
        update={"protected": GLORIOUS.protected.model_copy(update={"key_prefixes": ["teams/"]})}
    )
    targets = ProtectedTargets.of(profile)
    assert (
        targets.prefix_reason("scratch", "tea") == "prefix covers the protected key prefix teams/"
    )


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("s3.example.test", None),
        ("tofu-state.s3.example.test", "its host has the label 'tofu-state', a protected bucket"),
        ("S3.TOFU-STATE.", "its host has the label 'tofu-state', a protected bucket"),
        ("my.vault.s3.test", "its host has the labels 'my.vault', a protected bucket"),
        ("a.my.vault", "its host has the labels 'my.vault', a protected bucket"),
    ],
)
def test_an_endpoint_host_naming_a_protected_bucket_is_named(
    host: str, problem: str | None
) -> None:
    targets = ProtectedTargets.of(GLORIOUS, ["deny my.vault bucket"])
    assert targets.label_problem(host) == problem


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://s3.example.test", None),
        ("https://s3.example.test/", None),
        ("https://user@s3.example.test", "must not carry user-info (credentials) in the URL"),
        ("https://:pw@s3.example.test", "must not carry user-info (credentials) in the URL"),
        ("https://s3.example.test/base", "must be a plain origin without a path"),
        ("https://s3.example.test?x=1", "must not carry a query or fragment"),
        ("https://s3.example.test/?", "must not carry a query or fragment"),
        ("https://s3.example.test#", "must not carry a query or fragment"),
        (
            "https://tofu-state.example.test",
            "its host has the label 'tofu-state', a protected bucket",
        ),
    ],
)
def test_an_endpoint_must_be_a_plain_origin(url: str, problem: str | None) -> None:
    assert endpoint_origin_problem(url, SCOPE.protected) == problem


def test_a_copy_source_is_read_in_each_form_botocore_takes() -> None:
    assert copy_source_of({"Bucket": "b", "Key": "k/x"}, "CopyObject") == ("b", "k/x")
    assert copy_source_of("/b/k/x", "CopyObject") == ("b", "k/x")
    assert copy_source_of("b/k/x/", "CopyObject") == ("b", "k/x/")
    assert copy_source_of("b/k%2Fx?versionId=1", "CopyObject") == ("b", "k/x")
    assert copy_source_of(None, "CopyObject") is None
    assert copy_source_of("/Xb/k", "CopyObject") == ("Xb", "k")  # judged as written


def test_the_targets_of_a_delete_are_every_key_it_names() -> None:
    target = Target.from_params(
        "DeleteObjects",
        {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"VersionId": "1"}, "junk"]}},
    )
    assert target.keys == ("x", "")  # an object without a key is the empty key: refused later
    assert Target.from_params("DeleteObjects", {"Bucket": "b", "Delete": {}}).keys == ()
    assert Target.from_params("ListBuckets", {}).bucket is None


def test_a_runs_scope_is_the_packages_bucket_and_the_profiles_policy() -> None:
    package = EndpointPackage.model_validate(filled_package())
    scope = scope_of(GLORIOUS, package, "20261127t120000z-abcdef12")
    assert scope.bucket == package.scratch_bucket
    assert scope.allow_scratch_bucket_delete is False
    assert scope_of(GLORIOUS, package, "r", allow_bucket_delete=True).allow_scratch_bucket_delete
    assert scope.protected == protected_of(GLORIOUS, package)
    denied = [line for line in package.protected_state_denials if "/" in line]
    assert all(scope.protected.reason(None, line.split()[-1]) for line in denied)
    assert scope.key("a", "b") == scope.run_prefix + "a/b"


def test_the_packages_scratch_bucket_policy_protects_too() -> None:
    document = filled_package()
    document["protected_state_denials"] = []
    document["scratch_bucket_policy"] = ["deny vault bucket"]
    package = EndpointPackage.model_validate(document)
    assert protected_of(GLORIOUS, package).reason("vault", None) == "bucket vault is protected"


def test_a_probe_bucket_is_the_scratch_buckets_name_and_the_probe_infix() -> None:
    assert is_probe_bucket_of("scratch-probe-0123abcd", "scratch")
    assert not is_probe_bucket_of("scratch-0123abcd", "scratch")
    assert not is_probe_bucket_of("other-probe-0123abcd", "scratch")


def protected_with(keys: tuple[str, ...] = (), prefixes: tuple[str, ...] = ()) -> ProtectedTargets:
    policy = GLORIOUS.protected.model_copy(
        update={
            "state_keys": list(keys or GLORIOUS.protected.state_keys),
            "key_prefixes": list(prefixes),
        }
    )
    return ProtectedTargets.of(GLORIOUS.model_copy(update={"protected": policy}))


ASCII_ONLY = "must be printable ASCII without '%', '\\', '$', '{' or '}'"


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("", "must not be empty"),
        ("  ", "must not be empty"),
        ("/a/", "must be relative and end with '/'"),
        ("a", "must be relative and end with '/'"),
        ("a//b/", "must not contain '//', '.' or '..' segments"),
        ("a/./", "must not contain '//', '.' or '..' segments"),
        ("a/../", "must not contain '//', '.' or '..' segments"),
        ("é/", ASCII_ONLY),
        ("a\tb/", ASCII_ONLY),
        *((f"a{c}b/", ASCII_ONLY) for c in "%\\${}"),
        (
            "attic/x/",
            "shares its first folder with the protected state key attic/terraform.tfstate",
        ),
        ("ok/", None),
    ],
)
def test_a_scratch_prefix_is_a_plain_relative_folder_nothing_protected_shares(
    prefix: str, problem: str | None
) -> None:
    assert scratch_prefix_problem(prefix, ProtectedTargets.of(GLORIOUS)) == problem


def test_a_scratch_prefix_overlapping_a_protected_key_prefix_either_way_is_refused() -> None:
    assert scratch_prefix_problem("team/x/", protected_with(prefixes=("team/",))) == (
        "overlaps the protected key prefix team/"
    )
    assert scratch_prefix_problem("team/", protected_with(prefixes=("team/x/",))) == (
        "overlaps the protected key prefix team/x/"
    )
    assert scratch_prefix_problem("teams/", protected_with(prefixes=("team/",))) is None


@pytest.mark.parametrize("key", ["terraform.tfstate", "terraform.tfstate.tflock"])
def test_a_profile_protecting_the_proofs_own_state_or_lock_is_refused(key: str) -> None:
    expected = (
        "the proof's own disposable state p/<run-id>/disposable-tofu/<phase>/terraform.tfstate "
        f"would be protected (key matches the protected state key {key})"
    )
    assert scratch_prefix_problem("p/", protected_with(keys=(key,))) == expected
    assert own_state_problem("p/", protected_with(keys=(key,))) == expected
    assert own_state_problem("p/", protected_with(keys=("other.tfstate",))) is None


def test_a_key_is_percent_decoded_until_it_no_longer_changes_five_times_at_most() -> None:
    assert fully_decoded("a%2Fb") == "a/b"
    assert fully_decoded("%252E%252E") == ".."
    six_times = "%25252525252E"  # '.' encoded six times: five decodings leave '%2E'
    assert fully_decoded(six_times) == "%2E"
    assert fully_decoded("plain") == "plain"


@pytest.mark.parametrize(
    ("bucket", "key", "reason"),
    [
        ("tofu-state", None, "bucket tofu-state is protected"),
        ("TOFU-STATE", "x", "bucket tofu-state is protected"),
        ("tofu-stаte", None, "bucket name is not ASCII (a look-alike of a real bucket?)"),
        ("spokes", "darkmap/terraform.tfstate", "object is listed in protected_state_denials"),
        (
            "any",
            "attic/terraform.tfstate",
            "key matches the protected state key attic/terraform.tfstate",
        ),
        (
            "any",
            "x/attic/terraform.tfstate",
            "key matches the protected state key attic/terraform.tfstate",
        ),
        (
            "any",
            "attic/terraform.tfstate.tflock",
            "key matches the protected state key attic/terraform.tfstate",
        ),
        ("any", "teams/a/x", "key is under the protected key prefix teams/"),
        ("any", "x/teams/a", "key is under the protected key prefix teams/"),
        ("any", "steams/a", None),
        ("any", "x/teams", "key is under the protected key prefix teams/"),
        ("any", "attic/other.tfstate", None),
        ("spokes", None, None),
        (
            None,
            "attic/terraform.tfstate",
            "key matches the protected state key attic/terraform.tfstate",
        ),
    ],
)
def test_why_a_target_is_protected(bucket: str | None, key: str | None, reason: str | None) -> None:
    targets = ProtectedTargets.of(
        GLORIOUS.model_copy(
            update={"protected": GLORIOUS.protected.model_copy(update={"key_prefixes": ["teams/"]})}
        ),
        ["deny spokes/darkmap/terraform.tfstate"],
    )
    assert targets.reason(bucket, key) == reason


def test_the_targets_are_the_profiles_and_every_deny_of_the_package() -> None:
    targets = ProtectedTargets.of(
        GLORIOUS,
        [
            "deny vault bucket",
            "deny Not_A_Bucket",
            "not a denial",
            "deny spokes/a.tfstate",
            "deny spokes/b.tfstate",
        ],
        ["allow everything", "deny archive bucket", "  DENY protected stack prefixes"],
    )
    assert targets.buckets == frozenset({"tofu-state", "vault", "archive"})
    assert targets.keys == (*GLORIOUS.protected.state_keys, "spokes/a.tfstate", "spokes/b.tfstate")
    assert targets.objects == frozenset({("spokes", "a.tfstate"), ("spokes", "b.tfstate")})
    assert targets.prefixes == tuple(GLORIOUS.protected.key_prefixes)
    assert not targets.empty
    assert denial_lines(["allow x", "deny y", " Deny z", "denying w"]) == ["deny y", " Deny z"]


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("a/b", True), ("a b/c", True), ("", False), ("é", False), ("a\tb", False), ("a%2Fb", False),
        ("a\\b", False), ("/a", False), ("a/", False), ("a//b", False), ("./a", False), ("a/..", False),
    ],
)  # fmt: skip
def test_a_canonical_key_is_written_as_it_is_read(key: str, canonical: bool) -> None:
    assert is_canonical_key(key) is canonical


def test_small_words_of_the_scope() -> None:
    assert Target("ListBuckets", None).label == "(no bucket)"
    assert parse_denial("deny vault/a.tfstateX") == Denial(
        keys=("vault/a.tfstateX",), objects=frozenset({("vault", "a.tfstatex")})
    )
    assert endpoint_origin_problem("https://tofu-state.example.test") is None  # no targets given
    assert scratch_prefix_problem("X/", ProtectedTargets.of(GLORIOUS)) is None
    deep = protected_with(keys=("team/x/terraform.tfstate",))
    assert scratch_prefix_problem("team/", deep) == (
        "shares its first folder with the protected state key team/x/terraform.tfstate"
    )
