"""The OpenTofu runner: version gate, exit-code rule, timeouts, masking, rendered backend.

Small fake binaries test the runner's own rules; the real Terraform binary is exercised by
tests/test_3_disposable_tofu.py."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pytest_hastate.errors import TofuError, TofuMissing, TofuTooOld
from pytest_hastate.io.redact import Masker
from pytest_hastate.models import NON_AWS_BACKEND_DEFAULTS, EndpointPackage
from pytest_hastate.tofu.runner import (
    TofuResult,
    TofuRunner,
    base_environment,
    check_version,
    find_binary,
    parse_version,
    render_configuration,
    tofu_environment,
)
from tests.support.helpers import needs_tofu


def fake(tmp_path: Path, name: str, script: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.mark.parametrize(
    ("text", "product", "version"),
    [
        ("OpenTofu v1.10.0\non linux_amd64", "OpenTofu", (1, 10, 0)),
        ("Terraform v1.11.4\non linux_amd64\n", "Terraform", (1, 11, 4)),
        ("Terraform v1.12.0-beta1\n", "Terraform", (1, 12, 0)),
    ],
)
def test_parse_version(text: str, product: str, version: tuple[int, int, int]) -> None:
    assert parse_version(text) == (product, version)


def test_unparseable_version_is_refused() -> None:
    with pytest.raises(TofuTooOld, match="cannot read the version"):
        parse_version("")


@pytest.mark.parametrize(
    ("product", "version", "ok"),
    [
        ("OpenTofu", (1, 10, 0), True),
        ("OpenTofu", (1, 9, 9), False),
        ("Terraform", (1, 11, 0), True),
        ("Terraform", (1, 10, 9), False),
    ],
)
def test_minimum_versions(product: str, version: tuple[int, int, int], ok: bool) -> None:
    if ok:
        check_version(product, version)
    else:
        with pytest.raises(TofuTooOld, match="too old"):
            check_version(product, version)


def test_default_binary_falls_back_to_terraform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake(tmp_path, "terraform", "echo 'Terraform v1.11.4'")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_binary("tofu") == tmp_path / "terraform"
    with pytest.raises(TofuMissing, match="no OpenTofu binary"):
        find_binary("custom-tofu")


def test_tofu_is_preferred_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake(tmp_path, "terraform", "true")
    fake(tmp_path, "tofu", "true")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_binary("tofu") == tmp_path / "tofu"


def test_unexpected_exit_code_quotes_command_and_stderr_with_secrets_masked(tmp_path: Path) -> None:
    binary = fake(
        tmp_path, "tofu", "echo 'line one' >&2; echo \"leaked $AWS_SECRET_ACCESS_KEY\" >&2; exit 3"
    )
    runner = TofuRunner(
        binary,
        tmp_path,
        {"AWS_SECRET_ACCESS_KEY": "s3cr3t-value"},
        redact=Masker(["s3cr3t-value"]),
    )
    with pytest.raises(TofuError) as caught:
        runner.run("plan", detailed_exitcode=True)
    message = str(caught.value)
    assert message.startswith("unexpected exit code 3 for tofu plan -no-color")
    assert "-input=false" in message
    assert "leaked ***" in message
    assert "s3cr3t-value" not in message
    assert isinstance(caught.value.result, TofuResult)
    assert caught.value.result.code == 3


def test_expected_codes_are_returned(tmp_path: Path) -> None:
    binary = fake(tmp_path, "tofu", "exit 2")
    result = TofuRunner(binary, tmp_path, {}).run("plan", expect=(0, 2))
    assert result.code == 2
    assert result.seconds >= 0


def test_timeout_is_an_error(tmp_path: Path) -> None:
    binary = fake(tmp_path, "tofu", "sleep 30")
    with pytest.raises(TofuError, match="timed out after 1 s"):
        TofuRunner(binary, tmp_path, {}, timeout=1).run("apply")


def test_commands_without_input_flag(tmp_path: Path) -> None:
    binary = fake(tmp_path, "tofu", 'echo "$@"')
    runner = TofuRunner(binary, tmp_path, {})
    assert runner.run("output", json=True).stdout.split() == ["output", "-no-color", "-json=true"]
    assert "-input=false" in runner.run("init").stdout


def test_rendered_backend_uses_the_lockfile_and_package_options() -> None:
    config = render_configuration(
        bucket="scratch", key="p/run/disposable-tofu/baseline/terraform.tfstate", region="us-east-1",
        endpoint="https://s3.example.com", backend_options={"use_path_style": True, "skip_s3_checksum": True},
    )  # fmt: skip
    backend = config["terraform"]["backend"]["s3"]
    assert backend["use_lockfile"] is True
    assert backend["endpoints"] == {"s3": "https://s3.example.com"}
    assert backend["use_path_style"] is True
    assert backend["skip_s3_checksum"] is True
    assert "dynamodb_table" not in backend
    assert set(config["output"]) == {"nonce", "phase", "run_id"}
    assert "provider" not in config


def test_environment_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-else")
    env = tofu_environment(
        workdir=tmp_path,
        access_key="a",
        secret_key="b",
        session_token=None,
        ca_bundle="/ca.pem",
        checksum_when_required=True,
    )
    assert env["TF_DATA_DIR"] == str(tmp_path / ".tfdata")
    assert env["TF_IN_AUTOMATION"] == "1"
    assert "AWS_PROFILE" not in env
    assert env["AWS_REQUEST_CHECKSUM_CALCULATION"] == "when_required"
    assert (tmp_path / "aws-config").read_text() == ""  # no shared AWS config or credentials
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == str(tmp_path / "aws-config")


def test_every_invocation_keeps_what_a_version_manager_shim_needs(tmp_path: Path) -> None:
    caller = {
        "PATH": "/opt/shims:/usr/bin:/bin",
        "HOME": "/home/operator",
        "TENV_ROOT": "/home/operator/.tenv",
        "ASDF_DATA_DIR": "/home/operator/.asdf",
        "AWS_SECRET_ACCESS_KEY": "the caller's own secret",
        "AWS_PROFILE": "production",
    }
    base = base_environment(tmp_path, caller)
    full = tofu_environment(
        workdir=tmp_path, access_key="a", secret_key="b", session_token=None, ca_bundle=None,
        checksum_when_required=False, caller=caller,
    )  # fmt: skip
    for env in (base, full):
        assert env["PATH"] == caller["PATH"]
        assert env["HOME"] == caller["HOME"]
        assert env["TENV_ROOT"] == caller["TENV_ROOT"]
        assert env["ASDF_DATA_DIR"] == caller["ASDF_DATA_DIR"]
        assert "AWS_PROFILE" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in base
    assert full["AWS_SECRET_ACCESS_KEY"] == "b"
    assert {k: v for k, v in full.items() if k not in base} == {
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
    }


@needs_tofu
def test_real_terraform_passes_the_gate(tmp_path: Path) -> None:
    product, version = TofuRunner(
        find_binary("tofu"), tmp_path, {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    ).version()
    check_version(product, version)


def test_runner_never_reads_a_local_state(tmp_path: Path) -> None:
    (tmp_path / "terraform.tfstate").write_text("")  # what a state migration leaves behind
    binary = fake(tmp_path, "tofu", "exit 0")
    assert TofuRunner(binary, tmp_path, {}).run("plan").code == 0


@pytest.mark.parametrize(
    ("endpoint", "given", "expected"),
    [
        ("https://state.example.com", {}, NON_AWS_BACKEND_DEFAULTS),
        (
            "https://rgw.internal:8443",
            {"use_path_style": False, "skip_s3_checksum": True},
            {**NON_AWS_BACKEND_DEFAULTS, "use_path_style": False, "skip_s3_checksum": True},
        ),
        ("https://s3.eu-west-1.amazonaws.com", {}, {}),
        (
            "https://s3.cn-north-1.amazonaws.com.cn",
            {"use_path_style": True},
            {"use_path_style": True},
        ),
    ],
)
def test_non_aws_endpoints_default_to_what_they_need(
    endpoint: str, given: dict[str, object], expected: dict[str, object]
) -> None:
    from tests.support.helpers import filled_package

    package = EndpointPackage.model_validate(
        {**filled_package(), "endpoint_url": endpoint, "backend_options": given}
    )
    assert package.effective_backend_options == expected
    backend = render_configuration(
        bucket="b", key="k", region="us-east-1", endpoint=endpoint,
        backend_options=package.effective_backend_options,
    )["terraform"]["backend"]["s3"]  # fmt: skip
    for name, value in expected.items():
        assert backend[name] == value
