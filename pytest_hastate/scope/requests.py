"""What a request addresses, as its parameters name it, and the S3 operations the proof sends.
Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from pytest_hastate.errors import GuardRefusal

BOUNDARY_PROBES = frozenset({"HeadBucket", "HeadObject"})
# Bucket-level mutations the proof needs on the scratch bucket and on its own probe bucket.
SCRATCH_BUCKET_OPERATIONS = frozenset({"CreateBucket", "PutBucketVersioning"})
PROBE_BUCKET_OPERATIONS = frozenset({"CreateBucket", "PutBucketVersioning", "DeleteBucket"})
# Parameters that name keys (or the start of keys) and so route a request to objects.
KEY_PARAMETERS = ("Key", "Prefix", "StartAfter", "KeyMarker", "Marker")
TOKEN_PARAMETERS = ("VersionId", "UploadId", "VersionIdMarker", "UploadIdMarker")
NO_BUCKET_OPERATIONS = frozenset({"ListBuckets"})
LISTINGS = frozenset({"ListObjectsV2", "ListObjectVersions"})
"""Operations that name the keys of a bucket (under their ``Prefix``) in their answer."""
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
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9._+=-]{1,1024}$")
"""A plain VersionId / UploadId token."""
_VERSION_QUERY = re.compile(r"^versionId=[A-Za-z0-9._+=-]{1,1024}$")


def is_read_only(operation: str) -> bool:
    return operation.startswith(("Head", "Get", "List"))


def target_label(bucket: str | None, key: str | None) -> str:
    """``bucket/key`` (or the bucket alone), as messages name a target."""
    if bucket is None:
        return "(no bucket)"
    return f"{bucket}/{key}" if key is not None else bucket


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
    listing_prefix: str | None = None  # a listing's Prefix: what its answer may name

    @property
    def label(self) -> str:
        return target_label(self.bucket, self.key)

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
            copy_source_of(params.get("CopySource"), operation),
            tokens,
            None if params.get("Prefix") is None else str(params["Prefix"]),
        )


def copy_source_of(value: object, operation: str) -> tuple[str, str] | None:
    """(bucket, key) of ``operation``'s CopySource (dict, or the string botocore quotes from
    it). Anything else, e.g. a ``?`` that is not exactly ``?versionId=<id>``, is refused."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return str(value.get("Bucket")), str(value.get("Key"))
    text = str(value)
    path, mark, query = text.partition("?")
    if mark and not _VERSION_QUERY.match(query):
        raise GuardRefusal(operation, text, "copy source with a query other than versionId")
    decoded = unquote(path).lstrip("/")
    bucket, _, key = decoded.partition("/")
    if "?" in decoded:
        raise GuardRefusal(operation, text, "copy source with a '?' in its bucket or key")
    return bucket, key
