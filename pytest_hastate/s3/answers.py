"""What the backend answered the guarded clients, counted by status and operation: what the
proof provoked (the boundary probes' 403s, the race's and the lock contention's 412s, its
deletes), for the observability criteria to look for in the backend's own metrics. Pure."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

DELETES = frozenset({"DeleteObject", "DeleteObjects"})


@dataclass
class AnswerTally:
    """Final HTTP answers, by (operation, status); thread-safe."""

    _counts: Counter[tuple[str, int]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, operation: str, status: int) -> None:
        with self._lock:
            self._counts[(operation, status)] += 1

    def count(
        self, statuses: Iterable[int] | None = None, operations: Iterable[str] | None = None
    ) -> int:
        """Answers with one of ``statuses`` (any when None) to one of ``operations``."""
        wanted_status = None if statuses is None else frozenset(statuses)
        wanted_operation = None if operations is None else frozenset(operations)
        with self._lock:
            return sum(
                n for (operation, status), n in self._counts.items()
                if (wanted_status is None or status in wanted_status)
                and (wanted_operation is None or operation in wanted_operation)
            )  # fmt: skip

    def provoked(self) -> dict[str, int]:
        """What the observability signals look for: 403s, 412s, deletes that succeeded."""
        return {
            "failed_auth": self.count([403]),
            "failed_write": self.count([412]),
            "delete_behavior": self.count(range(200, 300), DELETES),
        }
