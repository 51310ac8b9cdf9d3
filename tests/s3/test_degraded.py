"""A degraded backend gets a fast STOP with its cause first, never a hang: a real SeaweedFS
lab whose volume slots are exhausted (every write answers 500), and a gateway that accepts
connections and never answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hastate.lab import LabCluster, start
from pytest_hastate.lab.artifacts import admin, environment
from pytest_hastate.lab.engine import free_ports
from pytest_hastate.s3.client import S3Errors
from pytest_hastate.s3.limits import ATTEMPTS, CONNECT_TIMEOUT, READ_TIMEOUT, STOP_PROMISE
from tests.support.engines import StallingGateway
from tests.support.helpers import lab_package, needs_tofu, run_proofs

TOFU = ("--run-disposable-tofu", "--use-lockfile")
OVERHEAD = 45.0
"""What a run costs besides waiting on the hung endpoint (pytest, OpenTofu's start, the race's
threads) on a loaded 2-core machine: generous, because the wait itself is bounded by count."""


def test_endpoints_that_never_answer_cost_at_most_the_promise() -> None:
    """The client's own limits keep the promise: a read timeout is not retried, so each hung
    endpoint costs one, and three asked one after another stay within it (a longer read
    timeout would make every hung-gateway STOP slower)."""
    assert 3 * READ_TIMEOUT <= STOP_PROMISE
    assert CONNECT_TIMEOUT <= READ_TIMEOUT
    assert ATTEMPTS > 1  # quick failures are still retried


@pytest.fixture(scope="module")
def full_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCluster]:
    """A singleton lab with few volume slots, filled up until writes to a new bucket fail."""
    lab = start(tmp_path_factory.mktemp("lab-full"), "singleton", volume_slots=8,
                die_with_parent=True)  # fmt: skip
    try:
        s3 = admin(lab)
        for index in range(50):
            bucket = f"filler-{index}"
            try:
                s3.create_bucket(Bucket=bucket)
                s3.put_object(Bucket=bucket, Key="k", Body=b"x")
            except S3Errors:
                break
        else:
            pytest.fail("the lab never ran out of volume slots")
        yield lab
    finally:
        lab.down()


@needs_tofu
def test_exhausted_capacity_is_a_fast_stop_with_its_cause_first(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, full_lab: LabCluster
) -> None:
    started = time.monotonic()
    result, verdict = run_proofs(
        proofs, monkeypatch, environment(full_lab), full_lab.package_path, *TOFU
    )
    elapsed = time.monotonic() - started
    assert result.ret == 1
    assert verdict["verdict"] == "STOP"
    first = verdict["reasons"][0]
    assert "writes answer 500 InternalError" in first, verdict["reasons"]
    assert "by dependency" not in first
    dependents = [r for r in verdict["reasons"][1:] if "failed:" in r]
    assert dependents, verdict["reasons"]
    root = first.split(" failed:")[0]
    for reason in dependents:
        assert f"by dependency on {root}: " in reason, reason
    assert not any("teardown error" in r for r in verdict["reasons"]), verdict["reasons"]
    assert verdict["criteria"]["tofu.init"] == "failed"
    assert elapsed < OVERHEAD, elapsed  # writes answer at once: nothing waits a read timeout


@needs_tofu
def test_a_gateway_that_never_answers_is_a_fast_stop_with_its_cause_first(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    tmp_path: Path,
) -> None:
    lab = hastate_singleton_lab
    with StallingGateway(lab.directory / "s3-cert.pem", lab.directory / "s3-key.pem") as gateway:
        package = lab_package(lab, proofs.path, endpoint_url=gateway.endpoint)
        env = {**environment(lab), "TOFU_HA_STATE_ENDPOINT": gateway.endpoint}
        started = time.monotonic()
        result, verdict = run_proofs(proofs, monkeypatch, env, package, *TOFU)
        elapsed = time.monotonic() - started
    # The first request is the only one that waits, once: a read timeout is not retried, and
    # after its no-answer every later request to that endpoint is refused before it is sent
    # (the race's writers, OpenTofu, the session's cleanup), so the gateway held one request.
    assert gateway.requests == 1, gateway.requests
    assert result.ret == 1
    first = verdict["reasons"][0]
    assert first.startswith("boundary.scoped failed: "), verdict["reasons"]
    assert f"{gateway.endpoint} gave no answer (ReadTimeoutError)" in first
    later = [r for r in verdict["reasons"][1:] if " failed: " in r]
    assert later
    assert all("by dependency on boundary.scoped: " in r for r in later), later
    # what the cleanup could not remove is the run's finding, never a test's teardown error
    assert not any("teardown error" in r for r in verdict["reasons"]), verdict["reasons"]
    assert elapsed < READ_TIMEOUT + OVERHEAD, elapsed


@pytest.mark.parametrize("asked", [[], ["-v"], ["--tb=long"], ["--full-trace"], ["-l"]])
def test_an_endpoint_refusing_connections_is_a_stop_in_a_few_lines(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    asked: list[str],
) -> None:
    """The verdict names the cause; botocore's and urllib3's frames are printed only when the
    operator asks for them (-v or --tb), pytest's own conventions."""
    lab = hastate_singleton_lab
    endpoint = f"https://127.0.0.1:{free_ports(1)[0]}"  # chosen, then released: nothing listens
    package = lab_package(lab, proofs.path, endpoint_url=endpoint)
    env = {**environment(lab), "TOFU_HA_STATE_ENDPOINT": endpoint}
    result, verdict = run_proofs(proofs, monkeypatch, env, package, *asked)
    assert result.ret == 1
    assert verdict["reasons"][0].startswith("boundary.scoped failed: "), verdict["reasons"]
    assert "gave no answer (EndpointConnectionError)" in verdict["reasons"][0]
    output = result.stdout.str()
    frames = [
        line
        for line in result.outlines
        if "site-packages/botocore/" in line or "site-packages/urllib3/" in line
    ]
    if asked:  # the operator asked for more: pytest's own tracebacks
        assert frames, output[-3000:]
        return
    assert frames == [], frames[:5]
    failures = [line for line in result.outlines if line.startswith("E   ")]
    assert len(result.outlines) < 150, output
    assert "(the full traceback: -v or --tb=long)" in output
    assert failures, output
    assert "hastate verdict: STOP" in output
    reasons = output.split("hastate verdict: STOP", 1)[1]
    assert f"  - {verdict['reasons'][0]}" in reasons  # the reasons are in the verdict block
