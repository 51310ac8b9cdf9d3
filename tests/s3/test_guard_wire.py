"""The guard judged by what reaches the wire: a recording HTTPS server behind the real client
factory. A property test walks every S3 operation of botocore's service model that has a
Bucket, Key, CopySource or Prefix member and feeds it generated hostile values; a table of
hand-written cases covers each class of route around the guard."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
import socket
import ssl
import string
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
import pytest
from botocore import xform_name
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.s3.client import S3Access, client, never_sent, retry_rule
from pytest_hastate.scope.names import segment_problem
from pytest_hastate.scope.requests import OPERATIONS as PROOF_SENDS
from pytest_hastate.scope.requests import Target
from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.scope.targets import ProtectedTargets, parse_denial
from tests.support.engines import RecordingS3Server, make_test_ca
from tests.support.helpers import GLORIOUS, ShortBytes

SCOPE = ScratchScope(
    bucket="darkmap-ha-state-proof",
    prefix=".gloriousflywheel/ha-state-candidate/",
    run_id="20261127t120000z-abcdef12",
    protected=ProtectedTargets.of(
        GLORIOUS,
        [
            "deny tofu-state bucket",
            "deny tofu-state/darkmap-tinyland-dev/terraform.tfstate",
            "deny spokes/darkmap/terraform.tfstate",
            "deny secrets-bucket and its keys",
        ],
    ),
)
RUN = SCOPE.run_prefix
IN_SCOPE_BUCKETS = (SCOPE.bucket, SCOPE.probe_bucket)
GENERATED_REQUESTS = 1_000 if os.environ.get("MUTANT_UNDER_TEST") else 10_000
"""Generated requests per run (derandomised, so every CI run sends the same ones); a tenth of
them once per mutant under ``just mutate`` (mutmut names the mutant in ``MUTANT_UNDER_TEST``)."""


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries here are counted, not timed: the pause before each is at most 10 ms (the retry
    rule's jitter is up to 1 s, then 2 s, by default)."""
    monkeypatch.setattr("pytest_hastate.s3.client.MAX_BACKOFF", 0.01)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingS3Server]:
    _ca, cert, key = make_test_ca(tmp_path_factory.mktemp("recording-ca"))
    with RecordingS3Server(cert, key) as server:
        server.ca = _ca  # type: ignore[attr-defined]
        yield server


def guarded(
    server: RecordingS3Server, *, virtual: bool = False, probes: bool = False, attempts: int = 1,
    checksum_when_required: bool = False,
) -> Any:  # fmt: skip
    access = S3Access(
        endpoints=(server.endpoint,), region="us-east-1", access_key="AKIDEXAMPLE",
        secret_key="x" * 20, verify=str(server.ca), path_style=not virtual,  # type: ignore[attr-defined]
        checksum_when_required=checksum_when_required,
    )  # fmt: skip
    return client(access, SCOPE, boundary_probes=probes, attempts=attempts)


# --- what may reach the wire -------------------------------------------------------------------

_QUERY_KEYS = ("prefix", "start-after", "key-marker", "marker")


def wire_problem(request: dict[str, str], server: RecordingS3Server) -> str | None:
    """Why a request that reached the server is outside the scratch scope, or None."""
    if request["host"] != urlsplit(server.endpoint).netloc:
        return f"Host {request['host']}"
    parts = urlsplit(request["path"])
    path = unquote(parts.path)
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:  # ListBuckets: names of buckets, with paging and a name prefix at most
        listing = request["method"] == "GET" and set(parse_qs(parts.query, keep_blank_values=True)) <= {
            "prefix", "continuation-token", "max-buckets", "bucket-region", "x-id"
        }  # fmt: skip
        return None if listing else f"no bucket: {request['method']} {request['path']}"
    if bucket not in IN_SCOPE_BUCKETS:
        return f"bucket {bucket!r}"
    names = [key] if key else []
    query = parse_qs(parts.query, keep_blank_values=True)
    names += [v for k in _QUERY_KEYS for v in query.get(k, []) if v]
    if request["method"] == "POST" and "delete" in query:
        names += [unquote(k) for k in re.findall(r"<Key>(.*?)</Key>", request["body"])]
    for name in names:
        if segment_problem(name, trailing_slash=True) or SCOPE.protected.reason(bucket, name):
            return f"key {name!r}"
    source = request["copy_source"]
    if source:
        source_bucket, _, source_key = unquote(source.split("?")[0]).lstrip("/").partition("/")
        if source_bucket not in IN_SCOPE_BUCKETS or not SCOPE.in_run(source_key):
            return f"copy source {source!r}"
    mutating = request["method"] in ("PUT", "POST", "DELETE")
    if mutating and key and not SCOPE.in_run(key):
        return f"write to {key!r}"
    if mutating and request["method"] == "POST" and "delete" in query:
        keys = [unquote(k) for k in re.findall(r"<Key>(.*?)</Key>", request["body"])]
        if not all(SCOPE.in_run(k) for k in keys):
            return f"batch delete of {keys}"
    if (
        mutating
        and not key
        and not (
            (request["method"] == "PUT" and set(query) <= {"versioning"})
            or (request["method"] == "DELETE" and bucket == SCOPE.probe_bucket and not query)
            or (request["method"] == "POST" and "delete" in query)
        )
    ):
        return f"bucket-level {request['method']} {parts.query or '(create)'}"
    return None


# --- generated hostile values --------------------------------------------------------------------

_LOOKALIKE_BUCKETS = [
    "tofu-state", "TOFU-STATE", "tofu-state.", "tоfu-state", "ｔｏｆｕ-ｓｔａｔｅ", "tofu‐state",
    "secrets-bucket", "spokes", "other-bucket", "127.0.0.1", "xn--tofu-state",
    "arn:aws:s3:us-east-1:123456789012:accesspoint/ap", "ap-123456789012-s3alias",
    "arn:aws:s3-outposts:us-east-1:123456789012:outpost/op/bucket/tofu-state",
    f"{SCOPE.bucket}/../tofu-state", f"{SCOPE.bucket}?versionId=1", f"{SCOPE.bucket}.",
    SCOPE.bucket.upper(), f"{SCOPE.bucket}-probe-00000000",
]  # fmt: skip


