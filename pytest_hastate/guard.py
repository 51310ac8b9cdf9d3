"""The scratch guard: which S3 requests the product may send. Pure; no I/O.

It is installed inside the one S3 client factory (``s3.py``) as a botocore event hook, so no
caller can forget it. Rules (SPEC 3):

- Any request at all to a protected target is refused, except the credential-boundary HEAD
  probes (HeadBucket / HeadObject, which expect 403/404).
- A mutating request is allowed only inside the scratch scope: the scratch bucket (bucket-level
  create / versioning), or a canonical key under ``<scratch_prefix><run-id>/`` in the scratch
  bucket or in this run's probe bucket ``<scratch_bucket>-probe-<short id>``.
- Keys are compared after normalisation (percent-decoding, Unicode NFKC, common look-alike
  letters, case, ``\\``, ``//``, ``.`` and ``..``); a key that is not already in that canonical form
  is never written.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.models import PROTECTED_BUCKET, PROTECTED_STATE_KEYS

BOUNDARY_PROBES = frozenset({"HeadBucket", "HeadObject"})
# Bucket-level mutations the proof needs on the scratch bucket and on its own probe bucket.
SCRATCH_BUCKET_OPERATIONS = frozenset({"CreateBucket", "PutBucketVersioning"})
PROBE_BUCKET_OPERATIONS = frozenset({"CreateBucket", "PutBucketVersioning", "DeleteBucket"})

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


def is_read_only(operation: str) -> bool:
    return operation.startswith(("Head", "Get", "List"))


def normalize_key(key: str) -> str:
    """The form a key is compared in: decoded, NFKC, look-alikes folded, path-normalised, casefolded."""
    text = key
    for _ in range(5):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    text = unicodedata.normalize("NFKC", text).translate(_CONFUSABLES)
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


def normalize_bucket(bucket: str) -> str:
    return normalize_key(bucket).replace("/", "").strip(". ")


def is_canonical_key(key: str) -> bool:
    """Plain printable ASCII, no encoding, no empty / dot segments: written as it is read."""
    if not key or not key.isascii() or not key.isprintable() or "%" in key or "\\" in key:
        return False
    segments = key.split("/")
    return all(seg not in ("", ".", "..") for seg in segments)  # no //, leading or trailing /


def short_id(run_id: str) -> str:
    """Eight hex characters naming this run's probe bucket."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class ProtectedTargets:
    buckets: frozenset[str] = frozenset({PROTECTED_BUCKET})
    keys: tuple[str, ...] = PROTECTED_STATE_KEYS
    objects: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def from_denials(cls, denials: Iterable[str]) -> ProtectedTargets:
        """SPEC 3: tofu-state, the protected keys in any bucket, and every ``deny <bucket>[/<key>]``."""
        buckets = {PROTECTED_BUCKET}
        keys = list(PROTECTED_STATE_KEYS)
        objects: set[tuple[str, str]] = set()
        for entry in denials:
            match = re.match(r"\s*deny\s+(\S+)(\s+bucket)?\s*$", entry, re.I)
            if not match:
                continue
            target = match.group(1).strip("/")
            if "/" not in target:
                buckets.add(normalize_bucket(target))
                continue
            bucket, key = target.split("/", 1)
            objects.add((normalize_bucket(bucket), normalize_key(key)))
            keys.append(target)  # also protect the whole text as a key in any bucket
        return cls(frozenset(buckets), tuple(dict.fromkeys(keys)), frozenset(objects))

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
        for protected in self.keys:
            pk = normalize_key(protected)
            if nk == pk or nk.endswith("/" + pk) or nk.startswith(pk):
                return f"key matches the protected state key {protected}"
        return None


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

    def check(
        self,
        operation: str,
        bucket: str | None,
        key: str | None = None,
        *,
        keys: Sequence[str] = (),
        copy_source: tuple[str, str | None] | None = None,
        boundary_probe: bool = False,
    ) -> None:
        """Raise ``GuardRefusal`` unless the request is allowed."""
        target = _target(bucket, key)
        for item in (key, *keys) if keys else (key,):
            reason = self.protected.reason(bucket, item)
            if reason is not None:
                if boundary_probe and operation in BOUNDARY_PROBES:
                    continue
                raise GuardRefusal(operation, _target(bucket, item), reason)
        if copy_source is not None:
            reason = self.protected.reason(*copy_source)
            if reason is not None:
                raise GuardRefusal(operation, _target(*copy_source), f"copy source: {reason}")
        if is_read_only(operation):
            return
        if bucket not in (self.bucket, self.probe_bucket):
            raise GuardRefusal(operation, target, "mutating request outside the scratch bucket")
        if key is None and not keys:
            allowed = (
                PROBE_BUCKET_OPERATIONS
                if bucket == self.probe_bucket
                else SCRATCH_BUCKET_OPERATIONS
            )
            if operation in allowed or (
                operation == "DeleteBucket" and self.allow_scratch_bucket_delete
            ):
                return
            raise GuardRefusal(
                operation, target, "bucket-level mutation not allowed on this bucket"
            )
        for item in (key, *keys) if key is not None else keys:
            if item is None or not is_canonical_key(item):
                raise GuardRefusal(operation, _target(bucket, item), "key is not in canonical form")
            if not item.startswith(self.run_prefix):
                raise GuardRefusal(
                    operation,
                    _target(bucket, item),
                    f"key outside this run's prefix {self.run_prefix}",
                )


def _target(bucket: str | None, key: str | None) -> str:
    if bucket is None:
        return "(no bucket)"
    return f"{bucket}/{key}" if key is not None else bucket
