"""Proof step 3 for real: the Terraform binary on this machine against the ha lab and moto's
HTTP server; and the failing cases (a store ignoring If-None-Match, a lock that stays after
release, a missing binary, an old binary)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import admin, environment
from pytest_hastate.s3.scratch import delete_everything_under, versions_under
from tests.support.engines import TlsMotoServer
from tests.support.helpers import (
    ALL_PROOF_TESTS,
    FILLED_VALUES,
    LIVE_TESTS,
    OBSERVED_TESTS,
    PUBLIC_CONTRACT,
    PUBLIC_TEMPLATE,
    SHOWN_BY_SEAWEEDFS,
    TOFU_TESTS,
    assert_stop,
    faulty_proxy,
    junit_properties,
    lab_package,
    moto_environment,
    moto_package,
    needs_tofu,
    run_proofs,
)

TOFU = ("--run-disposable-tofu", "--use-lockfile")
TOFU_CRITERIA = ("tofu.version", "tofu.init", "tofu.first_write", "tofu.readback", "tofu.noop_plan",
                 "tofu.lock_contention", "tofu.lock_release", "tofu.restore")  # fmt: skip


@needs_tofu
def test_ha_lab_passes_every_tofu_criterion(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_lab: LabCluster
) -> None:
    result, verdict = run_proofs(
        proofs, monkeypatch, environment(hastate_lab), hastate_lab.package_path, *TOFU,
        "--junitxml", "junit.xml",
    )  # fmt: skip
    result.assert_outcomes(
        passed=LIVE_TESTS + TOFU_TESTS + SHOWN_BY_SEAWEEDFS,
        skipped=OBSERVED_TESTS - SHOWN_BY_SEAWEEDFS,
    )
    for criterion in TOFU_CRITERIA:
        assert verdict["criteria"][criterion] == "passed", criterion
    assert verdict["verdict"] == "INTERIM_ONLY"
    # The evidence names the binary that ran and what it said it is, in verdict.json and junit.
    produced = verdict["produced_by"]
    assert Path(produced["tofu_binary"]).is_file()
    assert produced["tofu_version"].split()[0] in ("OpenTofu", "Terraform"), produced
    assert junit_properties(proofs.path / "junit.xml")["hastate_produced_by"] == json.dumps(
        produced, separators=(",", ":")
    )
    assert len(verdict["reasons"]) == 1
    assert verdict["reasons"][0].startswith("HA not proven")
    timings = json.loads((proofs.path / "evidence" / "tofu-timings-baseline.json").read_text())
    assert [t["command"].split()[1] for t in timings][:4] == ["init", "apply", "output", "plan"]
    log = (proofs.path / "evidence" / "tofu-baseline.log").read_text()
    assert environment(hastate_lab)["TOFU_HA_STATE_SECRET_KEY"] not in log
    # every version and delete marker of the disposable state and its lock is gone
    prefix = f".gloriousflywheel/ha-state-candidate/{verdict['run_id']}/"
    assert versions_under(admin(hastate_lab), "hastate-lab-scratch", prefix) == []
    result.stdout.fnmatch_lines(
        ["*hastate: terraform apply -no-color -auto-approve -input=false: exit 0 in *"]
    )


@needs_tofu
def test_moto_server_passes_every_tofu_criterion(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    moto_tls: TlsMotoServer,
    tmp_path: Path,
) -> None:
    package = moto_package(hastate_singleton_lab, proofs.path, moto_tls, tmp_path / "ca.pem")
    result, verdict = run_proofs(
        proofs, monkeypatch, moto_environment(moto_tls), package, *TOFU, "-m", "disposable_tofu"
    )
    result.assert_outcomes(passed=TOFU_TESTS, deselected=ALL_PROOF_TESTS - TOFU_TESTS)
    for criterion in TOFU_CRITERIA:
        assert verdict["criteria"][criterion] == "passed", criterion


@needs_tofu
def test_store_ignoring_if_none_match_is_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    with faulty_proxy(hastate_singleton_lab) as proxy:
        package = lab_package(hastate_singleton_lab, proofs.path, endpoint_url=proxy.endpoint)
        env = {**environment(hastate_singleton_lab), "TOFU_HA_STATE_ENDPOINT": proxy.endpoint}
        result, verdict = run_proofs(
            proofs, monkeypatch, env, package, *TOFU, "-m", "disposable_tofu"
        )
    assert_stop(
        result, verdict, "tofu.lock_contention", "store ignores If-None-Match: OpenTofu ran"
    )


@needs_tofu
def test_lock_left_behind_after_release_is_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    with faulty_proxy(
        hastate_singleton_lab, strip_if_none_match=False, drop_lock_deletes=True
    ) as proxy:
        package = lab_package(hastate_singleton_lab, proofs.path, endpoint_url=proxy.endpoint)
        env = {**environment(hastate_singleton_lab), "TOFU_HA_STATE_ENDPOINT": proxy.endpoint}
        result, verdict = run_proofs(
            proofs, monkeypatch, env, package, *TOFU, "-m", "disposable_tofu"
        )
        assert proxy.dropped_deletes > 0
    # the faulty store kept the lock: remove it with the lab's own admin identity
    prefix = f".gloriousflywheel/ha-state-candidate/{verdict['run_id']}/"
    delete_everything_under(admin(hastate_singleton_lab), "hastate-lab-scratch", prefix)
    assert_stop(
        result, verdict, "tofu.lock_release",
        "stale lock after release: after terraform apply", "ID=", "Operation=OperationTypeApply",
    )  # fmt: skip
    # the root first; what followed from the stale lock says so; the residue is the run's own
    reasons = verdict["reasons"]
    assert reasons[0].startswith("tofu.lock_release failed: stale lock after release"), reasons
    dependent = {r.split(" failed: ")[0]: r.split(" failed: ")[1] for r in reasons[1:-1]}
    assert set(dependent) == {"tofu.noop_plan", "tofu.lock_contention", "tofu.restore"}, reasons
    assert all(r.startswith("by dependency on tofu.lock_release: ") for r in dependent.values())
    assert "plan exited 1 on the state lock: the lock left after" in dependent["tofu.noop_plan"]
    assert "the synthetic lock could not be taken (412)" in dependent["tofu.lock_contention"]
    assert reasons[-1].startswith("cleanup left residue: "), reasons
    assert ".tflock" in reasons[-1]
    assert "teardown error" not in " ".join(reasons)


def test_missing_binary_is_interim_only(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    tmp_path: Path,
) -> None:
    """No OpenTofu and no Terraform on PATH: the step is unproven, and --expect-interim does
    not turn that into exit 0 (a later phase cannot prove it)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    result, verdict = run_proofs(
        proofs, monkeypatch, environment(hastate_singleton_lab), hastate_singleton_lab.package_path,
        *TOFU, "-m", "disposable_tofu", "--expect-interim",
    )  # fmt: skip
    result.assert_outcomes(skipped=TOFU_TESTS, deselected=ALL_PROOF_TESTS - TOFU_TESTS)
    assert verdict["verdict"] == "INTERIM_ONLY"
    assert any(
        "tofu.version skipped, not proven: no OpenTofu binary" in r for r in verdict["reasons"]
    )
    assert result.ret == ExitCode.INTERIM_ONLY
    result.stdout.fnmatch_lines(
        ["hastate: --expect-interim accepts only *skipped, so not 0: tofu.*"]
    )


