"""The live proof steps (2a, 2b) for real: the ha and singleton labs, moto over TLS, and the
failing cases (no versioning, credentials that read tofu-state, a store ignoring If-None-Match)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import pytest_hastate
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import admin, environment, protected_snapshot
from pytest_hastate.s3.scratch import versions_under
from tests.support.engines import StaleWindow, TlsMotoServer
from tests.support.helpers import (
    ALL_PROOF_TESTS,
    LIVE_TESTS,
    OBSERVED_TESTS,
    SHOWN_BY_SEAWEEDFS,
    assert_stop,
    faulty_proxy,
    lab_package,
    moto_environment,
    moto_package,
    needs_tofu,
    run_proofs,
)


def test_ha_lab_passes_steps_2a_2b_and_never_touches_protected_state(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_lab: LabCluster
) -> None:
    before = protected_snapshot(hastate_lab)
    counts_before = hastate_lab.request_counts(hastate_lab.protected_bucket)
    result, verdict = run_proofs(
        proofs, monkeypatch, environment(hastate_lab), hastate_lab.package_path
    )
    counts_after = hastate_lab.request_counts(
        hastate_lab.protected_bucket
    )  # before our own snapshot LISTs it
    result.assert_outcomes(
        passed=LIVE_TESTS + SHOWN_BY_SEAWEEDFS, skipped=OBSERVED_TESTS - SHOWN_BY_SEAWEEDFS
    )
    assert result.ret == ExitCode.INTERIM_ONLY
    assert verdict["verdict"] == "INTERIM_ONLY"
    for criterion in (
        "boundary.scoped",
        "scratch.conditional_write",
        "scratch.index_consistency",
        "endpoints.independent",
    ):
        assert verdict["criteria"][criterion] == "passed"
    reasons = "\n".join(verdict["reasons"])
    assert "tofu.init" in reasons
    assert "HA not proven" in reasons
    assert len(verdict["reasons"]) == 2, verdict["reasons"]
    # The evidence says what produced it: the tool, and the engine each endpoint said it is.
    produced = verdict["produced_by"]
    assert produced["pytest_hastate"] == pytest_hastate.__version__
    assert produced["boto3"]
    assert produced["botocore"]
    assert produced["tofu_version"] is None  # no OpenTofu step in this run
    assert sorted(produced["servers"]) == sorted(hastate_lab.endpoints)
    assert all(s.startswith("SeaweedFS ") for s in produced["servers"].values()), produced
    # The protected bucket: every version unchanged, and the gateways served it no request.
    assert counts_after == counts_before
    assert protected_snapshot(hastate_lab) == before
    # Nothing of the run is left behind.
    s3 = admin(hastate_lab)
    run_prefix = f".gloriousflywheel/ha-state-candidate/{verdict['run_id']}/"
    assert versions_under(s3, "hastate-lab-scratch", run_prefix) == []
    assert not [b["Name"] for b in s3.list_buckets()["Buckets"] if "-probe-" in b["Name"]]


def test_singleton_lab_cannot_prove_independent_endpoints(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    result, verdict = run_proofs(
        proofs, monkeypatch, environment(hastate_singleton_lab), hastate_singleton_lab.package_path
    )
    result.assert_outcomes(
        passed=LIVE_TESTS - 1 + SHOWN_BY_SEAWEEDFS, skipped=1 + OBSERVED_TESTS - SHOWN_BY_SEAWEEDFS
    )
    assert verdict["verdict"] == "INTERIM_ONLY"
    assert verdict["criteria"]["endpoints.independent"] == "skipped"
    assert any(
        "endpoints.independent skipped" in r and "only one endpoint" in r
        for r in verdict["reasons"]
    )


def test_the_race_is_judged_after_the_other_live_steps_or_alone(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    """Begun with step 2b, the race is judged after the other live tests (its losers' wait
    overlaps theirs); selected alone, it begins itself, and both times 8 writers race on 5
    keys with one winner each."""
    lab = hastate_singleton_lab
    env = environment(lab)
    result, verdict = run_proofs(proofs, monkeypatch, env, lab.package_path, "-m", "scratch", "-v")
    ran = [
        line.split(" ")[0] for line in result.outlines if " PASSED" in line or " SKIPPED" in line
    ]
    assert ran[-1].endswith("::test_conditional_write_race_has_exactly_one_winner"), ran
    assert any("test_every_endpoint_serves" in name for name in ran[:-1]), ran
    race = verdict["facts"]["conditional_race"]
    assert (race["keys"], race["writers"], race["winners"]) == (5, 8, [1] * 5)
    result, verdict = run_proofs(
        proofs, monkeypatch, env, lab.package_path, "-k", "race_has_exactly_one_winner"
    )
    result.assert_outcomes(passed=1)
    assert verdict["criteria"]["scratch.conditional_write"] == "passed"
    assert verdict["facts"]["conditional_race"]["winners"] == [1] * 5


@needs_tofu
def test_the_race_is_judged_after_opentofu_and_before_the_checkpoint(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    tmp_path: Path,
) -> None:
    lab = hastate_singleton_lab
    for name, value in environment(lab).items():
        monkeypatch.setenv(name, value)
    result = proofs.runpytest(
        "proofs/", "--endpoint-package", str(lab.package_path), "-p", "no:cacheprovider",
        "--run-disposable-tofu", "--use-lockfile", "--keep-scratch-bucket",
        "--checkpoint-file", str(tmp_path / "cp.json"), "--co", "-q",
    )  # fmt: skip
    ids = [line for line in result.outlines if "::" in line]
    race = ids.index(
        "proofs/test_2b_scratch.py::test_conditional_write_race_has_exactly_one_winner"
    )
    assert ids[race - 1].startswith("proofs/test_3_disposable_tofu.py::"), ids
    # then what the backend's metrics showed of it (step 3b), then the checkpoint
    assert ids[race + 1].startswith("proofs/test_3b_observability.py::"), ids
    assert ids[race + 5].startswith("proofs/test_4_checkpoint.py::"), ids


@needs_tofu
def test_what_finished_steps_wrote_is_removed_while_the_race_is_judged(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    """The early sweep: once the race's test is done, the run's keys left are the race's
    alone (OpenTofu's state and the other checks' keys went while the losers were awaited);
    the session's cleanup removes those."""
    lab = hastate_singleton_lab
    s3 = admin(lab)
    candidate = ".gloriousflywheel/ha-state-candidate/"
    seen: list[str] = []

    class AfterTheRace:
        @pytest.hookimpl(trylast=True)
        def pytest_runtest_teardown(self, item: pytest.Item) -> None:
            if item.name == "test_conditional_write_race_has_exactly_one_winner":
                seen.extend(key for key, _ in versions_under(s3, "hastate-lab-scratch", candidate))

    for name, value in environment(lab).items():
        monkeypatch.setenv(name, value)
    result = proofs.runpytest(
        "proofs/", "--endpoint-package", str(lab.package_path), "-p", "no:cacheprovider",
        "--run-disposable-tofu", "--use-lockfile", plugins=[AfterTheRace()],
    )  # fmt: skip
    verdict = json.loads((proofs.path / "evidence" / "verdict.json").read_text())
    assert verdict["criteria"]["tofu.restore"] == "passed", verdict["reasons"]
    assert verdict["criteria"]["scratch.conditional_write"] == "passed", verdict["reasons"]
    run_prefix = f"{candidate}{verdict['run_id']}/"
    left = {
        key.removeprefix(run_prefix).split("/")[0] for key in seen if key.startswith(run_prefix)
    }
    assert left == {"race"}, sorted(seen)
    assert versions_under(s3, "hastate-lab-scratch", run_prefix) == []
    assert result.ret == ExitCode.INTERIM_ONLY


