"""Where a run's time went: concurrent waits count once, the rest is ours."""

from __future__ import annotations

import threading

from pytest_hastate.timing import BusyTime, covered


def test_overlapping_intervals_count_once() -> None:
    assert covered([]) == 0
    assert covered([(0, 2), (1, 3), (5, 6)]) == 4
    assert covered([(0, 10), (2, 3), (4, 5)]) == 10


def test_summary_splits_wall_time_into_waits_and_the_rest() -> None:
    now = [100.0]
    busy = BusyTime(clock=lambda: now[0], started=100.0)
    busy.add("tofu", 100.0, 104.0)
    busy.add("s3", 103.0, 106.0)  # overlaps OpenTofu for one second

    def request() -> None:
        busy.begin("s3")
        busy.end("s3")

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    busy.end("s3")  # an end without a begin on this thread is ignored
    now[0] = 110.0
    summary = busy.summary()
    assert summary["wall_seconds"] == 10
    assert (summary["tofu_seconds"], summary["s3_seconds"]) == (4, 3)
    assert (summary["outside_seconds"], summary["outside_share"]) == (4, 0.4)
