"""The live inventory, through the real kubernetes client and a real kubeconfig, against a local
server that answers with recorded API responses."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.cli import main
from pytest_hastate.tools.inventory import (
    EXIT_FORBIDDEN,
    EXIT_NO_CANDIDATE,
    EXIT_UNREACHABLE,
    INVENTORY_SCHEMA,
)
from tests.support.k8s_api import RecordedApiServer, cluster, storage_class, store, write_kubeconfig

STORAGE = cluster(
    {"storageclasses": [
        storage_class("openebs-zfspv", "zfs.csi.openebs.io", poolname="zfspv-pool", fstype="zfs"),
        storage_class("local-path", "rancher.io/local-path"),
        storage_class("longhorn", "driver.longhorn.io", numberOfReplicas="3", staleReplicaTimeout="30"),
    ]}
)  # fmt: skip
INTERIM_RUSTFS = store(
    "nix-cache",
    "attic-rustfs",
    "rustfs/rustfs:1.0.0-alpha.58",
    nodes=["node-a"],
    storage_class="openebs-zfspv",
)
STAGING_MINIO = store(
    "minio-staging",
    "minio",
    "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z",
    nodes=["node-a", "node-b", "node-c", "node-d"],
)
TCFS = store(
    "tcfs",
    "seaweedfs-s3",
    "chrislusf/seaweedfs:3.80",
    nodes=["node-a", "node-b"],
    kind="Deployment",
    labels={"app.kubernetes.io/part-of": "tcfs"},
)
ON_LOCAL_PATH = store(
    "scratch",
    "garage",
    "dxflrs/garage:v1.0.1",
    nodes=["node-b", "node-c"],
    storage_class="local-path",
)
GENUINE = store(
    "object-store",
    "minio-distributed",
    "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z",
    nodes=["node-a", "node-b", "node-c", "node-d"],
)
ALL = cluster(STORAGE, INTERIM_RUSTFS, STAGING_MINIO, TCFS, ON_LOCAL_PATH, GENUINE)


def inventory(
    tmp_path: Path,
    items: dict[str, list[dict[str, Any]]],
    *args: str,
    forbidden: frozenset[str] = frozenset(),
) -> tuple[int, dict[str, Any] | None, RecordedApiServer]:
    with RecordedApiServer(items, forbidden=forbidden) as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url)
        output = tmp_path / "inventory.json"
        code = main(["inventory", "--kubeconfig", str(kubeconfig), "--output", str(output), *args])
    document = json.loads(output.read_text()) if output.is_file() else None
    return code, document, server


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in document["surfaces"]}


def test_every_surface_is_classified_with_its_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, server = inventory(tmp_path, ALL)
    assert code == 0
    assert document is not None
    assert document["inventory_schema"] == INVENTORY_SCHEMA
    surfaces = by_name(document)
    rustfs = surfaces["attic-rustfs"]
    assert rustfs["classification"] == "rejected-final"
    reasons = " | ".join(rustfs["reasons"])
    for expected in (
        "coupled to a cache (nix-cache",
        "single replica",
        "1 ready endpoint",
        "single RWO volume (data-attic-rustfs-0, openebs-zfspv)",
    ):
        assert expected in reasons
    assert surfaces["minio"]["classification"] == "staging-only"
    assert surfaces["seaweedfs-s3"]["classification"] == "rejected-final"
    assert any("TCFS" in r for r in surfaces["seaweedfs-s3"]["reasons"])
    assert any("local-path storage" in r for r in surfaces["garage"]["reasons"])
    genuine = surfaces["minio-distributed"]
    assert genuine["classification"] == "conditional-candidate"
    assert (
        genuine["candidate_class"] == "cluster-local MinIO / AIStor-style distributed object store"
    )
    assert genuine["ready_endpoints"] == 4
    assert len(genuine["nodes"]) == 4
    assert document["status"] == "CONDITIONAL_CANDIDATES_FOUND"
    classes = {sc["name"]: sc for sc in document["storage_classes"]}
    assert classes["local-path"]["classification"] == "rejected-final"
    assert classes["openebs-zfspv"]["classification"] == "rejected-final"
    assert classes["longhorn"]["classification"] == "conditional-candidate"
    assert "longhorn with 3 replicas" in classes["longhorn"]["reasons"][0]
    out = capsys.readouterr().out
    assert "inventory: CONDITIONAL_CANDIDATES_FOUND" in out
    assert "recorded-cluster-token" not in out + json.dumps(document)
    # read-only: only GET requests, only list calls
    assert {method for method, _ in server.requests} == {"GET"}
    assert not any("watch=true" in path for _, path in server.requests)


def test_not_ready_replicas_do_not_count(tmp_path: Path) -> None:
    degraded = store(
        "object-store",
        "minio-distributed",
        "minio/minio:latest",
        nodes=["node-a", "node-b", "node-c", "node-d"],
        ready=1,
    )
    code, document, _ = inventory(tmp_path, cluster(STORAGE, degraded))
    assert code == 0
    assert document is not None
    assert by_name(document)["minio-distributed"]["classification"] == "rejected-final"


def test_cluster_without_candidates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = inventory(tmp_path, cluster(STORAGE, INTERIM_RUSTFS))
    assert code == 0
    assert document is not None
    assert document["status"] == "NO_LIVE_HA_STATE_CANDIDATE"
    assert "inventory: NO_LIVE_HA_STATE_CANDIDATE" in capsys.readouterr().out
    strict, _, _ = inventory(tmp_path, cluster(STORAGE, INTERIM_RUSTFS), "--fail-without-candidate")
    assert strict == EXIT_NO_CANDIDATE


def test_empty_cluster(tmp_path: Path) -> None:
    code, document, _ = inventory(tmp_path, {})
    assert code == 0
    assert document is not None
    assert document["surfaces"] == []
    assert document["status"] == "NO_LIVE_HA_STATE_CANDIDATE"


def test_forbidden_list_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = inventory(tmp_path, ALL, forbidden=frozenset({"persistentvolumeclaims"}))
    assert code == EXIT_FORBIDDEN
    assert document is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "forbidden: cannot list persistentvolumeclaims (all namespaces)" in err


def test_unreachable_api_server_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    assert main(["inventory", "--kubeconfig", str(kubeconfig)]) == EXIT_UNREACHABLE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"cannot reach the Kubernetes API server at http://127.0.0.1:{port}" in err


def test_bad_kubeconfig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "--kubeconfig", str(tmp_path / "missing")]) == 4
    assert "kubeconfig" in capsys.readouterr().err
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9")
    assert main(["inventory", "--kubeconfig", str(kubeconfig), "--context", "no-such-context"]) == 4
