"""The scratch guard: which S3 requests the product may send. Pure; no I/O.

It is installed inside the one S3 client factory (``s3.py``) as botocore event hooks, so no
caller can forget it: one judges the request's parameters before they are serialised, one
judges the request botocore built (URL, Host, copy-source header, presigned POST policy)
before it is signed. Rules (SPEC 3):

- Only plain bucket names (no ARN, access point, outpost, or a name that normalises to
  another); no dot or empty segment (``.``, ``..``, ``//``, also percent-encoded) in any key,
  prefix, marker or copy-source key, for reads as much as for writes.
- Any request at all to a protected target is refused, except the credential-boundary HEAD
  probes (HeadBucket / HeadObject, which expect 403/404).
- Every request addresses the scratch bucket or this run's probe bucket
  ``<scratch_bucket>-probe-<short id>`` (ListBuckets addresses none); a mutating request only
  a canonical key under ``<scratch_prefix><run-id>/``, or the bucket-level operations the
  proof needs.
- The URL botocore built goes to the configured endpoint (path style) or
  ``<bucket>.<endpoint host>`` (virtual-hosted style) and carries exactly the bucket and key
  the parameters named.

Keys are compared after normalisation (percent-decoding, Unicode NFKC, common look-alike
letters, case, ``\\``, ``//``, ``.`` and ``..``); a key that is not already in canonical form is
never written.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.models import PROTECTED_BUCKET, PROTECTED_STATE_KEYS

BOUNDARY_PROBES = frozenset({"HeadBucket", "HeadObject"})
# Bucket-level mutations the proof needs on the scratch bucket and on its own probe bucket.
SCRATCH_BUCKET_OPERATIONS = frozenset({"CreateBucket", "PutBucketVersioning"})
PROBE_BUCKET_OPERATIONS = frozenset({"CreateBucket", "PutBucketVersioning", "DeleteBucket"})
# Parameters that name keys (or the start of keys) and so route a request to objects.
KEY_PARAMETERS = ("Key", "Prefix", "StartAfter", "KeyMarker", "Marker")
TOKEN_PARAMETERS = ("VersionId", "UploadId", "VersionIdMarker", "UploadIdMarker")
NO_BUCKET_OPERATIONS = frozenset({"ListBuckets"})
# The only S3 operations the product sends. Anything else (RenameObject, RestoreObject with an
# output location, SelectObjectContent, bucket configuration ...) may carry a target in a
# header or body the guard does not read: refused, whatever it names.
OPERATIONS = frozenset(
    {
        "ListBuckets", "HeadBucket", "GetBucketVersioning", "GetBucketAcl", "ListObjectsV2",
        "ListObjectVersions", "HeadObject", "GetObject", "PutObject", "CopyObject",
        "DeleteObject", "DeleteObjects", "CreateBucket", "PutBucketVersioning", "DeleteBucket",
    }
)  # fmt: skip
_TOKEN = re.compile(r"^[A-Za-z0-9._+=-]{1,1024}$")
# Backend settings that would send OpenTofu's requests elsewhere or under another identity.
FOREIGN_BACKEND_SETTINGS = frozenset(
    {
        "endpoint", "workspace_key_prefix", "access_key", "secret_key", "token", "profile",
        "shared_credentials_files", "shared_config_files", "assume_role",
        "assume_role_with_web_identity", "dynamodb_table", "dynamodb_endpoint", "sts_endpoint",
        "iam_endpoint", "insecure",
    }
)  # fmt: skip

# Letters from other scripts that render like ASCII ones (kept small and explicit).
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
        "ѕ": "s", "ј": "j", "ԁ": "d", "ɡ": "g", "ո": "n", "т": "t", "ｍ": "m",
        "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "ρ": "p",
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-", "﹣": "-", "－": "-",
        "∕": "/", "⁄": "/", "／": "/", "＼": "/", "\\": "/",
    }
)  # fmt: skip
_PLAIN_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_VERSION_QUERY = re.compile(r"^versionId=[A-Za-z0-9._+=-]{1,1024}$")


CACHE = 16384
"""Entries of each pure name check's cache: every request asks them twice or more, and the
same protected keys every time (a verify of thousands of objects runs them per object)."""


def is_read_only(operation: str) -> bool:
    return operation.startswith(("Head", "Get", "List"))


def fully_decoded(text: str) -> str:
    """Percent-decoded until it no longer changes (a hop may decode once more than we do)."""
    for _ in range(5):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


@functools.lru_cache(maxsize=CACHE)
def normalize_key(key: str) -> str:
    """The form a key is compared in: decoded, NFKC, look-alikes folded, path-normalised, casefolded."""
    text = unicodedata.normalize("NFKC", fully_decoded(key)).translate(_CONFUSABLES)
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc", "Zs") or ch == " "
    )
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts).casefold()


@functools.lru_cache(maxsize=CACHE)
def normalize_bucket(bucket: str) -> str:
    return normalize_key(bucket).replace("/", "").strip(". ")


def is_canonical_key(key: str) -> bool:
    """Plain printable ASCII, no encoding, no empty / dot segments: written as it is read."""
    if not key or not key.isascii() or not key.isprintable() or "%" in key or "\\" in key:
        return False
    segments = key.split("/")
    return all(seg not in ("", ".", "..") for seg in segments)  # no //, leading or trailing /


@functools.lru_cache(maxsize=CACHE)
def plain_bucket_problem(bucket: str) -> str | None:
    """Why ``bucket`` is not a plain S3 bucket name (ARN, access point, look-alike ...)."""
    if ":" in bucket:
        return "not a plain bucket name (an ARN, access point or outpost)"
    if not _PLAIN_BUCKET.match(bucket) or ".." in bucket:
        return "not a plain bucket name (3-63 of a-z, 0-9, '.', '-')"
    try:
        ipaddress.ip_address(bucket)
    except ValueError:
        pass
    else:
        return "not a plain bucket name (an IP address)"
    if normalize_bucket(bucket) != bucket:
        return "not a plain bucket name (it normalises to another name)"
    return None


@functools.lru_cache(maxsize=CACHE)
def segment_problem(value: str, *, trailing_slash: bool = False) -> str | None:
    """Why a key (or prefix) would climb or fold on a hop that resolves paths: a ``.``, ``..``
    or empty segment, also percent-encoded or with ``\\``; control characters."""
    text = fully_decoded(value).replace("\\", "/")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "contains control characters"
    segments = text.split("/")
    if trailing_slash and len(segments) > 1 and segments[-1] == "":
        segments = segments[:-1]
    if any(seg in (".", "..") for seg in segments):
        return "contains a dot segment ('.' or '..', also percent-encoded)"
    if text and any(seg == "" for seg in segments):
        return "contains an empty segment ('//', or a leading or trailing '/')"
    return None


def short_id(run_id: str) -> str:
    """Eight hex characters naming this run's probe bucket."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:8]


