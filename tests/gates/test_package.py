"""Rules P01-P16: for each rule a package that fails for exactly that rule."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hastate.gates.files import gate_package, load_package
from pytest_hastate.gates.package import check_package
from pytest_hastate.models import EndpointPackage
from tests.support.helpers import GLORIOUS, PUBLIC_CONTRACT, PUBLIC_TEMPLATE, REPO, TEMPLATE
from tests.support.mutations import Doc, drop_entry, set_field, together


def gate(
    tmp_path: Path, package: Doc, *, allow_template: bool = False, contract: Doc | None = None
) -> frozenset[str]:
    folder = tmp_path / "pkg"
    folder.mkdir(exist_ok=True)
    if contract is None:
        shutil.copy(PUBLIC_CONTRACT, folder / "contract.json")
    else:
        (folder / "contract.json").write_text(json.dumps(contract), "utf-8")
    path = folder / "package.json"
    path.write_text(json.dumps(package), "utf-8")
    run = gate_package(
        load_package(path), GLORIOUS, allow_template=allow_template, roots=(tmp_path,)
    )
    for finding in run.report.findings:
        assert "\n" not in str(finding)
    return run.report.rules


def test_filled_package_passes(tmp_path: Path, package: Doc) -> None:
    assert gate(tmp_path, package) == set()


def test_public_template_passes_only_with_allow_template(tmp_path: Path) -> None:
    template = PUBLIC_TEMPLATE
    refused = gate_package(load_package(template), GLORIOUS, allow_template=False, roots=(REPO,))
    assert refused.report.rules == {"P02"}
    accepted = gate_package(load_package(template), GLORIOUS, allow_template=True, roots=(REPO,))
    assert accepted.report.passed, accepted.report.lines()
    # Its docs/contracts/... reference resolves to the shipped contract by file name.
    assert (
        accepted.contract_path == REPO / "contracts" / "ha-opentofu-state-managed-s3-candidate.json"
    )


def test_shipped_template_passes_only_with_allow_template() -> None:
    assert gate_package(
        load_package(TEMPLATE), GLORIOUS, allow_template=False, roots=(REPO,)
    ).report.rules == {"P02"}
    assert gate_package(
        load_package(TEMPLATE), GLORIOUS, allow_template=True, roots=(REPO,)
    ).report.passed


def _policy_for(bucket: str) -> Callable[[Doc], None]:
    return set_field(
        "scratch_bucket_policy",
        [f"allow create/list/read/write/delete for {bucket} only", "deny tofu-state"],
    )


FAILING: list[tuple[str, str, Callable[[Doc], None]]] = [
    ("P01", "not non-secret", set_field("non_secret", False)),
    ("P01", "blank region", set_field("region", "")),
    ("P02", "sentinel left", set_field("rotation_owner", "replace-me: owners")),
    ("P02", "example.invalid endpoint", set_field("endpoint_url", "https://state.example.invalid")),
    ("P03", "credential assignment", set_field("restore_owner", "ops (AWS_SECRET_ACCESS_KEY=abc)")),
    ("P03", "private key", set_field("restore_owner", "-----BEGIN RSA PRIVATE KEY-----")),
    ("P04", "plain http", set_field("endpoint_url", "http://state-proof.example.com")),
    (
        "P04",
        "interim singleton",
        set_field("endpoint_url", "https://attic-rustfs-hl.nix-cache.svc:9000"),
    ),
    (
        "P04",
        "in-cluster host",
        set_field("endpoint_url", "https://minio.staging.svc.cluster.local"),
    ),
    (
        "P15",
        "credentials in URL",
        set_field("endpoint_url", "https://user:pw@state-proof.example.com"),
    ),
    (
        "P15",
        "endpoint with a path",
        set_field("endpoint_url", "https://state-proof.example.com/tofu-state"),
    ),
    (
        "P15",
        "endpoint with a query",
        set_field("endpoint_url", "https://state-proof.example.com/?x=1"),
    ),
    (
        "P15",
        "endpoint with a fragment",
        set_field("endpoint_url", "https://state-proof.example.com#x"),
    ),
    (
        "P15",
        "host label is tofu-state",
        set_field("endpoint_url", "https://tofu-state.s3.example.com"),
    ),
    (
        "P15",
        "host label is a denied bucket",
        together(
            lambda doc: doc["protected_state_denials"].append("deny secrets-bucket and its keys"),
            set_field(
                "ha_endpoints",
                ["https://state-proof.example.com", "https://secrets-bucket.example.com"],
            ),
        ),
    ),
    (
        "P16",
        "an interpolation in the region",
        set_field("region", "us-east-1${path.cwd}"),
    ),
    (
        "P16",
        "a directive in a backend option",
        set_field("backend_options", {"retry_mode": "%{ if true }adaptive%{ endif }"}),
    ),
    (
        "P04",
        "ha_endpoints without endpoint_url",
        set_field("ha_endpoints", ["https://b.example.com"]),
    ),
    (
        "P04",
        "duplicate ha endpoint",
        set_field(
            "ha_endpoints", ["https://state-proof.example.com", "https://state-proof.example.com/"]
        ),
    ),
    ("P04", "missing CA bundle", set_field("ca_bundle", "no-such-ca.pem")),
    (
        "P05",
        "AWS variable names",
        set_field("credential_injection.access_key_env", "AWS_ACCESS_KEY_ID"),
    ),
    (
        "P06",
        "invalid bucket name",
        together(set_field("scratch_bucket", "Bad_Bucket"), _policy_for("bad_bucket")),
    ),
    (
        "P06",
        "cache bucket",
        together(
            set_field("scratch_bucket", "attic-cache-proof"), _policy_for("attic-cache-proof")
        ),
    ),
    (
        "P06",
        "denied bucket",
        together(set_field("scratch_bucket", "spokes"), _policy_for("spokes")),
    ),
    (
        "P06",
        "too long for the probe",
        together(set_field("scratch_bucket", "a" * 50), _policy_for("a" * 50)),
    ),
    ("P06", "prefix escapes", set_field("scratch_prefix", "proof/../attic/")),
    ("P06", "prefix in a protected stack", set_field("scratch_prefix", "attic/proof/")),
    (
        "P07",
        "no delete",
        set_field(
            "scratch_bucket_policy",
            ["allow create/list/read/write for darkmap-ha-state-proof only"],
        ),
    ),
    (
        "P07",
        "tofu-state allowed",
        set_field(
            "scratch_bucket_policy",
            ["allow create/list/read/write/delete for darkmap-ha-state-proof and tofu-state"],
        ),
    ),
    (
        "P07",
        "denial the guard cannot read",
        set_field(
            "scratch_bucket_policy",
            [
                "allow create/list/read/write/delete for darkmap-ha-state-proof only",
                "deny tofu-state",
                "deny whatever looks important",
            ],
        ),
    ),
    ("P08", "protected key not denied", drop_entry("protected_state_denials", "arc-runners/")),
    (
        "P08",
        "denial the guard cannot read",
        lambda doc: doc["protected_state_denials"].append("deny the secrets bucket, please"),
    ),
    (
        "P08",
        "tofu-state not denied",
        drop_entry("protected_state_denials", "deny tofu-state bucket"),
    ),
    ("P09", "DynamoDB locking", set_field("state_locking", "DynamoDB table locking")),
    (
        "P09",
        "backend option sets the bucket",
        set_field("backend_options", {"bucket": "tofu-state"}),
    ),
    ("P09", "backend option wrong type", set_field("backend_options", {"use_path_style": "yes"})),
    ("P09", "insecure TLS option", set_field("backend_options", {"insecure": True})),
    (
        "P09",
        "backend option sets the key",
        set_field("backend_options", {"key": "attic/terraform.tfstate"}),
    ),
    (
        "P09",
        "backend option sets the credentials",
        set_field("backend_options", {"profile": "prod"}),
    ),
    (
        "P09",
        "backend option sets a workspace prefix",
        set_field("backend_options", {"workspace_key_prefix": "x"}),
    ),
    ("P09", "no restore test", set_field("bucket_recovery.restore_test", "")),
    ("P10", "no node method", set_field("maintenance_proof.node_or_failure_domain", "")),
    ("P10", "managed without reference", set_field("ha_semantics", {"kind": "managed"})),
    ("P11", "no replication lag", drop_entry("observability", "replication")),
    ("P12", "BCR not separated", drop_entry("authority_separation", "BCR")),
    ("P12", "claims cache authority", set_field("restore_owner", "the Attic cache operators")),
    (
        "P13",
        "disposable without lockfile",
        set_field(
            "proof_commands",
            ["just ha-state-candidate-proof --endpoint-package p.json --run-disposable-tofu"],
        ),
    ),
    ("P14", "contract missing", set_field("candidate_contract", "nowhere.json")),
]


@pytest.mark.parametrize(
    ("rule", "case", "mutate"), FAILING, ids=[f"{r}-{c}" for r, c, _ in FAILING]
)
def test_each_rule_fails_alone(
    tmp_path: Path, package: Doc, rule: str, case: str, mutate: Callable[[Doc], None]
) -> None:
    doc = copy.deepcopy(package)
    mutate(doc)
    assert gate(tmp_path, doc) == {rule}


def test_every_rule_has_a_failing_case() -> None:
    assert {r for r, _, _ in FAILING} == {f"P{n:02d}" for n in range(1, 17)}


def test_inline_secret_field_at_any_depth_is_p03(package: Doc) -> None:
    package["maintenance_proof"]["details"] = {"Secret_Key": "s3cr3t-value"}
    findings = check_package(package, GLORIOUS)
    assert {f.rule for f in findings} == {"P03"}
    assert findings[0].path == "$.maintenance_proof.details.Secret_Key"
    assert "s3cr3t" not in str(findings[0])


def test_p14_refuses_a_rejected_final_contract(tmp_path: Path, package: Doc, contract: Doc) -> None:
    contract["candidate_class"] = "current attic-rustfs-openebs singleton"
    assert gate(tmp_path, package, contract=contract) == {"P14"}


def test_optional_additions_pass(tmp_path: Path, package: Doc) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ca.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n"
    )
    package.update(
        ha_endpoints=["https://state-proof.example.com", "https://state-proof-b.example.com"],
        ca_bundle="ca.pem",
        scratch_prefix="proofs/ha-state/",
        backend_options={"use_path_style": True, "skip_s3_checksum": True, "max_retries": 3},
        ha_semantics={"kind": "managed", "reference": "https://docs.example.com/ha"},
    )
    assert gate(tmp_path, package) == set()
    model = EndpointPackage.model_validate(package)
    assert model.endpoints == (
        "https://state-proof.example.com",
        "https://state-proof-b.example.com",
    )


def test_ca_bundle_with_a_private_key_is_refused(tmp_path: Path, package: Doc) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ca.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"
    )
    package["ca_bundle"] = "ca.pem"
    assert gate(tmp_path, package) == {"P04"}


def test_shipped_template_is_the_public_template_plus_our_optional_fields() -> None:
    """Every field of the public template is in ours with the same value; ours only adds the
    optional fields of this project (and names the contract by file name, as it ships beside it)."""
    public = json.loads(PUBLIC_TEMPLATE.read_text())
    ours = json.loads(TEMPLATE.read_text())
    assert Path(ours["candidate_contract"]).name == Path(public["candidate_contract"]).name
    for field in public.keys() - {"candidate_contract"}:
        assert ours[field] == public[field], field
    added = ours.keys() - public.keys()
    assert added <= {
        "ha_endpoints",
        "scratch_prefix",
        "ca_bundle",
        "backend_options",
        "ha_semantics",
    }


def test_p08_reads_the_denials_by_the_guards_own_grammar(package: Doc) -> None:
    """What the guard protects is what P08 counts: joined targets and 'and its keys' deny as
    much as one target per line does."""
    protected = GLORIOUS.protected
    package["protected_state_denials"] = [
        *(f"deny {bucket} bucket and its keys" for bucket in protected.buckets),
        "deny " + " and ".join(protected.state_keys),
    ]
    assert [f for f in check_package(package, GLORIOUS) if f.rule == "P08"] == []
    package["protected_state_denials"] = ["deny " + " and ".join(protected.state_keys[1:])]
    missing = [str(f) for f in check_package(package, GLORIOUS) if f.rule == "P08"]
    assert any(f"does not deny the protected key {protected.state_keys[0]}" in f for f in missing)
    assert any("does not deny the active" in f for f in missing)