def mostly(
    in_scope: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """In-scope values six times in ten, so both sides of the guard are exercised."""
    return st.integers(0, 9).flatmap(lambda n: in_scope if n < 6 else hostile)


buckets = mostly(
    st.sampled_from([SCOPE.bucket, SCOPE.probe_bucket]),
    st.one_of(
        st.sampled_from(_LOOKALIKE_BUCKETS),
        st.text(alphabet=string.ascii_lowercase + "-.:/", min_size=1, max_size=20),
    ),
)
segment = st.text(alphabet=string.ascii_lowercase + string.digits + "-_.", min_size=1, max_size=8)
_PROTECTED = [
    *tuple(GLORIOUS.protected.state_keys),
    "darkmap-tinyland-dev/terraform.tfstate",
    "darkmap/x",
]
_TRICKS = ["..", ".", "", "%2e%2e", "%252e%252e", "%2E", "..%2f", "%2f", "\\..", "．．"]
_run_key = st.builds(
    lambda parts: RUN + "/".join(parts),
    st.lists(segment.filter(lambda s: s not in (".", "..")), min_size=1, max_size=3),
)
keys = mostly(
    _run_key,
    st.one_of(
        st.builds(
            lambda tricks, target: RUN + "/".join([*tricks, target]),
            st.lists(st.sampled_from(_TRICKS), min_size=1, max_size=4),
            st.sampled_from(_PROTECTED),
        ),
        st.sampled_from(_PROTECTED),
        st.builds(lambda k: k.upper(), st.sampled_from(_PROTECTED)),
        st.builds(lambda k: "/" + RUN + k, segment),
        st.builds(lambda k: RUN + k + "/", segment),
        st.text(max_size=30),
    ),
)
prefixes = st.one_of(st.just(""), st.just(RUN), keys)
copy_sources = st.one_of(
    st.builds(lambda b, k: {"Bucket": b, "Key": k}, buckets, keys),
    st.builds(lambda b, k, v: {"Bucket": b, "Key": k, "VersionId": v}, buckets, keys, segment),
    st.builds(lambda b, k: f"{b}/{k}", buckets, keys),
    st.builds(lambda b: f"{b}?versionId=1", buckets),
    st.builds(lambda b, k: f"{b}/{k}?versionId=1&x=../tofu-state", buckets, keys),
)
HOSTILE = {
    "Bucket": buckets,
    "Key": keys,
    "CopySource": copy_sources,
    "Prefix": prefixes,
    "StartAfter": prefixes,
    "KeyMarker": prefixes,
    "Marker": prefixes,
}

_MODEL = botocore.session.get_session().get_service_model("s3")


def _members(operation: str) -> dict[str, Any]:
    shape = _MODEL.operation_model(operation).input_shape
    return dict(shape.members) if shape is not None else {}


OPERATIONS = sorted(
    op
    for op in _MODEL.operation_names
    if set(_members(op)) & {"Bucket", "Key", "CopySource", "Prefix"}
)


def _filler(shape: Any, depth: int = 0) -> Any:
    """A minimal valid value for a required member that is not routed (not hostile)."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 3:
            return {}
        return {
            n: _filler(m, depth + 1)
            for n, m in shape.members.items()
            if n in shape.required_members
        }
    if kind == "list":
        return []
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return 1
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"x"
    if kind == "timestamp":
        return datetime(2026, 1, 1, tzinfo=UTC)
    enum = shape.enum if hasattr(shape, "enum") else []
    return enum[0] if enum else "x"


IN_SCOPE = {
    "Bucket": st.just(SCOPE.bucket),
    "Key": _run_key,
    "CopySource": st.builds(lambda k: {"Bucket": SCOPE.bucket, "Key": k}, _run_key),
    "Prefix": st.just(RUN),
    "StartAfter": _run_key,
    "KeyMarker": _run_key,
    "Marker": _run_key,
}
"""Values of a request the proof itself would send: this run's keys in the scratch bucket."""
PROOF_OPERATIONS = sorted(set(OPERATIONS) & (PROOF_SENDS - {"CreateBucket", "DeleteBucket"}))


def _params(
    operation: str, data: st.DataObject, values: dict[str, st.SearchStrategy[Any]]
) -> dict[str, Any]:
    members = _members(operation)
    shape = _MODEL.operation_model(operation).input_shape
    assert shape is not None
    required = set(shape.required_members)
    params: dict[str, Any] = {}
    for name, shape in members.items():
        if name in values:
            if name in required or data.draw(st.booleans(), label=f"{name}?"):
                params[name] = data.draw(values[name], label=name)
        elif name in required:
            params[name] = _filler(shape)
    if operation == "DeleteObjects":
        params["Delete"] = {
            "Objects": [
                {"Key": k} for k in data.draw(st.lists(values["Key"], min_size=1, max_size=3))
            ]
        }
    return params


def test_no_generated_request_leaves_the_scratch_scope(recording: RecordingS3Server) -> None:
    """Two of three generated requests are ones the proof would send (this run's keys, the
    proof's operations), one is hostile (look-alike buckets, protected keys in disguise, any
    operation). Every request is either refused by the guard (a ``GuardRefusal`` naming its
    operation and a reason, nothing sent) or sent, and everything sent stays in the scope; at
    least half are sent, so a guard that refuses everything fails here."""
    s3 = guarded(recording)
    counts: Counter[str] = Counter()

    @settings(
        max_examples=GENERATED_REQUESTS, derandomize=True, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(st.sampled_from(["proof", "proof", "hostile"]), st.data())
    def one(kind: str, data: st.DataObject) -> None:
        proof = kind == "proof"
        operation = data.draw(st.sampled_from(PROOF_OPERATIONS if proof else OPERATIONS))
        params = _params(operation, data, IN_SCOPE if proof else HOSTILE)
        before = len(recording.requests)
        counts["requests"] += 1
        refusal: GuardRefusal | None = None
        try:
            getattr(s3, xform_name(operation))(**params)
        except GuardRefusal as refused:
            refusal = refused
        except ParamValidationError:
            counts["botocore refused"] += 1  # e.g. an empty key the guard let a read name
            assert len(recording.requests) == before
            return
        except (ClientError, BotoCoreError):
            pass  # sent: the recording server's empty answer does not parse for every operation
        if refusal is not None:
            counts["refused"] += 1
            assert refusal.operation == operation, (refusal.operation, operation)
            assert refusal.reason.strip(), refusal
            assert len(recording.requests) == before, f"refused, yet sent: {operation} {params}"
            return
        sent = recording.requests[before:]
        assert sent, f"neither refused nor sent: {operation} {params}"
        counts["sent"] += 1
        counts[f"sent {kind}"] += 1
        for request in sent:
            problem = wire_problem(request, recording)
            assert problem is None, f"{operation} {params} reached the wire out of scope: {problem}"

    one()
    assert counts["requests"] >= GENERATED_REQUESTS, counts
    assert counts["sent"] >= GENERATED_REQUESTS // 2, counts  # in-scope requests go out
    assert counts["refused"] >= GENERATED_REQUESTS // 5, counts  # hostile ones are refused
    assert counts["botocore refused"] <= GENERATED_REQUESTS // 50, counts


# --- a table of hand-written cases, one group per class ----------------------------------------

DOT_SEGMENTS = [
    ("get_object", {"Bucket": SCOPE.bucket, "Key": f"{RUN}../../../tofu-state/attic/terraform.tfstate"}),
    ("get_object", {"Bucket": SCOPE.bucket, "Key": f"{RUN}%2e%2e/%2e%2e/x"}),
    ("head_object", {"Bucket": SCOPE.bucket, "Key": f"{RUN}a//b"}),
    ("get_object", {"Bucket": SCOPE.bucket, "Key": f"{RUN}./a"}),
    ("put_object", {"Bucket": SCOPE.bucket, "Key": f"{RUN}a/%252e%252e/b", "Body": b"x"}),
    ("list_objects_v2", {"Bucket": SCOPE.bucket, "Prefix": f"{RUN}../"}),
    ("list_objects_v2", {"Bucket": SCOPE.bucket, "Prefix": RUN, "StartAfter": f"{RUN}..%2F.."}),
    ("list_object_versions", {"Bucket": SCOPE.bucket, "KeyMarker": "a/../../b"}),
    ("copy_object", {"Bucket": SCOPE.bucket, "Key": RUN + "c", "CopySource": {"Bucket": SCOPE.bucket, "Key": RUN + "../x"}}),
    ("copy_object", {"Bucket": SCOPE.bucket, "Key": RUN + "c", "CopySource": f"{SCOPE.bucket}/{RUN}%2e%2e/x"}),
]  # fmt: skip
NOT_PLAIN = [
    ("get_object", {"Bucket": "arn:aws:s3:us-east-1:123456789012:accesspoint/ap", "Key": RUN + "x"}),
    ("get_object", {"Bucket": "arn:aws:s3-outposts:us-east-1:1:outpost/op/accesspoint/ap", "Key": RUN + "x"}),
    ("list_objects_v2", {"Bucket": SCOPE.bucket.upper()}),
    ("list_objects_v2", {"Bucket": SCOPE.bucket + "."}),
    ("copy_object", {"Bucket": SCOPE.bucket, "Key": RUN + "c", "CopySource": f"{SCOPE.bucket}?versionId=1"}),
    ("copy_object", {"Bucket": SCOPE.bucket, "Key": RUN + "c", "CopySource": f"{SCOPE.bucket}/{RUN}a?versionId=1&x=1"}),
]  # fmt: skip
OUTSIDE = [
    ("get_object", {"Bucket": "other-bucket", "Key": RUN + "x"}),  # reads too: only the scratch scope
    ("list_objects_v2", {"Bucket": "tofu-state"}),
    ("head_object", {"Bucket": "secrets-bucket", "Key": "anything"}),
    ("get_object", {"Bucket": SCOPE.bucket, "Key": "spokes/darkmap/terraform.tfstate"}),
    ("list_objects_v2", {"Bucket": SCOPE.bucket, "Prefix": "attic/terraform.tfstate"}),
    ("copy_object", {"Bucket": SCOPE.bucket, "Key": RUN + "c", "CopySource": {"Bucket": "tofu-state", "Key": "attic/terraform.tfstate"}}),
    ("copy_object", {"Bucket": SCOPE.bucket, "Key": RUN + "c", "CopySource": {"Bucket": SCOPE.bucket, "Key": "other-run/x"}}),
    ("put_bucket_policy", {"Bucket": SCOPE.bucket, "Policy": "{}"}),
    # targets in headers and bodies: operations the proof never sends are refused outright
    ("rename_object", {"Bucket": SCOPE.bucket, "Key": RUN + "r", "RenameSource": "tofu-state/attic/terraform.tfstate"}),
    ("restore_object", {"Bucket": SCOPE.bucket, "Key": RUN + "x", "RestoreRequest": {"OutputLocation": {"S3": {"BucketName": "tofu-state", "Prefix": "attic/"}}}}),
    ("list_parts", {"Bucket": SCOPE.bucket, "Key": RUN + "x", "UploadId": "../../decoy/attic"}),
    ("get_object", {"Bucket": SCOPE.bucket, "Key": RUN + "x", "VersionId": "../../../../decoy/top.txt"}),
    ("list_objects_v2", {"Bucket": SCOPE.bucket, "Prefix": "attic/terraform"}),
    ("delete_bucket", {"Bucket": SCOPE.bucket}),
]  # fmt: skip


@pytest.mark.parametrize(("call", "params"), [*DOT_SEGMENTS, *NOT_PLAIN, *OUTSIDE])
def test_hand_written_routes_are_refused_before_the_wire(
    recording: RecordingS3Server, call: str, params: dict[str, Any]
) -> None:
    before = len(recording.requests)
    with pytest.raises(GuardRefusal) as refused:
        getattr(guarded(recording), call)(**params)
    assert len(recording.requests) == before
    # Refused by the judgement of the request's own operation, not by a later layer.
    operations = {xform_name(name): name for name in _MODEL.operation_names}
    assert refused.value.operation == operations[call], refused.value
    assert refused.value.reason.strip()


def test_allowed_requests_reach_the_wire_as_named(recording: RecordingS3Server) -> None:
    s3 = guarded(recording)
    before = len(recording.requests)
    s3.put_object(Bucket=SCOPE.bucket, Key=RUN + "a b/c", Body=b"x")
    s3.get_object(Bucket=SCOPE.bucket, Key=RUN + "a b/c")
    s3.list_objects_v2(Bucket=SCOPE.bucket, Prefix=RUN)
    s3.copy_object(
        Bucket=SCOPE.bucket,
        Key=RUN + "d",
        CopySource={"Bucket": SCOPE.bucket, "Key": RUN + "a b/c", "VersionId": "v1"},
    )
    sent = recording.requests[before:]
    assert len(sent) == 4
    assert all(wire_problem(r, recording) is None for r in sent), sent
    assert unquote(sent[0]["path"]) == f"/{SCOPE.bucket}/{RUN}a b/c"


def test_a_url_rewritten_after_the_parameter_check_is_refused_before_signing(
    recording: RecordingS3Server,
) -> None:
    s3 = guarded(recording)

    def rewrite(request: Any, **_: Any) -> None:
        request.url = request.url.replace(f"/{SCOPE.bucket}/", "/tofu-state/")

    s3.meta.events.register_first("before-sign.s3", rewrite)
    before = len(recording.requests)
    with pytest.raises(GuardRefusal, match="addresses bucket 'tofu-state'"):
        s3.get_object(Bucket=SCOPE.bucket, Key=RUN + "x")
    assert len(recording.requests) == before


def test_a_url_rewritten_by_a_handler_registered_after_the_guard_is_refused(
    recording: RecordingS3Server,
) -> None:
    s3 = guarded(recording)

    def rewrite(request: Any, **_: Any) -> None:
        request.url = request.url.replace(f"/{SCOPE.bucket}/", "/tofu-state/")

    s3.meta.events.register("before-sign.s3", rewrite)  # after the guard's own hooks
    s3.meta.events.register("before-send.s3", rewrite)
    before = len(recording.requests)
    with pytest.raises(GuardRefusal):
        s3.get_object(Bucket=SCOPE.bucket, Key=RUN + "x")
    assert len(recording.requests) == before


@pytest.mark.parametrize("how", ["register", "register_last"])
@pytest.mark.parametrize("event", ["before-sign", "before-send", "before-send.s3"])
def test_a_url_rewritten_by_any_later_handler_is_refused(
    recording: RecordingS3Server, event: str, how: str
) -> None:
    """botocore calls the handlers of a more specific event name first, and a handler registered
    last after the client was built after every other: the guard's last look at the request is
    no handler, but where botocore hands it to the HTTP session."""
    s3 = guarded(recording)

    def rewrite(request: Any, **_: Any) -> None:
        request.url = request.url.replace(f"/{SCOPE.bucket}/", "/tofu-state/")

    getattr(s3.meta.events, how)(event, rewrite)  # after the client, and its guard, was built
    before = len(recording.requests)
    with pytest.raises(GuardRefusal, match="the request changed after it was judged"):
        s3.get_object(Bucket=SCOPE.bucket, Key=RUN + "x")
    assert len(recording.requests) == before


@pytest.mark.parametrize("checksum_when_required", [True, False])
@pytest.mark.parametrize(
    ("event", "how"),
    [
        ("before-sign.s3", "register_first"),
        ("request-created.s3", "register_first"),
        ("before-send.s3", "register_last"),
    ],
)
def test_a_body_framed_as_more_requests_is_refused(
    recording: RecordingS3Server, checksum_when_required: bool, event: str, how: str
) -> None:
    """A handler that shortens a judged PUT's Content-Length (and drops its chunking) leaves the
    rest of the body to be read as further requests on the same connection, which no check
    judged: here a PUT of a protected state and a second lock PUT. Refused at the wire."""
    host = urlsplit(recording.endpoint).netloc
    smuggled = (
        f"PUT /tofu-state/darkmap-tinyland-dev/terraform.tfstate HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Length: 2\r\n\r\n{}"
        f"PUT /{SCOPE.bucket}/{RUN}lock.tflock HTTP/1.1\r\nHost: {host}\r\n"
        "If-None-Match: *\r\nContent-Length: 1\r\n\r\nx"
    ).encode()
    data = b"x" + smuggled
    first = 1 if checksum_when_required else len(f"{len(data):x}\r\n") + 1  # aws-chunked's line
    s3 = guarded(recording, attempts=3, checksum_when_required=checksum_when_required)

    def shorten(request: Any, **_: Any) -> None:
        if "Transfer-Encoding" in request.headers:
            del request.headers["Transfer-Encoding"]
        request.headers["Content-Length"] = str(first)

    getattr(s3.meta.events, how)(event, shorten)
    before = len(recording.requests)
    with pytest.raises(GuardRefusal, match=r"further requests|changed after it was judged"):
        s3.put_object(Bucket=SCOPE.bucket, Key=RUN + "data", Body=data)
    time.sleep(0.2)  # what a server would still read from the connection
    assert recording.requests[before:] == []


class Decoy(io.BytesIO):
    """A body that shows one byte to whoever asks (its value, its length) and sends more."""

    def getvalue(self) -> bytes:
        return b"x"

    def seek(self, offset: int, whence: int = 0) -> int:
        super().seek(offset, whence)
        return 1 if whence == 2 else 0

    def tell(self) -> int:
        return 0


@pytest.mark.parametrize("checksum_when_required", [True, False])
@pytest.mark.parametrize("body", ["decoy", "short bytes"])
def test_a_body_that_reports_less_than_it_sends_is_refused(
    recording: RecordingS3Server, checksum_when_required: bool, body: str
) -> None:
    """The guard reads the bytes it lets out itself: a body that reports one byte (to its length
    check, or to the signer's Content-Length) and sends the smuggled requests after it gets no
    further than the wire check."""
    data = b"x" + b"PUT /tofu-state/darkmap-tinyland-dev/terraform.tfstate HTTP/1.1\r\n"
    s3 = guarded(recording, attempts=3, checksum_when_required=checksum_when_required)

    def swap(request: Any, **_: Any) -> None:  # after the guard judged it: the same digest
        if "Transfer-Encoding" in request.headers:
            del request.headers["Transfer-Encoding"]
        request.headers["Content-Length"] = "1"
        request.body = Decoy(data)

    def shorten(request: Any, **_: Any) -> None:  # before: the signer counts 1 byte
        if "Transfer-Encoding" in request.headers:
            del request.headers["Transfer-Encoding"]
        request.data = ShortBytes(data)

    if body == "decoy":
        s3.meta.events.register_last("before-send.s3", swap)
    else:
        s3.meta.events.register_first("request-created.s3", shorten)
    before = len(recording.requests)
    with pytest.raises(GuardRefusal):
        s3.put_object(Bucket=SCOPE.bucket, Key=RUN + "data", Body=b"x")
    time.sleep(0.2)  # what a server would still read from the connection
    assert recording.requests[before:] == []


@pytest.mark.parametrize("checksum_when_required", [True, False])
def test_a_stream_body_is_sent_whole_on_every_retry(
    recording: RecordingS3Server, checksum_when_required: bool
) -> None:
    """The guard sends the bytes it read from a stream and rewinds the stream, as botocore does
    before a retry: every send carries the whole body."""
    s3 = guarded(recording, attempts=3, checksum_when_required=checksum_when_required)
    before = len(recording.requests)
    recording.failing = 503
    try:
        with pytest.raises(ClientError):
            s3.put_object(Bucket=SCOPE.bucket, Key=RUN + "data", Body=io.BytesIO(b"0123456789"))
    finally:
        recording.failing = None
    bodies = [request["body"] for request in recording.requests[before:]]
    assert len(bodies) == 3
    assert all("0123456789" in sent for sent in bodies), bodies


def test_a_client_whose_http_session_cannot_be_watched_is_refused() -> None:
    """The guard's last look lives on the client's HTTP session: a botocore without one (or
    with it elsewhere) gets no client at all, not one without that look."""
    from pytest_hastate.s3.client import _check_at_the_wire

    with pytest.raises(GuardRefusal, match="no HTTP session the guard can watch"):
        _check_at_the_wire(cast(Any, object()), "https://s3.example.test", lambda request: None)


def test_a_copy_source_header_changed_after_the_check_is_refused(
    recording: RecordingS3Server,
) -> None:
    s3 = guarded(recording)

    def rewrite(request: Any, **_: Any) -> None:
        request.headers.replace_header("x-amz-copy-source", "tofu-state/attic/terraform.tfstate")

    s3.meta.events.register_first("before-sign.s3.CopyObject", rewrite)
    with pytest.raises(GuardRefusal, match="copy-source header"):
        s3.copy_object(
            Bucket=SCOPE.bucket,
            Key=RUN + "c",
            CopySource={"Bucket": SCOPE.bucket, "Key": RUN + "a"},
        )


@pytest.mark.parametrize(
    ("url", "bucket", "key", "ok"),
    [
        ("https://s3.example.test/darkmap-ha-state-proof/k", SCOPE.bucket, "k", True),
        (f"https://{SCOPE.bucket}.s3.example.test/k", SCOPE.bucket, "k", True),
        ("https://tofu-state.s3.example.test/k", SCOPE.bucket, "k", False),
        ("https://s3.example.test:444/darkmap-ha-state-proof/k", SCOPE.bucket, "k", False),
        ("http://s3.example.test/darkmap-ha-state-proof/k", SCOPE.bucket, "k", False),
        ("https://evil.test/darkmap-ha-state-proof/k", SCOPE.bucket, "k", False),
        ("https://s3.example.test/darkmap-ha-state-proof/other", SCOPE.bucket, "k", False),
        ("https://s3.example.test/tofu-state/k", SCOPE.bucket, "k", False),
    ],
)
def test_the_url_check_in_both_addressing_styles(url: str, bucket: str, key: str, ok: bool) -> None:
    target = Target("GetObject", bucket, RUN + key)
    url = url.replace("/k", "/" + RUN + "k").replace("/other", "/" + RUN + "other")
    try:
        SCOPE.check_request(
            target, endpoint="https://s3.example.test", url=url, copy_source_header=None
        )
    except GuardRefusal:
        assert not ok
    else:
        assert ok


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1:9/tofu-state",
        "https://127.0.0.1:9/?x=1",
        "https://127.0.0.1:9#frag",
        "https://user:pw@127.0.0.1:9",
        "https://tofu-state.example.test",
        "https://secrets-bucket.s3.example.test",
    ],
)
def test_the_client_factory_refuses_endpoints_that_are_not_plain_origins(endpoint: str) -> None:
    access = S3Access(endpoints=(endpoint,), region="us-east-1", access_key="a", secret_key="b")
    with pytest.raises(GuardRefusal, match="endpoint"):
        client(access, SCOPE)


