"""The rule registry both gates are built from, and the rule builders they share. Pure.

A gate is a ``RuleBook``: the chain of its rules, each a small function registered with its id
(``@CONTRACT.rule("C03", "bucket recovery ...", stop=True)``), yielding ``Finding``s. The
rule tables of the documentation are generated from the books (``hastate reference``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pytest_hastate.gates.text import Finding, blank, covers, inline_secrets, iter_strings

Ctx = TypeVar("Ctx")
Check = Callable[[Mapping[str, Any], Ctx], Iterator[Finding]]


@dataclass(frozen=True)
class Rule(Generic[Ctx]):
    id: str
    title: str
    stop: bool  # a static stop condition: STOP even when the gate's step did not run
    check: Check[Ctx]


@dataclass
class RuleBook(Generic[Ctx]):
    """One gate: its rules, in id order, applied in a chain."""

    gate: str
    rules: list[Rule[Ctx]] = field(default_factory=list)

    def rule(
        self, rule_id: str, title: str, *, stop: bool = False
    ) -> Callable[[Check[Ctx]], Check[Ctx]]:
        def register(check: Check[Ctx]) -> Check[Ctx]:
            self.rules.append(Rule(rule_id, title, stop, check))
            self.rules.sort(key=lambda r: r.id)
            return check

        return register

    def check(self, data: Mapping[str, Any], ctx: Ctx) -> list[Finding]:
        """Every finding of every rule, in rule order."""
        return [finding for rule in self.rules for finding in rule.check(data, ctx)]

    @property
    def stop_rules(self) -> frozenset[str]:
        return frozenset(r.id for r in self.rules if r.stop)

    def markdown(self) -> str:
        """The rule table of this gate, in Markdown."""
        rows = ["| rule | what it demands | stop condition |", "|---|---|---|"]
        rows += [f"| {r.id} | {r.title} | {'yes' if r.stop else ''} |" for r in self.rules]
        return "\n".join(rows)


# --- builders both gates use --------------------------------------------------------------------

Signal = tuple[str, re.Pattern[str]]


def non_secret(rule_id: str, data: Mapping[str, Any], what: str) -> Iterator[Finding]:
    """``non_secret`` must be ``true``."""
    if data.get("non_secret") is not True:
        yield Finding(
            rule_id, "$.non_secret", f"must be true (the {what} is a non-secret document)"
        )


def no_inline_secrets(rule_id: str, data: Mapping[str, Any]) -> Iterator[Finding]:
    """No secret-shaped value anywhere (the value itself is never repeated)."""
    for path, reason in inline_secrets(data):
        yield Finding(rule_id, path, reason)


TEMPLATE_SENTINELS = ("replace-me", "example.invalid")


def template_sentinels(rule_id: str, data: Mapping[str, Any]) -> Iterator[Finding]:
    """Every value that still carries a template sentinel (a field left to fill)."""
    for path, text in iter_strings(data):
        sentinel = next((s for s in TEMPLATE_SENTINELS if s in text.lower()), None)
        if sentinel is not None:
            yield Finding(
                rule_id, path,
                f"template sentinel {sentinel!r} left in (fill it, or pass --allow-template for a template)",
            )  # fmt: skip


def required_strings(
    rule_id: str, data: Mapping[str, Any], names: Sequence[str]
) -> Iterator[Finding]:
    """Each named field is present and a non-blank string."""
    for name in names:
        if name not in data:
            yield Finding(rule_id, f"$.{name}", "required field is missing")
        elif blank(data[name]):
            yield Finding(rule_id, f"$.{name}", "required field is blank")


def list_covers(
    rule_id: str, data: Mapping[str, Any], name: str, signals: Sequence[Signal], *, verb: str,
    empty: str,
) -> Iterator[Finding]:  # fmt: skip
    """The list field ``name`` has an entry matching each signal (``does not <verb> <what>``)."""
    entries = data.get(name)
    if not isinstance(entries, list) or not entries:
        yield Finding(rule_id, f"$.{name}", empty)
        return
    for what, pattern in signals:
        if not covers(entries, pattern):
            yield Finding(rule_id, f"$.{name}", f"does not {verb} {what}")


Part = tuple[str, re.Pattern[str], str]  # (field, what it must mention, what that is)


def stated_parts(
    rule_id: str, data: Mapping[str, Any], name: str, parts: Sequence[Part], *,
    undefined: str, missing: str, mismatch: str,
) -> Iterator[Finding]:  # fmt: skip
    """The object field ``name`` states each part (``missing`` / ``mismatch`` are formats of
    ``what``)."""
    value = data.get(name)
    if not isinstance(value, Mapping):
        yield Finding(rule_id, f"$.{name}", undefined)
        return
    for part, pattern, what in parts:
        text = value.get(part)
        if blank(text):
            yield Finding(rule_id, f"$.{name}.{part}", missing.format(what=what))
        elif not pattern.search(str(text)):
            yield Finding(rule_id, f"$.{name}.{part}", mismatch.format(what=what))
