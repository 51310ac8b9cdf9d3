"""The observability criteria on a real SeaweedFS lab: each signal the gateways' metrics show
is proven with its metric, labels and delta; a source that hides the 403s leaves failed_auth
not proven (named), and STOP when required; a source that answers garbage or nothing is a
one-line fact and the run goes on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import environment
from pytest_hastate.lab.engine import free_ports
from tests.support.helpers import lab_package, run_proofs
from tests.support.metrics import MetricsServer, fixed, hiding


def signals(verdict: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["signal"]: s for s in verdict["facts"]["observability"]["signals"]}


@pytest.fixture
def hiding_403s(hastate_singleton_lab: LabCluster) -> Iterator[MetricsServer]:
    """The lab gateway's page without its 403 lines, and two sources that give nothing."""
    (real,) = hastate_singleton_lab.metrics_sources()
    server = MetricsServer({
        "/hidden": hiding(real["url"], 'code="403"'),
        "/garbage": fixed(200, b"<html>a login page</html>\n"),
    })  # fmt: skip
    yield server
    server.stop()


def test_the_singleton_labs_metrics_show_every_signal_they_carry(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    lab = hastate_singleton_lab
    result, verdict = run_proofs(proofs, monkeypatch, environment(lab), lab.package_path)
    assert verdict["verdict"] == "INTERIM_ONLY", verdict["reasons"]
    shown = signals(verdict)
    for name, labels in (
        ("failed_auth", {"code": "403"}),
        ("failed_write", {"code": "412"}),
        ("delete_behavior", {"type": "DELETE", "code": "2.."}),
    ):
        assert verdict["criteria"][f"observability.{name}"] == "passed", shown[name]
        assert shown[name]["metric"] == "SeaweedFS_s3_request_total"
        assert shown[name]["labels"] == labels
        assert shown[name]["provoked"] > 0
        assert shown[name]["delta"] >= shown[name]["provoked"]
    assert shown["failed_auth"]["provoked"] >= 9  # 1 bucket + 8 keys of the default profile
    assert verdict["criteria"]["observability.replication_lag"] == "skipped"
    assert verdict["notes"] == [
        "observability.replication_lag not proven (not required): no metrics source shows "
        "replication_lag: none exports a metric named for it (name one in "
        "metrics_sources[].signals)"
    ]
    result.stdout.fnmatch_lines(["  note: observability.replication_lag not proven*"])


def test_a_source_that_hides_the_403s_leaves_failed_auth_not_proven(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    hiding_403s: MetricsServer,
) -> None:
    lab = hastate_singleton_lab
    package = lab_package(lab, proofs.path, metrics_sources=[{"url": hiding_403s.url("/hidden")}])
    _, verdict = run_proofs(proofs, monkeypatch, environment(lab), package)
    assert verdict["verdict"] == "INTERIM_ONLY", verdict["reasons"]
    assert verdict["criteria"]["observability.failed_auth"] == "skipped"
    assert verdict["criteria"]["observability.failed_write"] == "passed"
    (note,) = [n for n in verdict["notes"] if n.startswith("observability.failed_auth")]
    assert "no metrics source shows failed_auth" in note, note

    required, verdict = run_proofs(
        proofs, monkeypatch, environment(lab), package, "--require-observability"
    )
    assert required.ret == ExitCode.STOP
    assert verdict["verdict"] == "STOP"
    assert verdict["criteria"]["observability.failed_auth"] == "skipped"  # not proven, required
    reason = verdict["reasons"][0]
    assert reason.startswith(
        "observability.failed_auth required, not proven: no metrics source shows failed_auth"
    ), reason
    # Required: every signal the documents list, so also the replication lag SeaweedFS does not
    # export; the signals the metrics show are not among the reasons.
    assert [r.split(" required, ")[0] for r in verdict["reasons"]] == [
        "observability.failed_auth", "observability.replication_lag",
    ]  # fmt: skip


def test_a_source_that_answers_garbage_or_nothing_is_a_fact_and_the_run_goes_on(
    proofs: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    hastate_singleton_lab: LabCluster,
    hiding_403s: MetricsServer,
) -> None:
    lab = hastate_singleton_lab
    (real,) = lab.metrics_sources()
    (closed,) = free_ports(1)
    silent = f"http://127.0.0.1:{closed}/metrics"
    package = lab_package(lab, proofs.path, metrics_sources=[
        {"url": hiding_403s.url("/garbage")}, {"url": silent}, real,
    ])  # fmt: skip
    result, verdict = run_proofs(proofs, monkeypatch, environment(lab), package)
    assert verdict["verdict"] == "INTERIM_ONLY", verdict["reasons"]
    result.stdout.fnmatch_lines([
        f"hastate: metrics source {hiding_403s.url('/garbage')} answered something that is not "
        "Prometheus text (*) (a fact; the run goes on)",
        f"hastate: metrics source {silent} gave no answer (*) (a fact; the run goes on)",
    ], consecutive=False)  # fmt: skip
    for name in ("failed_auth", "failed_write", "delete_behavior"):
        assert verdict["criteria"][f"observability.{name}"] == "passed"
        assert signals(verdict)[name]["sources"] == [real["url"]]
    sources = verdict["facts"]["observability"]["sources"]
    assert sources[silent].startswith("before: gave no answer"), sources


def test_with_no_source_named_every_signal_is_a_note(
    proofs: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, hastate_singleton_lab: LabCluster
) -> None:
    lab = hastate_singleton_lab
    package = lab_package(lab, proofs.path, metrics_sources=None)
    result, verdict = run_proofs(proofs, monkeypatch, environment(lab), package)
    assert verdict["verdict"] == "INTERIM_ONLY", verdict["reasons"]
    assert len(verdict["notes"]) == 4
    assert all(
        n.endswith("not proven (not required): the package names no metrics source "
                   "(metrics_sources)") for n in verdict["notes"]
    ), verdict["notes"]  # fmt: skip
    assert result.ret == ExitCode.INTERIM_ONLY
