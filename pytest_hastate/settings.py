"""Options of pytest-hastate: declared once, resolved once, validated once.

Every command-line option has an ini twin (``hastate_<name>``) and an environment twin
(``HASTATE_<NAME>``). Precedence: command line, then environment, then ini, then default. An
environment variable set to the empty string counts as unset (CI systems export undefined
variables that way). Errors name where the bad value came from.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_hastate.errors import SettingsError
from pytest_hastate.modes import DEFAULT_PHASE, Mode, check_markexpr, mode_of, steps_of
from pytest_hastate.options import (  # noqa: F401 (re-exported: the settings vocabulary)
    CRITERION_MARKER,
    INPUT_OPTIONS,
    MAINTENANCE_EVENTS,
    OPTIONS,
    OptionSpec,
)
from pytest_hastate.scope.names import PHASE_PATTERN
from pytest_hastate.steps import BY_MARKER, POST_MAINTENANCE

CRITERION_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


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
    require_observability: bool
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
        return steps_of(self.mode, self.run_disposable_tofu)


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
    mode, values = mode_of(values, markexpr)
    phase = values["phase"] or DEFAULT_PHASE[mode]
    if not PHASE_PATTERN.match(phase):
        raise SettingsError(f"--phase {phase!r}: must match {PHASE_PATTERN.pattern}")
    values["phase"] = phase
    if not str(values["tofu_binary"]).strip():
        raise SettingsError("--tofu-binary: must not be empty")
    settings = Settings(**values, mode=mode, run_id=run_id or new_run_id())
    check_markexpr(markexpr, mode, settings.steps)
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
        if env.get(spec.env, "").strip():
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
    if spec.kind in ("int", "float"):
        return _number(spec, text, source)
    return text


def _number(spec: OptionSpec, text: str, source: str) -> int | float:
    """An int or float option's value, within its bounds."""
    try:
        value: int | float = int(text) if spec.kind == "int" else float(text)
    except ValueError:
        raise SettingsError(f"{source}: expected a number, got {text!r}") from None
    low, high = spec.bounds or (float("-inf"), float("inf"))
    if not low <= value <= high:
        raise SettingsError(f"{source}: {value} is outside {low:g}..{high:g}")
    return value
