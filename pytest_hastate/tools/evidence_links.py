"""Where in an evidence folder each criterion's result is shown: ``file:line`` links for the
report's evidence column. The checkpoint (or verdict) entry of the criterion always; the
OpenTofu command record of a ``tofu.*`` criterion; the watch log's first line of the kind a
``watch.*`` criterion judges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Match = Callable[[str], bool]

TOFU_COMMANDS: dict[str, tuple[str, int]] = {
    "tofu.init": (" init ", 0),
    "tofu.first_write": (" apply ", 0),
    "tofu.readback": (" output ", 0),
    "tofu.noop_plan": (" plan ", 0),
    "tofu.lock_contention": ("-lock-timeout", 0),
    "tofu.lock_release": (" apply ", 1),
    "tofu.restore": (" plan ", -1),
}
"""Which OpenTofu command record shows a criterion: (words in the command, which occurrence)."""

WATCH_KINDS: dict[str, str] = {
    "watch.acknowledged_writes_survive": '"kind":"write"',
    "watch.lock_exclusive": '"kind":"acquire"',
    "watch.service_continuity": '"t0":',
}
"""The first watch-log line of the kind each watched-window criterion judges."""


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _line_of(lines: list[str], match: Match, occurrence: int = 0, start: int = 0) -> int | None:
    """The 1-based number of the ``occurrence``-th line from ``start`` that matches (-1: last)."""
    found = [n + 1 for n in range(start, len(lines)) if match(lines[n])]
    if not found or occurrence >= len(found):
        return None
    return found[occurrence]


def entry_line(lines: list[str], phase: str | None, cid: str, attempt: int = 0) -> int | None:
    """The line of ``cid``'s entry: in the ``attempt``-th block of the phase in a checkpoint
    (``phase``, 0 = its first attempt), or in a verdict's criteria map (``phase`` None)."""
    start = 0
    if phase is not None:
        block = _line_of(lines, lambda line: line.strip() == f'"phase": "{phase}",', attempt)
        if block is None:
            return None
        start = block
    return _line_of(lines, lambda line: line.strip().startswith(f'"{cid}":'), start=start)


class EvidenceReader:
    """One evidence folder, each file read once however many criteria link into it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._read: dict[str, list[str]] = {}

    def lines(self, name: str) -> list[str]:
        if name not in self._read:
            self._read[name] = _lines(self.folder / name)
        return self._read[name]

    def links(
        self, phase: str, cid: str, *, checkpoint: bool, run_id: str, attempt: int = 0
    ) -> list[str]:
        """``file:line`` for every evidence file that shows ``cid`` in ``phase`` (its
        ``attempt``-th record in the checkpoint)."""
        found: list[str] = []
        record = "checkpoint.json" if checkpoint else "verdict.json"
        line = entry_line(self.lines(record), phase if checkpoint else None, cid, attempt)
        if line is not None:
            found.append(f"{record}:{line}")
        if cid in TOFU_COMMANDS:
            words, occurrence = TOFU_COMMANDS[cid]
            timings = f"tofu-timings-{phase}.json"
            line = _line_of(
                self.lines(timings), lambda text: '"command":' in text and words in text + " ",
                occurrence,
            )  # fmt: skip
            if line is not None:
                found.append(f"{timings}:{line}")
        if cid in WATCH_KINDS:
            log = f"watch-{run_id}.jsonl"
            kind = WATCH_KINDS[cid]
            line = _line_of(self.lines(log), lambda text: kind in text)
            if line is not None:
                found.append(f"{log}:{line}")
        return found


def links(
    folder: Path, phase: str, cid: str, *, checkpoint: bool, run_id: str, attempt: int = 0
) -> list[str]:
    """``EvidenceReader(folder).links(...)``, for one criterion."""
    return EvidenceReader(folder).links(
        phase, cid, checkpoint=checkpoint, run_id=run_id, attempt=attempt
    )