def test_no_presigned_url_is_made(recording: RecordingS3Server) -> None:
    """A presigned URL outlives the guard's judgement: the proof makes none, in scope or not,
    with the operation's own method or another; the parameters are still judged first."""
    before = len(recording.requests)
    for probes in (False, True):
        s3 = guarded(recording, probes=probes)
        for operation, params, method, why in (
            ("get_object", {"Bucket": SCOPE.bucket, "Key": RUN + "x"}, None,
             "no presigned URL for GetObject: the proof makes none"),
            ("put_object", {"Bucket": SCOPE.bucket, "Key": RUN + "x"}, None,
             "no presigned URL for PutObject: the proof makes none"),
            ("head_object", {"Bucket": SCOPE.bucket, "Key": RUN + "x"}, "PUT",
             "no presigned URL for HeadObject"),
            ("delete_object", {"Bucket": SCOPE.bucket, "Key": RUN + "x"}, None,
             "no presigned URL for DeleteObject"),
            ("get_object", {"Bucket": "tofu-state", "Key": "attic/terraform.tfstate"}, None,
             "protected"),
            ("put_object", {"Bucket": SCOPE.bucket, "Key": "elsewhere/x"}, None,
             "key outside this run.s prefix"),
            ("get_object", {"Bucket": SCOPE.bucket, "Key": RUN + "../../x"}, None, "dot segment"),
        ):  # fmt: skip
            extra = {"HttpMethod": method} if method else {}
            with pytest.raises(GuardRefusal, match=why):
                s3.generate_presigned_url(operation, Params=params, **extra)
        if probes:  # even the boundary probes' HEAD of a protected key is not presigned
            with pytest.raises(GuardRefusal, match="no presigned URL for HeadObject"):
                s3.generate_presigned_url(
                    "head_object", Params={"Bucket": "tofu-state", "Key": "attic/terraform.tfstate"}
                )
    assert len(recording.requests) == before  # presigning sends nothing


