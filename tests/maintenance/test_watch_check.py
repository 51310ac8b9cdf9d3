"""The watched window's checker, pure: lock holds with indeterminate outcomes, overlap,
continuity windows, lost writes; a table of cases and a hypothesis test against a brute-force
model of "held twice at one instant"."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_hastate.maintenance.watch_check import (
    Op,
    continuity,
    holds,
    latency_by_period,
    longest_gap,
    lost_writes,
    overlapping_holds,
    possible_overlaps,
)

E1, E2 = "https://a", "https://b"
LOCK = "run/watch/lock"


def acquire(c: int, t0: float, t1: float, outcome: str = "ok") -> Op:
    return Op(t0, t1, E1 if c % 2 else E2, "acquire", LOCK, outcome, contender=c)  # type: ignore[arg-type]


def release(c: int, t0: float, t1: float) -> Op:
    return Op(t0, t1, E1 if c % 2 else E2, "release", LOCK, "ok", contender=c)


def inspect(c: int, t0: float, t1: float, held: bool) -> Op:
    return Op(t0, t1, E1, "inspect", LOCK, "ok", contender=c, holds=held)


HOLD_CASES = [
    ("one after the other", [acquire(1, 0, 1), release(1, 2, 3), acquire(2, 3.5, 4), release(2, 5, 6)], 0, 0),
    ("held twice", [acquire(1, 0, 1), acquire(2, 1.5, 2), release(1, 3, 4), release(2, 5, 6)], 1, 0),
    ("a refused acquire holds nothing", [acquire(1, 0, 1), acquire(2, 1.5, 2, "refused"), release(1, 3, 4)], 0, 0),
    ("acquired while the other's release was in flight", [acquire(1, 0, 1), release(1, 2, 3), acquire(2, 2.5, 2.8)], 0, 0),
    ("an answer-less acquire is a possible hold, not a violation", [acquire(1, 0, 1, "timeout"), acquire(2, 1.5, 2), release(2, 3, 4)], 0, 1),
    ("an inspect that finds the token makes it certain", [acquire(1, 0, 1, "timeout"), inspect(1, 1.1, 1.2, True), acquire(2, 1.5, 2), release(1, 3, 4), release(2, 5, 6)], 1, 0),
    ("an inspect that does not ends the possible hold", [acquire(1, 0, 1, "timeout"), inspect(1, 1.1, 1.2, False), acquire(2, 1.5, 2), release(2, 3, 4)], 0, 0),
    ("never released: held to the end", [acquire(1, 0, 1), acquire(2, 10, 11)], 1, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "ops", "violations", "possible"), HOLD_CASES, ids=[c[0] for c in HOLD_CASES]
)
def test_lock_holds(name: str, ops: list[Op], violations: int, possible: int) -> None:
    found = holds(ops)
    assert len(overlapping_holds(found)) == violations
    assert possible_overlaps(found) == possible


def test_gaps_and_continuity() -> None:
    assert longest_gap([], 0, 10).seconds == 10
    gap = longest_gap([1, 2, 7, 8], 0, 10)
    assert (gap.start, gap.end) == (2, 7)
    ops = [Op(t, t + 0.1, E1, "read", "k", "ok") for t in (0, 1, 2, 9)]
    ops += [Op(t, t + 0.1, E2, "write", "k", "ok", seq=1, version="v") for t in (0, 5)]
    ops += [Op(3, 4, E2, "read", "k", "timeout")]
    result = continuity(ops, [E1, E2], 0, 10)
    assert result.per_endpoint[E1].seconds == pytest.approx(7.0)  # 2.1 -> 9.1
    assert result.per_endpoint[E2].seconds == pytest.approx(5.0)  # 0.1 -> 5.1
    assert result.backend.seconds == pytest.approx(4.0)  # 5.1 -> 9.1


def test_lost_writes_name_the_key_and_the_versions() -> None:
    ops = [
        Op(0, 0.1, E1, "write", "k", "ok", seq=1, version="v1", sha256="s1"),
        Op(1, 1.1, E1, "write", "k", "ok", seq=2, version="v2", sha256="s2"),
        Op(2, 2.1, E1, "write", "k", "timeout", seq=3, sha256="s3"),
    ]
    fine = {(E1, "k", "v1"): "s1", (E1, "k", "v2"): "s2"}
    assert lost_writes(ops, fine, {(E1, "k"): 2}) == []
    assert lost_writes(ops, fine, {(E1, "k"): 3}) == []  # the indeterminate write landed: fine
    dropped = lost_writes(ops, {**fine, (E2, "k", "v2"): None}, {(E1, "k"): 2})
    assert dropped == [
        "k version v2 (seq 2, acknowledged at 1.1 s through https://a): https://b served nothing"
    ]
    resurrected = lost_writes(ops, fine, {(E1, "k"): 1})
    assert len(resurrected) == 1
    assert "serves seq 1 as latest, but seq 2 (version v2)" in resurrected[0]


def test_latency_periods_follow_the_marks() -> None:
    ops = [Op(t, t + d, E1, "read", "k", "ok") for t, d in ((0, 0.01), (5, 1.0), (30, 0.02))]
    periods = latency_by_period(ops, [4.0])
    assert set(periods) == {"before", "during", "after"}
    assert periods["during"]["p99"] == pytest.approx(1.0)
    assert set(latency_by_period(ops, [])) == {"all"}


def brute_force_held_twice(ops: list[Op]) -> bool:
    """Sample every interesting instant: was the lock certainly held by two contenders?"""
    found = [h for h in holds(ops) if h.certain]
    points = sorted({p for h in found for p in (h.start, h.end) if math.isfinite(p)})
    probes = [(a + b) / 2 for a, b in pairwise(points)] + [p + 1e-6 for p in points]
    for t in probes:
        holders = {h.contender for h in found if h.start <= t < h.end}
        if len(holders) > 1:
            return True
    return False


@st.composite
def lock_histories(draw: st.DrawFn) -> list[Op]:
    ops: list[Op] = []
    for contender in (1, 2, 3):
        t = draw(st.floats(0, 5))
        for _ in range(draw(st.integers(0, 4))):
            d = draw(st.floats(0.01, 2))
            outcome = draw(st.sampled_from(["ok", "ok", "refused", "timeout"]))
            ops.append(acquire(contender, t, t + d, outcome))
            t += d + draw(st.floats(0, 1))
            if outcome == "ok":
                r = draw(st.floats(0.01, 1))
                ops.append(release(contender, t, t + r))
                t += r + draw(st.floats(0, 1))
    return ops


@settings(max_examples=300, derandomize=True, deadline=None)
@given(lock_histories())
def test_overlap_agrees_with_a_brute_force_model(ops: list[Op]) -> None:
    assert bool(overlapping_holds(holds(ops))) == brute_force_held_twice(ops)
