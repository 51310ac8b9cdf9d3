"""A CI setup action's wrapper in front of the binary is told apart before any state operation.

Through the wrapper the disposable step would read ``[command]`` lines as JSON and a plan with
changes as exit 0: a false STOP on a healthy backend. The run refuses it at collection, in one
line naming the setting that turns it off and the real binary, exit 4, nothing sent. With the
real binary behind it given instead, the same step passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_hastate.errors import TofuError, WrappedBinary
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import environment
from pytest_hastate.tofu.gate import gated_binary
from pytest_hastate.tofu.wrapper import PROBE_EXIT, check_not_wrapped, wrapper_lines
from tests.support.helpers import TOFU_BINARY, needs_tofu, run_proofs
from tests.support.wrappers import WRAPPERS, install_wrapper

TOFU = ("--run-disposable-tofu", "--use-lockfile")
VERSION = "Terraform v1.11.4\non linux_amd64\n"


def test_the_binarys_own_output_is_not_a_wrapper() -> None:
    check_not_wrapped(
        name="tofu", binary=Path("/usr/bin/tofu"), product="Terraform",
        version_stdout=VERSION, probe=(PROBE_EXIT, "Plan: 1 to add, 0 to change, 0 to destroy."),
    )  # fmt: skip
    assert wrapper_lines(VERSION) == []


@pytest.mark.parametrize(
    ("version", "probe", "seen"),
    [
        (f"[command]/opt/hostedtoolcache/tofu-bin version\n{VERSION}", None,
         "'[command]/opt/hostedtoolcache/tofu-bin version'"),
        (VERSION, (PROBE_EXIT, "Plan: 1 to add\n::debug::Terraform exited with code 2."),
         "'::debug::Terraform exited with code 2.'"),
        (VERSION, (0, "Plan: 1 to add, 0 to change, 0 to destroy."),
         "answered exit 0 (the binary itself answers 2: a wrapper rewrote it)"),
    ],
)  # fmt: skip
def test_wrapper_lines_or_a_contradicting_exit_code_are_refused(
    version: str, probe: tuple[int, str] | None, seen: str
) -> None:
    with pytest.raises(WrappedBinary) as refused:
        check_not_wrapped(
            name="tofu", binary=Path("/usr/bin/tofu"), product="Terraform",
            version_stdout=version, probe=probe,
        )  # fmt: skip
    message = str(refused.value)
    assert seen in message
    assert "terraform_wrapper: false" in message
    assert "\n" not in message
    assert refused.value.exit_code == ExitCode.BAD_INPUT


@needs_tofu
@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_the_gate_tells_each_wrapper_apart(tmp_path: Path, kind: str) -> None:
    wrapper, real = install_wrapper(tmp_path / "bin", kind)
    with pytest.raises(WrappedBinary) as refused:
        gated_binary(str(wrapper))
    message = str(refused.value)
    assert WRAPPERS[kind].setting in message, message
    # Echoed by the speaking wrappers; beside the wrapper (<name>-bin) for the silent one.
    assert f"--tofu-binary {real} " in message, message
    assert gated_binary(str(real))[1] == WRAPPERS[kind].label  # the fix it names passes


@needs_tofu
@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_a_wrapped_binary_is_refused_before_any_request(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    tmp_path: Path,
    kind: str,
) -> None:
    lab = hastate_singleton_lab
    wrapper, _real = install_wrapper(tmp_path / "bin", kind)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    for name, value in environment(lab).items():
        monkeypatch.setenv(name, value)
    before = lab.request_counts("hastate-lab-scratch")
    result = proofs.runpytest(
        "proofs/", "--endpoint-package", str(lab.package_path), "-p", "no:cacheprovider",
        *TOFU, "--tofu-binary", wrapper.name,
    )  # fmt: skip
    assert result.ret == ExitCode.BAD_INPUT
    errors = [line for line in result.errlines if line.startswith("ERROR: pytest-hastate")]
    assert len(errors) == 1, result.errlines
    assert WRAPPERS[kind].setting in errors[0]
    assert f"({wrapper})" in errors[0]
    assert lab.request_counts("hastate-lab-scratch") == before
    assert not (proofs.path / "evidence").exists()


@needs_tofu
def test_the_real_binary_behind_the_wrapper_passes_the_disposable_step(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    tmp_path: Path,
) -> None:
    """The fix the refusal names works: ``--tofu-binary`` the real binary beside the wrapper."""
    _wrapper, real = install_wrapper(tmp_path / "bin", "setup-opentofu")
    _result, verdict = run_proofs(
        proofs, monkeypatch, environment(hastate_singleton_lab), hastate_singleton_lab.package_path,
        *TOFU, "-m", "disposable_tofu", "--tofu-binary", str(real),
    )  # fmt: skip
    tofu = {k: v for k, v in verdict["criteria"].items() if k.startswith("tofu.")}
    assert len(tofu) == 8
    assert set(tofu.values()) == {"passed"}, verdict["reasons"]
    assert verdict["produced_by"]["tofu_binary"] == str(real)
    assert verdict["produced_by"]["tofu_version"].startswith("OpenTofu "), verdict["produced_by"]


@needs_tofu
def test_a_binary_whose_probe_fails_is_not_called_a_wrapper(tmp_path: Path) -> None:
    terraform = TOFU_BINARY
    fake = tmp_path / "tofu"  # terraform, except that every plan fails
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = plan ]; then echo "Error: no plans today" >&2; exit 1; fi\n'
        f'exec {terraform} "$@"\n'
    )
    fake.chmod(0o755)
    with pytest.raises(TofuError, match=r"answered exit 1, not 2: Error: no plans today"):
        gated_binary(str(fake))
