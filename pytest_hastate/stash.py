"""Where the session's ``ProofRun`` lives in ``config.stash`` (light: the plugin imports it
before it knows whether this session proves anything)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_hastate.run import ProofRun

RUN_KEY: pytest.StashKey[ProofRun] = pytest.StashKey()

HEAP_FROZEN: pytest.StashKey[bool] = pytest.StashKey()
"""Whether this session froze its heap (``heap.settle``), so its cleanup gives it back."""
