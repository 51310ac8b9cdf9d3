"""Reading the operator's JSON documents: bounded, strict, one clear line on any problem.

Every problem becomes an ``InputError`` naming the file and the JSON path. Values are never
echoed back (a mistyped secret must not end up in a terminal or a CI log).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pytest_hastate.errors import InputError
from pytest_hastate.models import VerdictRecord
from pytest_hastate.models.base import SECRET_KEY_NAMES

M = TypeVar("M", bound=BaseModel)

MAX_DOCUMENT_BYTES = 1024 * 1024
"""Our documents are a few KiB; anything above 1 MiB is refused before it is read."""


@dataclass(frozen=True)
class LoadedDocument:
    """A JSON object read from disk, with the digest of its exact bytes."""

    path: Path
    raw: bytes = field(repr=False)
    data: Mapping[str, Any] = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def label(self) -> str:
        return str(self.path)


def json_path(loc: Sequence[int | str]) -> str:
    """``("a", 0, "b")`` -> ``$.a[0].b``."""
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json_object(path: Path, what: str) -> LoadedDocument:
    """Read ``path`` as one JSON object. ``what`` names the document in messages."""
    source = f"{what} {path}"
    try:
        if not path.exists():
            raise InputError(source, "", "file not found")
        if path.is_dir():
            raise InputError(source, "", "is a directory, expected a JSON file")
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise InputError(
                source, "", f"file is {size} bytes, more than the {MAX_DOCUMENT_BYTES} byte limit"
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise InputError(source, "", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise InputError(source, "", f"file is larger than the {MAX_DOCUMENT_BYTES} byte limit")
    if not raw.strip():
        raise InputError(source, "", "file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(source, "", f"not UTF-8 (bad byte at offset {exc.start})") from None
    try:
        data = json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except _DuplicateKey as exc:
        raise InputError(source, "", f"duplicate key {exc.key!r}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            source, "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise InputError(source, "", str(exc)) from None
    if not isinstance(data, dict):
        raise InputError(source, "$", f"expected a JSON object, got {_json_type(data)}")
    return LoadedDocument(path=path, raw=raw, data=data)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def check_shape(document: LoadedDocument, what: str, model: type[BaseModel]) -> None:
    """Refuse wrong types and unknown fields; leave missing fields to the gates.

    A missing field is a gate finding (e.g. absent bucket recovery is a STOP with rule C03),
    while a number where a string belongs is bad input.
    """
    try:
        model.model_validate_json(document.raw)  # JSON semantics: enum values as strings
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            if error["type"] == "missing":
                continue
            loc, reason = _located(error)
            raise InputError(f"{what} {document.path}", json_path(loc), reason) from None


_UNION_TAGS = {"bool": "a boolean", "int": "an integer", "str": "a string"}


def _located(error: Mapping[str, Any]) -> tuple[Sequence[int | str], str]:
    """The JSON location and reason, with pydantic's union-member tags folded away."""
    loc = tuple(error["loc"])
    if loc and loc[-1] in _UNION_TAGS and error["type"].endswith("_type"):
        return loc[:-1], "expected a boolean, an integer or a string"
    return loc, _reason(error)


def _reason(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        if str(error["loc"][-1]).lower() in SECRET_KEY_NAMES:
            return "inline secret field: credentials come only from the environment"
        return "unknown field (not part of the document format; check the spelling)"
    if kind == "value_error":  # our validators' own words, without pydantic's prefix
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def validate_model(document: LoadedDocument, what: str, model: type[M]) -> M:
    """Build the typed model; any error (missing fields included) is one ``InputError``."""
    try:
        return model.model_validate_json(document.raw)
    except ValidationError as exc:
        loc, reason = _located(exc.errors(include_input=False, include_url=False)[0])
        raise InputError(f"{what} {document.path}", json_path(loc), reason) from None


def load_verdict(path: Path) -> VerdictRecord:
    """The verdict file at ``path``, checked against its model; bad input: one ``InputError``."""
    return validate_model(read_json_object(path, "verdict"), "verdict", VerdictRecord)