@pytest.mark.parametrize(
    ("bucket", "key", "conditions"),
    [
        (SCOPE.bucket, RUN + "upload", None),  # even one inside the run's own scope
        (SCOPE.bucket, "elsewhere/x", None),
        (SCOPE.bucket, RUN + "${filename}", None),
        (SCOPE.bucket, RUN + "x", [["starts-with", "$key", ""]]),
        ("tofu-state", "attic/terraform.tfstate", None),
    ],
)
def test_no_presigned_post_is_made(
    recording: RecordingS3Server, bucket: str, key: str, conditions: Any
) -> None:
    """A form upload's policy (a key the uploader names, a starts-with condition) cannot be
    bound to one request, and the proof never makes one."""
    s3 = guarded(recording)
    with pytest.raises(GuardRefusal, match=r"no presigned POSTs|protected|outside this run"):
        s3.generate_presigned_post(bucket, key, Conditions=conditions)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_clear_refusal_not_a_loop(
    recording: RecordingS3Server, status: int
) -> None:
    recording.redirect = (status, "https://tofu-state.s3.example.test/attic/terraform.tfstate")
    try:
        with pytest.raises(GuardRefusal) as refused:
            guarded(recording).get_object(Bucket=SCOPE.bucket, Key=RUN + "x")
        # Named as what the endpoint answered, not as an operation on the redirect's target.
        assert str(refused.value) == (
            f"scratch guard refused GetObject on {SCOPE.bucket}/{RUN}x: the endpoint answered a "
            f"redirect ({status}) to https://tofu-state.s3.example.test/attic/terraform.tfstate: "
            "not followed; every request goes only to the configured endpoint"
        )
    finally:
        recording.redirect = None


