"""The request as sent, bound to the one judged (``scope.sent``): each rule on its own, with the
words it refuses in. The wire tests (test_guard_wire.py) show the same rules at a server."""

from __future__ import annotations

import hashlib
import io

import pytest

from pytest_hastate.scope.sent import (
    PRESIGNABLE,
    SentRequest,
    body_digest,
    deleted_keys,
    framing_problem,
    host_header_problem,
    method_problem,
    presign_problem,
    query_problem,
    wire_bytes,
)
from tests.support.helpers import ShortBytes

URL = "https://s3.example.test/bucket/key?versionId=1"
DELETE_BODY = (
    b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object>'
    b"<Object><Key>b/c</Key><VersionId>1</VersionId></Object><Object><Key></Key></Object>"
    b"</Delete>"
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the body ---------------------------------------------------------------------------------


def test_a_body_is_known_by_the_digest_of_its_bytes() -> None:
    assert body_digest(None) == body_digest(b"") == body_digest("") == ""
    assert body_digest(b"abc") == body_digest(bytearray(b"abc")) == sha(b"abc")
    assert body_digest(memoryview(b"abc")) == sha(b"abc")
    assert body_digest("é") == sha("é".encode())
    assert body_digest(io.BytesIO(b"abc")) == sha(b"abc")
    assert body_digest(io.StringIO("abc")) == sha(b"abc")  # read back as text, encoded


def test_a_body_that_cannot_be_read_without_consuming_it_is_known_by_its_identity() -> None:
    class Stream:
        getvalue = None  # not callable: not a buffer

    stream = Stream()
    assert body_digest(stream) == f"object {id(stream)}"
    assert body_digest(stream) != body_digest(Stream())


def test_the_keys_a_delete_body_names_are_read_as_the_server_reads_them() -> None:
    expected = ("a", "b/c", "")
    assert deleted_keys(DELETE_BODY) == expected
    assert deleted_keys(DELETE_BODY.decode()) == expected
    assert deleted_keys(io.BytesIO(DELETE_BODY)) == expected
    assert deleted_keys(b"<Delete><Object><Key>x</Key></Object></Delete>") == ("x",)  # no ns


@pytest.mark.parametrize("body", [None, object(), b"<Delete><Object>", b"", io.BytesIO(b"<x")])
def test_a_delete_body_that_cannot_be_read_names_nothing(body: object) -> None:
    assert deleted_keys(body) is None


# --- the request, judged and sent -------------------------------------------------------------


def judged(**changes: object) -> SentRequest:
    fields: dict[str, object] = {
        "method": "put",
        "url": URL,
        "headers": {"Content-Type": "text/plain", "x-amz-acl": b"private"},
        "body": b"state",
    }
    fields.update(changes)
    return SentRequest.of(**fields)  # type: ignore[arg-type]


def test_a_sent_request_keeps_what_decides_where_it_goes_and_what_it_does() -> None:
    request = judged(
        headers={"Content-Type": "text/plain", "X-Amz-Acl": b"private", "Authorization": "sig"}
    )
    assert request == SentRequest(
        method="PUT", url=URL,
        headers=(("content-type", "text/plain"), ("x-amz-acl", "private")), body=sha(b"state"),
    )  # fmt: skip


def test_the_signers_own_headers_may_change_after_judgement() -> None:
    signed = {
        "Content-Type": "text/plain", "x-amz-acl": "private", "Authorization": "AWS4 sig",
        "X-Amz-Date": "20261206T000000Z", "x-amz-content-sha256": "UNSIGNED",
        "X-Amz-Security-Token": "t", "amz-sdk-invocation-id": "1", "amz-sdk-request": "attempt=2",
        "User-Agent": "botocore", "Content-Length": "5",
    }  # fmt: skip
    assert judged(headers=signed).difference(judged()) is None


@pytest.mark.parametrize(
    ("changes", "difference"),
    [
        ({"method": "DELETE"}, "method DELETE, judged PUT"),
        ({"url": URL + "&acl"}, f"URL {URL}&acl, judged {URL}"),
        (
            {"headers": {"Content-Type": "text/plain", "x-amz-acl": "public-read"}},
            "header x-amz-acl differs",
        ),
        ({"headers": {"Content-Type": "text/plain"}}, "header x-amz-acl differs"),
        (
            {"headers": {"Content-Type": "text/plain", "x-amz-acl": "private", "Host": "h"}},
            "header host differs",
        ),
        ({"body": b"other"}, "the body differs"),
    ],
)
def test_anything_else_that_changed_after_judgement_is_named(
    changes: dict[str, object], difference: str
) -> None:
    assert judged(**changes).difference(judged()) == difference


def test_a_request_never_judged_is_named_so() -> None:
    assert judged().difference(None) == "it was never judged (or was already sent once)"


# --- method, presigning, query, Host ----------------------------------------------------------


def test_the_method_must_be_the_operations_own() -> None:
    assert method_problem("get", "GET", "GetObject") is None
    assert method_problem("PUT", None, "GetObject") is None  # no model method: nothing to bind
    assert method_problem("put", "get", "GetObject") == (
        "method PUT is not GetObject's (GET): a signature binds the method it is made for"
    )


def test_no_operation_may_be_presigned() -> None:
    assert frozenset() == PRESIGNABLE
    for operation in ("GetObject", "HeadObject", "PutObject", "DeleteObject"):
        assert (
            presign_problem(operation) == f"no presigned URL for {operation}: the proof makes none"
        )


def test_the_query_carries_only_what_the_operation_builds() -> None:
    allowed = frozenset({"versionId", "uploads"})
    assert query_problem(URL, allowed) is None
    assert query_problem(URL + "&uploads", allowed) is None  # a blank value is a parameter too
    assert (
        query_problem(URL + "&acl", allowed)
        == "query parameter 'acl' is not one the operation builds"
    )
    assert query_problem("https://s3.example.test/b/k?acl=", allowed) == (
        "query parameter 'acl' is not one the operation builds"
    )


def test_a_host_header_must_be_the_urls_own() -> None:
    assert host_header_problem(URL, {"Host": "S3.Example.Test"}) is None
    assert host_header_problem(URL, {"Content-Type": "x"}) is None
    assert host_header_problem(URL, {"host": b"elsewhere.test"}) == (
        "Host header 'elsewhere.test' differs from the URL's 's3.example.test'"
    )
    assert host_header_problem("https://S3.example.test:8443/b", {"HOST": "s3.example.test"}) == (
        "Host header 's3.example.test' differs from the URL's 's3.example.test:8443'"
    )


@pytest.mark.parametrize(
    ("body", "length"),
    [(None, 0), (b"abc", 3), ("é", 2), (bytearray(b"ab"), 2)],
)
def test_a_body_s_length_is_what_it_sends(body: object, length: int) -> None:
    sent, problem = wire_bytes(body)
    assert problem is None
    assert len(sent or b"") == length


def test_a_stream_s_length_is_from_where_it_stands() -> None:
    stream = io.BytesIO(b"0123456789")
    stream.seek(4)
    sent, _ = wire_bytes(stream)
    assert sent is not None
    assert len(sent) == 6
    assert wire_bytes(iter([b"x"]))[0] is None  # no way to know without reading it


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Length": "3"}, b"abc"),
        ({"content-length": "0"}, None),
        ({"Transfer-Encoding": b"chunked"}, b"abc"),
        ({}, b"abc"),
    ],
)
def test_a_request_framed_as_its_body_is_not_refused(
    headers: dict[str, object], body: bytes | None
) -> None:
    assert framing_problem(headers, body) is None