def test_a_named_binary_that_is_not_there_is_bad_input(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    tmp_path: Path,
) -> None:
    for name, value in environment(hastate_singleton_lab).items():
        monkeypatch.setenv(name, value)
    result = proofs.runpytest(
        "proofs/", "--endpoint-package", str(hastate_singleton_lab.package_path),
        "-p", "no:cacheprovider", *TOFU, "--tofu-binary", str(tmp_path / "no-such-tofu"),
    )  # fmt: skip
    assert result.ret == ExitCode.BAD_INPUT
    result.stderr.fnmatch_lines(["ERROR: pytest-hastate: --tofu-binary *no-such-tofu: not found *"])
    assert not (proofs.path / "evidence").exists()


@pytest.mark.parametrize(
    ("printed", "message"),
    [
        (
            "OpenTofu v1.9.1\non linux_amd64",
            "OpenTofu 1.9.1 is too old: the native S3 lockfile needs OpenTofu >= 1.10.0",
        ),
        (
            "Terraform v1.10.5\non linux_amd64",
            "Terraform 1.10.5 is too old: the native S3 lockfile needs Terraform >= 1.11.0",
        ),
        ("some other tool 2.0", "cannot read the version from 'some other tool 2.0'"),
    ],
)
def test_old_binary_is_stop_before_any_s3_request(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    tmp_path: Path,
    printed: str,
    message: str,
) -> None:
    fake = tmp_path / "tofu"  # a fake binary tests the version gate, not OpenTofu
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' '{printed}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    before = hastate_singleton_lab.request_counts("hastate-lab-scratch")
    result, verdict = run_proofs(
        proofs, monkeypatch, environment(hastate_singleton_lab), hastate_singleton_lab.package_path,
        *TOFU, "-m", "disposable_tofu", "--tofu-binary", str(fake),
    )  # fmt: skip
    assert hastate_singleton_lab.request_counts("hastate-lab-scratch") == before
    assert result.ret == 1
    assert verdict["verdict"] == "STOP"
    assert any(message in r for r in verdict["reasons"]), verdict["reasons"]


