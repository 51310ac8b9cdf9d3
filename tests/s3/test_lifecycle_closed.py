"""The session's cleanup counts as done only when its removal finished: a Ctrl-C inside it
leaves the lifecycle open, so the verdict names what may remain; the early sweep's guard
refusals reach the test that waited for it. Pure (no backend)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from pytest_hastate.errors import GuardRefusal
from pytest_hastate.s3.lifecycle import ScratchLifecycle
from pytest_hastate.s3.scratch import ScratchBucket
from pytest_hastate.scope.scratch import ScratchScope


def lifecycle() -> ScratchLifecycle:
    scope = ScratchScope("scratch", "hastate/", "run-1")
    opened = ScratchLifecycle(scope, "live", {"https://s3.example": cast(Any, object())})
    opened.bucket = ScratchBucket("scratch", created_by_this_run=False)
    return opened


def test_a_finished_removal_closes_the_lifecycle(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = lifecycle()
    monkeypatch.setattr(opened, "_remove", lambda prefix: [])
    assert opened.close(keep=False) == []
    assert opened.closed


def test_an_interrupted_removal_leaves_it_open(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = lifecycle()

    def interrupted(prefix: str) -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(opened, "_remove", interrupted)
    with pytest.raises(KeyboardInterrupt):
        opened.close(keep=False)
    assert not opened.closed


class Refusing:
    """A client whose every listing the guard refuses (a stand-in: nothing is sent)."""

    def get_paginator(self, name: str) -> object:
        raise GuardRefusal(name, "scratch/elsewhere/", "outside the scratch scope")


def test_a_refusal_in_the_early_sweep_is_raised_where_it_is_awaited() -> None:
    opened = lifecycle()
    opened.clients = {"https://s3.example": Refusing()}  # type: ignore[dict-item]
    opened.sweep_early(spare=opened.scope.key("race", ""))
    with pytest.raises(GuardRefusal, match="outside the scratch scope"):
        opened.sweep_done()


def test_pre_maintenance_never_sweeps() -> None:
    """Its checkpoint keeps what the steps wrote (OpenTofu's state): nothing is begun."""
    opened = lifecycle()
    opened.phase = "pre-maintenance"
    opened.sweep_early(spare=opened.scope.key("race", ""))
    assert opened.sweep is None
