"""The proof process's heap and Python's cyclic garbage collector.

Once a proof run's tests are collected, everything imported and built so far (pytest, boto3's
service model, pydantic's validators, the collected items) lives until the process ends. Each
full collection would walk all of it again, and pytest itself asks for full collections when
the session ends. ``settle`` moves those objects out of the collector's reach (``gc.freeze``),
so the collections during and after the run walk only what the run made; ``release`` gives them
back (``gc.unfreeze``) in the session's last cleanup, after pytest's own end-of-session
collections, so a session run inside another process (a test suite's ``pytester``) leaves
nothing frozen behind.
"""

from __future__ import annotations

import gc

import pytest

from pytest_hastate.stash import HEAP_FROZEN


def settle(config: pytest.Config) -> None:
    gc.freeze()
    config.stash[HEAP_FROZEN] = True


def release(config: pytest.Config) -> None:
    if config.stash.get(HEAP_FROZEN, False):
        gc.unfreeze()
        config.stash[HEAP_FROZEN] = False