# --- the denial grammar: one parser for the package gate and the guard -----------------------

PROTECTED_STACKS_PHRASE = re.compile(r"^protected (stack|state) (prefixes|keys|stacks)$", re.I)
_DENY = re.compile(r"^\s*deny\s+(?P<targets>.+?)\s*$", re.I)
_TARGET = re.compile(r"^(?P<name>[^\s,]+)(?:\s+bucket)?(?:\s+and\s+its\s+keys)?$", re.I)


@dataclass(frozen=True)
class Denial:
    """What one ``deny ...`` line protects: whole buckets, keys in any bucket, objects."""

    buckets: frozenset[str] = frozenset()
    keys: tuple[str, ...] = ()
    objects: frozenset[tuple[str, str]] = frozenset()


def parse_denial(text: str) -> Denial | None:
    """``deny <target> [and <target>]...``; a target is ``<bucket> [bucket] [and its keys]``,
    ``<bucket>/<key>``, a key path ``a/b.tfstate``, or ``protected stack prefixes``.

    None when the line is not a denial this grammar can turn into protected targets (a
    denial that protects nothing must be refused, not ignored).
    """
    match = _DENY.match(text)
    if match is None:
        return None
    buckets: set[str] = set()
    keys: list[str] = []
    objects: set[tuple[str, str]] = set()
    for part in re.split(r"\s*,\s*|\s+and\s+(?!its\s+keys)", match.group("targets")):
        if PROTECTED_STACKS_PHRASE.match(part):
            keys += PROTECTED_STATE_KEYS
            continue
        target = _TARGET.match(part)
        if target is None:
            return None
        name = target.group("name").strip("/")
        if "/" not in name:
            if plain_bucket_problem(name) is not None:
                return None
            buckets.add(name)
            continue
        bucket, key = name.split("/", 1)
        if segment_problem(key) is not None:
            return None
        objects.add((normalize_bucket(bucket), normalize_key(key)))
        keys.append(name)  # also protect the whole text as a key in any bucket
    if not (buckets or keys or objects):
        return None
    return Denial(frozenset(buckets), tuple(keys), frozenset(objects))