PUBLIC_SCRATCH = "darkmap-ha-state-proof"


def public_package_for(lab: LabCluster, folder: Path) -> Path:
    """The public-format template, its sentinels filled in for the lab, unchanged otherwise:
    no ``ha_endpoints``, no ``ca_bundle`` (the CA comes from AWS_CA_BUNDLE), no
    ``backend_options``, and the contract where the public format says it is."""
    package = json.loads(PUBLIC_TEMPLATE.read_text())
    assert "backend_options" not in package
    assert "ca_bundle" not in package
    package.update(FILLED_VALUES)
    package["endpoint_url"] = lab.endpoints[0]
    contract = folder / package["candidate_contract"]
    contract.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(PUBLIC_CONTRACT, contract)
    path = folder / "endpoint-package.json"
    path.write_text(json.dumps(package, indent=2))
    return path


def tofu_shim(folder: Path, home: Path) -> Path:
    """A ``tofu`` like a version manager's shim: reads its own config under $HOME and runs the
    real binary found on PATH."""
    (home / ".fake-tenv").mkdir(parents=True, exist_ok=True)
    (home / ".fake-tenv" / "version").write_text("REAL_BINARY=terraform\n")
    shim = folder / "tofu"
    shim.write_text(
        '#!/bin/sh\n. "$HOME/.fake-tenv/version" || exit 97\nexec "$REAL_BINARY" "$@"\n'
    )
    shim.chmod(0o755)
    return shim


@needs_tofu
def test_public_format_package_and_a_tofu_shim_on_path_pass_every_tofu_criterion(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_lab: LabCluster,
    tmp_path: Path,
) -> None:
    """The public format has no backend_options: against an endpoint that is not AWS the
    rendered backend must skip STS, account id, region and metadata checks by default. And
    the version gate must run ``tofu`` with the same environment as every other command."""
    lab = hastate_lab
    package = public_package_for(lab, proofs.path)
    shims = tmp_path / "shims"
    shims.mkdir()
    tofu_shim(shims, Path(os.environ["HOME"]))
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    scoped = [PUBLIC_SCRATCH, f"{PUBLIC_SCRATCH}-probe-*"]
    lab.set_proof_actions([f"{a}:{b}" for b in scoped for a in ("Read", "Write", "List", "Admin")])
    try:
        result, verdict = run_proofs(proofs, monkeypatch, environment(lab), package, *TOFU)
    finally:
        lab.set_proof_actions([])
    for criterion in TOFU_CRITERIA:
        assert verdict["criteria"][criterion] == "passed", (criterion, verdict["reasons"])
    assert verdict["verdict"] == "INTERIM_ONLY"  # one endpoint in the public package
    assert result.ret == ExitCode.INTERIM_ONLY
    timings = json.loads((proofs.path / "evidence" / "tofu-timings-baseline.json").read_text())
    assert timings[0]["command"].startswith("tofu init")
    prefix = f".gloriousflywheel/ha-state-candidate/{verdict['run_id']}/"
    assert versions_under(admin(lab), PUBLIC_SCRATCH, prefix) == []


