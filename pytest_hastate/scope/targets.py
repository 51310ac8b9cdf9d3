"""What must never be touched: the protected targets (whole buckets, state keys in any
bucket, key prefixes, single objects), read from the policy and from every ``deny`` line of a
package by one grammar, and what an endpoint may look like. Pure."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pytest_hastate.models.profile import Profile
from pytest_hastate.scope.names import (
    bucket_name_problem,
    normalize_bucket,
    normalize_key,
    segment_problem,
)

PROTECTED_STACKS_PHRASE = re.compile(r"^protected (stack|state) (prefixes|keys|stacks)$", re.I)
_DENY = re.compile(r"^\s*deny\s+(?P<targets>.+?)\s*$", re.I)
_TARGET = re.compile(r"^(?P<name>[^\s,]+)(?:\s+bucket)?(?:\s+and\s+its\s+keys)?$", re.I)


@dataclass(frozen=True)
class Denial:
    """What one ``deny ...`` line protects: whole buckets, keys in any bucket, objects."""

    buckets: frozenset[str] = frozenset()
    keys: tuple[str, ...] = ()
    objects: frozenset[tuple[str, str]] = frozenset()

    def denies_bucket(self, bucket: str) -> bool:
        """Whether the line denies the whole bucket."""
        return normalize_bucket(bucket) in {normalize_bucket(b) for b in self.buckets}

    def protects_in(self, bucket: str) -> bool:
        """Whether the line protects the bucket or an object in it."""
        wanted = normalize_bucket(bucket)
        return self.denies_bucket(bucket) or any(
            normalize_bucket(b) == wanted for b, _key in self.objects
        )

    def denies_key(self, key: str) -> bool:
        """Whether the line denies the key (in any bucket, or as one bucket's object)."""
        wanted = normalize_key(key)
        return any(normalize_key(k) == wanted for k in self.keys) or any(
            obj == wanted for _bucket, obj in self.objects
        )


def parse_denial(text: str, stacks: Iterable[str] = ()) -> Denial | None:
    """``deny <target> [and <target>]...``; a target is ``<bucket> [bucket] [and its keys]``,
    ``<bucket>/<key>``, a key path ``a/b.tfstate``, or ``protected stack prefixes`` (which
    stands for ``stacks``, the profile's protected state keys).

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
            keys += stacks
            continue
        target = _TARGET.match(part)
        if target is None:
            return None
        name = target.group("name").strip("/")
        if "/" not in name:
            if bucket_name_problem(name) is not None:
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
    """Everything no request may touch (but the boundary step's HEAD probes): whole buckets,
    state keys in any bucket, key prefixes in any bucket, and single objects."""

    buckets: frozenset[str] = frozenset()
    keys: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    objects: frozenset[tuple[str, str]] = frozenset()

    @functools.cached_property
    def _normal_keys(self) -> tuple[tuple[str, str], ...]:
        """(protected key, its normal form), worked out once: every request is judged by it."""
        return tuple((key, normalize_key(key)) for key in self.keys)

    @functools.cached_property
    def _normal_prefixes(self) -> tuple[tuple[str, str], ...]:
        return tuple((prefix, normalize_key(prefix) + "/") for prefix in self.prefixes)

    @property
    def empty(self) -> bool:
        return not (self.buckets or self.keys or self.prefixes or self.objects)

    @classmethod
    def of(
        cls, profile: Profile, denials: Iterable[str] = (), policy: Iterable[str] = ()
    ) -> ProtectedTargets:
        """The profile's protected targets plus every ``deny`` of a package: its
        protected_state_denials and the deny lines of its scratch_bucket_policy, read by the
        one grammar. Lines the grammar cannot read add nothing here; the package gate refuses
        them."""
        protected = profile.protected
        buckets = {normalize_bucket(b) for b in protected.buckets}
        keys = list(protected.state_keys)
        objects: set[tuple[str, str]] = set()
        for entry in [*denials, *denial_lines(policy)]:
            denial = parse_denial(entry, protected.state_keys)
            if denial is None:
                continue
            buckets |= {normalize_bucket(b) for b in denial.buckets}
            keys += denial.keys
            objects |= denial.objects
        return cls(
            frozenset(buckets), tuple(dict.fromkeys(keys)), tuple(protected.key_prefixes),
            frozenset(objects),
        )  # fmt: skip

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
        for protected, pp in self._normal_prefixes:
            if ("/" + nk + "/").find("/" + pp) >= 0:
                return f"key is under the protected key prefix {protected}"
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
        if bucket is not None:
            nb = normalize_bucket(bucket)
            for ob, ok in sorted(self.objects):
                if ob == nb and ok.startswith(np):
                    return f"prefix covers the protected object {ob}/{ok}"
        for protected, pp in self._normal_prefixes:
            if pp.startswith(np):
                return f"prefix covers the protected key prefix {protected}"
        return None

    def label_problem(self, host: str) -> str | None:
        """Why an endpoint host cannot be used: one of its labels, or a run of them, names a
        protected bucket (virtual-hosted addressing would route to that bucket; a bucket name
        may hold dots)."""
        labels = host.lower().rstrip(".").split(".")
        for start in range(len(labels)):
            for end in range(start + 1, len(labels) + 1):
                name = ".".join(labels[start:end])
                if normalize_bucket(name) in self.buckets:
                    what = "label" if end == start + 1 else "labels"
                    return f"its host has the {what} {name!r}, a protected bucket"
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
