"""The watch log: one JSON object per line, append-only, fsynced in batches, safe to read while
it grows (a partial last line is ignored). Line kinds: the header (first), operations, marks
(``hastate watch --mark TEXT``, from any process), and the stop line."""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, get_args

from pytest_hastate.errors import InputError
from pytest_hastate.maintenance.watch_check import Op, OpKind, Outcome
from pytest_hastate.scope.names import is_canonical_key

FSYNC_EVERY = 0.5  # seconds between fsyncs of the operations written so far


@dataclass(frozen=True)
class WatchHeader:
    run_id: str
    bucket: str
    prefix: str
    endpoints: list[str]
    wall_start: float
    limits: dict[str, float]


@dataclass
class WatchRecord:
    header: WatchHeader
    ops: list[Op] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, text)
    stopped: str | None = None  # why the watch stopped; None: it did not finish (yet)
    end: float = 0.0  # seconds since start of the last thing recorded


def log_path(evidence_dir: Path, run_id: str) -> Path:
    return evidence_dir / f"watch-{run_id}.jsonl"


class WatchLog:
    """The writer: thread-safe appends, fsync at most every ``FSYNC_EVERY`` seconds."""

    def __init__(self, path: Path, header: WatchHeader) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._lock = threading.Lock()
        self._synced = time.monotonic()
        self.count = 0
        self._line({"header": asdict(header)})
        os.fsync(self._fd)

    def _line(self, document: dict[str, Any]) -> None:
        data = (json.dumps(document, separators=(",", ":")) + "\n").encode()
        with self._lock:
            os.write(self._fd, data)
            if time.monotonic() - self._synced > FSYNC_EVERY:
                os.fsync(self._fd)
                self._synced = time.monotonic()

    def op(self, op: Op) -> None:
        self.count += 1
        self._line({k: v for k, v in asdict(op).items() if v is not None})

    def close(self, why: str, at: float) -> None:
        self._line({"stop": why, "at": round(at, 4)})
        with self._lock:
            os.fsync(self._fd)
            os.close(self._fd)


