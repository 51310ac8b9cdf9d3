"""Option resolution: command line, then environment, then ini, then default."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.errors import SettingsError
from pytest_hastate.modes import Mode
from pytest_hastate.options import OPTIONS
from pytest_hastate.settings import resolve


def settings(
    cli: dict[str, Any] | None = None,
    ini: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    markexpr: str = "",
) -> Any:
    cli = cli or {}
    ini = ini or {}
    return resolve(
        lambda dest: cli.get(dest.removeprefix("hastate_")),
        lambda dest: ini.get(dest.removeprefix("hastate_")),
        env or {},
        invocation_dir=Path("/run"),
        ini_dir=Path("/ini"),
        markexpr=markexpr,
    )


def test_defaults() -> None:
    s = settings()
    assert s.mode is Mode.STATIC
    assert s.phase == "static"
    assert s.tofu_binary == "tofu"
    assert s.evidence_dir == Path("/run/evidence")
    assert s.run_id
    assert s.run_id == s.run_id.lower()


def test_precedence_cli_env_ini() -> None:
    assert (
        settings(
            cli={"tofu_binary": "a"}, env={"HASTATE_TOFU_BINARY": "b"}, ini={"tofu_binary": "c"}
        ).tofu_binary
        == "a"
    )
    assert settings(env={"HASTATE_TOFU_BINARY": "b"}, ini={"tofu_binary": "c"}).tofu_binary == "b"
    assert settings(ini={"tofu_binary": "c"}).tofu_binary == "c"


def test_an_empty_environment_variable_counts_as_unset() -> None:
    """CI systems export an undefined variable as "": it neither overrides the ini file nor
    is refused as an empty value."""
    empty = {spec.env: "" for spec in OPTIONS}
    base, blank = settings(), settings(env=empty)
    assert dataclasses.replace(blank, run_id=base.run_id) == base
    assert settings(env={"HASTATE_TOFU_BINARY": " "}, ini={"tofu_binary": "c"}).tofu_binary == "c"
    assert settings(env={"HASTATE_DRY_RUN": ""}, ini={"dry_run": "true"}).dry_run is True
    assert settings(env={"HASTATE_PHASE": ""}).phase == "static"


def test_paths_resolve_against_their_source() -> None:
    assert settings(cli={"endpoint_package": "p.json"}).endpoint_package == Path("/run/p.json")
    assert settings(ini={"endpoint_package": "p.json"}).endpoint_package == Path("/ini/p.json")


@pytest.mark.parametrize(
    ("cli", "mode", "phase"),
    [
        ({"endpoint_package": "p"}, Mode.LIVE, "baseline"),
        (
            {"endpoint_package": "p", "credential_boundary_check": True},
            Mode.BOUNDARY,
            "credential-boundary",
        ),
        (
            {"endpoint_package": "p", "keep_scratch_bucket": True, "checkpoint_file": "c"},
            Mode.PRE_MAINTENANCE,
            "baseline",
        ),
        (
            {"endpoint_package": "p", "verify_existing": True, "from_checkpoint": "c"},
            Mode.POST_MAINTENANCE,
            "post-maintenance",
        ),
        (
            {"endpoint_package": "p", "cleanup_checkpoint": True, "from_checkpoint": "c"},
            Mode.CLEANUP,
            "cleanup",
        ),
    ],
)
def test_modes(cli: dict[str, Any], mode: Mode, phase: str) -> None:
    s = settings(cli=cli)
    assert s.mode is mode
    assert s.phase == phase


def test_disposable_tofu_adds_its_step_only_in_live_modes() -> None:
    s = settings(cli={"endpoint_package": "p", "run_disposable_tofu": True, "use_lockfile": True})
    assert "disposable_tofu" in s.steps


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        ({"endpoint_package": "p", "run_disposable_tofu": True}, "needs --use-lockfile"),
        ({"endpoint_package": "p", "delete_scratch_bucket": True}, "needs --cleanup-checkpoint"),
        ({"endpoint_package": "p", "keep_scratch_bucket": True}, "needs --checkpoint-file"),
        (
            {"endpoint_package": "p", "from_checkpoint": "c"},
            "needs --verify-existing or --cleanup-checkpoint",
        ),
        (
            {"endpoint_package": "p", "maintenance_event": "restart"},
            "--maintenance-event needs --verify-existing",
        ),
        ({"verify_existing": True, "from_checkpoint": "c"}, "needs --endpoint-package"),
        (
            {
                "endpoint_package": "p",
                "verify_existing": True,
                "cleanup_checkpoint": True,
                "from_checkpoint": "c",
            },
            "select different modes",
        ),
        (
            {
                "endpoint_package": "p",
                "verify_existing": True,
                "from_checkpoint": "c",
                "checkpoint_file": "x",
            },
            "--checkpoint-file is for",
        ),
        ({"phase": "-bad"}, "--phase '-bad'"),
    ],
)
def test_contradictions_are_errors(cli: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        settings(cli=cli)


def test_markexpr_must_agree_with_the_flags() -> None:
    settings(cli={"endpoint_package": "p"}, markexpr="static or scratch")
    settings(cli={"endpoint_package": "p"}, markexpr="not cleanup")
    settings(cli={"endpoint_package": "p"}, markexpr="not (boundary or scratch)")
    with pytest.raises(SettingsError, match="-m disposable_tofu selects no test in live mode"):
        settings(cli={"endpoint_package": "p"}, markexpr="disposable_tofu")
    with pytest.raises(SettingsError, match="-m pre_maintenance needs --checkpoint-file PATH"):
        settings(cli={"endpoint_package": "p"}, markexpr="pre_maintenance")
    with pytest.raises(SettingsError, match="-m post_maintenance and --cleanup-checkpoint select"):
        settings(
            cli={"endpoint_package": "p", "cleanup_checkpoint": True, "from_checkpoint": "c"},
            markexpr="post_maintenance",
        )
    with pytest.raises(SettingsError, match="selects the pre_maintenance and cleanup phases"):
        settings(cli={"endpoint_package": "p"}, markexpr="pre_maintenance or cleanup")
    settings(
        cli={"endpoint_package": "p", "keep_scratch_bucket": True, "checkpoint_file": "c"},
        markexpr="pre_maintenance",
    )


@pytest.mark.parametrize(
    ("markexpr", "cli", "mode", "flag"),
    [
        ("pre_maintenance", {"checkpoint_file": "c"}, Mode.PRE_MAINTENANCE, "keep_scratch_bucket"),
        ("post_maintenance", {"from_checkpoint": "c"}, Mode.POST_MAINTENANCE, "verify_existing"),
        ("cleanup", {"from_checkpoint": "c"}, Mode.CLEANUP, "cleanup_checkpoint"),
        ("pre_maintenance and not bucket_index", {"checkpoint_file": "c"}, Mode.PRE_MAINTENANCE,
         "keep_scratch_bucket"),
    ],
)  # fmt: skip
def test_a_phase_marker_selects_its_phase_as_its_flags_do(
    markexpr: str, cli: dict[str, Any], mode: Mode, flag: str
) -> None:
    marked = settings(cli={"endpoint_package": "p", **cli}, markexpr=markexpr)
    flagged = settings(cli={"endpoint_package": "p", **cli, flag: True})
    assert marked.mode is flagged.mode is mode
    assert marked.steps == flagged.steps
    assert getattr(marked, flag) is True


def test_every_spec_option_is_declared() -> None:
    names = {o.name for o in OPTIONS}
    assert names >= {
        "endpoint-package",
        "contract",
        "allow-template",
        "run-disposable-tofu",
        "use-lockfile",
        "tofu-binary",
        "phase",
        "checkpoint-file",
        "keep-scratch-bucket",
        "verify-existing",
        "from-checkpoint",
        "maintenance-event",
        "cleanup-checkpoint",
        "delete-scratch-bucket",
        "credential-boundary-check",
        "dry-run",
        "expect-interim",
        "evidence-dir",
    }
