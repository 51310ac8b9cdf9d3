"""The scratch guard as botocore event hooks: what the one client factory installs on every
client it builds. The rules themselves live in ``scope``; here they meet botocore's requests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.scope.requests import Target
from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.scope.sent import (
    SentRequest,
    deleted_keys,
    framing_problem,
    host_header_problem,
    method_problem,
    presign_problem,
    query_problem,
    wire_bytes,
)

CONDITIONAL_WRITE = ("IfNoneMatch", "IfMatch", "IfMatchSize", "IfMatchLastModifiedTime")
"""The parameters that make a write conditional (a lock PUT, the race's writers, a conditional
delete); a DeleteObjects item with an ``ETag`` is one too."""
CONDITIONAL_HEADERS = ("If-None-Match", "If-Match", "x-amz-if-match-size",
                       "x-amz-if-match-last-modified-time")  # fmt: skip
"""The same conditions as they are sent."""
READ_ONLY = frozenset({"GetObject", "HeadObject"})
"""Operations whose If-Match / If-None-Match only choose what is read."""

if TYPE_CHECKING:
    from pytest_hastate.s3.client import RequestLog, S3Client


@dataclass
class GuardHooks:
    """The scratch guard as botocore hooks on one client: the parameters before serialisation
    (first, before botocore's own handlers, so a refusal is always ours), the request botocore
    built before it is signed (last: after every other handler; presigned ones included), the
    request as it is handed to the HTTP session (it must be the judged one; called by the
    factory, ``s3.client``), and any redirect answer. A conditional write is marked
    (``hastate_send_once``) for the client's retry rule, which sends one again only when the
    failure proves it never left, and is never signed a second time otherwise, whoever asks."""

    scope: ScratchScope
    endpoint: str
    boundary_probes: bool
    log: RequestLog | None
    judged: threading.local = field(default_factory=threading.local)

    def install(self, s3: S3Client) -> None:
        """Once per client, by the factory (no unique ids: nothing may name and replace them)."""
        events = s3.meta.events
        events.register_first("before-parameter-build.s3", self.check_params)
        events.register_last("before-sign.s3", self.check_request)
        events.register_first("needs-retry.s3", self.refuse_redirect)
        # ``check_sent`` is no event handler: a handler registered later (on before-send, last)
        # would come after it. The factory calls it where botocore hands the request to its
        # HTTP session, after every handler.

    def check_params(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        target = Target.from_params(model.name, params)
        self.scope.check_target(target, boundary_probe=self.boundary_probes)
        conditional = [name for name in CONDITIONAL_WRITE if params.get(name) is not None]
        delete = params.get("Delete")
        if isinstance(delete, dict) and any(
            isinstance(item, dict) and item.get("ETag") is not None
            for item in delete.get("Objects", [])
        ):
            conditional.append("Delete.Objects[].ETag")
        if conditional and model.name not in READ_ONLY:
            context["hastate_send_once"] = conditional[0]
        context["hastate_guarded"] = target
        context["hastate_method"] = model.http.get("method")
        context["hastate_query"] = _query_names(model)
        if self.log is not None:
            self.log.add(self.endpoint, model.name, target.bucket, target.key)

    def check_request(self, request: Any, operation_name: str, **_: Any) -> None:
        """The request botocore built, as it will be signed: where it goes (the scope's URL
        check), how (the operation's own method, only the query the operation builds, no
        foreign Host), what it names in its body (DeleteObjects); then recorded as judged."""
        context = getattr(request, "context", None) or {}
        target = context.get("hastate_guarded")
        if target is None:
            raise GuardRefusal(operation_name, request.url, "request not judged by the guard")
        if context.get("s3-presign-post-fields") is not None:
            raise GuardRefusal(
                "PresignedPost", target.label,
                "the proof makes no presigned POSTs: a form's policy lets the uploader choose "
                "what is sent",
            )  # fmt: skip
        once = context.get("hastate_send_once") or _conditional_header(request)
        if once is not None:
            context["hastate_send_once"] = once  # a header another handler added counts too
            if context.get("hastate_signed"):
                raise GuardRefusal(
                    operation_name, target.label,
                    f"a conditional write ({once}) is sent once: sent again after a lost answer, "
                    "it would meet its own write",
                )  # fmt: skip
            context["hastate_signed"] = True
        copy_source = _text(request.headers.get("x-amz-copy-source"))
        self.scope.check_request(
            target, endpoint=self.endpoint, url=request.url, copy_source_header=copy_source,
            boundary_probe=self.boundary_probes,
        )  # fmt: skip
        problem = (
            (presign_problem(operation_name) if context.get("is_presign_request") else None)
            or method_problem(request.method, context.get("hastate_method"), operation_name)
            or query_problem(request.url, context.get("hastate_query", frozenset()))
            or host_header_problem(request.url, request.headers)
            or self._body_problem(target, request.body)
        )
        if problem is not None:
            raise GuardRefusal(operation_name, target.label, problem)
        self.judged.sent = SentRequest.of(
            request.method, request.url, request.headers, request.body
        )

    @staticmethod
    def _body_problem(target: Target, body: object) -> str | None:
        if target.operation != "DeleteObjects":
            return None
        keys = deleted_keys(body)
        if keys is None or keys != target.keys:
            return "the body names other keys than the judged parameters"
        return None

    def check_sent(self, request: Any, **_: Any) -> None:
        sent = SentRequest.of(request.method, request.url, request.headers, request.body)
        difference = sent.difference(getattr(self.judged, "sent", None))
        self.judged.sent = None  # one judgement, one send
        if difference is not None:
            raise GuardRefusal(
                "send", str(request.url), f"the request changed after it was judged: {difference}"
            )
        body, unreadable = wire_bytes(request.body)
        framing = unreadable or framing_problem(request.headers, body)
        if framing is not None:
            raise GuardRefusal("send", str(request.url), framing)
        request.body = body  # what was measured is what is sent

    def refuse_redirect(
        self, response: Any, operation: Any, request_dict: Any = None, **_: Any
    ) -> None:
        http = response[0] if response is not None else None
        if http is not None and 300 <= http.status_code < 400:
            where = http.headers.get("Location") or response[1].get("Error", {}).get(
                "Endpoint", "?"
            )
            context = (request_dict or {}).get("context") or {}
            target = context.get("hastate_guarded")
            addressed = target.label if target is not None else self.endpoint
            raise GuardRefusal(
                operation.name, addressed,
                f"the endpoint answered a redirect ({http.status_code}) to {where}: not "
                "followed; every request goes only to the configured endpoint",
            )  # fmt: skip


def _query_names(model: Any) -> frozenset[str]:
    """The query parameters an operation builds: its URI's own and its query-string members."""
    uri = str(model.http.get("requestUri", ""))
    names = {part.split("=", 1)[0] for part in uri.partition("?")[2].split("&") if part}
    shape = model.input_shape
    for name, member in shape.members.items() if shape is not None else ():
        if member.serialization.get("location") == "querystring":
            names.add(member.serialization.get("name", name))
    return frozenset(names)


def _conditional_header(request: Any) -> str | None:
    """The header that makes a write conditional, whoever set it (reads are not writes)."""
    if str(request.method).upper() in ("GET", "HEAD"):
        return None
    return next((h for h in CONDITIONAL_HEADERS if request.headers.get(h) is not None), None)


def _text(value: str | bytes | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
