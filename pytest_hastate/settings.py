"""Options of pytest-hastate: declared once, resolved once, validated once.

Every command-line option has an ini twin (``hastate_<name>``) and an environment twin
(``HASTATE_<NAME>``). Precedence: command line, then environment, then ini, then default.
Errors name where the bad value came from.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_hastate.errors import SettingsError
from pytest_hastate.options import (  # noqa: F401 (re-exported: the settings vocabulary)
    CRITERION_MARKER,
    INPUT_OPTIONS,
    MAINTENANCE_EVENTS,
    OPTIONS,
    OptionSpec,
)
from pytest_hastate.steps import BY_MARKER, CLEANUP, POST_MAINTENANCE, PRE_MAINTENANCE, STEPS

PHASE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
CRITERION_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


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
    Mode.LIVE: _LIVE_STEPS,
    Mode.PRE_MAINTENANCE: _LIVE_STEPS | {"pre_maintenance"},
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


@dataclass(frozen=True)
class Settings:
    endpoint_package: Path | None
    contract: Path | None
    profile: str | None
    allow_template: bool
    run_disposable_tofu: bool
    use_lockfile: bool
    tofu_binary: str
    phase: str
    checkpoint_file: Path | None
    keep_scratch_bucket: bool
    verify_existing: bool
    from_checkpoint: Path | None
    maintenance_event: str | None
    cleanup_checkpoint: bool
    delete_scratch_bucket: bool
    credential_boundary_check: bool
    dry_run: bool
    expect_interim: bool
    evidence_dir: Path
    sample_objects: int
    verify_timeout: float
    watch_log: Path | None
    mode: Mode
    run_id: str

    def step_budget(self, step: str | None) -> float | None:
        """Seconds a proof step may take before its remaining requests are refused."""
        budget = BY_MARKER[step].budget if step is not None and step in BY_MARKER else None
        if budget is None:
            return None
        return budget + (self.verify_timeout if step == POST_MAINTENANCE.marker else 0.0)

    @property
    def names_an_input(self) -> bool:
        """Whether the options name anything to prove or continue (a package, a contract, a
        checkpoint); a session without one never loads the proof machinery."""
        return any(getattr(self, spec.dest[8:]) is not None for spec in INPUT_OPTIONS)

    @property
    def steps(self) -> frozenset[str]:
        """The step markers this mode runs."""
        steps = set(MODE_STEPS[self.mode])
        if self.run_disposable_tofu and self.mode in (Mode.LIVE, Mode.PRE_MAINTENANCE):
            steps.add("disposable_tofu")
        return frozenset(steps)


def new_run_id() -> str:
    """A fresh run id: UTC time plus randomness, safe in S3 keys and bucket names."""
    return datetime.now(UTC).strftime("%Y%m%dt%H%M%Sz") + "-" + secrets.token_hex(4)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def resolve(
    cli: Callable[[str], Any],
    ini: Callable[[str], Any],
    env: Mapping[str, str],
    *,
    invocation_dir: Path,
    ini_dir: Path,
    markexpr: str = "",
    run_id: str | None = None,
) -> Settings:
    """Build the settings from the three sources and check every rule between options.

    ``cli(dest)`` and ``ini(dest)`` return the raw command-line / ini value or None.
    """
    values: dict[str, Any] = {}
    for spec in OPTIONS:
        values[spec.dest.removeprefix("hastate_")] = _one(
            spec, cli, ini, env, invocation_dir, ini_dir
        )
    mode = _mode(values, markexpr)
    phase = values["phase"] or DEFAULT_PHASE[mode]
    if not PHASE_PATTERN.match(phase):
        raise SettingsError(f"--phase {phase!r}: must match {PHASE_PATTERN.pattern}")
    values["phase"] = phase
    if not str(values["tofu_binary"]).strip():
        raise SettingsError("--tofu-binary: must not be empty")
    values["sample_objects"] = _number(values["sample_objects"], "--sample-objects", int, 1, 10_000)
    values["verify_timeout"] = _number(values["verify_timeout"], "--verify-timeout", float, 1, 3600)
    settings = Settings(**values, mode=mode, run_id=run_id or new_run_id())
    _check_markexpr(markexpr, settings)
    return settings


def _one(
    spec: OptionSpec,
    cli: Callable[[str], Any],
    ini: Callable[[str], Any],
    env: Mapping[str, str],
    invocation_dir: Path,
    ini_dir: Path,
) -> Any:
    raw = cli(spec.dest)
    source, base = spec.flag, invocation_dir
    if raw in (None, False):
        if spec.env in env:
            raw, source = env[spec.env], spec.env
        elif ini(spec.dest) not in (None, "", False):
            raw, source, base = ini(spec.dest), f"ini hastate_{spec.dest[8:]}", ini_dir
    if spec.kind == "flag":
        if isinstance(raw, bool) or raw is None:
            return bool(raw)
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise SettingsError(f"{source}: expected true or false, got {raw!r}")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if source != spec.flag and raw is not None:
            raise SettingsError(f"{source}: must not be empty")
        raw = spec.default
        if raw is None:
            return None
        base = invocation_dir
    text = str(raw).strip()
    if spec.choices and text not in spec.choices:
        raise SettingsError(f"{source}: {text!r} is not one of {', '.join(spec.choices)}")
    if spec.kind == "path":
        path = Path(text).expanduser()
        return path if path.is_absolute() else base / path
    return text


def _number(raw: Any, flag: str, kind: type, low: float, high: float) -> Any:
    try:
        value = kind(str(raw))
    except ValueError:
        raise SettingsError(f"{flag}: expected a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{flag}: {value} is outside {low:g}..{high:g}")
    return value


# The phase markers: ``-m pre_maintenance`` (alone) runs the whole phase, as its flags do.
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


def _mode(v: dict[str, Any], markexpr: str) -> Mode:
    sources = {name: f"--{name.replace('_', '-')}" for name in v}
    _imply_phase(v, sources, markexpr)
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
        return selected[0][1]
    return Mode.LIVE if v["endpoint_package"] is not None else Mode.STATIC


def _imply_phase(v: dict[str, Any], sources: dict[str, str], markexpr: str) -> None:
    """A phase marker alone stands for its phase's flag (and contradicts another mode's)."""
    phase_marker = implied_phase(markexpr)
    if phase_marker is None:
        return
    flag = PHASE_MARKERS[phase_marker][1]
    others = [f for _mode_, f in PHASE_MARKERS.values() if f != flag]
    chosen = [sources[f] for f in (*others, "credential_boundary_check") if v[f]]
    if chosen:
        raise SettingsError(
            f"-m {phase_marker} and {chosen[0]} select different modes; run them separately"
        )
    if not v[flag]:
        v[flag], sources[flag] = True, f"-m {phase_marker}"


def _check_markexpr(markexpr: str, settings: Settings) -> None:
    """``-m disposable_tofu`` without the flags that run step 3, or an expression that names
    steps and selects none of them, is a contradiction: it would select nothing, silently.
    Broad expressions (``not static``) select nothing by name."""
    matches = marker_matcher(markexpr)
    if matches is None or matches(frozenset()):
        return
    mode = settings.mode.value
    for step in STEPS:
        if step.marker not in settings.steps and matches(frozenset({step.marker})):
            raise SettingsError(
                f"-m {step.marker} selects no test in {mode} mode (it runs with {step.flags})"
            )
    named = set(re.findall(r"[A-Za-z_][\w]*", markexpr)) & {s.marker for s in STEPS}
    phase = next((m for m, (md, _f) in PHASE_MARKERS.items() if md is settings.mode), None)
    selectable = [frozenset({s}) for s in settings.steps]
    selectable += [frozenset({s, phase}) for s in settings.steps if phase]
    if named and not any(matches(markers) for markers in selectable):
        raise SettingsError(f"-m {markexpr!r} selects no proof test in {mode} mode")
