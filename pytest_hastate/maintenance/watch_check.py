"""The watched window's checker: pure functions over the recorded operations (no I/O).

Times are seconds since the watch started (monotonic). An operation is *acknowledged* when the
backend answered it successfully; an operation without an answer (timeout, connection error,
5xx) is *indeterminate*: it may or may not have taken effect.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

OpKind = Literal["write", "read", "acquire", "release", "inspect"]
Outcome = Literal["ok", "refused", "error", "timeout"]


@dataclass(frozen=True)
class Op:
    """One operation of the watch workload, as recorded."""

    t0: float
    t1: float
    endpoint: str
    kind: OpKind
    key: str
    outcome: Outcome
    code: str | None = None
    seq: int | None = None
    version: str | None = None
    sha256: str | None = None
    contender: int | None = None
    holds: bool | None = None  # inspect: the lock object carried this contender's token

    @property
    def acknowledged(self) -> bool:
        return self.outcome == "ok"

    @property
    def indeterminate(self) -> bool:
        return self.outcome in ("error", "timeout")


# --- lock exclusivity ----------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    contender: int
    endpoint: str
    start: float
    end: float
    certain: bool


def holds(ops: Sequence[Op]) -> list[Hold]:
    """Each contender's lock holds. Certain: from the acknowledged acquire (or the inspect that
    found its token after an indeterminate acquire) to the start of its release. Possible:
    from an indeterminate acquire's start to the end of the contender's next release or
    inspect (forever if none came)."""
    found: list[Hold] = []
    by_contender: dict[int, list[Op]] = {}
    for op in sorted(ops, key=lambda o: o.t0):
        if op.contender is not None and op.kind in ("acquire", "release", "inspect"):
            by_contender.setdefault(op.contender, []).append(op)
    for contender, sequence in by_contender.items():
        for index, op in enumerate(sequence):
            later = sequence[index + 1 :]
            if op.kind == "acquire" and op.acknowledged:
                release = next((o for o in later if o.kind == "release"), None)
                end = release.t0 if release is not None else math.inf
                found.append(Hold(contender, op.endpoint, op.t1, end, True))
            elif op.kind == "acquire" and op.indeterminate:
                settled = next((o for o in later if o.kind in ("release", "inspect")), None)
                end = settled.t1 if settled is not None else math.inf
                found.append(Hold(contender, op.endpoint, op.t0, end, False))
            elif op.kind == "inspect" and op.holds:
                release = next((o for o in later if o.kind == "release"), None)
                end = release.t0 if release is not None else math.inf
                found.append(Hold(contender, op.endpoint, op.t1, end, True))
    return found


def overlapping_holds(found: Sequence[Hold]) -> list[tuple[Hold, Hold]]:
    """Pairs of certain holds by different contenders that overlap in time: the lock was held
    twice. (Overlaps with a possible hold are facts, not proof: see ``possible_overlaps``.)"""
    certain = sorted((h for h in found if h.certain and h.start < h.end), key=lambda h: h.start)
    pairs = []
    for index, first in enumerate(certain):
        for second in certain[index + 1 :]:
            if second.start >= first.end:
                break  # holds are half-open [start, end): touching is not overlapping
            if second.contender != first.contender:
                pairs.append((first, second))
    return pairs


def possible_overlaps(found: Sequence[Hold]) -> int:
    """Overlaps that involve a possible hold (an indeterminate acquire)."""
    count = 0
    for index, first in enumerate(found):
        for second in found[index + 1 :]:
            if first.contender == second.contender or (first.certain and second.certain):
                continue
            if first.start < second.end and second.start < first.end:
                count += 1
    return count


# --- service continuity --------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def longest_gap(successes: Iterable[float], start: float, end: float) -> Window:
    """The longest window in [start, end] with no success time in it."""
    points = sorted(t for t in successes if start <= t <= end)
    best, previous = Window(start, start), start
    for point in [*points, end]:
        if point - previous > best.seconds:
            best = Window(previous, point)
        previous = point
    return best


def serving_times(ops: Iterable[Op], endpoint: str | None = None) -> list[float]:
    """When a write or read through ``endpoint`` (any endpoint: None) was acknowledged."""
    return [
        op.t1
        for op in ops
        if op.acknowledged
        and op.kind in ("write", "read")
        and (endpoint is None or op.endpoint == endpoint)
    ]


@dataclass
class Continuity:
    per_endpoint: dict[str, Window] = field(default_factory=dict)
    backend: Window = field(default_factory=lambda: Window(0.0, 0.0))


def continuity(ops: Sequence[Op], endpoints: Sequence[str], start: float, end: float) -> Continuity:
    """Each endpoint's longest window without a served read or write, and the backend's (no
    endpoint served anything)."""
    result = Continuity()
    for endpoint in endpoints:
        result.per_endpoint[endpoint] = longest_gap(serving_times(ops, endpoint), start, end)
    result.backend = longest_gap(serving_times(ops), start, end)
    return result


# --- acknowledged writes -------------------------------------------------------------------


def acknowledged_writes(ops: Iterable[Op]) -> list[Op]:
    return [op for op in ops if op.kind == "write" and op.acknowledged and op.version]


def lost_writes(
    ops: Sequence[Op],
    read_back: Mapping[tuple[str, str, str], str | None],
    latest: Mapping[tuple[str, str], int | None],
) -> list[str]:
    """What the backend acknowledged and no longer gives back.

    ``read_back[(endpoint, key, version)]``: the sha256 an endpoint served for that version
    after the event (None: not served). ``latest[(endpoint, key)]``: the sequence number of the
    key's current version on that endpoint (None: unreadable). A write is lost when a surviving
    endpoint serves other bytes or nothing for its version, or when the current version is
    older than the newest acknowledged write (an older version came back as latest).
    """
    problems: list[str] = []
    endpoints = sorted({e for e, _k, _v in read_back} | {e for e, _k in latest})
    newest: dict[str, Op] = {}
    for op in acknowledged_writes(ops):
        assert op.seq is not None
        assert op.version is not None
        if op.key not in newest or op.seq > (newest[op.key].seq or 0):
            newest[op.key] = op
        for endpoint in endpoints:
            served = read_back.get((endpoint, op.key, op.version))
            if (endpoint, op.key, op.version) not in read_back:
                continue
            if served != op.sha256:
                what = "nothing" if served is None else "other bytes"
                problems.append(
                    f"{op.key} version {op.version} (seq {op.seq}, acknowledged at "
                    f"{op.t1:.1f} s through {op.endpoint}): {endpoint} served {what}"
                )
    for key, op in sorted(newest.items()):
        for endpoint in endpoints:
            if (endpoint, key) not in latest:
                continue
            current = latest[(endpoint, key)]
            if current is None or current < (op.seq or 0):
                problems.append(
                    f"{key}: {endpoint} serves seq {current} as latest, but seq {op.seq} "
                    f"(version {op.version}) was acknowledged at {op.t1:.1f} s: an older "
                    "version came back"
                )
    return problems


# --- latency -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def latency_by_period(
    ops: Sequence[Op], marks: Sequence[float]
) -> dict[str, dict[str, float | None]]:
    """p50/p99 latency of acknowledged operations before the first mark, between the first and
    the last mark (during), and after the last; without marks, everything is ``all``."""
    periods: dict[str, list[float]] = {}
    first, last = (min(marks), max(marks)) if marks else (None, None)
    for op in ops:
        if not op.acknowledged:
            continue
        if first is None or last is None:
            name = "all"
        elif op.t0 < first:
            name = "before"
        elif op.t0 <= last + 10.0:
            name = "during"
        else:
            name = "after"
        periods.setdefault(name, []).append(op.t1 - op.t0)
    return {
        name: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "ops": len(values)}
        for name, values in periods.items()
    }
