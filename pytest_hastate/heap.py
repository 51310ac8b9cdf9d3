"""The proof process's heap and Python's cyclic garbage collector.

Once a proof run's tests are collected, everything imported and built so far (pytest, boto3's
service model, pydantic's validators, the collected items) lives until the process ends. Each
full collection would walk all of it again, and pytest itself asks for full collections when
the session ends. ``settle`` moves those objects out of the collector's reach (``gc.freeze``),
so the collections during and after the run walk only what the run made; ``release`` gives them
back (``gc.unfreeze``) in the session's last cleanup, after pytest's own end-of-session
collections.

Freezing acts on the whole process, so a session that may not be the process's only one (a
test suite runs it in-process through ``pytester``) leaves the collector as it is.
"""

from __future__ import annotations

import gc

import pytest

from pytest_hastate.stash import HEAP_FROZEN, OPEN_SESSIONS


def settle(config: pytest.Config) -> None:
    if len(OPEN_SESSIONS) > 1:  # inside another session: its objects are not ours to freeze
        return
    gc.freeze()
    config.stash[HEAP_FROZEN] = True


def release(config: pytest.Config) -> None:
    if config.stash.get(HEAP_FROZEN, False):
        gc.unfreeze()
        config.stash[HEAP_FROZEN] = False
