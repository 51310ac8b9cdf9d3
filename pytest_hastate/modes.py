"""The modes of a proof run (static, boundary, live, pre-maintenance, post-maintenance,
cleanup): which steps each runs, the phase markers that stand for a mode (``-m
pre_maintenance`` alone runs the phase, as its flags do), what each mode's options need, and
pytest's ``-m`` expression applied to the proof's own markers. Pure.

pytest offers no public way to evaluate a ``-m`` expression against a set of marker names;
``marker_matcher`` uses its expression module, the one place that does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from pytest_hastate.errors import SettingsError
from pytest_hastate.steps import CLEANUP, POST_MAINTENANCE, PRE_MAINTENANCE, STEPS


class Mode(StrEnum):
    STATIC = "static"
    BOUNDARY = "boundary"
    LIVE = "live"
    PRE_MAINTENANCE = "pre-maintenance"
    POST_MAINTENANCE = "post-maintenance"
    CLEANUP = "cleanup"


_LIVE_STEPS = frozenset({"static", "boundary", "scratch", "bucket_index"})
MODE_STEPS: Mapping[Mode, frozenset[str]] = {
    Mode.STATIC: frozenset({"static"}),
    Mode.BOUNDARY: frozenset({"static", "boundary"}),
    Mode.LIVE: _LIVE_STEPS | {"observability"},
    Mode.PRE_MAINTENANCE: _LIVE_STEPS | {"observability", "pre_maintenance"},
    Mode.POST_MAINTENANCE: frozenset({"static", "post_maintenance"}),
    Mode.CLEANUP: frozenset({"static", "cleanup"}),
}
DEFAULT_PHASE: Mapping[Mode, str] = {
    Mode.STATIC: "static",
    Mode.BOUNDARY: "credential-boundary",
    Mode.LIVE: "baseline",
    Mode.PRE_MAINTENANCE: "baseline",
    Mode.POST_MAINTENANCE: "post-maintenance",
    Mode.CLEANUP: "cleanup",
}


PHASE_MARKERS: Mapping[str, tuple[Mode, str]] = {
    PRE_MAINTENANCE.marker: (Mode.PRE_MAINTENANCE, "keep_scratch_bucket"),
    POST_MAINTENANCE.marker: (Mode.POST_MAINTENANCE, "verify_existing"),
    CLEANUP.marker: (Mode.CLEANUP, "cleanup_checkpoint"),
}
"""The phase markers: ``-m pre_maintenance`` (alone) runs the whole phase, as its flags do."""


def marker_matcher(markexpr: str) -> Callable[[frozenset[str]], bool] | None:
    """``-m`` as pytest evaluates it, applied to a set of marker names; None without ``-m``
    (or when pytest will refuse the expression itself)."""
    if not markexpr or not markexpr.strip():
        return None
    from _pytest.mark.expression import Expression  # pytest's own -m grammar

    try:
        expression = Expression.compile(markexpr)
    except SyntaxError:
        return None  # pytest reports the bad expression in its own words

    def matches(markers: frozenset[str]) -> bool:
        def has(name: str, /, **_kwargs: str | int | bool | None) -> bool:
            return name in markers

        return expression.evaluate(has)

    return matches


def implied_phase(markexpr: str) -> str | None:
    """The phase marker ``-m`` selects on its own: it matches that phase and nothing unmarked."""
    matches = marker_matcher(markexpr)
    if matches is None or matches(frozenset()):
        return None  # no -m, or a broad expression ("not static") that names no phase
    phases = [marker for marker in PHASE_MARKERS if matches(frozenset({marker}))]
    if len(phases) > 1:
        raise SettingsError(
            f"-m {markexpr!r} selects the {' and '.join(phases)} phases; run them separately"
        )
    return phases[0] if phases else None


MODE_FLAGS = (
    ("credential_boundary_check", Mode.BOUNDARY),
    ("keep_scratch_bucket", Mode.PRE_MAINTENANCE),
    ("verify_existing", Mode.POST_MAINTENANCE),
    ("cleanup_checkpoint", Mode.CLEANUP),
)
NEEDS: tuple[tuple[str, Callable[[Mapping[str, Any]], bool], str], ...] = (
    ("run_disposable_tofu", lambda v: bool(v["use_lockfile"]),
     "--use-lockfile: add --use-lockfile to the command line (endpoint readiness cannot skip "
     "state locking: the proof runs OpenTofu with its native S3 lockfile)"),
    ("delete_scratch_bucket", lambda v: bool(v["cleanup_checkpoint"]), "--cleanup-checkpoint"),
    ("keep_scratch_bucket", lambda v: v["checkpoint_file"] is not None,
     "--checkpoint-file PATH (the kept sample must be recorded)"),
    ("verify_existing", lambda v: v["from_checkpoint"] is not None, "--from-checkpoint PATH"),
    ("cleanup_checkpoint", lambda v: v["from_checkpoint"] is not None, "--from-checkpoint PATH"),
    ("from_checkpoint", lambda v: bool(v["verify_existing"] or v["cleanup_checkpoint"]),
     "--verify-existing or --cleanup-checkpoint (or -m post_maintenance / -m cleanup)"),
    ("maintenance_event", lambda v: bool(v["verify_existing"]),
     "--verify-existing (it is declared with the post-maintenance run)"),
    ("watch_log", lambda v: bool(v["verify_existing"]),
     "--verify-existing (the watched window is checked in the post-maintenance run)"),
    ("run_disposable_tofu", lambda v: v["endpoint_package"] is not None, "--endpoint-package PATH"),
)  # fmt: skip
"""(option, its requirement, what to add): each option that needs another."""


def steps_of(mode: Mode, run_disposable_tofu: bool) -> frozenset[str]:
    """The step markers ``mode`` runs (step 3 with --run-disposable-tofu, in the live modes)."""
    steps = set(MODE_STEPS[mode])
    if run_disposable_tofu and mode in (Mode.LIVE, Mode.PRE_MAINTENANCE):
        steps.add("disposable_tofu")
    return frozenset(steps)


def mode_of(values: Mapping[str, Any], markexpr: str) -> tuple[Mode, dict[str, Any]]:
    """The mode the options and ``-m`` select, and the options with the phase flag a phase
    marker stands for set; a contradiction or a missing prerequisite is a ``SettingsError``."""
    v, sources = implied_flags(values, markexpr)
    for name, satisfied, required in NEEDS:
        if v[name] not in (None, False) and not satisfied(v):
            raise SettingsError(f"{sources[name]} needs {required}")
    selected = [(sources[flag], mode) for flag, mode in MODE_FLAGS if v[flag]]
    if len(selected) > 1:
        raise SettingsError(
            f"{selected[0][0]} and {selected[1][0]} select different modes; run them separately"
        )
    if v["checkpoint_file"] is not None and (v["verify_existing"] or v["cleanup_checkpoint"]):
        raise SettingsError(
            "--checkpoint-file is for the boundary, live and pre-maintenance runs; later phases "
            "update --from-checkpoint"
        )
    if v["run_disposable_tofu"] and selected and selected[0][1] is not Mode.PRE_MAINTENANCE:
        raise SettingsError(f"--run-disposable-tofu cannot be combined with {selected[0][0]}")
    if selected and v["endpoint_package"] is None:
        raise SettingsError(f"{selected[0][0]} needs --endpoint-package PATH")
    if selected:
        return selected[0][1], v
    return (Mode.LIVE if v["endpoint_package"] is not None else Mode.STATIC), v


def implied_flags(
    values: Mapping[str, Any], markexpr: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The options with the flag a phase marker alone stands for (``-m cleanup`` is
    --cleanup-checkpoint), and where each came from; another mode's flag contradicts it."""
    v = dict(values)
    sources = {name: f"--{name.replace('_', '-')}" for name in v}
    phase_marker = implied_phase(markexpr)
    if phase_marker is None:
        return v, sources
    flag = PHASE_MARKERS[phase_marker][1]
    others = [f for _mode_, f in PHASE_MARKERS.values() if f != flag]
    chosen = [sources[f] for f in (*others, "credential_boundary_check") if v[f]]
    if chosen:
        raise SettingsError(
            f"-m {phase_marker} and {chosen[0]} select different modes; run them separately"
        )
    if not v[flag]:
        v[flag], sources[flag] = True, f"-m {phase_marker}"
    return v, sources


def check_markexpr(markexpr: str, mode: Mode, steps: frozenset[str]) -> None:
    """``-m disposable_tofu`` without the flags that run step 3, or an expression that names
    steps and selects none of them, is a contradiction: it would select nothing, silently.
    Broad expressions (``not static``) select nothing by name."""
    matches = marker_matcher(markexpr)
    if matches is None or matches(frozenset()):
        return
    for step in STEPS:
        if step.marker not in steps and matches(frozenset({step.marker})):
            raise SettingsError(
                f"-m {step.marker} selects no test in {mode.value} mode (it runs with {step.flags})"
            )
    named = set(re.findall(r"[A-Za-z_][\w]*", markexpr)) & {s.marker for s in STEPS}
    phase = next((m for m, (md, _f) in PHASE_MARKERS.items() if md is mode), None)
    selectable = [frozenset({s}) for s in steps]
    selectable += [frozenset({s, phase}) for s in steps if phase]
    if named and not any(matches(markers) for markers in selectable):
        raise SettingsError(f"-m {markexpr!r} selects no proof test in {mode.value} mode")
