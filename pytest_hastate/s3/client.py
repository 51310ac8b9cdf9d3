"""The one S3 client factory. The only module of the product that imports boto3.

Every client it builds carries the scratch guard as a botocore event hook, called before the
request is serialised, signed or sent; a second hook re-checks the final URL before signing.
Credentials come only from the variables the package names; TLS is always verified.
"""

from __future__ import annotations

import random
import ssl
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import ClientError as ClientError  # an S3 error answer, for callers
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.retries.standard import RetryContext, StandardRetryConditions

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.s3.access import S3Access as S3Access
from pytest_hastate.s3.access import access_from as access_from
from pytest_hastate.s3.answers import AnswerTally
from pytest_hastate.s3.health import WRITE_OPERATIONS, AttributedHealth, BackendHealth
from pytest_hastate.s3.hooks import GuardHooks
from pytest_hastate.s3.limits import ATTEMPTS, CONNECT_TIMEOUT, READ_TIMEOUT
from pytest_hastate.s3.trust import serialise_session
from pytest_hastate.scope.scratch import ScratchScope
from pytest_hastate.scope.targets import endpoint_origin_problem
from pytest_hastate.timing import BusyTime

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client as S3Client
else:
    S3Client = Any

NO_ANSWER = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    BotoConnectionError,
)
"""Errors that mean the endpoint gave no HTTP answer at all."""


@dataclass
class RequestLog:
    """Every request that passed the guard and was handed to botocore to send."""

    entries: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, endpoint: str, operation: str, bucket: str | None, key: str | None) -> None:
        with self._lock:
            self.entries.append((endpoint, operation, bucket, key))


POOL_CONNECTIONS = 64
"""Connections a client keeps open to its endpoint: every request of the conditional-write race
on one endpoint at once (5 keys x 8 writers on a single gateway) each on its own, none opened
and thrown away."""


def _config(access: S3Access, timeout: float | None = None) -> Config:
    when: Literal["when_supported", "when_required"] = (
        "when_required" if access.checksum_when_required else "when_supported"
    )
    return Config(
        connect_timeout=min(CONNECT_TIMEOUT, timeout or CONNECT_TIMEOUT),
        read_timeout=timeout or READ_TIMEOUT,
        retries={"total_max_attempts": 1, "mode": "standard"},  # retry_rule decides instead
        s3={"addressing_style": "path" if access.path_style else "auto"},
        request_checksum_calculation=when,
        response_checksum_validation=when,
        max_pool_connections=POOL_CONNECTIONS,
        user_agent_extra="pytest-hastate",
    )


_SESSIONS: dict[tuple[str | None, ...], boto3.session.Session] = {}
"""Sessions by identity: a client built from a session that already loaded the service model
costs a third of one built from a new session."""
_SESSION_LOCK = threading.Lock()


def client(
    access: S3Access,
    scope: ScratchScope,
    endpoint: str | None = None,
    *,
    boundary_probes: bool = False,
    log: RequestLog | None = None,
    attempts: int = ATTEMPTS,
    health: BackendHealth | AttributedHealth | None = None,
    busy: BusyTime | None = None,
    timeout: float | None = None,
    servers: dict[str, str] | None = None,
    answers: AnswerTally | None = None,
) -> S3Client:
    """A guarded client for one endpoint of the backend.

    With ``health``, hard failures (no answer, writes answering 5xx) are reported there and
    requests the backend already failed are refused before they are sent. With ``servers``,
    the endpoint's first answer records its ``Server`` header there (evidence of the engine).
    With ``answers``, every final answer is counted by operation and status (what the proof
    provoked, for the observability criteria).
    """
    url = endpoint or access.primary
    problem = endpoint_origin_problem(url, scope.protected)
    if problem is not None:
        raise GuardRefusal("client", url, f"endpoint {problem}")
    with _SESSION_LOCK:  # building clients is not thread-safe; one session per identity
        key = (access.access_key, access.secret_key, access.session_token, access.region)
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = boto3.session.Session(
                aws_access_key_id=access.access_key,
                aws_secret_access_key=access.secret_key,
                aws_session_token=access.session_token,
                region_name=access.region,
            )
        s3: S3Client = session.client(
            "s3", endpoint_url=url, verify=access.verify,
            config=_config(access, timeout),
        )  # fmt: skip
    hooks = GuardHooks(scope, url, boundary_probes, log)
    hooks.install(s3)
    _check_at_the_wire(s3, url, hooks.check_sent)
    s3.meta.events.register("needs-retry.s3", retry_rule(attempts), unique_id="hastate-retries")
    if health is not None:
        _install_health(s3, url, health)
    if busy is not None:
        s3.meta.events.register("before-send.s3", lambda **kw: busy.begin("s3"))
        s3.meta.events.register("response-received.s3", lambda **kw: busy.end("s3"))
    if servers is not None or answers is not None:
        _record_answers(s3, url, servers, answers)
    return s3


