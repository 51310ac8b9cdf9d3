"""The request as it is sent, bound to the request that was judged. Pure.

botocore builds a request from the judged parameters; between the last check before signing
and the send, only the signer may add to it. So the guard records, when it judges the built
request, everything that decides where the request goes and what it does (method, the full
URL with its query, every header but the signer's, the body), and refuses a send that differs
in any of it. The body is read where it names targets (DeleteObjects' keys), and the method is
the operation's own (a signature binds the method it is made for). No presigned URL is made.
"""

from __future__ import annotations

import contextlib
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

SIGNER_HEADERS = frozenset(
    {
        "authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
        "amz-sdk-invocation-id", "amz-sdk-request", "user-agent", "content-length",
    }
)  # fmt: skip
"""What botocore adds or rewrites after the last check before signing (the signature, its
date and payload hash, the SDK's invocation and retry ids, the user agent's feature list, the
body's length): everything else must be as judged."""

PRESIGNABLE: frozenset[str] = frozenset()
"""The operations a presigned URL may be made for: none. The proof never hands a URL to
anyone; a presigned URL outlives the guard's judgement (and a query-string signature need not
bind conditional headers such as If-None-Match)."""


def _text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def plain_bytes(value: object) -> bytes | None:
    """A bytes-like copied as plain bytes (whatever length it claims), text as UTF-8; None for
    anything else (a stream, an iterator)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return None


def body_digest(body: object) -> str:
    """What identifies a body: the sha256 of its bytes where they can be read without
    consuming it, else the object itself (the one judged must be the one sent)."""
    if body is None:
        return ""
    plain = plain_bytes(body)
    if plain is not None:
        return hashlib.sha256(plain).hexdigest() if plain else ""
    getvalue = getattr(body, "getvalue", None)
    if callable(getvalue):
        value = getvalue()
        read = plain_bytes(value)
        return hashlib.sha256(read if read is not None else str(value).encode()).hexdigest()
    return f"object {id(body)}"


@dataclass(frozen=True)
class SentRequest:
    """What decides where a request goes and what it does."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str

    @classmethod
    def of(cls, method: str, url: str, headers: Mapping[str, object], body: object) -> SentRequest:
        kept = sorted(
            (name.lower(), _text(value))
            for name, value in headers.items()
            if name.lower() not in SIGNER_HEADERS
        )
        return cls(method.upper(), url, tuple(kept), body_digest(body))

    def difference(self, judged: SentRequest | None) -> str | None:
        """What differs from the judged request, or None."""
        if judged is None:
            return "it was never judged (or was already sent once)"
        if self.method != judged.method:
            return f"method {self.method}, judged {judged.method}"
        if self.url != judged.url:
            return f"URL {self.url}, judged {judged.url}"
        if self.headers != judged.headers:
            names = sorted(set(self.headers) ^ set(judged.headers))
            return f"header {names[0][0]} differs"
        if self.body != judged.body:
            return "the body differs"
        return None


WIRE_BLOCK = 1 << 20
"""How much of a stream body the guard reads at a time."""


def wire_bytes(body: object) -> tuple[bytes | None, str | None]:
    """The bytes a body puts on the wire, read by the guard itself (so no body can report
    another length than it sends), or why it cannot be: a bytes-like copied as plain bytes
    (whatever length it claims), text as UTF-8, a binary stream read to its end from where it
    stands, then rewound to its start as botocore rewinds one before a retry."""
    if body is None:
        return None, None
    plain = plain_bytes(body)
    if plain is not None:
        return plain, None
    read = getattr(body, "read", None)
    if not callable(read):
        return None, f"a body the guard cannot read ({type(body).__name__})"
    blocks: list[bytes] = []
    while block := read(WIRE_BLOCK):
        if not isinstance(block, bytes | bytearray):
            return None, f"a stream body that yields {type(block).__name__}, not bytes"
        blocks.append(bytes(block))
    seek = getattr(body, "seek", None)
    if callable(seek):
        with contextlib.suppress(OSError, ValueError):  # botocore could not rewind it either
            seek(0)
    return b"".join(blocks), None


def framing_problem(headers: Mapping[str, object], body: bytes | None) -> str | None:
    """Why a server could read more than this request out of what is sent (``body``: the bytes
    ``wire_bytes`` read): a ``Content-Length`` that is not the body's length leaves the rest of
    the body to be read as further requests (which no check judged), as does one beside
    ``Transfer-Encoding``. The HTTP library frames a chunked body itself."""
    lengths = [_text(v).strip() for k, v in headers.items() if k.lower() == "content-length"]
    encodings = [_text(v).strip() for k, v in headers.items() if k.lower() == "transfer-encoding"]
    if encodings and (lengths or any(e.lower() != "chunked" for e in encodings)):
        return (
            f"Transfer-Encoding {', '.join(encodings)} with Content-Length {', '.join(lengths)}: "
            "a server could read the body as further requests"
            if lengths
            else f"Transfer-Encoding {', '.join(encodings)} is not chunked"
        )
    if not lengths:
        return None
    actual = len(body or b"")
    declared = lengths[0]
    if (
        len(lengths) > 1
        or not (declared.isascii() and declared.isdigit())
        or actual != int(declared)
    ):
        return (
            f"Content-Length {', '.join(lengths)} is not its body's length ({actual}): a server "
            "would read the rest of the body as further requests"
        )
    return None


def method_problem(method: str, expected: str | None, operation: str) -> str | None:
    """Why a request's method is not its operation's own, or None."""
    if expected is None or method.upper() == expected.upper():
        return None
    return (
        f"method {method.upper()} is not {operation}'s ({expected.upper()}): a signature binds "
        "the method it is made for"
    )


def presign_problem(operation: str) -> str | None:
    if operation in PRESIGNABLE:
        return None
    return f"no presigned URL for {operation}: the proof makes none"


def query_problem(url: str, allowed: frozenset[str]) -> str | None:
    """Why the URL's query carries a parameter the operation does not build, or None."""
    for name, _value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name not in allowed:
            return f"query parameter {name!r} is not one the operation builds"
    return None


def host_header_problem(url: str, headers: Mapping[str, object]) -> str | None:
    """A ``Host`` header other than the URL's own would route the request elsewhere."""
    netloc = urlsplit(url).netloc.lower()
    for name, value in headers.items():
        if name.lower() == "host" and _text(value).lower() != netloc:
            return f"Host header {_text(value)!r} differs from the URL's {netloc!r}"
    return None


def deleted_keys(body: object) -> tuple[str, ...] | None:
    """The keys a DeleteObjects body names, as the server will read them (None: unreadable)."""
    raw = body if isinstance(body, bytes | str) else getattr(body, "getvalue", lambda: None)()
    if raw is None:
        return None
    try:
        root = ET.fromstring(raw)  # noqa: S314 (botocore's own serialisation of our parameters)
    except ET.ParseError:
        return None
    keys = [
        element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "Key"
    ]
    return tuple(keys)
