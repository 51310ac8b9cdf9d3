"""Rules C01-C12: for each rule a document that fails for exactly that rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.contract_gate import check_contract, classify
from pytest_hastate.gating import gate_contract, load_contract
from pytest_hastate.models import CandidateClass

from .conftest import REPO, public_contract_path

Doc = dict[str, Any]


def rules(doc: Doc) -> set[str]:
    return {f.rule for f in check_contract(doc)}


def test_real_public_contract_passes(contract: Doc) -> None:
    assert check_contract(contract) == []


def test_shipped_selected_contract_is_the_public_one() -> None:
    shipped = REPO / "contracts" / "ha-opentofu-state-managed-s3-candidate.json"
    assert shipped.read_bytes() == public_contract_path().read_bytes()
    assert gate_contract(load_contract(shipped)).passed


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return apply


def _drop_entry(field: str, needle: str) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        before = len(doc[field])
        doc[field] = [e for e in doc[field] if needle not in e]
        assert len(doc[field]) < before, f"{needle!r} not in {field}"

    return apply


def _append(field: str, entry: str) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        doc[field] = [*doc[field], entry]

    return apply


def _both(*steps: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        for step in steps:
            step(doc)

    return apply


_DELETE = object()

FAILING: list[tuple[str, str, Callable[[Doc], None]]] = [
    ("C01", "not non-secret", _set("non_secret", False)),
    ("C01", "inline key id", _set("selected_by", "AKIAABCDEFGHIJKLMNOP")),
    ("C01", "inline secret field", _set("bucket_recovery.secret_key", "hunter22")),
    ("C02", "blank rotation owner", _set("rotation_owner", "   ")),
    ("C02", "missing audience", _set("audience", _DELETE)),
    ("C03", "no restore test", _set("bucket_recovery.restore_test", _DELETE)),
    ("C03", "no recovery at all", _set("bucket_recovery", _DELETE)),
    ("C03", "versioning not stated", _set("bucket_recovery.versioning", "snapshots sometimes")),
    ("C04", "DynamoDB locking", _set("state_locking", "DynamoDB table locking")),
    ("C04", "undefined locking", _set("state_locking", "")),
    ("C05", "no endpoint loss", _set("failure_behavior.endpoint_loss", "")),
    ("C05", "no node loss", _set("failure_behavior", {"endpoint_loss": "two ready endpoints"})),
    ("C06", "no lock failure signal", _drop_entry("observability", "lockfile")),
    ("C06", "no metadata signal", _drop_entry("observability", "metadata")),
    ("C07", "Bazel not separated", _drop_entry("authority_separation", "Bazel")),
    ("C07", "RBE not separated", _drop_entry("authority_separation", "RBE")),
    ("C08", "no disposable OpenTofu", _drop_entry("proof_plan", "--run-disposable-tofu")),
    ("C08", "no node maintenance", _drop_entry("proof_plan", "node maintenance")),
    (
        "C08",
        "command without package",
        _append("proof_plan", "scratch rerun uses just ha-state-candidate-proof --phase baseline"),
    ),
    (
        "C09",
        "all stacks at once",
        _set("protected_state_migration", "migrate every stack together after review"),
    ),
    ("C10", "tofu-state as state bucket", _set("read_write_scope", "state bucket is tofu-state")),
    ("C10", "rejected class", _set("candidate_class", "Sting local-path storage")),
    ("C10", "unknown class", _set("candidate_class", "a bucket somewhere")),
    (
        "C10",
        "interim host",
        _set("s3_endpoint_shape", "https://attic-rustfs-hl.nix-cache.svc:9000"),
    ),
    ("C10", "cache credentials", _set("credential_source", "the Attic cache credentials")),
    (
        "C11",
        "MinIO without quorum design",
        _set("candidate_class", "cluster-local MinIO distributed object store"),
    ),
    (
        "C11",
        "RustFS without heal tooling",
        _both(
            _set("candidate_class", "replicated RustFS on multi-node topology"),
            _set("bucket_index_divergence_response", "operators rebuild the index by hand"),
        ),
    ),
    ("C12", "cache path proof", _append("proof_plan", "restore check reads the Attic cache path")),
    (
        "C12",
        "single RWO volume",
        _set("s3_endpoint_shape", "HTTPS endpoint; state on a single RWO volume"),
    ),
    (
        "C12",
        "maintenance mutates a protected stack",
        _append(
            "proof_plan",
            "node maintenance proof applies changes to the tinyland-infra/gitlab-runners protected stack",
        ),
    ),
    ("C12", "cache hit rate signal", _append("observability", "cache hit rate")),
]


@pytest.mark.parametrize(
    ("rule", "case", "mutate"), FAILING, ids=[f"{r}-{c}" for r, c, _ in FAILING]
)
def test_each_rule_fails_alone(
    contract: Doc, rule: str, case: str, mutate: Callable[[Doc], None]
) -> None:
    doc = copy.deepcopy(contract)
    mutate(doc)
    findings = check_contract(doc)
    assert {f.rule for f in findings} == {rule}, [str(f) for f in findings]
    for finding in findings:
        line = str(finding)
        assert line.startswith(f"{rule} $"), line
        assert "\n" not in line


def test_every_rule_has_a_failing_case() -> None:
    assert {r for r, _, _ in FAILING} == {f"C{n:02d}" for n in range(1, 13)}


def test_negated_mention_of_tofu_state_is_not_a_promotion(contract: Doc) -> None:
    contract["read_write_scope"] = "scratch buckets only; no access to the active tofu-state bucket"
    assert rules(contract) == set()
    contract["read_write_scope"] = "read and write the tofu-state bucket as the state bucket"
    assert rules(contract) == {"C10"}


def test_minio_with_its_conditions_passes(contract: Doc) -> None:
    contract["candidate_class"] = "cluster-local MinIO distributed object store"
    contract["failure_behavior"]["node_or_failure_domain_loss"] = (
        "multi-node and multi-drive erasure sets with a quorum design survive one node loss"
    )
    contract["read_write_scope"] = (
        "a separate state-only bucket policy; no access to the active tofu-state bucket"
    )
    assert rules(contract) == set()


def test_secret_values_are_never_echoed(contract: Doc) -> None:
    contract["bucket_recovery"]["secret_key"] = "hunter22-do-not-print"
    text = " ".join(map(str, check_contract(contract)))
    assert "hunter22" not in text


@pytest.mark.parametrize(
    ("text", "klass"),
    [
        ("managed or appliance HA S3-compatible state service", CandidateClass.MANAGED),
        ("dedicated HA S3-compatible state service", CandidateClass.DEDICATED),
        (
            "cluster-local MinIO / AIStor-style distributed object store",
            CandidateClass.CLUSTER_MINIO,
        ),
        ("replicated RustFS", CandidateClass.REPLICATED_RUSTFS),
        ("RustFS", CandidateClass.INTERIM_SINGLETON),
        ("current attic-rustfs-openebs singleton", CandidateClass.INTERIM_SINGLETON),
        ("Sting local-path storage", CandidateClass.LOCAL_PATH),
        ("Attic or Bazel cache object-store surface", CandidateClass.CACHE_SURFACE),
        ("something else", None),
    ],
)
def test_classify(text: str, klass: CandidateClass | None) -> None:
    assert classify(text) is klass


@pytest.mark.parametrize(
    "example",
    sorted((REPO / "contracts" / "examples").glob("rejected-*.json")),
    ids=lambda p: p.stem,
)
def test_rejected_final_examples_are_refused_with_reason(example: Path) -> None:
    report = gate_contract(load_contract(example))
    assert "C10" in report.rules
    class_findings = [f for f in report.findings if f.path == "$.candidate_class"]
    assert class_findings
    assert "rejected as final" in class_findings[0].reason
    print("\n".join(report.lines()))


def test_there_is_an_example_for_each_rejected_final_class() -> None:
    classes = {
        classify(load_contract(p).data["candidate_class"])
        for p in (REPO / "contracts" / "examples").glob("rejected-*.json")
    }
    assert classes == {k for k in CandidateClass if k.posture == "rejected-final"}