def test_boundary_probes_may_head_protected_targets_and_nothing_else(
    recording: RecordingS3Server,
) -> None:
    s3 = guarded(recording, probes=True)
    s3.head_bucket(Bucket="tofu-state")
    s3.head_object(Bucket="tofu-state", Key="attic/terraform.tfstate")
    refused: tuple[Callable[[], object], ...] = (
        lambda: s3.get_object(Bucket="tofu-state", Key="attic/terraform.tfstate"),
        lambda: s3.list_objects_v2(Bucket="tofu-state"),
        lambda: s3.head_object(Bucket="tofu-state", Key="attic/../x/../attic/terraform.tfstate"),
    )
    for bad in refused:
        with pytest.raises(GuardRefusal):
            bad()


@pytest.mark.parametrize(
    ("line", "buckets", "keys"),
    [
        ("deny tofu-state bucket", {"tofu-state"}, ()),
        ("deny secrets-bucket and its keys", {"secrets-bucket"}, ()),
        (
            "deny tofu-state and protected stack prefixes",
            {"tofu-state"},
            tuple(GLORIOUS.protected.state_keys),
        ),
        ("deny spokes/darkmap/terraform.tfstate", set(), ("spokes/darkmap/terraform.tfstate",)),
        ("deny a-bucket, b-bucket", {"a-bucket", "b-bucket"}, ()),
        ("deny the secrets bucket, please", None, None),
        ("deny everything important", None, None),
        ("deny tofu-state/../attic", None, None),
        ("allow tofu-state", None, None),
    ],
)
def test_one_denial_grammar(
    line: str, buckets: set[str] | None, keys: tuple[str, ...] | None
) -> None:
    denial = parse_denial(line, GLORIOUS.protected.state_keys)
    if buckets is None:
        assert denial is None
        return
    assert denial is not None
    assert set(denial.buckets) == buckets
    assert tuple(denial.keys) == tuple(keys or ())


def test_the_backend_block_is_judged_as_a_whole() -> None:
    from pytest_hastate.tofu.runner import render_configuration

    key = RUN + "disposable-tofu/baseline/terraform.tfstate"
    endpoint = "https://s3.example.test"

    def backend(**options: Any) -> dict[str, Any]:
        config = render_configuration(
            bucket=SCOPE.bucket,
            key=key,
            region="us-east-1",
            endpoint=endpoint,
            backend_options=options,
        )
        backend: dict[str, Any] = config["terraform"]["backend"]["s3"]
        return backend

    SCOPE.check_backend(backend(use_path_style=True), key=key, endpoint=endpoint)
    foreign = "not a setting the proof renders or a package may set"
    for changed, why in (
        ({**backend(), "bucket": "tofu-state"}, f"bucket: must be '{SCOPE.bucket}'"),
        ({**backend(), "key": "attic/terraform.tfstate"}, f"key: must be '{key}'"),
        (
            {**backend(), "endpoints": {"s3": "https://elsewhere.test"}},
            f"endpoints: must be {{'s3': '{endpoint}'}}",
        ),
        ({**backend(), "use_lockfile": False}, "use_lockfile: must be True"),
        ({**backend(), "workspace_key_prefix": "../"}, f"workspace_key_prefix: {foreign}"),
        ({**backend(), "profile": "production"}, f"profile: {foreign}"),
        ({**backend(), "endpoint": "https://elsewhere.test"}, f"endpoint: {foreign}"),
    ):
        with pytest.raises(GuardRefusal, match=re.escape(f"refused OpenTofu backend on {why}")):
            SCOPE.check_backend(changed, key=key, endpoint=endpoint)
    outside = "elsewhere/terraform.tfstate"
    with pytest.raises(
        GuardRefusal, match=re.escape(f"OpenTofu backend on {outside}: state key outside this run")
    ):
        SCOPE.check_backend({**backend(), "key": outside}, key=outside, endpoint=endpoint)
    # The state key and its lock file are judged as writes too: a package that denies its own
    # run's lock file (a deny line naming it) keeps OpenTofu from writing it.
    denied = dataclasses.replace(
        SCOPE, protected=ProtectedTargets.of(GLORIOUS, [f"deny {SCOPE.bucket}/{key}.tflock"])
    )
    with pytest.raises(GuardRefusal, match=re.escape(f"PutObject on {SCOPE.bucket}/{key}.tflock")):
        denied.check_backend(backend(), key=key, endpoint=endpoint)
    # OpenTofu evaluates the backend block's strings as templates: only literals are rendered.
    for templated in (
        backend(retry_mode="${path.cwd}"),
        backend(retry_mode="%{ if true }adaptive%{ endif }"),
        {**backend(), "region": "us-east-1${var.region}"},
    ):
        with pytest.raises(
            GuardRefusal,
            match=r"OpenTofu backend on (retry_mode|region): holds '(\$|%)\{', which OpenTofu "
            "evaluates as a template: the value it would use is not the literal judged",
        ):
            SCOPE.check_backend(templated, key=key, endpoint=endpoint)
    templated_endpoint = "https://s3.${var.x}.test"
    with pytest.raises(GuardRefusal, match="endpoints: holds"):
        SCOPE.check_backend(
            {**backend(), "endpoints": {"s3": templated_endpoint}}, key=key,
            endpoint=templated_endpoint,
        )  # fmt: skip


