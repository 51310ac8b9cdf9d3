"""What each document must declare, in one table both gates read: the observability signals
the proof needs named (the proof's own demand), and the authority surfaces to separate from and
the other words of policy (the profile's). Pure."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal, get_args

from pytest_hastate.gates.rules import list_covers
from pytest_hastate.gates.text import Finding
from pytest_hastate.models.profile import CandidateClassRule, Named, Posture, Profile

Document = Literal["contract", "package"]
Signal = tuple[str, re.Pattern[str]]

OBSERVABILITY: dict[Document, tuple[Signal, ...]] = {
    "contract": (
        ("S3 API health", re.compile(r"\bapi\b.*health|health.*\bapi\b|s3 api", re.I)),
        ("bucket metadata", re.compile(r"bucket metadata|metadata", re.I)),
        ("object availability", re.compile(r"object availability|availability", re.I)),
        ("lock failures", re.compile(r"lock", re.I)),
    ),
    "package": (
        ("failed auth", re.compile(r"auth", re.I)),
        ("failed write", re.compile(r"write", re.I)),
        ("replication lag", re.compile(r"replication|lag", re.I)),
        ("delete behavior", re.compile(r"delete", re.I)),
    ),
}
"""The signals an operator relies on, by document (rules C06 and P11)."""


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> re.Pattern[str]:
    """A profile's pattern, compiled once (case-insensitive)."""
    return re.compile(pattern, re.I)


def named(entries: list[Named]) -> tuple[Signal, ...]:
    return tuple((entry.name, compiled(entry.match)) for entry in entries)


def separation(profile: Profile, document: Document) -> tuple[Signal, ...]:
    """The authority surfaces ``document`` must declare separation from (rules C07, P12)."""
    return named(getattr(profile.separation, document))


STRICTEST_FIRST = tuple(reversed(get_args(Posture)))


def classify(text: str, profile: Profile) -> CandidateClassRule | None:
    """The profile's candidate class of a contract's free-text class: of the classes whose
    pattern matches, the strictest posture decides (a text naming a rejected class is
    rejected, whatever the order of the list); among equals, the first listed."""
    matching = [rule for rule in profile.candidate_classes if compiled(rule.match).search(text)]
    if not matching:
        return None
    return min(matching, key=lambda rule: STRICTEST_FIRST.index(rule.posture))


def promotions(profile: Profile) -> Iterator[Signal]:
    """What no contract field may promote to state authority (rule C10)."""
    if profile.interim_backend is not None:
        yield profile.interim_backend.name, compiled(profile.interim_backend.match)
    yield from named(profile.rejected_surfaces)
    if profile.cache_surfaces:
        yield "a cache surface", compiled(profile.cache_surfaces)
    for bucket in profile.protected.buckets:
        yield f"the active {bucket} bucket", compiled(rf"(?<![\w-]){re.escape(bucket)}(?![\w-])")


def observability_listed(
    rule_id: str, data: Mapping[str, Any], document: Document
) -> Iterator[Finding]:
    """The document's observability list names every signal the proof needs (C06, P11)."""
    yield from list_covers(
        rule_id, data, "observability", OBSERVABILITY[document], verb="cover",
        empty="no observability signals listed",
    )  # fmt: skip


def separation_declared(
    rule_id: str, data: Mapping[str, Any], document: Document, profile: Profile
) -> Iterator[Finding]:
    """The document separates from every authority surface the profile names (C07, P12)."""
    surfaces = separation(profile, document)
    if surfaces:
        yield from list_covers(
            rule_id, data, "authority_separation", surfaces, verb="separate",
            empty="no authority separation stated",
        )  # fmt: skip


def protected_stack(profile: Profile) -> re.Pattern[str]:
    """Words that name a protected stack: the protected buckets and the folders of the
    protected state keys and prefixes (rule C12: no maintenance proof may mutate one)."""
    folders = {key.split("/", 1)[0] + "/" for key in profile.protected.state_keys if "/" in key}
    folders |= {prefix for prefix in profile.protected.key_prefixes}
    words = [re.escape(word) for word in (*profile.protected.buckets, *sorted(folders))]
    return compiled("|".join([r"protected (state|stack)", *words]))