def denial_lines(policy: Iterable[str]) -> list[str]:
    """The ``deny ...`` lines of a scratch bucket policy (its ``allow`` lines grant, not deny)."""
    return [line for line in policy if re.match(r"^\s*deny\b", line, re.I)]


@dataclass(frozen=True)
class ProtectedTargets:
    buckets: frozenset[str] = frozenset({PROTECTED_BUCKET})
    keys: tuple[str, ...] = PROTECTED_STATE_KEYS
    objects: frozenset[tuple[str, str]] = frozenset()

    @functools.cached_property
    def _normal_keys(self) -> tuple[tuple[str, str], ...]:
        """(protected key, its normal form), worked out once: every request is judged by it."""
        return tuple((key, normalize_key(key)) for key in self.keys)

    @classmethod
    def from_denials(cls, denials: Iterable[str]) -> ProtectedTargets:
        """SPEC 3: tofu-state, the protected keys in any bucket, and every denial's targets.
        Lines the grammar cannot read add nothing here; the package gate refuses them."""
        buckets = {PROTECTED_BUCKET}
        keys = list(PROTECTED_STATE_KEYS)
        objects: set[tuple[str, str]] = set()
        for entry in denials:
            denial = parse_denial(entry)
            if denial is None:
                continue
            buckets |= {normalize_bucket(b) for b in denial.buckets}
            keys += denial.keys
            objects |= denial.objects
        return cls(frozenset(buckets), tuple(dict.fromkeys(keys)), frozenset(objects))

    @classmethod
    def for_package(cls, denials: Iterable[str], policy: Iterable[str]) -> ProtectedTargets:
        """Every ``deny`` of a package: its protected_state_denials and the deny lines of its
        scratch_bucket_policy, read by the one grammar."""
        return cls.from_denials([*denials, *denial_lines(policy)])

    def reason(self, bucket: str | None, key: str | None) -> str | None:
        """Why ``bucket``/``key`` is protected, or None."""
        if bucket is not None:
            if not bucket.isascii():
                return "bucket name is not ASCII (a look-alike of a real bucket?)"
            if normalize_bucket(bucket) in self.buckets:
                return f"bucket {normalize_bucket(bucket)} is protected"
        if key is None:
            return None
        nk = normalize_key(key)
        if bucket is not None and (normalize_bucket(bucket), nk) in self.objects:
            return "object is listed in protected_state_denials"
        for protected, pk in self._normal_keys:
            if nk == pk or nk.endswith("/" + pk) or nk.startswith(pk):
                return f"key matches the protected state key {protected}"
        return None

    def prefix_reason(self, bucket: str | None, prefix: str) -> str | None:
        """Why a listing prefix would reveal protected keys (it is, or starts, one), or None.
        The empty prefix lists a whole bucket and is judged by the bucket alone."""
        reason = self.reason(bucket, prefix) if prefix else None
        if reason is not None or not prefix:
            return reason
        np = normalize_key(prefix)
        for protected, pk in self._normal_keys:
            if pk.startswith(np):
                return f"prefix covers the protected state key {protected}"
        return None

    def label_problem(self, host: str) -> str | None:
        """Why an endpoint host cannot be used: one of its labels names a protected bucket
        (virtual-hosted addressing would route to that bucket)."""
        labels = host.lower().split(".")
        for label in labels:
            if normalize_bucket(label) in self.buckets:
                return f"its host has the label {label!r}, a protected bucket"
        return None


