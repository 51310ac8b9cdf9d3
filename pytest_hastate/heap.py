"""The proof process's heap and Python's cyclic garbage collector.

Once a proof run's tests are collected, everything imported and built so far (pytest, boto3's
service model, pydantic's validators, the collected items) lives until the process ends. Each
full collection would walk all of it again, and pytest itself asks for full collections when
the session ends. ``settle`` moves those objects out of the collector's reach (``gc.freeze``),
so the collections during and after the run walk only what the run made; ``release`` gives them
back (``gc.unfreeze``) in the session's last cleanup, after pytest's own end-of-session
collections. When the process then exits, ``freeze_at_exit`` freezes it once more: the
collections Python runs while it shuts down would walk all of it again (about 0.3 s of a
proof run's wall and CPU), and Python does not promise to finalize what still exists at exit.

Freezing acts on the whole process, so it is done only where the process is the proof's: no
other pytest session runs around this one (a test suite's ``pytester`` runs sessions inside its
own), and nothing is frozen already (a host program's freeze is its own, and is left alone).
"""

from __future__ import annotations

import atexit
import gc
import sys

import pytest

from pytest_hastate.stash import HEAP_FROZEN


def settle(config: pytest.Config) -> None:
    if gc.get_freeze_count() or _sessions_running() != 1:
        return
    gc.freeze()
    config.stash[HEAP_FROZEN] = True
    atexit.unregister(freeze_at_exit)  # once, however many proofs a host runs in one process
    atexit.register(freeze_at_exit)


def freeze_at_exit() -> None:
    """An ``atexit`` handler: the process is ending, so its shutdown collections would only
    walk, at length, objects that are about to go anyway."""
    gc.freeze()


def release(config: pytest.Config) -> None:
    if config.stash.get(HEAP_FROZEN, False):
        gc.unfreeze()  # nothing was frozen before settle: this is the state it found
        config.stash[HEAP_FROZEN] = False


def _sessions_running() -> int:
    """pytest sessions on this thread's stack (their ``wrap_session`` frames); 0 when that
    cannot be told, and then nothing is frozen."""
    try:
        from _pytest.main import wrap_session
    except ImportError:
        return 0
    code, count = wrap_session.__code__, 0
    frame = sys._getframe()
    while frame is not None:
        count += frame.f_code is code
        frame = frame.f_back  # type: ignore[assignment]
    return count
