"""Bounded waits with backoff: every wait in the product has a deadline and reports its length."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Waited(Generic[T]):
    ok: bool
    value: T
    seconds: float
    attempts: int


def eventually(
    probe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    timeout: float,
    first_delay: float = 0.1,
    max_delay: float = 2.0,
) -> Waited[T]:
    """Call ``probe`` until ``accept(value)`` or ``timeout`` seconds pass (doubling the delay)."""
    start = time.monotonic()
    delay = first_delay
    attempts = 0
    while True:
        attempts += 1
        value = probe()
        elapsed = time.monotonic() - start
        if accept(value):
            return Waited(True, value, elapsed, attempts)
        if elapsed + delay > timeout:
            return Waited(False, value, elapsed, attempts)
        time.sleep(delay)
        delay = min(delay * 2, max_delay)