def endpoint_origin_problem(url: str, protected: ProtectedTargets | None = None) -> str | None:
    """Why ``url`` is not a plain origin the guard can compare requests against."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "must not carry user-info (credentials) in the URL"
    if parts.path not in ("", "/"):
        return "must be a plain origin without a path"
    if parts.query or parts.fragment or url.rstrip("/").endswith(("?", "#")):
        return "must not carry a query or fragment"
    if protected is not None and parts.hostname:
        return protected.label_problem(parts.hostname)
    return None


@dataclass(frozen=True)
class Target:
    """What a request addresses, as its parameters name it."""

    operation: str
    bucket: str | None
    key: str | None = None
    keys: tuple[str, ...] = ()  # DeleteObjects
    prefixes: tuple[str, ...] = ()  # Prefix, StartAfter, KeyMarker, Marker
    copy_source: tuple[str, str] | None = None
    tokens: tuple[tuple[str, str], ...] = ()  # VersionId, UploadId: plain tokens only

    @classmethod
    def from_params(cls, operation: str, params: Mapping[str, object]) -> Target:
        """The target of a botocore call (its parameters, as handed to the guard)."""
        delete = params.get("Delete")
        objects = delete.get("Objects", []) if isinstance(delete, Mapping) else []
        keys = tuple(str(o.get("Key", "")) for o in objects if isinstance(o, Mapping))
        prefixes = tuple(
            str(params[name]) for name in KEY_PARAMETERS[1:] if params.get(name) is not None
        )
        bucket, key = params.get("Bucket"), params.get("Key")
        tokens = tuple(
            (name, str(params[name])) for name in TOKEN_PARAMETERS if params.get(name) is not None
        )
        return cls(
            operation,
            None if bucket is None else str(bucket),
            None if key is None else str(key),
            keys,
            prefixes,
            copy_source_of(params.get("CopySource")),
            tokens,
        )


def copy_source_of(value: object) -> tuple[str, str] | None:
    """(bucket, key) of a CopySource (dict, or the string botocore quotes from it). Anything
    else, e.g. a ``?`` that is not exactly ``?versionId=<id>``, is refused."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return str(value.get("Bucket")), str(value.get("Key"))
    text = str(value)
    path, mark, query = text.partition("?")
    if mark and not _VERSION_QUERY.match(query):
        raise GuardRefusal("CopySource", text, "copy source with a query other than versionId")
    decoded = unquote(path).lstrip("/")
    bucket, _, key = decoded.partition("/")
    if "?" in decoded:
        raise GuardRefusal("CopySource", text, "copy source with a '?' in its bucket or key")
    return bucket, key


def _target(bucket: str | None, key: str | None) -> str:
    if bucket is None:
        return "(no bucket)"
    return f"{bucket}/{key}" if key is not None else bucket