@pytest.mark.parametrize(
    ("headers", "body", "named"),
    [
        (
            {"Content-Length": "1"},
            b"x PUT /tofu-state/k HTTP/1.1",
            "Content-Length 1 is not its body's length (28)",
        ),
        ({"Content-Length": "1"}, None, "(0)"),  # more than the body holds
        ({"Content-Length": "3", "content-length": "3"}, b"abc", "Content-Length 3, 3"),
        ({"Content-Length": "+3"}, b"abc", "Content-Length +3"),
        ({"Content-Length": "³"}, b"abc", "Content-Length ³"),  # a digit int() cannot read
        ({"Content-Length": "3", "Transfer-Encoding": "chunked"}, b"abc", "with Content-Length 3"),
        ({"Transfer-Encoding": "gzip, chunked"}, b"abc", "is not chunked"),
    ],
)
def test_a_request_a_server_could_read_as_more_than_one_is_refused(
    headers: dict[str, object], body: bytes | None, named: str
) -> None:
    problem = framing_problem(headers, body)
    assert problem is not None
    assert named in problem


def test_the_bytes_a_body_sends_are_read_by_the_guard_itself() -> None:
    assert wire_bytes(None) == (None, None)
    assert wire_bytes(ShortBytes(b"abc")) == (b"abc", None)  # not what it reports
    assert type(wire_bytes(ShortBytes(b"abc"))[0]) is bytes
    assert wire_bytes(memoryview(b"ab")) == (b"ab", None)
    assert wire_bytes("é") == ("é".encode(), None)
    stream = io.BytesIO(b"0123456789")
    stream.seek(4)
    assert wire_bytes(stream) == (b"456789", None)
    assert stream.tell() == 0  # rewound, as botocore rewinds a stream before a retry


@pytest.mark.parametrize(
    ("body", "named"),
    [(io.StringIO("text"), "yields str"), (iter([b"x"]), "cannot read (list_iterator)")],
)
def test_a_body_whose_bytes_the_guard_cannot_read_is_named(body: object, named: str) -> None:
    sent, problem = wire_bytes(body)
    assert sent is None
    assert problem is not None
    assert named in problem
