"""The backend's health record: who met a hard failure, and what is refused by dependency.
Pure (no backend)."""

from __future__ import annotations

import pytest

from pytest_hastate.errors import BackendDegraded
from pytest_hastate.s3.health import AttributedHealth, BackendHealth

ENDPOINT = "https://s3-1.example:8333"


def test_a_failure_belongs_to_the_running_test_and_refuses_the_next_by_dependency() -> None:
    health = BackendHealth()
    health.enter(("scratch.object_cycle",), "scratch", None)
    health.trip(ENDPOINT, "writes", "writes answer 500")
    with pytest.raises(BackendDegraded) as own:
        health.check(ENDPOINT, "PutObject")
    assert own.value.depends_on is None
    health.enter(("tofu.init",), "disposable_tofu", None)
    with pytest.raises(BackendDegraded) as later:
        health.check(ENDPOINT, "PutObject")
    assert later.value.depends_on == "scratch.object_cycle"
    health.check(ENDPOINT, "GetObject")  # reads still go: only writes failed


def test_background_work_keeps_its_own_criterion_whatever_test_runs() -> None:
    health = BackendHealth()
    race = AttributedHealth(health, ("scratch.conditional_write",))
    health.enter(("tofu.init",), "disposable_tofu", None)
    race.trip(ENDPOINT, "unreachable", "no answer")
    assert health.trips[(ENDPOINT, "unreachable")].criterion == "scratch.conditional_write"
    with pytest.raises(BackendDegraded) as own:
        race.check(ENDPOINT, "GetObject")
    assert own.value.depends_on is None  # the race met it: its own failure, stated as observed
    with pytest.raises(BackendDegraded) as running:
        health.check(ENDPOINT, "GetObject")
    assert running.value.depends_on == "scratch.conditional_write"
    assert str(running.value).startswith("by dependency on scratch.conditional_write: ")


def test_background_work_is_refused_by_dependency_on_what_a_test_met() -> None:
    health = BackendHealth()
    health.enter(("scratch.object_cycle",), "scratch", None)
    health.trip(ENDPOINT, "writes", "writes answer 500")
    race = AttributedHealth(health, ("scratch.conditional_write",))
    with pytest.raises(BackendDegraded) as refused:
        race.check(ENDPOINT, "PutObject")
    assert refused.value.depends_on == "scratch.object_cycle"
