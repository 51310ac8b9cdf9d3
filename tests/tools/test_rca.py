"""``hastate rca``: the store's own reports in a window, read with the real kubernetes client
from a local server answering with recorded API responses, pod logs included."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pytest_hastate.cli import main
from pytest_hastate.errors import InputError
from pytest_hastate.tools.rca import parse_selector, parse_since, scan_log
from tests.support.k8s_api import RecordedApiServer, cluster, store, write_kubeconfig

RUSTFS = store(
    "state",
    "rustfs",
    "rustfs/rustfs:1.0.0-alpha.60",
    nodes=["node-a", "node-b", "node-c", "node-d"],
)
NOW = datetime.now(UTC)


def event(
    pod: str, reason: str, message: str, age: timedelta, kind: str = "Warning"
) -> dict[str, Any]:
    when = (NOW - age).isoformat().replace("+00:00", "Z")
    return {
        "metadata": {"name": f"{pod}.{reason}", "namespace": "state", "creationTimestamp": when},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "state"},
        "reason": reason, "message": message, "type": kind, "lastTimestamp": when, "count": 1,
    }  # fmt: skip


def restarted(items: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    pod = items["pods"][1]
    pod["status"]["containerStatuses"] = [{
        "name": "s3", "restartCount": 2, "ready": True,
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": NOW.isoformat()}},
    }]  # fmt: skip
    return items


ITEMS = cluster(
    restarted(RUSTFS),
    {
        "events": [
            event(
                "rustfs-1",
                "BackOff",
                "Back-off restarting failed container s3",
                timedelta(minutes=5),
            ),
            event("rustfs-2", "Unhealthy", "Readiness probe failed", timedelta(minutes=12)),
            event("rustfs-2", "Unhealthy", "an old probe failure", timedelta(hours=5)),
            event("other-pod", "Killing", "not the store", timedelta(minutes=1)),
        ]
    },
)
LOGS = {
    (
        "state",
        "rustfs-0",
        "s3",
    ): "INFO serving\nWARN heal: healing object state/x (1/4 drives)\nINFO ok\n",
    ("state", "rustfs-1", "s3"): (
        "ERROR bucket metadata for tofu-state not found on disk 2\n"
        "ERROR listing mismatch between drives for state/y\nWARN healing bucket tofu-state\n"
    ),
    ("state", "rustfs-2", "s3"): "INFO all good\n",
    ("state", "rustfs-3", "s3"): "panic: runtime error\n",
}


def test_durations_selectors_and_signatures() -> None:
    assert parse_since("30m") == 1800
    assert parse_since("2h") == 7200
    assert parse_since(" 45s ") == 45
    for bad in ("30", "thirty minutes", "0m", "5w"):
        with pytest.raises(InputError, match="expected a duration"):
            parse_since(bad)
    assert parse_selector("app=rustfs,tier=state") == {"app": "rustfs", "tier": "state"}
    with pytest.raises(InputError):
        parse_selector("app")
    found = scan_log(LOGS[("state", "rustfs-1", "s3")])
    assert found["bucket/index divergence"]["lines"] == 2
    assert found["heal or repair"]["lines"] == 1
    assert found["bucket/index divergence"]["first"].startswith("ERROR bucket metadata")


def rca(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], RecordedApiServer]:
    with RecordedApiServer(ITEMS, logs=LOGS) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)
        code = main(
            [
                "rca",
                "--since",
                "30m",
                "--kubeconfig",
                str(kubeconfig),
                "--evidence",
                str(tmp_path / "evidence"),
                *args,
            ]
        )
    document = json.loads(next((tmp_path / "evidence").glob("rca-*/rca.json")).read_text())
    return code, document, api


def test_the_store_part_reads_restarts_events_and_logs_in_the_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, api = rca(tmp_path)
    assert code == 0
    pods = {p["pod"]: p for p in document["store"]["pods"]}
    assert sorted(pods) == ["rustfs-0", "rustfs-1", "rustfs-2", "rustfs-3"]
    assert pods["rustfs-1"]["restarts"] == 2
    assert pods["rustfs-1"]["last_termination"].startswith("OOMKilled (exit 137)")
    assert pods["rustfs-1"]["events"] == [
        "Warning BackOff: Back-off restarting failed container s3"
    ]
    assert pods["rustfs-2"]["events"] == [
        "Warning Unhealthy: Readiness probe failed"
    ]  # not the old one
    assert pods["rustfs-1"]["signatures"]["bucket/index divergence"]["lines"] == 2
    assert pods["rustfs-0"]["signatures"]["heal or repair"]["lines"] == 1
    assert pods["rustfs-3"]["signatures"]["crash or restart"]["lines"] == 1
    assert (
        "the store logged 2 divergence line(s), 2 heal/repair line(s), 2 restart(s) in the window"
        in document["conclusions"]
    )
    printed = capsys.readouterr().out
    assert (
        "state/rustfs-1 on node-b: 2 restart(s); 1 event(s); bucket/index divergence x2" in printed
    )
    assert "rca: written to" in printed
    # read-only: list, get and log calls only, and the logs asked for the window
    assert {method for method, _path in api.requests} == {"GET"}
    log_queries = [
        parse_qs(urlsplit(path).query)
        for _m, path in api.requests
        if path.split("?")[0].endswith("/log")
    ]
    assert len(log_queries) == 4
    assert all(q["sinceSeconds"] == ["1800"] for q in log_queries)


def test_a_selector_picks_the_pods(tmp_path: Path) -> None:
    _code, document, _api = rca(tmp_path, "--selector", "app.kubernetes.io/name=rustfs")
    assert len(document["store"]["pods"]) == 4
    (tmp_path / "none").mkdir()
    _code, document, _api = rca(tmp_path / "none", "--selector", "app.kubernetes.io/name=other")
    assert document["store"]["pods"] == []


def test_without_a_kubeconfig_the_log_part_says_it_was_not_available(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["rca", "--evidence", str(tmp_path / "evidence")]) == 0
    assert "store: the log part was not available: no kubeconfig" in capsys.readouterr().out
