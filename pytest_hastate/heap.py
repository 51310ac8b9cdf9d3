"""The proof process's heap and Python's cyclic garbage collector.

Once a proof run's tests are collected, everything imported and built so far (pytest, boto3's
service model, pydantic's validators, the collected items) lives until the process ends. Each
full collection would walk all of it again, and pytest itself asks for full collections when
the session ends. ``settle`` moves those objects out of the collector's reach (``gc.freeze``),
so the collections during and after the run walk only what the run made; ``release`` gives them
back (``gc.unfreeze``) in the session's last cleanup, after pytest's own end-of-session
collections. When pytest's own command line ran the proof (``pytest``, ``python -m pytest``,
as ``hastate prove`` does), nothing but the exit follows the session, and ``freeze_at_exit``
freezes the heap once more: the collections Python runs while it shuts down would walk all of
it again (about 0.3 s of a proof run's wall and CPU). A program that calls ``pytest.main``
itself goes on after it, and its exit is left alone.

Freezing acts on the whole process, so it is done only where the process is the proof's: no
other pytest session runs around this one (a test suite's ``pytester`` runs sessions inside its
own), and nothing is frozen already (a host program's freeze is its own, and is left alone).
"""

from __future__ import annotations

import atexit
import gc
import sys
from types import CodeType

import pytest

from pytest_hastate.stash import HEAP_FROZEN


def settle(config: pytest.Config) -> None:
    if gc.get_freeze_count() or _sessions_running() != 1:
        return
    gc.freeze()
    config.stash[HEAP_FROZEN] = True
    if _frames_of(_console_main()) == 1:
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
    return _frames_of(wrap_session.__code__)


def _console_main() -> CodeType | None:
    """The code of pytest's command-line entry point (``_console_main`` since pytest 9.1,
    ``console_main`` before); None when it cannot be told."""
    from _pytest import config

    entry = getattr(config, "_console_main", None) or getattr(config, "console_main", None)
    return getattr(entry, "__code__", None)


def _frames_of(code: CodeType | None) -> int:
    """How many frames of this thread's stack run ``code``."""
    count = 0
    frame = sys._getframe()
    while frame is not None:
        count += frame.f_code is code
        frame = frame.f_back  # type: ignore[assignment]
    return count