@dataclass(frozen=True)
class ScratchScope:
    """Where this run may write: the scratch bucket under ``<prefix><run-id>/``, and its probe bucket."""

    bucket: str
    prefix: str
    run_id: str
    protected: ProtectedTargets = field(default_factory=ProtectedTargets)
    allow_scratch_bucket_delete: bool = False

    @property
    def run_prefix(self) -> str:
        return f"{self.prefix}{self.run_id}/"

    @property
    def probe_bucket(self) -> str:
        return f"{self.bucket}-probe-{short_id(self.run_id)}"

    def key(self, *parts: str) -> str:
        """A key of this run: ``<prefix><run-id>/<parts...>``."""
        return self.run_prefix + "/".join(parts)

    def in_run(self, key: str) -> bool:
        """A canonical key of this run (for keys read back from files)."""
        return is_canonical_key(key) and key.startswith(self.run_prefix)

    def check(
        self,
        operation: str,
        bucket: str | None,
        key: str | None = None,
        *,
        keys: Sequence[str] = (),
        prefixes: Sequence[str] = (),
        copy_source: tuple[str, str] | None = None,
        boundary_probe: bool = False,
    ) -> None:
        """Raise ``GuardRefusal`` unless the request is allowed."""
        self.check_target(
            Target(operation, bucket, key, tuple(keys), tuple(prefixes), copy_source),
            boundary_probe=boundary_probe,
        )

    def check_target(self, t: Target, *, boundary_probe: bool = False) -> None:
        """Raise ``GuardRefusal`` unless the request ``t`` is allowed."""
        op = t.operation
        if op not in OPERATIONS:
            raise GuardRefusal(op, _target(t.bucket, t.key), "not an operation the proof sends")
        for name, token in t.tokens:
            if not _TOKEN.match(token) or token in (".", ".."):
                raise GuardRefusal(op, _target(t.bucket, t.key), f"{name} is not a plain token")
        if t.bucket is None:
            if op not in NO_BUCKET_OPERATIONS:
                raise GuardRefusal(op, "(no bucket)", "only ListBuckets may address no bucket")
            for prefix in t.prefixes:
                problem = segment_problem(prefix, trailing_slash=True)
                if problem is not None:
                    raise GuardRefusal(op, prefix, f"prefix {problem}")
            return
        self._check_shapes(t)
        probe = boundary_probe and op in BOUNDARY_PROBES
        for prefix in t.prefixes:
            reason = self.protected.prefix_reason(t.bucket, prefix)
            if reason is not None:
                raise GuardRefusal(op, _target(t.bucket, prefix), reason)
        for item in (t.key, *t.keys) if t.keys else (t.key,):
            reason = self.protected.reason(t.bucket, item)
            if reason is not None and not probe:
                raise GuardRefusal(op, _target(t.bucket, item), reason)
            if reason is not None:
                return  # a boundary HEAD probe of a protected target: expects 403/404
        if t.copy_source is not None:
            reason = self.protected.reason(*t.copy_source)
            if reason is not None:
                raise GuardRefusal(op, _target(*t.copy_source), f"copy source: {reason}")
        if t.bucket not in (self.bucket, self.probe_bucket):
            raise GuardRefusal(
                op,
                _target(t.bucket, t.key),
                "outside the scratch bucket and this run's probe bucket",
            )
        if t.copy_source is not None:
            source_bucket, source_key = t.copy_source
            if source_bucket not in (self.bucket, self.probe_bucket) or not self.in_run(source_key):
                raise GuardRefusal(
                    op, _target(*t.copy_source), "copy source outside this run's scratch scope"
                )
        if is_read_only(op):
            return
        self._check_mutation(t)

    def _check_shapes(self, t: Target) -> None:
        assert t.bucket is not None
        for name in (t.bucket, *(t.copy_source[:1] if t.copy_source else ())):
            problem = plain_bucket_problem(name)
            if problem is not None:
                raise GuardRefusal(t.operation, name, problem)
        for item in (t.key, *t.keys, *(t.copy_source[1:] if t.copy_source else ())):
            problem = None if item is None else segment_problem(item)
            if problem is not None:
                raise GuardRefusal(t.operation, _target(t.bucket, item), f"key {problem}")
        for prefix in t.prefixes:
            problem = segment_problem(prefix, trailing_slash=True)
            if problem is not None:
                raise GuardRefusal(t.operation, _target(t.bucket, prefix), f"prefix {problem}")

    def _check_mutation(self, t: Target) -> None:
        op = t.operation
        if t.key is None and not t.keys:
            allowed = (
                PROBE_BUCKET_OPERATIONS
                if t.bucket == self.probe_bucket
                else SCRATCH_BUCKET_OPERATIONS
            )
            if op in allowed or (op == "DeleteBucket" and self.allow_scratch_bucket_delete):
                return
            raise GuardRefusal(
                op, _target(t.bucket, None), "bucket-level mutation not allowed on this bucket"
            )
        for item in (t.key, *t.keys) if t.key is not None else t.keys:
            if item is None or not is_canonical_key(item):
                raise GuardRefusal(op, _target(t.bucket, item), "key is not in canonical form")
            if not item.startswith(self.run_prefix):
                raise GuardRefusal(
                    op, _target(t.bucket, item), f"key outside this run's prefix {self.run_prefix}"
                )

    # --- OpenTofu's own traffic (it does not pass through boto3) ---------------------------------

    def check_backend(self, backend: Mapping[str, object], *, key: str, endpoint: str) -> None:
        """The rendered S3 backend block, as a whole, before any OpenTofu command runs: this
        run's scratch bucket and state key, the one endpoint, the lockfile, and nothing that
        could send OpenTofu's requests elsewhere or under another identity."""
        wanted: dict[str, object] = {
            "bucket": self.bucket,
            "key": key,
            "endpoints": {"s3": endpoint},
            "use_lockfile": True,
        }
        for name, value in wanted.items():
            if backend.get(name) != value:
                raise GuardRefusal("OpenTofu backend", name, f"must be {value!r}")
        if not self.in_run(key):
            raise GuardRefusal(
                "OpenTofu backend", key, "state key outside this run's scratch prefix"
            )
        for name in sorted(set(backend) & FOREIGN_BACKEND_SETTINGS):
            raise GuardRefusal("OpenTofu backend", name, "must not be set (the proof owns it)")
        for lock_key in (key, key + ".tflock"):
            self.check("PutObject", self.bucket, lock_key)

    # --- the request botocore built -------------------------------------------------------------

    def check_request(
        self,
        t: Target,
        *,
        endpoint: str,
        url: str,
        copy_source_header: str | None,
        presigned_post: Mapping[str, object] | None = None,
        boundary_probe: bool = False,
    ) -> None:
        """The URL (scheme, host, port, path) goes where the parameters said, and nowhere else."""
        op = t.operation
        want, got = urlsplit(endpoint), urlsplit(url)
        host, port = (got.hostname or ""), got.port or _default_port(got.scheme)
        if got.scheme != want.scheme or port != (want.port or _default_port(want.scheme)):
            raise GuardRefusal(op, url, "request URL is not the configured endpoint")
        path = unquote(got.path)
        if host == (want.hostname or ""):
            bucket, _, key = path.lstrip("/").partition("/")
        elif t.bucket and host == f"{t.bucket}.{want.hostname}":
            bucket, key = t.bucket, path.lstrip("/")
        else:
            raise GuardRefusal(op, url, f"request host {host} is not the configured endpoint's")
        if (bucket or None) != t.bucket:
            raise GuardRefusal(op, url, f"request addresses bucket {bucket!r}, not {t.bucket!r}")
        if presigned_post is not None:
            self._check_post(t, presigned_post)
            return
        if (key or None) != t.key:
            raise GuardRefusal(op, url, "request path carries another key than the parameters")
        if copy_source_header is not None and (
            t.copy_source is None or copy_source_of(copy_source_header) != t.copy_source
        ):
            raise GuardRefusal(op, copy_source_header, "copy-source header differs from CopySource")
        self.check_target(t, boundary_probe=boundary_probe)

    def _check_post(self, t: Target, post: Mapping[str, object]) -> None:
        fields = post.get("fields")
        key = str(fields.get("key")) if isinstance(fields, Mapping) else ""
        if "${filename}" in key:
            raise GuardRefusal(
                "PresignedPost", _target(t.bucket, key), "a key the uploader chooses"
            )
        conditions = post.get("conditions") or []
        for condition in conditions if isinstance(conditions, list) else []:
            if (
                isinstance(condition, list)
                and len(condition) == 3
                and str(condition[0]).lower() == "starts-with"
                and str(condition[1]).lower() == "$key"
            ):
                raise GuardRefusal(
                    "PresignedPost",
                    _target(t.bucket, key),
                    "a starts-with condition on $key lets the uploader choose the key",
                )
        self.check_target(Target("PutObject", t.bucket, key))


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
