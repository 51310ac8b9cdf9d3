"""The protected migration plan: refusals, and a rendered backend proven with the real binary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.cli import main
from pytest_hastate.gates.files import load_package
from pytest_hastate.io.evidence import write_model
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import admin, environment
from pytest_hastate.models import Status, VerdictRecord
from pytest_hastate.tofu.runner import TofuRunner, find_binary, tofu_environment
from tests.support.helpers import (
    PUBLIC_CONTRACT,
    REPO,
    filled_package,
    lab_package,
    needs_tofu,
    run_proofs,
)

KEY = "attic/terraform.tfstate"


def verdict(status: Status, digest: str) -> VerdictRecord:
    return VerdictRecord(
        verdict=status, reasons=[], criteria={}, run_id="r1", phase="post-maintenance", mode="post-maintenance",
        package_name="p", package_digest=digest, contract_digest=None, maintenance_event="endpoint-loss",
        dry_run=False, expect_interim=False, exit_code=0, created_at="now",
    )  # fmt: skip


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copy(PUBLIC_CONTRACT, tmp_path / "contract.json")
    package = tmp_path / "package.json"
    package.write_text(json.dumps(filled_package()))
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    write_model(evidence / "verdict.json", verdict(Status.GO, load_package(package).sha256))
    return package, evidence


def plan(
    package: Path, evidence: Path, *extra: str, key: str = KEY, bucket: str = "state-ha"
) -> int:
    return main(["migration-plan", "--endpoint-package", str(package), "--state-key", key, "--target-bucket", bucket,
                 "--evidence", str(evidence), "--output-dir", str(evidence.parent / "migration"), *extra])  # fmt: skip


def test_plan_is_rendered_from_a_go(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    package, evidence = setup
    assert plan(package, evidence, "--stack", "attic") == 0
    backend = (evidence.parent / "migration" / "backend-attic.s3.tfbackend").read_text()
    settings = {
        name.strip(): value.strip()
        for name, _, value in (
            line.partition("=") for line in backend.splitlines() if not line.startswith("#")
        )
    }
    assert settings["bucket"] == '"state-ha"'
    assert settings["key"] == '"attic/terraform.tfstate"'
    assert settings["use_lockfile"] == "true"
    assert settings["endpoints"] == '{ s3 = "https://state-proof.example.com" }'
    # the package names a non-AWS endpoint and no backend_options: what the proof ran with
    for name in (
        "skip_credentials_validation",
        "skip_requesting_account_id",
        "skip_region_validation",
        "skip_metadata_api_check",
        "use_path_style",
    ):
        assert settings[name] == "true", name  # fmt: skip
    document = json.loads((evidence.parent / "migration" / "migration-plan-attic.json").read_text())
    assert [s["step"] for s in document["steps"]] == [
        "freeze",
        "snapshot",
        "migrate",
        "verify",
        "unfreeze",
    ]
    assert document["rollback"]
    assert document["non_secret"] is True
    assert "rendered in" in capsys.readouterr().out


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    (
        "two stacks",
        {"extra": ("--state-key", "arc-runners/terraform.tfstate")},
        "one stack per plan: got 2 state keys",
    ),
    ("not a protected key", {"key": "other/terraform.tfstate"}, "is not a protected stack's key"),
    (
        "key of another stack",
        {"extra": ("--stack", "arc-runners")},
        "belongs to the stack 'attic', not to 'arc-runners'",
    ),
    ("scratch bucket", {"bucket": "darkmap-ha-state-proof"}, "is the proof's scratch scope"),
    (
        "probe bucket",
        {"bucket": "darkmap-ha-state-proof-probe-0a1b2c3d"},
        "is the proof's scratch scope",
    ),
    ("bad bucket name", {"bucket": "Bad_Bucket"}, "not a valid S3 bucket name"),
]


@pytest.mark.parametrize(("case", "kwargs", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals(
    setup: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    case: str,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    package, evidence = setup
    extra = kwargs.pop("extra", ())
    assert plan(package, evidence, *extra, **kwargs) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert not (evidence.parent / "migration").exists()


@pytest.mark.parametrize(
    ("status", "digest", "message"),
    [
        (Status.INTERIM_ONLY, None, "is INTERIM_ONLY, not GO"),
        (Status.GO, "0" * 64, "proven with another package"),
    ],
)
def test_refused_without_a_go_for_this_package(
    setup: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    status: Status,
    digest: str | None,
    message: str,
) -> None:
    package, evidence = setup
    write_model(evidence / "verdict.json", verdict(status, digest or load_package(package).sha256))
    assert plan(package, evidence) == 1
    assert message in capsys.readouterr().err


def test_never_writes_over_an_existing_file(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    package, evidence = setup
    assert plan(package, evidence) == 0
    backend = evidence.parent / "migration" / "backend-attic.s3.tfbackend"
    before = backend.read_text()
    assert plan(package, evidence) == 1
    assert "exists: a plan is written as a new reviewable file" in capsys.readouterr().err
    assert backend.read_text() == before


@needs_tofu
def test_rendered_backend_migrates_a_local_state_on_the_lab(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_lab: LabCluster,
    tmp_path: Path,
) -> None:
    lab = hastate_lab
    package = lab_package(lab, proofs.path)
    checkpoint = proofs.path / "evidence" / "checkpoint.json"
    pre, _ = run_proofs(proofs, monkeypatch, environment(lab), package, "--run-disposable-tofu", "--use-lockfile",
                        "--keep-scratch-bucket", "--checkpoint-file", str(checkpoint), "--sample-objects", "4")  # fmt: skip
    assert pre.ret == 10
    lab.kill("s3-2")
    lab.kill("volume-2")
    try:
        post, verdict_post = run_proofs(proofs, monkeypatch, environment(lab), package, "--verify-existing",
                                        "--from-checkpoint", str(checkpoint), "--maintenance-event", "endpoint-loss", "--verify-timeout", "5")  # fmt: skip
        assert post.ret == 0, verdict_post["reasons"]
        _cleanup, verdict_cleanup = run_proofs(
            proofs,
            monkeypatch,
            environment(lab),
            package,
            "--cleanup-checkpoint",
            "--from-checkpoint",
            str(checkpoint),
        )
        assert verdict_cleanup["verdict"] == "GO"
    finally:
        lab.restart("s3-2")
        lab.restart("volume-2")
    target = "hastate-lab-state"
    s3 = admin(lab)
    if target not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=target)
    s3.put_bucket_versioning(Bucket=target, VersioningConfiguration={"Status": "Enabled"})
    out = tmp_path / "migration"
    assert main(["migration-plan", "--endpoint-package", str(package), "--state-key", KEY, "--target-bucket", target,
                 "--evidence", str(proofs.path / "evidence"), "--output-dir", str(out)]) == 0  # fmt: skip
    # A stack with a local state, migrated with the rendered file by the real binary.
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "main.tf.json").write_text(
        json.dumps({"resource": {"terraform_data": {"marker": {"input": "protected-stack"}}}})
    )
    creds = lab.credentials
    assert creds is not None
    env = tofu_environment(workdir=stack, access_key=creds.admin_key, secret_key=creds.admin_secret, session_token=None,
                           ca_bundle=str(lab.ca), checksum_when_required=False)  # fmt: skip
    runner = TofuRunner(find_binary("tofu"), stack, env, timeout=120)
    runner.run("init")
    runner.run("apply", auto_approve=True)
    (stack / "backend.tf.json").write_text(json.dumps({"terraform": {"backend": {"s3": {}}}}))
    shutil.copy(out / "backend-attic.s3.tfbackend", stack / "backend.s3.tfbackend")
    runner.run("init", migrate_state=True, force_copy=True, backend_config="backend.s3.tfbackend")
    assert runner.run("plan", detailed_exitcode=True, expect=(0, 2)).code == 0
    stored = json.loads(s3.get_object(Bucket=target, Key=KEY)["Body"].read())
    assert stored["resources"][0]["type"] == "terraform_data"


def team_setup(tmp_path: Path, profile: dict[str, Any] | None = None) -> tuple[Path, Path, Path]:
    """A team's package, its profile (the fixture's, or ``profile``) and a GO judged by it."""
    from pytest_hastate.io.profiles import load_profile

    team = REPO / "tests" / "fixtures" / "profiles" / "platform-team.json"
    if profile is not None:
        team = tmp_path / "team-profile.json"
        team.write_text(json.dumps(profile))
    shutil.copy(PUBLIC_CONTRACT, tmp_path / "contract.json")
    package = filled_package()
    package["protected_state_denials"] = [
        "deny platform-state bucket", "deny prod/network/terraform.tfstate",
        "deny prod/dns/terraform.tfstate",
    ]  # fmt: skip
    (tmp_path / "package.json").write_text(json.dumps(package))
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    loaded = load_profile(str(team), tmp_path, "test")
    record = verdict(Status.GO, load_package(tmp_path / "package.json").sha256).model_copy(
        update={"profile": loaded.name, "profile_digest": loaded.sha256}
    )
    write_model(evidence / "verdict.json", record)
    return tmp_path / "package.json", evidence, team


def test_another_teams_profile_plans_its_own_stacks(tmp_path: Path) -> None:
    """Under a team's profile, its protected keys are the stacks a plan may move (and the
    decision record's are not)."""
    package, evidence, team = team_setup(tmp_path)
    args = ("--profile", str(team))
    assert plan(package, evidence, *args, key="prod/network/terraform.tfstate") == 0
    assert (tmp_path / "migration" / "backend-prod-network.s3.tfbackend").is_file()
    assert plan(package, evidence, *args, key=KEY) == 1


def test_a_stack_under_a_protected_key_prefix_may_be_planned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = json.loads(
        (REPO / "tests" / "fixtures" / "profiles" / "platform-team.json").read_text()
    )
    profile["protected"]["key_prefixes"] = ["prod/iam/"]
    package, evidence, team = team_setup(tmp_path, profile)
    args = ("--profile", str(team))
    assert plan(package, evidence, *args, key="prod/iam/terraform.tfstate") == 0
    assert (tmp_path / "migration" / "backend-prod-iam.s3.tfbackend").is_file()
    capsys.readouterr()
    assert plan(package, evidence, *args, key="prod/iamx/terraform.tfstate") == 1
    assert "prod/iam/..." in capsys.readouterr().err


def test_a_go_that_records_no_profile_is_the_default_profiles(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A verdict written before profiles existed was judged by the default profile: it cannot
    back a plan under another one."""
    package, evidence = setup
    assert plan(package, evidence, "--profile", "generic", key="attic/terraform.tfstate") == 1
    assert "records no profile" in capsys.readouterr().err