def _check_at_the_wire(s3: S3Client, url: str, check: Callable[[Any], None]) -> None:
    """The guard's last look at a request, where botocore's endpoint hands it to the client's
    own HTTP session: after every event handler, however and whenever it was registered (one
    registered last on ``before-send`` after the client was built runs after any handler of
    ours). Its TLS contexts load the CA bundle once, one thread at a time (``s3.trust``)."""
    session = getattr(getattr(s3, "_endpoint", None), "http_session", None)
    send = getattr(session, "send", None)
    if session is None or send is None:
        raise GuardRefusal("client", url, "this botocore has no HTTP session the guard can watch")

    def checked_send(request: Any) -> Any:
        check(request)
        return send(request)

    session.send = checked_send
    if not serialise_session(session):
        raise GuardRefusal(
            "client", url, "this botocore's HTTP session has no TLS context to serialise"
        )


MAX_BACKOFF = 20.0
"""The longest pause before a retry (botocore's standard mode: a random share of 2^(n-1) s)."""


def retry_rule(sends: int) -> Callable[..., Any]:
    """Whether a failed request is sent again, and after how long: botocore's standard retry
    conditions (a refused connection, a 5xx, throttling), up to ``sends`` sends in all, except

    - a conditional write (marked by the guard): sent again after an answer that was lost, it
      would meet its own write (a winner judged a loser, a lock its holder cannot take). Only a
      failure that proves no byte of it left (``never_sent``: a refused connection, a connect
      timeout, a failed TLS handshake; a loaded gateway's) sends it again;
    - a request that met its read timeout: the endpoint held it open for READ_TIMEOUT without a
      word, and asking again costs as much (a hung gateway would cost ``sends`` timeouts).

    The client's own retries are off (one attempt), so this rule decides every retry (S3's
    wrong-region redirect aside), and it answers a delay or None, never False: botocore before
    1.43.3 read any answer that is not None (False included) as "retry now". The guard refuses
    to sign a conditional write a second time, whoever asks, unless this rule found that the
    first never left. ``attempts`` is botocore's count of the sends so far."""
    conditions = StandardRetryConditions(max_attempts=sends)

    def decide(
        attempts: int,
        response: tuple[Any, Any] | None = None,
        caught_exception: Exception | None = None,
        operation: Any = None,
        request_dict: Any = None,
        **_: Any,
    ) -> float | None:
        context = (request_dict or {}).get("context") or {}
        send_once = context.get("hastate_send_once") is not None
        if send_once and not never_sent(caught_exception):
            return None
        if isinstance(caught_exception, ReadTimeoutError):
            return None
        http, parsed = response if response is not None else (None, None)
        judged = RetryContext(
            attempt_number=attempts, operation_model=operation, parsed_response=parsed,
            http_response=http, caught_exception=caught_exception, request_context=context,
        )  # fmt: skip
        if not conditions.is_retryable(judged):
            return None
        if send_once:
            context["hastate_signed"] = False  # the guard may sign it again: it never left
        return random.random() * min(MAX_BACKOFF, 2.0 ** (attempts - 1))  # noqa: S311 (jitter)

    return decide


HANDSHAKE_CHAIN = 8
"""How deep ``never_sent`` follows what a failure wraps (botocore's error, urllib3's, the
socket's: 3)."""


def never_sent(failure: BaseException | None) -> bool:
    """Whether a failed send provably put no byte of the request on the wire: the connection
    was never opened (refused, unknown host, connect timeout: botocore raises these two only
    while opening one), or its TLS handshake failed (an error it wraps was raised inside ssl's
    handshake, which comes before the request). Anything else may have been sent: an SSL error
    on a connection that was open, a reset, a closed connection, a timeout on the answer.

    Only what each error explicitly wraps is followed (botocore's ``error``, a ``raise ... from``
    cause, an exception among urllib3's arguments), never the implicit context: an error raised
    while the caller was handling another one carries that one as its context."""
    if isinstance(failure, EndpointConnectionError | ConnectTimeoutError):
        return True
    error = failure
    for _ in range(HANDSHAKE_CHAIN):
        if error is None:
            return False
        if any(
            frame.f_code.co_name == "do_handshake" and frame.f_code.co_filename == ssl.__file__
            for frame, _ in traceback.walk_tb(error.__traceback__)
        ):
            return True
        error = _wrapped(error)
    return False


