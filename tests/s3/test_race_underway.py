"""The race begun in the background: the session waits for every writer before its cleanup,
and a Ctrl-C during that wait keeps waiting once (so the cleanup still runs). Pure."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from pytest_hastate.s3.scratch import RacesUnderway


class Interrupted(Future[list[object]]):
    """A race whose first ``interrupts`` waits are interrupted by Ctrl-C."""

    def __init__(self, interrupts: int) -> None:
        super().__init__()
        self.interrupts = interrupts
        self.waits = 0

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self.waits += 1
        if self.waits <= self.interrupts:
            raise KeyboardInterrupt
        return super().exception(timeout)


def underway(future: Future[list[object]]) -> RacesUnderway:
    race = RacesUnderway.__new__(RacesUnderway)
    race._future = future  # type: ignore[assignment]
    return race


def test_a_finished_race_is_not_waited_for_and_says_nothing() -> None:
    future: Future[list[object]] = Future()
    future.set_result([])
    said: list[str] = []
    underway(future).finish(said.append, "scratch/run/")
    assert said == []


def test_the_session_waits_for_the_last_writers_and_says_so() -> None:
    future: Future[list[object]] = Future()
    threading.Timer(0.2, future.set_result, args=([],)).start()
    said: list[str] = []
    underway(future).finish(said.append, "scratch/run/")
    assert future.done()
    assert said == [
        "waiting for the conditional-write race's last writers to answer before cleanup"
    ]


def test_one_ctrl_c_keeps_waiting_so_the_cleanup_runs() -> None:
    future = Interrupted(interrupts=1)
    threading.Timer(0.2, future.set_result, args=([],)).start()
    said: list[str] = []
    underway(future).finish(said.append, "scratch/run/")
    assert future.done()
    assert "interrupt again to leave the run's scratch objects behind (scratch/run/)" in said[-1]


def test_a_second_ctrl_c_leaves() -> None:
    future = Interrupted(interrupts=2)
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        underway(future).finish(said.append, "scratch/run/")
    assert len(said) == 2
