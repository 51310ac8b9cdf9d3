"""The watched window for real: ``hastate watch`` (the CLI, in the background) across a
maintenance on the SeaweedFS labs, then the verify's checker. Each criterion fails on its bad
case: every gateway down longer than the limit, a gateway that acknowledges writes and drops
them, a conditional PUT that is not atomic under contention."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import environment
from pytest_hastate.tools.watched import watching
from tests.support.engines import FaultyGatewayProxy
from tests.support.helpers import faulty_proxy, lab_package, run_proofs

SAMPLE = ("--sample-objects", "4")


def pre(proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
        package: Path) -> Path:  # fmt: skip
    checkpoint = proofs.path / "evidence" / "checkpoint.json"
    result, verdict = run_proofs(
        proofs, monkeypatch, env, package, "--keep-scratch-bucket", "--checkpoint-file",
        str(checkpoint), *SAMPLE, "--expect-interim",
    )  # fmt: skip
    assert result.ret == 0, verdict["reasons"]
    return checkpoint


def post(proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
         package: Path, checkpoint: Path, event: str) -> dict[str, object]:  # fmt: skip
    _result, verdict = run_proofs(
        proofs, monkeypatch, env, package, "--verify-existing", "--from-checkpoint",
        str(checkpoint), "--maintenance-event", event, "--verify-timeout", "20",
    )  # fmt: skip
    return verdict


def reason(verdict: dict[str, object], criterion: str) -> str:
    reasons = verdict["reasons"]
    assert isinstance(reasons, list)
    found = [r for r in reasons if r.startswith(f"{criterion} failed: ")]
    assert found, reasons
    return str(found[0])


def test_every_gateway_down_longer_than_the_limit_is_stop_naming_the_window(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_lab: LabCluster
) -> None:
    lab = hastate_lab
    limits = json.loads(lab.package_path.read_text())["maintenance_proof"]
    package = lab_package(
        lab, proofs.path, maintenance_proof={**limits, "max_unavailable_seconds": 2}
    )
    env = environment(lab)
    checkpoint = pre(proofs, monkeypatch, env, package)
    evidence = proofs.path / "evidence"
    try:
        with watching(package, checkpoint, evidence, env, print, lead=1.5, tail=2.0) as mark:
            mark("kill s3-1 and s3-2")
            lab.kill("s3-1")
            lab.kill("s3-2")
            time.sleep(4.0)
            mark("restart s3-1 and s3-2")
    finally:
        lab.restart("s3-1")
        lab.restart("s3-2")
    verdict = post(proofs, monkeypatch, env, package, checkpoint, "endpoint-loss")
    assert verdict["verdict"] == "STOP"
    text = reason(verdict, "watch.service_continuity")
    assert "no endpoint served a read or a write from " in text
    assert "maintenance_proof.max_unavailable_seconds is 2" in text
    facts = verdict["facts"]["watch"]  # type: ignore[index]
    assert facts["backend_outage_seconds"] >= 4.0
    assert set(facts["outage_seconds"]) == set(lab.endpoints)
    criteria = verdict["criteria"]
    assert isinstance(criteria, dict)
    assert criteria["watch.acknowledged_writes_survive"] == "passed"
    assert criteria["watch.lock_exclusive"] == "passed"
    assert (evidence / f"watch-{json.loads(checkpoint.read_text())['run_id']}.png").is_file()


@pytest.fixture
def proxy(hastate_singleton_lab: LabCluster) -> Iterator[FaultyGatewayProxy]:
    with faulty_proxy(hastate_singleton_lab, 0, strip_if_none_match=False) as gateway:
        yield gateway


def watched_through(proxy: FaultyGatewayProxy, proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                    lab: LabCluster, fault: str) -> dict[str, object]:  # fmt: skip
    package = lab_package(lab, proofs.path, endpoint_url=proxy.endpoint)
    env = {**environment(lab), "TOFU_HA_STATE_ENDPOINT": proxy.endpoint}
    checkpoint = pre(proofs, monkeypatch, env, package)
    with watching(
        package, checkpoint, proofs.path / "evidence", env, print, lead=0.5, tail=0.5
    ) as mark:
        mark(fault)
        if fault == "drop writes":
            proxy.drop_puts_matching = r"/watch/state-"
        else:
            proxy.racy_if_none_match = True
        time.sleep(5.0)
        proxy.drop_puts_matching, proxy.racy_if_none_match = None, False
    return post(proofs, monkeypatch, env, package, checkpoint, "restart")


def test_a_gateway_that_acknowledges_writes_and_drops_them_fails_the_writes_criterion(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster, proxy: FaultyGatewayProxy,
) -> None:  # fmt: skip
    verdict = watched_through(proxy, proofs, monkeypatch, hastate_singleton_lab, "drop writes")
    assert proxy.dropped_puts > 0
    assert verdict["verdict"] == "STOP"
    text = reason(verdict, "watch.acknowledged_writes_survive")
    assert "writes acknowledged during the window are lost" in text
    assert "/watch/state-0 version dropped" in text
    assert "served nothing" in text


def test_a_conditional_put_that_is_not_atomic_fails_lock_exclusivity(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster, proxy: FaultyGatewayProxy,
) -> None:  # fmt: skip
    verdict = watched_through(
        proxy, proofs, monkeypatch, hastate_singleton_lab, "racy conditional PUT"
    )
    assert verdict["verdict"] == "STOP"
    text = reason(verdict, "watch.lock_exclusive")
    assert "PUT If-None-Match: * acknowledged to two contenders at once" in text
    assert "contender 0 " in text
    assert "contender 1 " in text
