"""Another team's profile against a real lab: the lab seeds that team's protected bucket and
stacks, its package names the profile, the boundary step probes the team's targets (and fails
when the proof identity can read them), and the run records which profile judged it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hastate.io.profiles import load_profile
from pytest_hastate.lab import LabCluster, start
from pytest_hastate.lab.artifacts import admin, environment
from tests.support.helpers import (
    ALL_PROOF_TESTS,
    LIVE_TESTS,
    OBSERVED_TESTS,
    REPO,
    SHOWN_BY_SEAWEEDFS,
    assert_stop,
    run_proofs,
)

TEAM = REPO / "tests" / "fixtures" / "profiles" / "platform-team.json"


@pytest.fixture(scope="module")
def team_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCluster]:
    folder = tmp_path_factory.mktemp("team-lab")
    profile = load_profile(str(TEAM), folder, "test")
    lab = start(folder / "lab", "singleton", die_with_parent=True, profile=profile)
    try:
        yield lab
    finally:
        lab.down()


def test_the_lab_seeds_the_teams_targets_and_names_its_profile(team_lab: LabCluster) -> None:
    s3 = admin(team_lab)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="platform-state").get("Contents", [])}
    assert keys == {"prod/network/terraform.tfstate", "prod/dns/terraform.tfstate"}
    assert "tofu-state" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    package = team_lab.package_path.read_text()
    assert '"profile": "profile.json"' in package
    assert (team_lab.package_path.parent / "profile.json").read_bytes() == TEAM.read_bytes()


def test_a_live_proof_under_the_teams_profile(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, team_lab: LabCluster
) -> None:
    before = team_lab.request_counts("platform-state")
    result, verdict = run_proofs(proofs, monkeypatch, environment(team_lab), team_lab.package_path)
    assert team_lab.request_counts("platform-state") == before  # probes are refused, not served
    result.assert_outcomes(  # one endpoint: not independent; SeaweedFS shows no replication lag
        passed=LIVE_TESTS - 1 + SHOWN_BY_SEAWEEDFS, skipped=1 + OBSERVED_TESTS - SHOWN_BY_SEAWEEDFS
    )
    assert verdict["verdict"] == "INTERIM_ONLY"
    assert verdict["criteria"]["boundary.scoped"] == "passed"
    assert verdict["profile"] == "platform-team"
    run_prefix = f".platform-team/state-proof/{verdict['run_id']}/"
    result.stdout.fnmatch_lines([f"hastate: run {verdict['run_id']}, *profile platform-team*"])
    assert run_prefix.startswith(".platform-team/")


def test_credentials_that_can_read_the_teams_state_are_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, team_lab: LabCluster
) -> None:
    team_lab.set_proof_actions(["Read:platform-state", "List:platform-state"])
    try:
        result, verdict = run_proofs(
            proofs, monkeypatch, environment(team_lab), team_lab.package_path,
            "--credential-boundary-check",
        )  # fmt: skip
    finally:
        team_lab.set_proof_actions([])
    result.assert_outcomes(passed=2, failed=1, deselected=ALL_PROOF_TESTS - 3)
    assert_stop(
        result, verdict, "boundary.scoped",
        "HEAD platform-state/prod/network/terraform.tfstate: proof credentials can read",
    )  # fmt: skip


def test_a_package_naming_the_generic_profile_must_protect_something(
    tmp_path: Path, proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, team_lab: LabCluster
) -> None:
    """The generic profile leaves the protected targets to the package: one that lists none
    is refused by the package gate (step 1), a STOP, before any live request."""
    from tests.support.helpers import lab_package

    package = lab_package(
        team_lab, proofs.path, profile="generic", protected_state_denials=[],
        scratch_bucket_policy=["allow create/list/read/write/delete for hastate-lab-scratch only"],
    )  # fmt: skip
    _result, verdict = run_proofs(proofs, monkeypatch, environment(team_lab), package)
    assert verdict["verdict"] == "STOP"
    assert verdict["criteria"]["static.package"] == "failed"
    assert any("P08" in r and "protects nothing" in r for r in verdict["reasons"])