def test_every_string_of_a_backend_value_is_read_at_any_depth() -> None:
    from pytest_hastate.scope.backend import strings_in

    assert strings_in({"a": ["x", ("y", {"b": "z"})], "c": 1, "d": None}) == ["x", "y", "z"]
    assert strings_in(True) == []


def test_keys_read_from_files_must_be_this_runs(tmp_path: Path) -> None:
    from pytest_hastate.errors import InputError
    from pytest_hastate.io.checkpoints import check_checkpoint_scope
    from pytest_hastate.models import Checkpoint, EndpointPackage, PackageIdentity, SampleObject
    from tests.support.helpers import filled_package

    package = EndpointPackage.model_validate(filled_package())
    base = Checkpoint(
        run_id=SCOPE.run_id, created_at="now", package=PackageIdentity(name="p", sha256="d", basename="p.json"),
        contract_sha256=None, endpoints=list(package.endpoints), scratch_bucket=package.scratch_bucket,
        scratch_prefix=GLORIOUS.scratch_prefix, bucket_created_by_this_product=False,
        sample=[SampleObject(key=RUN + "sample/0000", size=1, sha256="s", version_id="v", etag="e")],
    )  # fmt: skip
    check_checkpoint_scope(base, package, GLORIOUS, tmp_path / "cp.json")
    for change, where in (
        (
            {
                "sample": [
                    SampleObject(
                        key="attic/terraform.tfstate", size=1, sha256="s", version_id="v", etag="e"
                    )
                ]
            },
            "$.sample[0].key",
        ),
        (
            {
                "sample": [
                    SampleObject(key=RUN + "../../x", size=1, sha256="s", version_id="v", etag="e")
                ]
            },
            "$.sample[0].key",
        ),
        ({"scratch_bucket": "tofu-state"}, "$.scratch_bucket"),
        ({"run_id": "../../attic"}, "$.run_id"),
        ({"scratch_prefix": "attic/"}, "$.scratch_prefix"),
        ({"endpoints": ["https://elsewhere.example.com"]}, "$.endpoints"),
        (
            {
                "sample": [
                    SampleObject(
                        key=RUN + "sample/0000/attic/terraform.tfstate",
                        size=1,
                        sha256="s",
                        version_id="v",
                        etag="e",
                    )
                ]
            },
            "$.sample[0].key",
        ),
    ):
        with pytest.raises(InputError, match=re.escape(where)):
            check_checkpoint_scope(
                base.model_copy(update=change), package, GLORIOUS, tmp_path / "cp.json"
            )


def test_refusals_never_quote_credentials_from_a_url() -> None:
    from pytest_hastate.errors import InputError
    from pytest_hastate.io.redact import Masker

    access = S3Access(endpoints=("https://s3.example.test",), region="us-east-1",
                      access_key="proof-access", secret_key="proof-secret")  # fmt: skip
    with pytest.raises(GuardRefusal) as refused:
        client(access, SCOPE, "https://admin:hunter2-password@s3.example.test")
    assert "hunter2" not in str(refused.value)
    assert "https://***@s3.example.test" in str(refused.value)
    assert "hunter2" not in str(InputError("--endpoint https://a:hunter2@h", "", "bad"))
    masked = Masker([])("GET https://a:hunter2@h/x failed; ftp://u@h too")
    assert masked == "GET https://***@h/x failed; ftp://***@h too"


def test_a_bad_copy_source_is_named_by_its_operation() -> None:
    access = S3Access(endpoints=("https://s3.example.test",), region="us-east-1",
                      access_key="proof-access", secret_key="proof-secret")  # fmt: skip
    s3 = client(access, SCOPE, attempts=1)  # refused before anything is sent
    for source in (f"{SCOPE.bucket}/{RUN}x?acl", f"{SCOPE.bucket}/{RUN}x?versionId=1&x=2"):
        with pytest.raises(GuardRefusal) as refused:
            s3.copy_object(Bucket=SCOPE.bucket, Key=RUN + "y", CopySource=source)
        assert refused.value.operation == "CopyObject"
        assert refused.value.reason.startswith("copy source with a")


# --- the request judged is the request sent -----------------------------------------------------


@pytest.mark.parametrize(
    ("event", "change", "reason"),
    [
        ("before-send", lambda r: setattr(r, "method", "DELETE"),
         "changed after it was judged: method DELETE"),
        ("before-send", lambda r: setattr(r, "url", r.url + "?acl"),
         "changed after it was judged: URL"),
        ("before-send", lambda r: r.headers.__setitem__("Host", "tofu-state.example.test"),
         "changed after it was judged: header host"),
        ("before-send", lambda r: r.headers.__setitem__("x-amz-acl", "public-read"),
         "changed after it was judged: header x-amz-acl"),
        ("before-send", lambda r: setattr(r, "body", b"<Delete><Object><Key>attic/terraform.tfstate</Key></Object></Delete>"),
         "changed after it was judged: the body differs"),
        ("before-sign", lambda r: setattr(r, "method", "DELETE"),
         "method DELETE is not PutObject's (PUT)"),
        ("before-sign", lambda r: setattr(r, "url", r.url + "?acl"),
         "query parameter 'acl' is not one the operation builds"),
        ("before-sign", lambda r: r.headers.__setitem__("Host", "tofu-state.example.test"),
         "Host header 'tofu-state.example.test' differs"),
    ],
)  # fmt: skip
def test_a_request_changed_after_the_guard_judged_it_is_not_sent(
    recording: RecordingS3Server, event: str, change: Any, reason: str
) -> None:
    s3 = guarded(recording)
    s3.meta.events.register_first(f"{event}.s3", lambda request, **_: change(request))
    before = len(recording.requests)
    with pytest.raises(GuardRefusal) as refused:
        s3.put_object(Bucket=SCOPE.bucket, Key=RUN + "x", Body=b"judged")
    assert reason in str(refused.value), str(refused.value)
    assert len(recording.requests) == before


