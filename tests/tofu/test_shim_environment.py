"""A version manager's shim may put variables back that the proof took out of OpenTofu's
environment (mise's ``[env]``, an asdf plugin's exec-env): ``TF_CLI_ARGS_init`` there would set
a backend option the guard never judged. The gate reads the environment the real binary was
started with and refuses any variable OpenTofu reads that is not the proof's own; a shim that
only finds the binary passes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_hastate.errors import ShimEnvironment
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import environment
from pytest_hastate.tofu.gate import gated_binary
from tests.support.helpers import TOFU_BINARY, needs_tofu

# Like mise: the shim reads the manager's configuration (under XDG_CONFIG_HOME) and applies
# its environment before it runs the tool (exec, as mise's and asdf's shims do).
EXEC_SHIM = """#!/bin/sh
config="${{XDG_CONFIG_HOME:-$HOME/.config}}/fake-manager/env"
[ -f "$config" ] && while IFS= read -r line; do [ -n "$line" ] && export "$line"; done < "$config"
exec {terraform} "$@"
"""
# Like tenv's proxy: the shim starts the tool as its child and waits for it.
CHILD_SHIM = """#!/bin/sh
config="${{XDG_CONFIG_HOME:-$HOME/.config}}/fake-manager/env"
[ -f "$config" ] && while IFS= read -r line; do [ -n "$line" ] && export "$line"; done < "$config"
{terraform} "$@"
"""


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shim: str, config: str) -> Path:
    terraform = TOFU_BINARY
    bin_dir, xdg = tmp_path / "shims", tmp_path / "xdg"
    bin_dir.mkdir()
    (xdg / "fake-manager").mkdir(parents=True)
    (xdg / "fake-manager" / "env").write_text(config)
    tofu = bin_dir / "tofu"
    tofu.write_text(shim.format(terraform=terraform))
    tofu.chmod(0o755)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tofu


@needs_tofu
@pytest.mark.parametrize("shim", [EXEC_SHIM, CHILD_SHIM], ids=["exec", "child"])
@pytest.mark.parametrize(
    ("config", "named"),
    [
        ("TF_CLI_ARGS_init=-backend-config=bucket=tofu-state\n", "TF_CLI_ARGS_init"),
        ("AWS_PROFILE=production\n", "AWS_PROFILE"),
        ("TF_DATA_DIR=/var/lib/shared-tofu\n", "TF_DATA_DIR"),
        ("SSL_CERT_FILE=/etc/ssl/interceptor.pem\n", "SSL_CERT_FILE"),
    ],
)  # fmt: skip
def test_a_shim_that_changes_what_opentofu_reads_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shim: str, config: str, named: str
) -> None:
    tofu = install(tmp_path, monkeypatch, shim, config)
    with pytest.raises(ShimEnvironment, match=rf"starts \S*terraform with {named} not as the"):
        gated_binary(str(tofu))


@needs_tofu
@pytest.mark.parametrize("shim", [EXEC_SHIM, CHILD_SHIM], ids=["exec", "child"])
def test_a_shim_that_only_finds_the_binary_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shim: str
) -> None:
    tofu = install(tmp_path, monkeypatch, shim, "MISE_TOOL_VERSION=1.10.6\n")
    assert gated_binary(str(tofu))[1] == "Terraform"


@needs_tofu
def test_the_proof_refuses_it_before_any_request(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    tmp_path: Path,
) -> None:
    lab = hastate_singleton_lab
    install(
        tmp_path, monkeypatch, EXEC_SHIM, "TF_CLI_ARGS_init=-backend-config=bucket=tofu-state\n"
    )
    for name, value in environment(lab).items():
        monkeypatch.setenv(name, value)
    before = lab.request_counts("hastate-lab-scratch")
    result = proofs.runpytest(
        "proofs/", "--endpoint-package", str(lab.package_path), "-p", "no:cacheprovider",
        "--run-disposable-tofu", "--use-lockfile",
    )  # fmt: skip
    assert result.ret == ExitCode.BAD_INPUT
    errors = [line for line in result.errlines if line.startswith("ERROR: pytest-hastate")]
    assert len(errors) == 1, result.errlines
    assert "TF_CLI_ARGS_init" in errors[0]
    assert lab.request_counts("hastate-lab-scratch") == before
    assert not (proofs.path / "evidence").exists()