def append_mark(path: Path, text: str) -> None:
    """A mark (e.g. "killed s3-1") at the wall time now; one short O_APPEND write."""
    line = json.dumps({"mark": text, "wall": time.time()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


_HEADER_TYPES: dict[str, type | tuple[type, ...]] = {
    "run_id": str, "bucket": str, "prefix": str, "endpoints": list,
    "wall_start": (int, float), "limits": dict,
}  # fmt: skip
_OP_TYPES: dict[str, type | tuple[type, ...]] = {
    "t0": (int, float), "t1": (int, float), "endpoint": str, "kind": str, "key": str,
    "outcome": str, "code": str, "seq": int, "version": str, "sha256": str, "contender": int,
    "holds": bool,
}  # fmt: skip
_OP_REQUIRED = ("t0", "t1", "endpoint", "kind", "key", "outcome")
_KINDS = frozenset(get_args(OpKind))
_OUTCOMES = frozenset(get_args(Outcome))


def _fields(
    document: Any, types: dict[str, type | tuple[type, ...]], required: Sequence[str], where: str
) -> str | None:
    """Why ``document`` is not an object of exactly these fields and types (None: it is)."""
    if not isinstance(document, dict):
        return f"{where}: not a JSON object"
    unknown = sorted(set(document) - set(types))
    if unknown:
        return f"{where}: unknown field {unknown[0]!r}"
    for name in required:
        if name not in document:
            return f"{where}: missing field {name!r}"
    for name, value in document.items():
        wanted = types[name]
        if isinstance(value, bool) and wanted is not bool:
            return f"{where}.{name}: wrong type"
        if not isinstance(value, wanted):
            return f"{where}.{name}: wrong type"
    return None


def _op(document: dict[str, Any], where: str, source: str) -> Op:
    problem = _fields(document, _OP_TYPES, _OP_REQUIRED, where)
    if problem is None and document["kind"] not in _KINDS:
        problem = f"{where}.kind: not one of {sorted(_KINDS)}"
    if problem is None and document["outcome"] not in _OUTCOMES:
        problem = f"{where}.outcome: not one of {sorted(_OUTCOMES)}"
    if problem is not None:
        raise InputError(source, problem, "not a watch log line")
    return Op(**document)


def _documents(path: Path, source: str) -> list[tuple[int, Any]]:
    """(line number, JSON value) of every complete line; the last line may be partial."""
    if not path.is_file():
        raise InputError(source, "", "not a regular file")
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(source, "", f"cannot be read as text ({exc})") from None
    lines = text.split("\n")
    documents: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            documents.append(
                (number, json.loads(line, parse_constant=_no_constant, parse_float=_finite))
            )
        except ValueError:
            if number == len(lines):
                continue  # the line still being written
            raise InputError(source, f"line {number}", "not JSON (or NaN/Infinity)") from None
    return documents


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a time")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a time")
    return value


def read_watch(path: Path, label: str = "watch log") -> WatchRecord:
    """Everything recorded so far, every line checked; a file that is not a watch log (or a
    line that is not one of its kinds) raises ``InputError`` naming ``label``, the file and
    the line."""
    source = f"{label} {path}"
    documents = _documents(path, source)
    first = documents[0][1] if documents else None
    if not isinstance(first, dict) or set(first) != {"header"}:
        raise InputError(source, "line 1", "not a watch log (no header line)")
    problem = _fields(first["header"], _HEADER_TYPES, tuple(_HEADER_TYPES), "line 1: $.header")
    if problem is not None:
        raise InputError(source, problem, "not a watch log header")
    header = WatchHeader(**first["header"])
    record = WatchRecord(header)
    for number, document in documents[1:]:
        where = f"line {number}"
        if isinstance(document, dict) and set(document) == {"mark", "wall"}:
            if not isinstance(document["wall"], (int, float)):
                raise InputError(source, f"{where}.wall", "wrong type")
            record.marks.append(
                (float(document["wall"]) - header.wall_start, str(document["mark"]))
            )
        elif isinstance(document, dict) and set(document) == {"stop", "at"}:
            if not isinstance(document["at"], (int, float)):
                raise InputError(source, f"{where}.at", "wrong type")
            record.stopped = str(document["stop"])
            record.end = max(record.end, float(document["at"]))
        else:
            op = _op(document, where, source)
            record.ops.append(op)
            record.end = max(record.end, op.t1)
    return record


def check_watch_scope(
    record: WatchRecord, source: str, *, run_id: str, bucket: str, run_prefix: str,
    endpoints: Sequence[str],
) -> None:  # fmt: skip
    """A watch log steers reads after the window: it must be this run's, in its scratch scope,
    through the package's endpoints — an edited log must never send a read anywhere else;
    and finished: a window still being watched (or a watch that was killed) is not checked."""
    header = record.header
    if header.run_id != run_id:
        raise InputError(source, "$.header.run_id", f"watched run {header.run_id}, not {run_id}")
    if header.bucket != bucket:
        raise InputError(source, "$.header.bucket", "is not the package's scratch bucket")
    if header.prefix != run_prefix:
        raise InputError(source, "$.header.prefix", "is not this run's scratch prefix")
    if not set(header.endpoints) <= set(endpoints):
        raise InputError(source, "$.header.endpoints", "are not the package's endpoints")
    if record.stopped is None:
        raise InputError(source, "", "the watch has not stopped (no stop line): stop it first")
    for index, op in enumerate(record.ops):
        if not op.key.startswith(run_prefix) or not is_canonical_key(op.key):
            raise InputError(
                source, f"operation {index + 1}: key", "is not under this run's prefix"
            )
        if op.endpoint not in header.endpoints:
            raise InputError(source, f"operation {index + 1}: endpoint", "is not in the header")
