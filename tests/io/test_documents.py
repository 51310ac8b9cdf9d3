"""Bad input: one line naming the file and the problem, never the value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.errors import InputError
from pytest_hastate.gates.files import load_contract, load_package
from pytest_hastate.io.documents import MAX_DOCUMENT_BYTES, read_json_object


def _write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "doc.json"
    path.write_bytes(content)
    return path


BAD_BYTES = [
    ("empty", b"", "file is empty"),
    ("whitespace", b"  \n", "file is empty"),
    ("invalid JSON", b'{"a": ', "invalid JSON at line 1"),
    ("non-UTF-8", b'{"a": "\xff\xfe"}', "not UTF-8"),
    ("array", b"[1, 2]", "expected a JSON object, got an array"),
    ("string", b'"x"', "expected a JSON object, got a string"),
    ("duplicate key", b'{"a": 1, "a": 2}', "duplicate key 'a'"),
    ("NaN", b'{"a": NaN}', "NaN is not valid JSON"),
]


@pytest.mark.parametrize(("case", "content", "message"), BAD_BYTES, ids=[c[0] for c in BAD_BYTES])
def test_bad_bytes(tmp_path: Path, case: str, content: bytes, message: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(InputError) as caught:
        read_json_object(path, "endpoint package")
    text = str(caught.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_json_object(tmp_path / "nope.json", "endpoint package")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        read_json_object(tmp_path, "endpoint package")


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # 50 MB, sparse
    with pytest.raises(InputError, match=f"more than the {MAX_DOCUMENT_BYTES} byte limit"):
        read_json_object(path, "endpoint package")


WRONG_SHAPES: list[tuple[str, str, Any, str]] = [
    ("scratch_bucket", "$.scratch_bucket", 42, "string"),
    ("observability", "$.observability", "one string", "valid array"),
    ("bucket_recovery", "$.bucket_recovery.versioning", {"versioning": True}, "string"),
    ("scratch_bukcet", "$.scratch_bukcet", "x", "unknown field"),
    ("password", "$.password", "hunter2", "inline secret field"),
    ("ha_semantics", "$.ha_semantics.kind", {"kind": "maybe"}, "'endpoints' or 'managed'"),
    ("backend_options", "$.backend_options.x", {"x": [1]}, "a boolean, an integer or a string"),
]


@pytest.mark.parametrize(
    ("field", "where", "value", "reason"), WRONG_SHAPES, ids=[w[0] for w in WRONG_SHAPES]
)
def test_wrong_types_and_unknown_fields(
    tmp_path: Path, package: dict[str, Any], field: str, where: str, value: Any, reason: str
) -> None:
    package[field] = value
    path = _write(tmp_path, json.dumps(package).encode())
    with pytest.raises(InputError) as caught:
        load_package(path)
    text = str(caught.value)
    assert f": {where}: " in text, text
    assert reason in text, text
    assert "hunter2" not in text
    assert "\n" not in text


def test_missing_fields_are_left_to_the_gate(tmp_path: Path, contract: dict[str, Any]) -> None:
    del contract["bucket_recovery"]
    path = _write(tmp_path, json.dumps(contract).encode())
    assert load_contract(path).data == contract  # C03 will refuse it, as a STOP
