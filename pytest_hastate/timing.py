"""Where a run's time went: waiting on OpenTofu processes, waiting on S3 round-trips, and the
rest (our own work). Intervals of each kind are merged, so concurrent requests count once.
Pure: no I/O."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

BusyKind = Literal["tofu", "s3"]


def covered(intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds covered by the union of ``intervals``."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


@dataclass
class BusyTime:
    """Intervals spent waiting on something outside the process, by kind."""

    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)
    intervals: dict[BusyKind, list[tuple[float, float]]] = field(
        default_factory=lambda: {"tofu": [], "s3": []}
    )
    _open: threading.local = field(default_factory=threading.local, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: BusyKind, start: float, end: float) -> None:
        with self._lock:
            self.intervals[kind].append((start, end))

    def begin(self, kind: BusyKind) -> None:
        """A request leaves this thread (ended by ``end`` on the same thread)."""
        setattr(self._open, kind, self.clock())

    def end(self, kind: BusyKind) -> None:
        start = getattr(self._open, kind, None)
        if start is not None:
            setattr(self._open, kind, None)
            self.add(kind, start, self.clock())

    def summary(self) -> dict[str, float]:
        """Wall time since start, each kind's covered time, and the rest (outside both)."""
        wall = self.clock() - self.started
        with self._lock:
            tofu = covered(self.intervals["tofu"])
            s3 = covered(self.intervals["s3"])
            waiting = covered([*self.intervals["tofu"], *self.intervals["s3"]])
        outside = max(0.0, wall - waiting)
        return {
            "wall_seconds": round(wall, 3),
            "tofu_seconds": round(tofu, 3),
            "s3_seconds": round(s3, 3),
            "outside_seconds": round(outside, 3),
            "outside_share": round(outside / wall, 4) if wall > 0 else 0.0,
        }