def test_delete_objects_is_judged_by_the_body_it_sends(recording: RecordingS3Server) -> None:
    """A handler that rewrites the items after the parameters were judged: the body botocore
    serialises names a protected key, and the guard reads the body."""
    s3 = guarded(recording)

    def swap(params: dict[str, Any], **_: Any) -> None:
        params["Delete"]["Objects"][0]["Key"] = "attic/terraform.tfstate"

    s3.meta.events.register_last("before-parameter-build.s3", swap)  # after the guard's
    before = len(recording.requests)
    with pytest.raises(GuardRefusal, match="the body names other keys than the judged"):
        s3.delete_objects(Bucket=SCOPE.bucket, Delete={"Objects": [{"Key": RUN + "x"}]})
    assert len(recording.requests) == before
    s3.meta.events.unregister("before-parameter-build.s3", swap)
    s3.delete_objects(Bucket=SCOPE.bucket, Delete={"Objects": [{"Key": RUN + "x"}]})
    assert len(recording.requests) == before + 1


# --- a conditional write is sent once ---------------------------------------------------------


def sends(server: RecordingS3Server, call: Any) -> int:
    """How many requests reached the server while ``call`` ran (its error, if any, swallowed)."""
    before = len(server.requests)
    with contextlib.suppress(ClientError, BotoCoreError, GuardRefusal):
        call()
    return len(server.requests) - before


@pytest.mark.parametrize(("parameter", "value"), [("IfNoneMatch", "*"), ("IfMatch", '"etag"')])
@pytest.mark.parametrize("failure", ["503", "lost answer"])
def test_a_conditional_write_is_sent_once_even_by_a_client_that_retries(
    recording: RecordingS3Server, parameter: str, value: str, failure: str
) -> None:
    """A conditional PUT whose answer was lost, sent again, meets its own write (412): the race
    and the lock would judge a winner a loser. Botocore's retries end at its first answer or
    error, on every client; the same client still retries everything else."""
    put = {"Bucket": SCOPE.bucket, "Key": RUN + "lock.tflock", "Body": b"x", parameter: value}
    plain = {k: v for k, v in put.items() if k != parameter}
    retrying = guarded(recording, attempts=3)
    try:
        if failure == "503":
            recording.failing = 503
        else:
            recording.dropping = True
        # the server counts every attempt: a plain PUT through a retrying client is sent 3 times
        assert sends(recording, lambda: retrying.put_object(**plain)) == 3
        assert sends(recording, lambda: retrying.put_object(**put)) == 1
        error = ClientError if failure == "503" else BotoCoreError
        with pytest.raises(error):  # the first failure is the caller's to judge
            retrying.put_object(**put)
    finally:
        recording.failing, recording.dropping = None, False
    assert sends(recording, lambda: retrying.put_object(**put)) == 1


FAILURES = {
    "lost answer": ConnectionClosedError(endpoint_url="x"),
    "read timeout": ReadTimeoutError(endpoint_url="x"),
    "refused": EndpointConnectionError(endpoint_url="x"),
    "connect timeout": ConnectTimeoutError(endpoint_url="x"),
}


@pytest.mark.parametrize("send_once", [True, False])
@pytest.mark.parametrize("failure", ["503", *FAILURES])
def test_no_handler_answers_a_resend_of_a_conditional_write(
    recording: RecordingS3Server, send_once: bool, failure: str
) -> None:
    """Botocore resends when a needs-retry handler answers anything but None (before 1.43.3,
    False too): for a conditional write every handler of a guarded client answers None, under
    any botocore's reading, unless the failure proves it never left (a refused connection, a
    connect timeout); for another request the client's rule answers a delay (a read timeout
    aside)."""
    s3 = guarded(recording, attempts=3)
    model = s3.meta.service_model.operation_model("PutObject")
    http = AWSResponse("url", 503, HTTPHeaders(), None)
    response = (http, {"Error": {"Code": "ServiceUnavailable"}, "ResponseMetadata": {}})
    context: dict[str, Any] = {"hastate_send_once": "IfNoneMatch", "hastate_signed": True}
    answers = s3.meta.events.emit(
        "needs-retry.s3.PutObject", endpoint=None, operation=model, attempts=1,
        response=response if failure == "503" else None, caught_exception=FAILURES.get(failure),
        request_dict={"context": context if send_once else {}},
    )  # fmt: skip
    asked = [answer for _, answer in answers if answer is not None]
    resent = failure in ("refused", "connect timeout") or (
        not send_once and failure != "read timeout"
    )
    assert len(asked) == (1 if resent else 0)
    if asked:
        assert 0 <= asked[0] <= 1  # the first retry's jitter
    # the guard signs a conditional write again only after a failure that proves it never left
    assert context["hastate_signed"] is not (send_once and resent)


def test_a_conditional_write_whose_tls_handshake_failed_is_sent(
    recording: RecordingS3Server,
) -> None:
    """A loaded gateway that drops a new connection in its TLS handshake has seen no byte of
    the request: the conditional write is sent then (once), not reported as unanswered. An SSL
    error on the connection that carried the request is not a reason to send it again."""
    put = {"Bucket": SCOPE.bucket, "Key": RUN + "lock.tflock", "Body": b"x", "IfNoneMatch": "*"}
    s3 = guarded(recording, attempts=3)  # a new client: its first request opens a connection
    resets = recording.reset_done
    recording.reset_next(1)
    assert sends(recording, lambda: s3.put_object(**put)) == 1
    assert recording.reset_done == resets + 1
    recording.garbling = True
    try:
        assert sends(recording, lambda: s3.put_object(**put)) == 1
        with pytest.raises(BotoCoreError, match="WRONG_VERSION_NUMBER"):
            s3.put_object(**put)
        plain = {k: v for k, v in put.items() if k != "IfNoneMatch"}
        assert sends(recording, lambda: s3.put_object(**plain)) == 3
    finally:
        recording.garbling = False


def failed_handshake(server: RecordingS3Server) -> BaseException:
    """A real TLS handshake the server drops (the error ssl raises from it)."""
    server.reset_next(1)
    context = ssl.create_default_context(cafile=str(server.ca))  # type: ignore[attr-defined]
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            context.wrap_socket(raw, server_hostname="127.0.0.1").close()
    except (ssl.SSLError, OSError) as exc:
        return exc
    raise AssertionError("the handshake succeeded")


def test_a_lost_answer_is_not_taken_for_the_handshake_the_caller_was_handling(
    recording: RecordingS3Server,
) -> None:
    """A conditional PUT sent while its caller handles a failed handshake of its own: the PUT's
    lost answer carries that failure as its implicit context, which proves nothing about the
    PUT; only what an error wraps counts."""
    put = {"Bucket": SCOPE.bucket, "Key": RUN + "lock.tflock", "Body": b"x", "IfNoneMatch": "*"}
    s3 = guarded(recording, attempts=3)
    handshake = failed_handshake(recording)
    recording.dropping = True
    try:
        try:
            raise handshake
        except (ssl.SSLError, OSError):
            assert sends(recording, lambda: s3.put_object(**put)) == 1
    finally:
        recording.dropping = False


