"""Gate findings and the text rules both gates share (pure; no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_hastate.models.base import SECRET_KEY_NAMES


@dataclass(frozen=True, order=True)
class Finding:
    """One refusal: the rule id, the JSON path, and why. Printed as one line."""

    rule: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule} {self.path}: {self.reason}"


@dataclass(frozen=True)
class GateReport:
    """The findings of one gate on one document."""

    gate: str
    source: str
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def rules(self) -> frozenset[str]:
        return frozenset(f.rule for f in self.findings)

    def lines(self) -> list[str]:
        if self.passed:
            return [f"{self.source}: passed the {self.gate} gate"]
        return [f"{self.source}: {finding}" for finding in self.findings]

    def summary(self) -> str:
        """One line for a verdict reason."""
        if self.passed:
            return f"{self.gate} gate passed"
        return f"{self.gate} gate refused {self.source}: " + "; ".join(map(str, self.findings))


def iter_strings(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """Every string value at any depth, with its JSON path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from iter_strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from iter_strings(item, f"{path}[{index}]")


def blank(value: Any) -> bool:
    return present(value) is None


def present(value: Any) -> str | None:
    """``value`` if it is a non-blank string, else None."""
    return value if isinstance(value, str) and value.strip() else None


# The names of cache and RBE surfaces (a state authority must not be one of them).
CACHE_SURFACE_NAMES = re.compile(r"\b(attic|bazel|nix-cache|bcr|bzlmod|rbe|action-cache)\b", re.I)
CACHE_SURFACE_NAMES_OR_CAS = re.compile(
    r"\b(attic|bazel|nix-cache|bcr|bzlmod|rbe|cas|action-cache)\b", re.I
)


# --- clauses and negation -----------------------------------------------------------------

_CLAUSE_SPLIT = re.compile(r"[;\n]|\.\s|\.$|:\s")
_NEGATION = re.compile(
    r"\b(no|not|never|none|nor|without|deny|denies|denied|denying|forbid\w*|separate\w*|"
    r"independent\w*|exclud\w*|except|other than|instead of|isn't|aren't|rejected|"
    r"removes?)\b",
    re.IGNORECASE,
)


def clauses(text: str) -> list[str]:
    return [part.strip() for part in _CLAUSE_SPLIT.split(text) if part.strip()]


def negated(clause: str) -> bool:
    """A clause that says no / not / separate / deny ... about what it names.

    Coarse on purpose and documented: a negation word anywhere in the clause negates it, so
    "no access to the active tofu-state bucket" and "Attic cache is not state authority"
    mention a surface without promoting it.
    """
    return bool(_NEGATION.search(clause))


def affirmed(text: str, pattern: re.Pattern[str]) -> str | None:
    """The first clause of ``text`` that matches ``pattern`` and is not negated."""
    for clause in clauses(text):
        if pattern.search(clause) and not negated(clause):
            return clause
    return None


def covers(entries: Sequence[str] | Any, pattern: re.Pattern[str]) -> bool:
    """Some entry of a list of strings matches ``pattern``."""
    if not isinstance(entries, list):
        return False
    return any(isinstance(entry, str) and pattern.search(entry) for entry in entries)


def quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# --- inline secrets (C01 / P03) -------------------------------------------------------------

_SECRET_TEXT = re.compile(
    r"(TOFU_HA_STATE_ACCESS_KEY=|TOFU_HA_STATE_SECRET_KEY=|AWS_ACCESS_KEY_ID=|"
    r"AWS_SECRET_ACCESS_KEY=)"
)
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


def inline_secrets(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """(path, reason) for every secret-shaped value; the value itself is never repeated."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}"
            if str(key).lower() in SECRET_KEY_NAMES and isinstance(item, str) and item:
                yield child, f"field {key!r} carries an inline secret value"
            else:
                yield from inline_secrets(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from inline_secrets(item, f"{path}[{index}]")
    elif isinstance(value, str):
        match = _SECRET_TEXT.search(value)
        if match:
            yield path, f"text contains a credential assignment ({match.group(1)}…)"
        if _AWS_KEY_ID.search(value):
            yield path, "text contains an AWS-style access key id"
        if _PRIVATE_KEY.search(value):
            yield path, "text contains a private key"
