"""Rules C01-C12: for each rule a document that fails for exactly that rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hastate.gates.contract import check_contract
from pytest_hastate.gates.declarations import classify
from pytest_hastate.gates.files import gate_contract, load_contract
from tests.support.helpers import GLORIOUS, PUBLIC_CONTRACT, REPO
from tests.support.mutations import DELETE, Doc, append_entry, drop_entry, set_field, together


def rules(doc: Doc) -> set[str]:
    return {f.rule for f in check_contract(doc, GLORIOUS)}


def test_real_public_contract_passes(contract: Doc) -> None:
    assert check_contract(contract, GLORIOUS) == []


def test_shipped_selected_contract_is_the_public_one() -> None:
    shipped = REPO / "contracts" / "ha-opentofu-state-managed-s3-candidate.json"
    assert shipped.read_bytes() == PUBLIC_CONTRACT.read_bytes()
    assert gate_contract(load_contract(shipped), GLORIOUS).passed


FAILING: list[tuple[str, str, Callable[[Doc], None]]] = [
    ("C01", "not non-secret", set_field("non_secret", False)),
    ("C01", "inline key id", set_field("selected_by", "AKIAABCDEFGHIJKLMNOP")),
    ("C01", "inline secret field", set_field("bucket_recovery.secret_key", "hunter22")),
    ("C02", "blank rotation owner", set_field("rotation_owner", "   ")),
    ("C02", "missing audience", set_field("audience", DELETE)),
    ("C03", "no restore test", set_field("bucket_recovery.restore_test", DELETE)),
    ("C03", "no recovery at all", set_field("bucket_recovery", DELETE)),
    (
        "C03",
        "versioning not stated",
        set_field("bucket_recovery.versioning", "snapshots sometimes"),
    ),
    ("C04", "DynamoDB locking", set_field("state_locking", "DynamoDB table locking")),
    ("C04", "undefined locking", set_field("state_locking", "")),
    ("C05", "no endpoint loss", set_field("failure_behavior.endpoint_loss", "")),
    (
        "C05",
        "no node loss",
        set_field("failure_behavior", {"endpoint_loss": "two ready endpoints"}),
    ),
    ("C06", "no lock failure signal", drop_entry("observability", "lockfile")),
    ("C06", "no metadata signal", drop_entry("observability", "metadata")),
    ("C07", "Bazel not separated", drop_entry("authority_separation", "Bazel")),
    ("C07", "RBE not separated", drop_entry("authority_separation", "RBE")),
    ("C08", "no disposable OpenTofu", drop_entry("proof_plan", "--run-disposable-tofu")),
    ("C08", "no node maintenance", drop_entry("proof_plan", "node maintenance")),
    (
        "C08",
        "command without package",
        append_entry(
            "proof_plan", "scratch rerun uses just ha-state-candidate-proof --phase baseline"
        ),
    ),
    (
        "C09",
        "all stacks at once",
        set_field("protected_state_migration", "migrate every stack together after review"),
    ),
    (
        "C10",
        "tofu-state as state bucket",
        set_field("read_write_scope", "state bucket is tofu-state"),
    ),
    ("C10", "rejected class", set_field("candidate_class", "Sting local-path storage")),
    ("C10", "unknown class", set_field("candidate_class", "a bucket somewhere")),
    (
        "C10",
        "interim host",
        set_field("s3_endpoint_shape", "https://attic-rustfs-hl.nix-cache.svc:9000"),
    ),
    ("C10", "cache credentials", set_field("credential_source", "the Attic cache credentials")),
    (
        "C11",
        "MinIO without quorum design",
        set_field("candidate_class", "cluster-local MinIO distributed object store"),
    ),
    (
        "C11",
        "RustFS without heal tooling",
        together(
            set_field("candidate_class", "replicated RustFS on multi-node topology"),
            set_field("bucket_index_divergence_response", "operators rebuild the index by hand"),
        ),
    ),
    (
        "C12",
        "cache path proof",
        append_entry("proof_plan", "restore check reads the Attic cache path"),
    ),
    (
        "C12",
        "single RWO volume",
        set_field("s3_endpoint_shape", "HTTPS endpoint; state on a single RWO volume"),
    ),
    (
        "C12",
        "maintenance mutates a protected stack",
        append_entry(
            "proof_plan",
            "node maintenance proof applies changes to the tinyland-infra/gitlab-runners protected stack",
        ),
    ),
    ("C12", "cache hit rate signal", append_entry("observability", "cache hit rate")),
]


@pytest.mark.parametrize(
    ("rule", "case", "mutate"), FAILING, ids=[f"{r}-{c}" for r, c, _ in FAILING]
)
def test_each_rule_fails_alone(
    contract: Doc, rule: str, case: str, mutate: Callable[[Doc], None]
) -> None:
    doc = copy.deepcopy(contract)
    mutate(doc)
    findings = check_contract(doc, GLORIOUS)
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
    text = " ".join(map(str, check_contract(contract, GLORIOUS)))
    assert "hunter22" not in text


MANAGED = "managed or appliance S3-compatible state bucket with versioning"
DEDICATED = "dedicated HA S3-compatible state service"
MINIO = "cluster-local MinIO / AIStor-style distributed object store"
RUSTFS = "replicated RustFS"
SINGLETON = "current attic-rustfs-openebs singleton"


@pytest.mark.parametrize(
    ("text", "klass"),
    [
        ("managed or appliance HA S3-compatible state service", MANAGED),
        ("dedicated HA S3-compatible state service", DEDICATED),
        (
            "cluster-local MinIO / AIStor-style distributed object store",
            MINIO,
        ),
        ("replicated RustFS", RUSTFS),
        ("RustFS", SINGLETON),
        ("current attic-rustfs-openebs singleton", SINGLETON),
        ("Sting local-path storage", "Sting local-path storage"),
        ("Attic or Bazel cache object-store surface", "Attic or Bazel cache object-store surface"),
        ("something else", None),
    ],
)
def test_classify_under_the_default_profile(text: str, klass: str | None) -> None:
    found = classify(text, GLORIOUS)
    assert (found.name if found else None) == klass


@pytest.mark.parametrize(
    "example",
    sorted((REPO / "contracts" / "examples").glob("rejected-*.json")),
    ids=lambda p: p.stem,
)
def test_rejected_final_examples_are_refused_with_reason(example: Path) -> None:
    report = gate_contract(load_contract(example), GLORIOUS)
    assert "C10" in report.rules
    class_findings = [f for f in report.findings if f.path == "$.candidate_class"]
    assert class_findings
    assert "rejected as final" in class_findings[0].reason
    print("\n".join(report.lines()))


def test_there_is_an_example_for_each_rejected_final_class() -> None:
    found = [
        classify(load_contract(p).data["candidate_class"], GLORIOUS)
        for p in (REPO / "contracts" / "examples").glob("rejected-*.json")
    ]
    classes = {k.name for k in found if k is not None}
    assert classes == {k.name for k in GLORIOUS.candidate_classes if k.posture == "rejected-final"}
