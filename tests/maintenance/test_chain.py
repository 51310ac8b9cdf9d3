"""Steps 4-6 for real: pre-maintenance -> maintenance -> verify -> cleanup, on SeaweedFS labs
with the real Terraform binary; and the failing cases, each with its named cause."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.io.redact import Masker
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import admin, environment
from pytest_hastate.models import Checkpoint, Status
from pytest_hastate.s3.scratch import delete_everything_under
from pytest_hastate.tools.bundle import check_bundle, readiness
from pytest_hastate.tools.demo import run_demo
from tests.support.engines import FaultyGatewayProxy
from tests.support.helpers import (
    REPO,
    assert_stop,
    check_evidence_pages,
    faulty_proxy,
    lab_package,
    needs_tofu,
    run_proofs,
)

TEAM_PROFILE = REPO / "tests" / "fixtures" / "profiles" / "platform-team.json"


@pytest.mark.parametrize(
    ("lose", "profile"), [("s3-1", None), ("s3-2", TEAM_PROFILE)],
    ids=["primary-lost", "secondary-lost-another-teams-profile"],
)  # fmt: skip
def test_demo_on_the_ha_lab_ends_go(tmp_path: Path, lose: str, profile: Path | None) -> None:
    """Whichever gateway is lost (s3-1 serves the package's endpoint_url), the chain is GO;
    under the decision record's profile and under another team's alike."""
    from pytest_hastate.io.profiles import load_profile

    lines: list[str] = []
    loaded = load_profile(str(profile), tmp_path, "test") if profile else None
    code = run_demo(
        "ha", evidence_root=tmp_path, sample_objects=16, verify_timeout=8, lose=lose,
        say=lines.append, profile=loaded,
    )  # fmt: skip
    assert code == 0, "\n".join(lines)
    bundle = next(tmp_path.glob("demo-ha-*"))
    assert check_bundle(bundle) == []
    assert readiness(bundle, expect_interim=False).ok
    checkpoint = Checkpoint.model_validate_json((bundle / "checkpoint.json").read_text())
    post = next(p for p in checkpoint.phases if p.phase == "post-maintenance")
    assert post.maintenance_event == "endpoint-loss"
    package = json.loads((bundle / "verdict.json").read_text())
    assert package["verdict"] == "GO"
    killed_index = int(lose[-1]) - 1
    assert post.unreachable_endpoints == [checkpoint.endpoints[killed_index]]
    assert checkpoint.cleanup is not None
    assert checkpoint.cleanup.unconfirmed == [checkpoint.endpoints[killed_index]]
    assert post.criteria["maintenance.verified"].outcome.value == "passed"
    assert post.criteria["maintenance.endpoint_loss_observed"].outcome.value == "passed"
    # The backend's own metrics showed what the proof provoked, and the lost gateway.
    baseline_phase = next(p for p in checkpoint.phases if p.phase == "baseline")
    for signal in ("failed_auth", "failed_write", "delete_behavior"):
        criterion = baseline_phase.criteria[f"observability.{signal}"]
        assert criterion.outcome.value == "passed", criterion
    seen = post.criteria["observability.object_availability"]
    assert seen.outcome.value == "passed", seen
    assert any(line.startswith("demo: observability.object_availability proven") for line in lines)
    assert checkpoint.cleanup is not None
    assert checkpoint.cleanup.done
    assert checkpoint.cleanup.bucket_deleted
    assert len(checkpoint.sample) == 16
    assert checkpoint.disposable_state is not None
    for phase in ("baseline", "post-maintenance", "cleanup"):
        assert (bundle / f"junit-{phase}.xml").is_file()
    # each phase keeps its own OpenTofu evidence (the verify never overwrites the baseline's)
    baseline = json.loads((bundle / "tofu-timings-baseline.json").read_text())
    post_tofu = json.loads((bundle / "tofu-timings-post-maintenance.json").read_text())
    assert len(baseline) >= 8
    assert [t["command"].split()[1] for t in post_tofu] == ["init", "plan"]
    final = json.loads((bundle / "verdict.json").read_text())
    assert final["phase"] == "cleanup"
    assert final["profile"] == ("platform-team" if profile else "gloriousflywheel")
    assert checkpoint.profile is not None
    assert checkpoint.profile.name == final["profile"]
    assert final["maintenance_event"] == "endpoint-loss"  # remembered from the chain
    assert len(list((bundle / "lab-logs").glob("*.log"))) == 10
    assert any(line.startswith("demo: verdict ready: GO") for line in lines)
    # the watched window: checked in the verify, pictured, in the report
    for watched in (
        "watch.acknowledged_writes_survive",
        "watch.lock_exclusive",
        "watch.service_continuity",
    ):
        assert post.criteria[watched].outcome.value == "passed", watched
    watch = post.facts.watch
    assert watch is not None
    killed = checkpoint.endpoints[killed_index]
    # Ordering, not the clock of a loaded machine: the killed gateway is out from the kill on,
    # longer than any other endpoint, and the backend as a whole is out for less than it.
    assert watch.outage_seconds[killed] >= 3.0
    others = [s for e, s in watch.outage_seconds.items() if e != killed]
    assert max(others) < watch.outage_seconds[killed], watch.outage_seconds
    assert watch.backend_outage_seconds < watch.outage_seconds[killed], watch
    assert (bundle / f"watch-{checkpoint.run_id}.jsonl").is_file()
    assert (bundle / f"watch-{checkpoint.run_id}.png").is_file()
    assert (bundle / "report.md").is_file()
    report = (bundle / "report.md").read_text()
    assert "## Not proven, not required\n\n- observability.replication_lag not proven" in report
    assert "| `observability.failed_auth` | passed |" in report
    assert 'SeaweedFS_s3_request_total{code=~"403"} grew by' in report
    check_evidence_pages(bundle)


def test_demo_on_the_singleton_lab_ends_interim_only(tmp_path: Path) -> None:
    lines: list[str] = []
    code = run_demo(
        "singleton", evidence_root=tmp_path, sample_objects=8, verify_timeout=8, say=lines.append
    )
    assert code == 0, "\n".join(lines)
    bundle = next(tmp_path.glob("demo-singleton-*"))
    verdict = json.loads((bundle / "verdict-post-maintenance.json").read_text())
    assert verdict["verdict"] == "INTERIM_ONLY"
    assert verdict["criteria"]["endpoints.independent"] == "skipped"
    strict = readiness(bundle, expect_interim=False)
    assert not strict.ok
    watch = json.loads((bundle / "verdict-post-maintenance.json").read_text())["facts"]["watch"]
    assert watch["backend_outage_seconds"] > 0.5  # the one gateway's restart: a full outage
    assert verdict["criteria"]["watch.service_continuity"] == "passed"  # within the 30 s limit
    check_evidence_pages(bundle)
    assert strict.exit_code == 10


# --- failing cases on the shared singleton lab ------------------------------------------------

SAMPLE = ("--sample-objects", "4")


def pre(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    lab: LabCluster,
    package: Path,
    env: dict[str, str] | None = None,
) -> Path:
    checkpoint = proofs.path / "evidence" / "checkpoint.json"
    result, verdict = run_proofs(
        proofs,
        monkeypatch,
        env or environment(lab),
        package,
        "--keep-scratch-bucket",
        "--checkpoint-file",
        str(checkpoint),
        *SAMPLE,
        "--expect-interim",
    )
    assert result.ret == 0, verdict["reasons"]
    return checkpoint


def post(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    lab: LabCluster,
    package: Path,
    checkpoint: Path,
    *extra: str,
) -> tuple[pytest.RunResult, dict[str, Any]]:
    return run_proofs(
        proofs,
        monkeypatch,
        environment(lab),
        package,
        "--verify-existing",
        "--from-checkpoint",
        str(checkpoint),
        *extra,
    )


def forget_run(lab: LabCluster, checkpoint: Path) -> None:
    run_id = json.loads(checkpoint.read_text())["run_id"]
    delete_everything_under(
        admin(lab), "hastate-lab-scratch", f".gloriousflywheel/ha-state-candidate/{run_id}/"
    )


def test_tampered_package_is_refused_before_any_request(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    lab = hastate_singleton_lab
    package = lab_package(lab, proofs.path)
    checkpoint = pre(proofs, monkeypatch, lab, package)
    try:
        package.write_text(package.read_text() + "\n")  # same coordinates, other bytes
        before = lab.request_counts("hastate-lab-scratch")
        result = proofs.runpytest(
            "proofs/",
            "--endpoint-package",
            str(package),
            "--verify-existing",
            "--from-checkpoint",
            str(checkpoint),
        )
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                "ERROR: pytest-hastate: endpoint package *: sha256: differs from the package recorded in checkpoint.json*"
            ]
        )
        assert lab.request_counts("hastate-lab-scratch") == before
    finally:
        forget_run(lab, checkpoint)


@pytest.mark.parametrize("change", ["overwrite", "delete"])
def test_sample_changed_behind_our_back_is_stop_naming_the_key(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    change: str,
) -> None:
    lab = hastate_singleton_lab
    package = lab_package(lab, proofs.path)
    checkpoint = pre(proofs, monkeypatch, lab, package)
    try:
        key = json.loads(checkpoint.read_text())["sample"][2]["key"]
        if change == "overwrite":
            admin(lab).put_object(
                Bucket="hastate-lab-scratch", Key=key, Body=b"changed behind the proof's back"
            )
        else:
            admin(lab).delete_object(Bucket="hastate-lab-scratch", Key=key)
        result, verdict = post(
            proofs, monkeypatch, lab, package, checkpoint, "--maintenance-event", "restart"
        )
        assert_stop(result, verdict, "maintenance.verified", key)
    finally:
        forget_run(lab, checkpoint)


def test_verify_with_every_endpoint_down_stops_after_the_bounded_wait(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    lab = hastate_singleton_lab
    package = lab_package(lab, proofs.path)
    checkpoint = pre(proofs, monkeypatch, lab, package)
    lab.kill("s3-1")
    try:
        started = time.monotonic()
        result, verdict = post(
            proofs, monkeypatch, lab, package, checkpoint, "--verify-timeout", "3"
        )
        assert time.monotonic() - started < 120  # bounded: no hang
        assert result.ret == 1
        assert any("no endpoint answered HeadBucket" in r for r in verdict["reasons"]), verdict[
            "reasons"
        ]
    finally:
        lab.restart("s3-1")
        forget_run(lab, checkpoint)


def cleanup_through_a_faulty_proxy(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    lab: LabCluster,
    fault: Callable[[FaultyGatewayProxy], None],
) -> tuple[pytest.RunResult, dict[str, Any], Path, dict[str, str]]:
    """A pre-maintenance run through a proxy, then ``fault`` set on the proxy, then cleanup."""
    env = environment(lab)
    with faulty_proxy(lab, strip_if_none_match=False) as proxy:
        package = lab_package(lab, proofs.path, endpoint_url=proxy.endpoint)
        env["TOFU_HA_STATE_ENDPOINT"] = proxy.endpoint
        checkpoint = pre(proofs, monkeypatch, lab, package, env)
        fault(proxy)
        try:
            result, verdict = run_proofs(
                proofs, monkeypatch, env, package, "--cleanup-checkpoint",
                "--from-checkpoint", str(checkpoint),
            )  # fmt: skip
        finally:
            forget_run(lab, checkpoint)
    return result, verdict, checkpoint, env


def test_cleanup_residue_is_reported(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    def drop_sample_deletes(proxy: FaultyGatewayProxy) -> None:
        proxy.drop_deletes_matching = r"/sample/"

    result, verdict, checkpoint, env = cleanup_through_a_faulty_proxy(
        proofs, monkeypatch, hastate_singleton_lab, drop_sample_deletes
    )
    assert_stop(result, verdict, "cleanup.complete", "cleanup left residue", "/sample/")
    record = Checkpoint.model_validate_json(checkpoint.read_text())
    assert record.cleanup is not None
    assert not record.cleanup.done
    assert record.cleanup.residue
    findings = check_bundle(proofs.path / "evidence", masker=Masker.from_environment(env))
    assert any("cleanup left residue" in str(f) for f in findings)


def test_readiness_expectations(tmp_path: Path) -> None:
    from pytest_hastate.io.evidence import write_model
    from pytest_hastate.models import VerdictRecord

    for status, strict_code, interim_code, interim_text in (
        (Status.GO, 0, 1, "status moved on: drop --expect-interim"),
        (Status.INTERIM_ONLY, 10, 0, "interim as expected"),
        (Status.STOP, 1, 1, "not ready"),
    ):
        record = VerdictRecord(
            verdict=status, reasons=["r"], criteria={}, run_id="r1", phase="post-maintenance", mode="post-maintenance",
            package_name="p", package_digest="d", contract_digest=None, maintenance_event=None, dry_run=False,
            expect_interim=False, exit_code=0, created_at="now",
        )  # fmt: skip
        write_model(tmp_path / "verdict.json", record)
        assert readiness(tmp_path, expect_interim=False).exit_code == strict_code
        relaxed = readiness(tmp_path, expect_interim=True)
        assert relaxed.exit_code == interim_code
        assert interim_text in relaxed.message


@needs_tofu
def test_the_whole_chain_runs_by_markers(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    """The issue's command line, verbatim in form: -m pre_maintenance with OpenTofu, then
    -m post_maintenance, then -m cleanup; each phase runs what it stands on."""
    lab = hastate_singleton_lab
    package = lab_package(lab, proofs.path)
    checkpoint = proofs.path / "cp.json"
    env = environment(lab)
    pre_result, pre_verdict = run_proofs(
        proofs, monkeypatch, env, package, "--run-disposable-tofu", "--use-lockfile",
        "-m", "pre_maintenance", "--keep-scratch-bucket", "--checkpoint-file", str(checkpoint),
        *SAMPLE, "--expect-interim",
    )  # fmt: skip
    try:
        assert pre_result.ret == 0, pre_verdict["reasons"]
        assert pre_verdict["criteria"]["tofu.restore"] == "passed"
        assert pre_verdict["criteria"]["maintenance.checkpoint"] == "passed"
        record = Checkpoint.model_validate_json(checkpoint.read_text())
        assert record.disposable_state is not None
        assert len(record.sample) == 4
        lab.restart("s3-1")
        post_result, post_verdict = run_proofs(
            proofs, monkeypatch, env, package, "-m", "post_maintenance",
            "--from-checkpoint", str(checkpoint), "--maintenance-event", "restart", "--expect-interim",
        )  # fmt: skip
        assert post_result.ret == 0, post_verdict["reasons"]
        assert post_verdict["criteria"]["maintenance.verified"] == "passed"
        clean_result, clean_verdict = run_proofs(
            proofs, monkeypatch, env, package, "-m", "cleanup",
            "--from-checkpoint", str(checkpoint), "--expect-interim",
        )  # fmt: skip
        assert clean_result.ret == 0, clean_verdict["reasons"]
        final = Checkpoint.model_validate_json(checkpoint.read_text())
        assert final.cleanup is not None
        assert final.cleanup.done
        assert [p.phase for p in final.phases] == ["baseline", "post-maintenance", "cleanup"]
    finally:
        forget_run(lab, checkpoint)


def test_cleanup_that_cannot_see_is_never_done(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    """Listings answer 503: the run's objects are unknown, unknown is residue, not done."""

    def fail_listings(proxy: FaultyGatewayProxy) -> None:
        proxy.fail_matching = ("GET", r"[?&]versions", 503)

    result, verdict, checkpoint, _ = cleanup_through_a_faulty_proxy(
        proofs, monkeypatch, hastate_singleton_lab, fail_listings
    )
    assert_stop(result, verdict, "cleanup.complete", "unknown: could not list")
    record = Checkpoint.model_validate_json(checkpoint.read_text())
    assert record.cleanup is not None
    assert not record.cleanup.done
    assert any(r.startswith("unknown:") for r in record.cleanup.residue)


def test_a_failed_attempt_stays_in_the_chain(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    """Re-running a phase appends an attempt; the first attempt's failure keeps the chain STOP."""
    lab = hastate_singleton_lab
    package = lab_package(lab, proofs.path)
    checkpoint = pre(proofs, monkeypatch, lab, package)
    try:
        lab.kill("s3-1")
        try:
            first, first_verdict = post(
                proofs, monkeypatch, lab, package, checkpoint, "--verify-timeout", "2"
            )
        finally:
            lab.restart("s3-1")
        assert first.ret == 1, first_verdict["reasons"]
        second, second_verdict = post(proofs, monkeypatch, lab, package, checkpoint)
        assert second_verdict["criteria"]["maintenance.verified"] == "failed"
        assert second.ret == 1
        assert any("no endpoint answered" in r for r in second_verdict["reasons"])
        record = Checkpoint.model_validate_json(checkpoint.read_text())
        posts = [p for p in record.phases if p.phase == "post-maintenance"]
        assert [p.attempt for p in posts] == [1, 2]
        assert posts[0].criteria["maintenance.verified"].outcome.value == "failed"
        assert posts[1].criteria["maintenance.verified"].outcome.value != "failed"
        refused = proofs.runpytest(
            "proofs/", "--endpoint-package", str(package), "--keep-scratch-bucket",
            "--checkpoint-file", str(checkpoint),
        )  # fmt: skip
        assert refused.ret == pytest.ExitCode.USAGE_ERROR
        refused.stderr.fnmatch_lines(["*--checkpoint-file *: exists: a new chain of phases*"])
    finally:
        forget_run(lab, checkpoint)


def test_a_verify_after_the_cleanup_is_refused_not_a_false_stop(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    """A verify retried after the chain was cleaned up would find its sample gone and read
    that as data loss: it is refused in one line, exit 4, before any request."""
    lab = hastate_singleton_lab
    package = lab_package(lab, proofs.path)
    checkpoint = pre(proofs, monkeypatch, lab, package)
    cleaned, _verdict = run_proofs(
        proofs, monkeypatch, environment(lab), package, "--cleanup-checkpoint",
        "--from-checkpoint", str(checkpoint),
    )  # fmt: skip
    assert cleaned.ret == 0 or cleaned.ret == ExitCode.INTERIM_ONLY
    before = lab.request_counts("hastate-lab-scratch")
    (proofs.path / "evidence" / "verdict.json").unlink()
    result = proofs.runpytest(
        "proofs/", "--endpoint-package", str(package), "-p", "no:cacheprovider",
        "--verify-existing", "--from-checkpoint", str(checkpoint),
        "--maintenance-event", "endpoint-loss",
    )  # fmt: skip
    assert result.ret == ExitCode.BAD_INPUT
    result.stderr.fnmatch_lines(
        ["ERROR: pytest-hastate: checkpoint *: $.cleanup: this chain was cleaned up *"]
    )
    assert lab.request_counts("hastate-lab-scratch") == before
    assert not (proofs.path / "evidence" / "verdict.json").exists()
