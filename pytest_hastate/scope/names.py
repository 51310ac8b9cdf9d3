"""Names in the scratch scope's vocabulary: the normal forms keys and buckets are compared
in, the canonical form a key is written in, and what makes a bucket name or a key unusable.
Pure; every module that reasons about S3 names uses these (the gates, the guard, the
checkpoints, the watch log, the migration plan)."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import unicodedata
from urllib.parse import unquote

CACHE = 16384
"""Entries of each pure name check's cache: every request asks them twice or more, and the
same protected keys every time (a verify of thousands of objects runs them per object)."""

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
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""The shape of an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')."""


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
def bucket_name_problem(bucket: str) -> str | None:
    """Why ``bucket`` is not a plain, valid S3 bucket name (an ARN or access point, a reserved
    or IP-shaped name, or one that normalises to another name), or None."""
    if ":" in bucket:
        return "not a plain bucket name (an ARN, access point or outpost)"
    if not BUCKET_NAME.match(bucket):
        return "not a valid S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')"
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        return "not a valid S3 bucket name (adjacent '.' / '-')"
    try:
        ipaddress.ip_address(bucket)
    except ValueError:
        pass
    else:
        return "not a valid S3 bucket name (looks like an IP address)"
    if bucket.startswith(("xn--", "sthree-")) or bucket.endswith(("-s3alias", "--ol-s3")):
        return "not a valid S3 bucket name (reserved prefix or suffix)"
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


RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""A run id (safe in a key and in a bucket name)."""
PHASE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
"""A phase label (safe in a key and a file name)."""

PROBE_INFIX = "-probe-"
PROBE_SUFFIX_LENGTH = len(PROBE_INFIX) + 8
"""A run's probe bucket is ``<scratch_bucket>-probe-<8 hex>``: this many characters longer."""


def probe_bucket_of(scratch_bucket: str, run_id: str) -> str:
    """The bucket-lifecycle probe bucket of one run."""
    return f"{scratch_bucket}{PROBE_INFIX}{short_id(run_id)}"


def is_probe_bucket_of(bucket: str, scratch_bucket: str) -> bool:
    """Whether ``bucket`` is (shaped like) a probe bucket of ``scratch_bucket``."""
    return bucket.startswith(scratch_bucket + PROBE_INFIX)
