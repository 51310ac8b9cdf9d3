"""Small document mutations for the gate rule tables: each returns a function that changes a
copy of a public-format document in one way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]
DELETE = object()
"""As a value of ``set_field``: remove the field."""


def set_field(path: str, value: Any) -> Mutation:
    """Set (or with ``DELETE`` remove) the field at a dotted path."""

    def apply(doc: Doc) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value

    return apply


def drop_entry(field: str, needle: str) -> Mutation:
    """Remove the list entries of ``field`` that contain ``needle`` (at least one must)."""

    def apply(doc: Doc) -> None:
        before = len(doc[field])
        doc[field] = [e for e in doc[field] if needle not in e]
        assert len(doc[field]) < before, f"{needle!r} not in {field}"

    return apply


def append_entry(field: str, entry: str) -> Mutation:
    def apply(doc: Doc) -> None:
        doc[field] = [*doc[field], entry]

    return apply


def together(*steps: Mutation) -> Mutation:
    def apply(doc: Doc) -> None:
        for step in steps:
            step(doc)

    return apply