def test_only_ssl_s_own_handshake_proves_a_request_never_left(
    recording: RecordingS3Server,
) -> None:
    handshake = failed_handshake(recording)
    assert never_sent(ConnectionClosedError(endpoint_url="x", error=handshake))

    def do_handshake() -> None:  # a function of that name elsewhere proves nothing
        raise ConnectionResetError("reset")

    try:
        do_handshake()
    except ConnectionResetError as exc:
        elsewhere: BaseException = exc
    assert not never_sent(ConnectionClosedError(endpoint_url="x", error=elsewhere))
    assert not never_sent(ConnectionClosedError(endpoint_url="x"))


def test_a_conditional_write_to_a_refused_connection_is_tried_again() -> None:
    """A refused connection carried nothing: the conditional write is tried as often as any
    other request (3 sends), then the refusal reaches the caller."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again before the client connects: refused
    access = S3Access(
        endpoints=(f"https://127.0.0.1:{port}",), region="us-east-1",
        access_key="AKIDEXAMPLE", secret_key="x" * 20, path_style=True,
    )  # fmt: skip
    s3 = client(access, SCOPE, attempts=3)
    tried: list[str] = []
    s3.meta.events.register("before-send.s3", lambda request, **_: tried.append(request.method))
    with pytest.raises(EndpointConnectionError):
        s3.put_object(Bucket=SCOPE.bucket, Key=RUN + "lock.tflock", Body=b"x", IfNoneMatch="*")
    assert tried == ["PUT"] * 3


def test_a_read_timeout_is_not_retried_and_a_refused_connection_is() -> None:
    decide = retry_rule(3)
    timed_out = ReadTimeoutError(endpoint_url="https://s3.example.test")
    assert decide(attempts=1, caught_exception=timed_out, request_dict={"context": {}}) is None
    refused = EndpointConnectionError(endpoint_url="https://s3.example.test")
    assert decide(attempts=1, caught_exception=refused, request_dict={"context": {}}) is not None
    assert decide(attempts=3, caught_exception=refused, request_dict={"context": {}}) is None


def test_a_conditional_write_another_handler_would_resend_is_refused(
    recording: RecordingS3Server,
) -> None:
    """A handler on the operation's own retry event runs before the guard's and may ask for a
    resend: the guard refuses to sign the conditional write a second time."""
    retrying = guarded(recording, attempts=3)
    resend = lambda attempts, **_: 0 if attempts < 3 else None  # noqa: E731
    retrying.meta.events.register("needs-retry.s3.PutObject", resend)
    put = {"Bucket": SCOPE.bucket, "Key": RUN + "lock.tflock", "Body": b"x", "IfNoneMatch": "*"}
    recording.failing = 503
    try:
        before = len(recording.requests)
        with pytest.raises(
            GuardRefusal,
            match=re.escape(
                f"PutObject on {SCOPE.bucket}/{RUN}lock.tflock: a conditional write (IfNoneMatch) "
                "is sent once: sent again after a lost answer, it would meet its own write"
            ),
        ):
            retrying.put_object(**put)
        assert len(recording.requests) == before + 1
    finally:
        recording.failing = None


def test_a_condition_another_handler_adds_makes_the_write_sent_once(
    recording: RecordingS3Server,
) -> None:
    """The guard reads the headers it signs: an If-None-Match another handler added to a plain
    PUT (before the guard judged it) is a conditional write too, sent once."""
    retrying = guarded(recording, attempts=3)
    retrying.meta.events.register(
        "before-sign.s3.PutObject", lambda request, **_: request.headers.__setitem__("If-None-Match", "*")
    )  # fmt: skip
    recording.failing = 503
    try:
        plain = {"Bucket": SCOPE.bucket, "Key": RUN + "lock.tflock", "Body": b"x"}
        assert sends(recording, lambda: retrying.put_object(**plain)) == 1
    finally:
        recording.failing = None


def test_a_conditional_read_is_retried(recording: RecordingS3Server) -> None:
    retrying = guarded(recording, attempts=3)
    recording.failing = 503
    try:
        head = {"Bucket": SCOPE.bucket, "Key": RUN + "x", "IfNoneMatch": '"etag"'}
        assert sends(recording, lambda: retrying.head_object(**head)) == 3
        get = {"Bucket": SCOPE.bucket, "Key": RUN + "x", "IfMatch": '"etag"'}
        assert sends(recording, lambda: retrying.get_object(**get)) == 3
    finally:
        recording.failing = None


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda s3: s3.delete_object(Bucket=SCOPE.bucket, Key=RUN + "x", IfMatchSize=1), "IfMatchSize"),
        (
            lambda s3: s3.delete_object(
                Bucket=SCOPE.bucket, Key=RUN + "x",
                IfMatchLastModifiedTime=datetime(2026, 1, 1, tzinfo=UTC),
            ),
            "IfMatchLastModifiedTime",
        ),
        (lambda s3: s3.delete_object(Bucket=SCOPE.bucket, Key=RUN + "x", IfMatch='"e"'), "IfMatch"),
        (
            lambda s3: s3.delete_objects(
                Bucket=SCOPE.bucket, Delete={"Objects": [{"Key": RUN + "x", "ETag": '"e"'}]}
            ),
            "Delete.Objects[].ETag",
        ),
    ],
)  # fmt: skip
def test_a_conditional_delete_is_sent_once_too(
    recording: RecordingS3Server, call: Any, parameter: str
) -> None:
    retrying = guarded(recording, attempts=3)
    recording.failing = 503
    try:
        assert sends(recording, lambda: call(retrying)) == 1
        with pytest.raises(ClientError):  # the backend's answer, not the guard's backstop
            call(retrying)
    finally:
        recording.failing = None


def test_connections_opened_at_once_load_the_ca_bundle_once(recording: RecordingS3Server) -> None:
    """urllib3 loads the CA bundle into the client's one TLS context as each connection opens;
    16 opened at the same moment load it once, and every request is answered."""
    from pytest_hastate.s3.trust import TrustLoader

    s3 = guarded(recording)
    manager = s3._endpoint.http_session._manager
    loader = manager.connection_pool_kw["ssl_context"].load_verify_locations
    assert isinstance(loader, TrustLoader)
    loads: list[object] = []
    real = loader.load

    def counted(*args: object) -> None:
        loads.append(args)
        real(*args)

    loader.load = counted
    start = threading.Barrier(16)
    before = len(recording.requests)

    def read() -> None:
        start.wait()
        with contextlib.suppress(ClientError):
            s3.get_object(Bucket=SCOPE.bucket, Key=RUN + "held")["Body"].read()

    threads = [threading.Thread(target=read) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(recording.requests) - before == 16
    assert len(loads) == 1, loads


def test_a_server_the_ca_bundle_does_not_vouch_for_is_never_sent_a_request(
    recording: RecordingS3Server, tmp_path: Path
) -> None:
    """The CA bundle is loaded once per context, never skipped: a client trusting another CA
    fails its handshake, every attempt, and the recording server reads no request."""
    other_ca, _, _ = make_test_ca(tmp_path)
    access = S3Access(
        endpoints=(recording.endpoint,), region="us-east-1", access_key="AKIDEXAMPLE",
        secret_key="x" * 20, verify=str(other_ca), path_style=True,
    )  # fmt: skip
    s3 = client(access, SCOPE, attempts=2)
    before = len(recording.requests)
    with pytest.raises(BotoCoreError, match="CERTIFICATE_VERIFY_FAILED"):
        s3.get_object(Bucket=SCOPE.bucket, Key=RUN + "held")
    assert len(recording.requests) == before