def _wrapped(error: BaseException) -> BaseException | None:
    """The error ``error`` was made from: botocore's ``error`` keyword, the cause it was raised
    from, or the first exception among its arguments (urllib3's ``SSLError(e)``,
    ``ProtocolError(message, e)``)."""
    kwargs = getattr(error, "kwargs", None)
    made_from = kwargs.get("error") if isinstance(kwargs, dict) else None
    if isinstance(made_from, BaseException):
        return made_from
    if error.__cause__ is not None:
        return error.__cause__
    return next((arg for arg in error.args if isinstance(arg, BaseException)), None)


def _record_answers(
    s3: S3Client, endpoint: str, servers: dict[str, str] | None, answers: AnswerTally | None
) -> None:
    def answered(http_response: Any, model: Any, **_: Any) -> None:
        if servers is not None and endpoint not in servers:
            servers[endpoint] = str(http_response.headers.get("Server") or "")
        if answers is not None:
            answers.add(model.name, int(http_response.status_code))

    s3.meta.events.register("after-call.s3", answered, unique_id="hastate-answers")


def _install_health(s3: S3Client, endpoint: str, health: BackendHealth | AttributedHealth) -> None:
    def before(model: Any, context: dict[str, Any], params: dict[str, Any], **_: Any) -> None:
        health.check(endpoint, model.name)
        bucket, key = params.get("Bucket"), params.get("Key")
        context["hastate_label"] = f" {bucket}/{key}" if key else f" {bucket}" if bucket else ""

    def answered(
        http_response: Any, parsed: dict[str, Any], model: Any, context: Any, **_: Any
    ) -> None:
        if http_response.status_code < 500 or model.name not in WRITE_OPERATIONS:
            return
        error = parsed.get("Error", {})
        tries = int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        detail = " ".join(str(error.get("Message", "")).split())[:160]
        health.trip(
            endpoint,
            "writes",
            f"writes answer {http_response.status_code} {error.get('Code', '')} through "
            f"{endpoint} ({model.name}{context.get('hastate_label', '')}: {detail}; "
            f"{tries} attempt(s))",
        )

    def no_answer(exception: BaseException, context: Any, **kwargs: Any) -> None:
        if isinstance(exception, NO_ANSWER):
            operation = str(kwargs.get("event_name", "")).rsplit(".", 1)[-1]
            health.trip(
                endpoint,
                "unreachable",
                f"{endpoint} gave no answer ({type(exception).__name__}) to {operation}"
                f"{context.get('hastate_label', '')} within its timeouts",
            )

    s3.meta.events.register("before-parameter-build.s3", before, unique_id="hastate-health")
    s3.meta.events.register("after-call.s3", answered, unique_id="hastate-health-answer")
    s3.meta.events.register("after-call-error.s3", no_answer, unique_id="hastate-health-error")


def lab_admin_client(
    endpoint: str, ca: Path, access_key: str, secret_key: str, region: str = "us-east-1"
) -> S3Client:
    """An unguarded client with the lab's admin identity, for the lab alone.

    The lab seeds and inspects its own protected bucket with it; proofs never get it (they
    never import the lab), so every proof request still goes through the guard.
    """
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
    )
    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",  # Ceph 16 lacks the trailing checksums
        response_checksum_validation="when_required",
    )
    s3: S3Client = session.client("s3", endpoint_url=endpoint, verify=str(ca), config=config)
    return s3


def error_code(exc: BaseException) -> str:
    """The S3 error code or HTTP status of a botocore error, for messages and decisions."""
    if isinstance(exc, ClientError):
        error: Mapping[str, Any] = exc.response.get("Error", {})
        return str(error.get("Code") or status(exc))
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__
    return type(exc).__name__


def status(exc: BaseException) -> int:
    """The HTTP status of a ClientError, 0 when no HTTP answer came back."""
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return 0


S3Errors = (ClientError, BotoCoreError)
S3Error = ClientError | BotoCoreError