SLEEPY_SHIM = """#!/bin/sh
# terraform, but the first apply also creates a resource whose provisioner sleeps: the apply
# holds the state lock for a minute, long enough to interrupt the run in the middle of it.
if [ "$1" = "apply" ] && [ ! -e "{marker}" ]; then
    cat > sleeper.tf.json <<JSON
{{"resource": {{"terraform_data": {{"sleeper": {{"provisioner": [
  {{"local-exec": {{"command": "touch {marker}; exec sleep 60 # hastate-test-sleeper"}}}}]}}}}}}}}
JSON
fi
exec terraform "$@"
"""


@needs_tofu
@pytest.mark.parametrize("store", ["healthy", "keeps-locks"])
def test_ctrl_c_during_apply_is_cleaned_up_and_in_the_verdict(
    proofs: pytest.Pytester, hastate_singleton_lab: LabCluster, tmp_path: Path, store: str
) -> None:
    """Ctrl-C while OpenTofu holds the lock: the lock and the run's objects are removed before
    the verdict is written, or named in verdict.json as residue; no process is left behind."""
    import contextlib
    import signal
    import subprocess
    import sys
    import time

    lab = hastate_singleton_lab
    marker = tmp_path / "apply-started"
    shim = tmp_path / "tofu"
    shim.write_text(SLEEPY_SHIM.format(marker=marker))
    shim.chmod(0o755)
    env = {**os.environ, **environment(lab)}
    with contextlib.ExitStack() as stack:
        package = lab_package(lab, proofs.path)
        if store == "keeps-locks":
            proxy = stack.enter_context(
                faulty_proxy(lab, strip_if_none_match=False, drop_lock_deletes=True)
            )
            package = lab_package(lab, proofs.path, endpoint_url=proxy.endpoint)
            env["TOFU_HA_STATE_ENDPOINT"] = proxy.endpoint
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "proofs/", "--endpoint-package", str(package), *TOFU,
             "-m", "disposable_tofu", "--tofu-binary", str(shim), "-p", "no:cacheprovider"],
            cwd=proofs.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.1)
            if not marker.exists():
                process.kill()
                pytest.fail(f"the apply never started: {process.communicate()[0][-3000:]}")
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    verdict = json.loads((proofs.path / "evidence" / "verdict.json").read_text())
    assert any("interrupted" in r for r in verdict["reasons"]), verdict["reasons"]
    prefix = f".gloriousflywheel/ha-state-candidate/{verdict['run_id']}/"
    left = versions_under(admin(lab), "hastate-lab-scratch", prefix)
    residue = " ".join(r for r in verdict["reasons"] if "residue" in r)
    if store == "healthy":
        assert not left, left  # the lock included
        assert verdict["verdict"] != "GO"
    else:
        assert left, "the faulty store was expected to keep the lock"
        assert verdict["verdict"] == "STOP"
        assert ".tflock" in residue, verdict["reasons"]
        delete_everything_under(admin(lab), "hastate-lab-scratch", prefix)
    sleepers = subprocess.run(
        ["pgrep", "-f", "hastate-test-sleeper"], capture_output=True, text=True, check=False
    )
    assert sleepers.stdout.strip() == "", "the interrupted apply left a process behind"
