"""The request as botocore built it, judged rule by rule with the words of each refusal: the
URL (scheme, host, port, path), the copy-source header, and the hooks around the send (a
request never judged, a replay, a redirect). The wire tests show the same at a server."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.s3.client import RequestLog
from pytest_hastate.s3.hooks import GuardHooks, _query_names, _text
from pytest_hastate.scope.requests import Target, copy_source_of
from tests.s3.test_guard_wire import RUN, SCOPE

ENDPOINT = "https://s3.example.test"
BUCKET = SCOPE.bucket
KEY = RUN + "k"
GET = Target("GetObject", BUCKET, KEY)


def refused(operation: str, target: str, reason: str) -> Any:
    return pytest.raises(
        GuardRefusal, match=re.escape(f"scratch guard refused {operation} on {target}: {reason}")
    )


def check(url: str, t: Target = GET, endpoint: str = ENDPOINT, header: str | None = None) -> None:
    SCOPE.check_request(t, endpoint=endpoint, url=url, copy_source_header=header)


# --- where the URL goes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        (ENDPOINT, f"{ENDPOINT}/{BUCKET}/{KEY}"),
        (ENDPOINT, f"https://s3.example.test:443/{BUCKET}/{KEY}"),  # the default port, spelled
        ("https://s3.example.test:443", f"{ENDPOINT}/{BUCKET}/{KEY}"),
        ("http://s3.example.test", f"http://s3.example.test:80/{BUCKET}/{KEY}"),
        ("https://s3.example.test:8443", f"https://s3.example.test:8443/{BUCKET}/{KEY}"),
        (ENDPOINT, f"https://{BUCKET}.s3.example.test/{KEY}"),  # virtual-hosted style
    ],
)
def test_a_request_to_the_configured_endpoint_passes(endpoint: str, url: str) -> None:
    check(url, endpoint=endpoint)


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        (ENDPOINT, f"http://s3.example.test/{BUCKET}/{KEY}"),
        (ENDPOINT, f"https://s3.example.test:80/{BUCKET}/{KEY}"),
        (ENDPOINT, f"https://s3.example.test:8443/{BUCKET}/{KEY}"),
        ("http://s3.example.test", f"http://s3.example.test:443/{BUCKET}/{KEY}"),
        ("https://s3.example.test:8443", f"{ENDPOINT}/{BUCKET}/{KEY}"),
    ],
)
def test_another_scheme_or_port_is_refused(endpoint: str, url: str) -> None:
    with refused("GetObject", url, "request URL is not the configured endpoint"):
        check(url, endpoint=endpoint)


def test_another_host_is_refused() -> None:
    url = f"https://elsewhere.test/{BUCKET}/{KEY}"
    with refused("GetObject", url, "request host elsewhere.test is not the configured endpoint's"):
        check(url)
    virtual = f"https://other-bucket.s3.example.test/{KEY}"
    with refused(
        "GetObject",
        virtual,
        "request host other-bucket.s3.example.test is not the configured endpoint's",
    ):
        check(virtual)


def test_another_bucket_or_key_in_the_path_is_refused() -> None:
    url = f"{ENDPOINT}/other-bucket/{KEY}"
    with refused("GetObject", url, f"request addresses bucket 'other-bucket', not '{BUCKET}'"):
        check(url)
    url = f"{ENDPOINT}/{BUCKET}/{RUN}other"
    with refused("GetObject", url, "request path carries another key than the parameters"):
        check(url)
    listing = Target("ListObjectsV2", BUCKET, prefixes=(RUN,), listing_prefix=RUN)
    with refused("ListObjectsV2", f"{ENDPOINT}/{BUCKET}/x", "request path carries another key"):
        check(f"{ENDPOINT}/{BUCKET}/x", listing)
    check(f"{ENDPOINT}/{BUCKET}", listing)
    check(f"{ENDPOINT}/{BUCKET}/", listing)


def test_the_copy_source_header_must_be_the_parameters() -> None:
    copy = Target("CopyObject", BUCKET, KEY, copy_source=(BUCKET, RUN + "src"))
    url = f"{ENDPOINT}/{BUCKET}/{KEY}"
    check(url, copy, header=f"/{BUCKET}/{RUN}src?versionId=abc")
    check(url, copy, header=f"{BUCKET}/{RUN}src")
    other = f"{BUCKET}/{RUN}other"
    with refused("CopyObject", other, "copy-source header differs from CopySource"):
        check(url, copy, header=other)
    with refused("GetObject", other, "copy-source header differs from CopySource"):
        check(url, header=other)  # a header the parameters never asked for
    with refused("CopyObject", f"{other}?acl", "copy source with a query other than versionId"):
        check(url, copy, header=f"{other}?acl")
    assert copy_source_of({"Bucket": "b", "Key": "k"}, "CopyObject") == ("b", "k")


def test_the_url_check_judges_the_target_too() -> None:
    """Without the boundary probes' permission, a read-only HEAD of a protected key is refused
    here as well (the last check before signing repeats the target's)."""
    head = Target("HeadObject", "tofu-state", "attic/terraform.tfstate")
    with pytest.raises(GuardRefusal, match="protected"):
        check(f"{ENDPOINT}/tofu-state/attic/terraform.tfstate", head)
    SCOPE.check_request(
        head, endpoint=ENDPOINT, url=f"{ENDPOINT}/tofu-state/attic/terraform.tfstate",
        copy_source_header=None, boundary_probe=True,
    )  # fmt: skip


# --- the hooks around the send ----------------------------------------------------------------


def hooks(log: RequestLog | None = None) -> GuardHooks:
    return GuardHooks(SCOPE, ENDPOINT, False, log)


def request(method: str = "GET", url: str = f"{ENDPOINT}/{BUCKET}/{KEY}", **context: Any) -> Any:
    return SimpleNamespace(method=method, url=url, headers={}, body=b"", context=context)


def test_a_send_never_judged_or_sent_twice_is_refused() -> None:
    guard = hooks()
    unjudged = request()
    never = (
        "the request changed after it was judged: it was never judged (or was already sent once)"
    )
    with refused("send", unjudged.url, never):
        guard.check_sent(request=unjudged)
    judged = request(hastate_guarded=GET, hastate_method="GET", hastate_query=frozenset())
    guard.check_request(judged, "GetObject")
    guard.check_sent(request=judged)
    with refused("send", judged.url, never):
        guard.check_sent(request=judged)  # a replay of the one judged request


def test_a_request_the_parameters_hook_never_saw_is_refused_before_signing() -> None:
    built = request()
    with refused("GetObject", built.url, "request not judged by the guard"):
        hooks().check_request(built, "GetObject")


def test_the_parameters_hook_records_what_it_let_through() -> None:
    log = RequestLog()
    model = SimpleNamespace(
        name="GetObject", http={"method": "GET", "requestUri": "/{Bucket}/{Key+}?x-id=GetObject"},
        input_shape=None,
    )  # fmt: skip
    context: dict[str, Any] = {}
    hooks(log).check_params(params={"Bucket": BUCKET, "Key": KEY}, model=model, context=context)
    assert log.entries == [(ENDPOINT, "GetObject", BUCKET, KEY)]
    assert context == {
        "hastate_guarded": GET, "hastate_method": "GET", "hastate_query": frozenset({"x-id"}),
    }  # fmt: skip


def test_the_query_an_operation_builds_is_its_uri_and_query_string_members() -> None:
    member = SimpleNamespace(serialization={"location": "querystring", "name": "versionId"})
    unnamed = SimpleNamespace(serialization={"location": "querystring"})
    header = SimpleNamespace(serialization={"location": "header", "name": "x-amz-acl"})
    shape = SimpleNamespace(members={"VersionId": member, "Plain": unnamed, "ACL": header})
    model = SimpleNamespace(http={"requestUri": "/{Bucket}?versions&a=1"}, input_shape=shape)
    assert _query_names(model) == frozenset({"versions", "a", "versionId", "Plain"})
    bare = SimpleNamespace(http={}, input_shape=None)
    assert _query_names(bare) == frozenset()
    assert _text(b"caf\xe9") == "café"
    assert _text("x") == "x"
    assert _text(None) is None


@pytest.mark.parametrize("status", [300, 301, 399])
def test_every_3xx_is_a_refused_redirect_naming_where_it_pointed(status: int) -> None:
    http = SimpleNamespace(status_code=status, headers={"Location": "https://elsewhere.test/x"})
    operation = SimpleNamespace(name="GetObject")
    context = {"context": {"hastate_guarded": GET}}
    with refused(
        "GetObject", GET.label,
        f"the endpoint answered a redirect ({status}) to https://elsewhere.test/x: not followed; "
        "every request goes only to the configured endpoint",
    ):  # fmt: skip
        hooks().refuse_redirect(response=(http, {}), operation=operation, request_dict=context)


def test_a_redirect_without_location_names_the_endpoint_the_error_gives() -> None:
    http = SimpleNamespace(status_code=301, headers={})
    operation = SimpleNamespace(name="HeadBucket")
    parsed = {"Error": {"Endpoint": "bucket.elsewhere.test"}}
    with refused(
        "HeadBucket", ENDPOINT, "the endpoint answered a redirect (301) to bucket.elsewhere.test:"
    ):
        hooks().refuse_redirect(response=(http, parsed), operation=operation)
    with refused("HeadBucket", ENDPOINT, "the endpoint answered a redirect (301) to ?:"):
        hooks().refuse_redirect(response=(http, {}), operation=operation, request_dict={})


@pytest.mark.parametrize("status", [200, 299, 400, 404, 503])
def test_other_answers_are_not_redirects(status: int) -> None:
    http = SimpleNamespace(status_code=status, headers={"Location": "https://elsewhere.test/x"})
    operation = SimpleNamespace(name="GetObject")
    hooks().refuse_redirect(response=(http, {}), operation=operation)  # no refusal raised
    hooks().refuse_redirect(response=None, operation=operation)


def judged_request(**changes: Any) -> Any:
    built = request(hastate_guarded=GET, hastate_method="GET", hastate_query=frozenset())
    for name, value in changes.items():
        setattr(built, name, value)
    return built


def test_the_built_request_is_refused_in_the_operations_name_for_each_rule() -> None:
    guard = hooks()
    with refused("GetObject", GET.label, "method PUT is not GetObject's (GET)"):
        guard.check_request(judged_request(method="PUT"), "GetObject")
    url = f"{ENDPOINT}/{BUCKET}/{KEY}?acl"
    with refused("GetObject", GET.label, "query parameter 'acl' is not one the operation builds"):
        guard.check_request(judged_request(url=url), "GetObject")
    no_query = request(hastate_guarded=GET, hastate_method="GET")  # an older hook's context
    no_query.url = url
    with refused("GetObject", GET.label, "query parameter 'acl'"):
        guard.check_request(no_query, "GetObject")
    with refused(
        "GetObject",
        GET.label,
        "Host header 'elsewhere.test' differs from the URL's 's3.example.test'",
    ):
        guard.check_request(judged_request(headers={"Host": "elsewhere.test"}), "GetObject")
    bare = SimpleNamespace(method="GET", url=f"{ENDPOINT}/{BUCKET}/{KEY}", headers={}, body=b"")
    with refused("GetObject", bare.url, "request not judged by the guard"):
        guard.check_request(bare, "GetObject")  # no context at all


def test_a_delete_whose_body_names_other_keys_is_refused() -> None:
    delete = Target("DeleteObjects", BUCKET, keys=(KEY,))
    body = f"<Delete><Object><Key>{RUN}other</Key></Object></Delete>".encode()
    built = request(
        "POST", f"{ENDPOINT}/{BUCKET}?delete", hastate_guarded=delete, hastate_method="POST",
        hastate_query=frozenset({"delete"}),
    )  # fmt: skip
    built.body = body
    with refused("DeleteObjects", BUCKET, "the body names other keys than the judged parameters"):
        hooks().check_request(built, "DeleteObjects")


def test_a_presigned_post_is_refused_in_its_own_name() -> None:
    post = request(hastate_guarded=GET, hastate_method="GET", hastate_query=frozenset())
    post.context["s3-presign-post-fields"] = {"key": KEY}
    with refused(
        "PresignedPost", GET.label,
        "the proof makes no presigned POSTs: a form's policy lets the uploader choose what is sent",
    ):  # fmt: skip
        hooks().check_request(post, "PutObject")


def test_a_query_member_with_an_equals_sign_in_its_value_is_named_by_its_name() -> None:
    model = SimpleNamespace(http={"requestUri": "/{Bucket}?list-type=2=x"}, input_shape=None)
    assert _query_names(model) == frozenset({"list-type"})


def test_a_delete_whose_items_carry_no_etag_is_not_conditional() -> None:
    model = SimpleNamespace(name="DeleteObjects", http={"method": "POST"}, input_shape=None)
    objects: list[object] = [{"Key": KEY}, "not an item"]
    params = {"Bucket": BUCKET, "Delete": {"Objects": objects}}
    guard, context = GuardHooks(SCOPE, ENDPOINT, False, None), dict[str, Any]()
    guard.check_params(params=params, model=model, context=context)  # botocore validates the rest
    assert "hastate_send_once" not in context
    objects.append({"Key": KEY, "ETag": '"e"'})
    guard.check_params(params=params, model=model, context=context)
    assert context["hastate_send_once"] == "Delete.Objects[].ETag"
