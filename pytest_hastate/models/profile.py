"""The policy profile: everything that is one organisation's policy rather than proof.

Which buckets, state keys and key prefixes are protected; the scratch prefix; the authority
surfaces a contract and a package must declare separation from, with the words that count as
naming them; the candidate classes and their postures; the words that count as naming an
endpoint loss and a node or failure-domain loss; the inventory's hints for the stores it finds.
The proof itself (what is measured, how the verdict is decided) is not in it.

Patterns are regular expressions (Python syntax), matched case-insensitively anywhere in the
text they judge.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from pytest_hastate.models.base import _Document

PROFILE_SCHEMA = "pytest_hastate.profile.v1"

Posture = Literal["primary", "acceptable", "conditional", "rejected-final"]  # loosest first


def _compiles(pattern: str) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    if not pattern.strip():
        raise ValueError("must not be empty")
    if compiled.search("") is not None:
        raise ValueError(f"{pattern!r} matches the empty text, so it matches every text")
    return pattern


class Named(_Document):
    """Something a document must name: shown as ``name``, recognised by ``match``."""

    name: str = Field(min_length=1)
    match: str = Field(description="A regular expression (case-insensitive) that names it.")

    _check_match = field_validator("match")(_compiles)


class ProtectedPolicy(_Document):
    declared_by_package: bool = Field(
        default=False,
        description="The package's protected_state_denials are the protected set (the profile "
        "may list nothing itself; a package that lists nothing is refused, rule P08).",
    )
    buckets: list[str] = Field(
        default_factory=list,
        description="Protected buckets: no request at all to them or any key in them.",
    )
    state_keys: list[str] = Field(
        default_factory=list, description="Protected state keys, in any bucket."
    )
    key_prefixes: list[str] = Field(
        default_factory=list,
        description="Protected key prefixes (ending in '/'), in any bucket.",
    )


class Separation(_Document):
    """The authority surfaces each document must declare separation from."""

    contract: list[Named] = Field(
        default_factory=list, description="Rule C07: each named in authority_separation."
    )
    package: list[Named] = Field(
        default_factory=list, description="Rule P12: each named in authority_separation."
    )


class CandidateClassRule(_Document):
    """A candidate class of the decision record. Of the classes a contract's text matches, the
    strictest posture decides (rejected-final, conditional, acceptable, primary); among equals,
    the first listed."""

    name: str = Field(min_length=1, description="The class as findings and the inventory name it.")
    match: str = Field(description="A regular expression over a contract's candidate_class.")
    posture: Posture
    reason: str = ""
    conditions: list[Named] = Field(
        default_factory=list,
        description="What a conditional class's contract must state (rule C11).",
    )

    _check_match = field_validator("match")(_compiles)


class InventoryHints(_Document):
    """How the live inventory classifies the stores it finds."""

    store_classes: dict[str, str] = Field(
        default_factory=dict,
        description="Engine (minio, rustfs, seaweedfs, garage, ceph-rgw) -> the name of the "
        "candidate class a distributed, uncoupled store of it maps to.",
    )
    cache_coupling: str | None = Field(
        default=None, description="Namespace or label words that couple a store to a cache."
    )
    staging: str | None = Field(
        default=r"staging|\bstage\b", description="Namespace or label words of a staging store."
    )
    not_state: list[Named] = Field(
        default_factory=list, description="Stores that are never a state authority, by words."
    )

    _check_patterns = field_validator("cache_coupling", "staging")(
        lambda value: value if value is None else _compiles(value)
    )


class Profile(_Document):
    """``pytest_hastate.profile.v1``: a team's policy, as a document."""

    profile_schema: Literal["pytest_hastate.profile.v1"] = "pytest_hastate.profile.v1"
    name: str = Field(min_length=1)
    description: str = ""
    protected: ProtectedPolicy
    scratch_prefix: str = Field(description="The default scratch prefix of a package.")
    separation: Separation = Field(default_factory=Separation)
    cache_surfaces: str | None = Field(
        default=None,
        description="Words naming a cache surface, never the state authority (rules C10, P12).",
    )
    cache_bucket_words: str | None = Field(
        default=None, description="Words a scratch bucket's name must not carry (rule P06)."
    )
    cache_path: str | None = Field(
        default=None, description="Words naming a cache path no proof may depend on (rule C12)."
    )
    interim_backend: Named | None = Field(
        default=None,
        description="The interim backend, rejected as final, by its hosts (rules C10, P04).",
    )
    rejected_surfaces: list[Named] = Field(
        default_factory=list,
        description="Surfaces no contract may promote to state authority (rule C10).",
    )
    refused_signals: str | None = Field(
        default=None,
        description="Observations that are never a proof signal, e.g. cache hit rate (rule C12).",
    )
    candidate_classes: list[CandidateClassRule] = Field(default_factory=list)
    unknown_class: Literal["refuse", "accept"] = Field(
        default="refuse",
        description="A contract whose candidate_class matches no rule: refused (C10) or accepted.",
    )
    endpoint_loss: str = Field(
        default="endpoint", description="Words that name one endpoint loss (rule C05)."
    )
    node_loss: str = Field(
        default=r"node|failure[- ]domain|zone|quorum",
        description="Words that name one node or failure-domain loss (rules C05, P10).",
    )
    inventory: InventoryHints = Field(default_factory=InventoryHints)
    non_secret: Literal[True] = True

    _check_patterns = field_validator(
        "cache_surfaces", "cache_bucket_words", "cache_path", "refused_signals", "endpoint_loss",
        "node_loss",
    )(lambda value: value if value is None else _compiles(value))  # fmt: skip

    def candidate_class(self, name: str) -> CandidateClassRule | None:
        return next((c for c in self.candidate_classes if c.name == name), None)