@needs_tofu
def test_a_race_refused_by_dependency_says_on_what(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    """Writes fail hard in the object cycle first: the race, begun after it, is refused before
    sending and fails by dependency on it, not as writers that answered something else."""
    lab = hastate_singleton_lab
    env = environment(lab)
    with faulty_proxy(lab) as proxy:
        proxy.fail_matching = ("PUT", r"/object-cycle/", 503)
        package = lab_package(lab, proofs.path, endpoint_url=proxy.endpoint)
        env["TOFU_HA_STATE_ENDPOINT"] = proxy.endpoint
        result, verdict = run_proofs(  # the race's own test, not the single-writer check
            proofs, monkeypatch, env, package, "-k", "object_put_head or race_has_exactly"
        )
    assert_stop(result, verdict, "scratch.object_cycle", "writes answer 503")
    reason = assert_stop(result, verdict, "scratch.conditional_write")
    assert reason.startswith(
        "scratch.conditional_write failed: by dependency on scratch.object_cycle: "
    ), reason
    assert "not 412" not in reason


def test_moto_over_tls_is_a_single_endpoint_engine(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    moto_tls: TlsMotoServer,
    tmp_path: Path,
) -> None:
    package = moto_package(hastate_singleton_lab, proofs.path, moto_tls, tmp_path / "ca.pem")
    result, verdict = run_proofs(proofs, monkeypatch, moto_environment(moto_tls), package)
    result.assert_outcomes(passed=LIVE_TESTS - 1, skipped=1 + OBSERVED_TESTS)  # no metrics named
    assert verdict["verdict"] == "INTERIM_ONLY"
    assert verdict["criteria"]["endpoints.independent"] == "skipped"


def test_bucket_without_versioning_is_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    s3 = admin(hastate_singleton_lab)
    bucket = "hastate-lab-scratch"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    try:
        result, verdict = run_proofs(
            proofs,
            monkeypatch,
            environment(hastate_singleton_lab),
            hastate_singleton_lab.package_path,
        )
    finally:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert_stop(
        result,
        verdict,
        "scratch.versioning",
        "GetBucketVersioning hastate-lab-scratch through",
        ": Suspended; state history and restore need versioning enabled",
    )
    # the object cycle's missing version id follows from it, and says so after the root
    reasons = verdict["reasons"]
    assert reasons[0].startswith("scratch.versioning failed: "), reasons
    cycle = next(r for r in reasons if r.startswith("scratch.object_cycle failed: "))
    assert cycle.startswith(
        "scratch.object_cycle failed: by dependency on scratch.versioning: PUT "
    ), reasons
    assert cycle.endswith("returned no version id: the bucket's versioning is Suspended"), cycle


def test_credentials_that_can_read_tofu_state_are_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    hastate_singleton_lab.set_proof_actions(["Read:tofu-state", "List:tofu-state"])
    try:
        result, verdict = run_proofs(
            proofs,
            monkeypatch,
            environment(hastate_singleton_lab),
            hastate_singleton_lab.package_path,
            "--credential-boundary-check",
        )
    finally:
        hastate_singleton_lab.set_proof_actions([])
    result.assert_outcomes(passed=2, failed=1, deselected=ALL_PROOF_TESTS - 3)
    assert_stop(
        result, verdict, "boundary.scoped",
        "HEAD tofu-state/attic/terraform.tfstate: proof credentials can read the protected target",
    )  # fmt: skip


@needs_tofu
def test_gateway_ignoring_if_none_match_is_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    lab = hastate_singleton_lab
    env = environment(lab)
    with faulty_proxy(lab) as proxy:
        package = lab_package(lab, proofs.path, endpoint_url=proxy.endpoint)
        env["TOFU_HA_STATE_ENDPOINT"] = proxy.endpoint
        result, verdict = run_proofs(proofs, monkeypatch, env, package, "-m", "scratch")
        assert proxy.stripped > 0
    assert_stop(
        result, verdict, "scratch.conditional_write", "store ignores If-None-Match", "writers won"
    )


def behind_stale_proxies(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    lab: LabCluster,
    window: StaleWindow,
    *args: str,
) -> tuple[pytest.RunResult, dict[str, Any], tuple[str, str]]:
    """The proof (with ``args``) through two proxies of the ha lab's gateways that share the
    stale ``window``: a write through one is missing through the other for its seconds."""
    with (
        faulty_proxy(lab, 0, strip_if_none_match=False, stale=window) as a,
        faulty_proxy(lab, 1, strip_if_none_match=False, stale=window) as b,
    ):
        package = lab_package(
            lab, proofs.path, endpoint_url=a.endpoint, ha_endpoints=[a.endpoint, b.endpoint]
        )
        env = {**environment(lab), "TOFU_HA_STATE_ENDPOINT": a.endpoint}
        result, verdict = run_proofs(proofs, monkeypatch, env, package, *args)
    return result, verdict, (a.endpoint, b.endpoint)


@needs_tofu
def test_a_race_winner_another_endpoint_does_not_serve_is_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_lab: LabCluster
) -> None:
    """Every endpoint reads each race's key at once after the race: two endpoints that serve
    a write through the other only after a minute fail the race's criterion on that first
    read, naming the endpoint and the key."""
    window = StaleWindow(seconds=60.0)
    result, verdict, endpoints = behind_stale_proxies(
        proofs, monkeypatch, hastate_lab, window, "-k", "race_has_exactly_one_winner"
    )
    reason = assert_stop(
        result, verdict, "scratch.conditional_write",
        "stale read: ", "served nothing", "on the first read after the race was won",
    )  # fmt: skip
    assert any(endpoint in reason for endpoint in endpoints)
    assert "/race/" in reason
    assert verdict["facts"]["conditional_race"]["winners"] == [1] * 5


def test_stale_reads_across_endpoints_are_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_lab: LabCluster
) -> None:
    """Two endpoints that serve a write through the other only after 2 s (asynchronous
    replication): the first read is stale, and that is a STOP naming endpoint, key and lag."""
    window = StaleWindow(seconds=2.0)
    result, verdict, endpoints = behind_stale_proxies(
        proofs, monkeypatch, hastate_lab, window, "-m", "scratch"
    )
    assert window.served_stale > 0
    reason = assert_stop(result, verdict, "consistency.read_after_write", "stale read: ")
    assert "current after" in reason
    assert any(endpoint in reason for endpoint in endpoints)
    assert ".gloriousflywheel/ha-state-candidate/" in reason
    facts = verdict["facts"]["read_after_write"]
    assert facts["reads"] == 64  # 16 keys, written new then overwritten, read through both
    assert facts["stale"] > 0
    # the proxies serve the old bytes for the window's seconds after a write: a measured lag
    # cannot be shorter (a loaded machine only makes it longer, so no upper bound is asserted)
    assert all(lag >= window.seconds - 0.25 for lag in facts["stale_lag_seconds"]), facts
