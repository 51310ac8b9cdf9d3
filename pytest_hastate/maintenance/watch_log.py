"""The watch log: one JSON object per line, append-only, fsynced in batches, safe to read while
it grows (a partial last line is ignored). Line kinds: the header (first), operations, marks
(``hastate watch --mark TEXT``, from any process), and the stop line."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pytest_hastate.maintenance.watch_check import Op

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
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
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
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_watch(path: Path) -> WatchRecord:
    """Everything recorded so far; raises ValueError when the file has no header."""
    lines = path.read_text("utf-8").split("\n")
    documents = []
    for line in lines:
        try:
            documents.append(json.loads(line))
        except ValueError:
            continue  # the line being written, or an empty one
    if not documents or "header" not in documents[0]:
        raise ValueError(f"{path}: not a watch log (no header line)")
    header = WatchHeader(**documents[0]["header"])
    record = WatchRecord(header)
    for document in documents[1:]:
        if "mark" in document:
            record.marks.append(
                (float(document["wall"]) - header.wall_start, str(document["mark"]))
            )
        elif "stop" in document:
            record.stopped = str(document["stop"])
            record.end = max(record.end, float(document["at"]))
        elif "t0" in document:
            op = Op(**document)
            record.ops.append(op)
            record.end = max(record.end, op.t1)
    return record
