"""Policy profiles: another team's policy judges its own documents (no other organisation's
lines demanded), the generic profile protects what a package declares, and a bad profile is one
line naming the file and the field, exit 4, nothing sent."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.gates.contract import check_contract
from pytest_hastate.gates.package import check_package
from pytest_hastate.io.profiles import check_profile, load_profile
from pytest_hastate.models.profile import Profile
from tests.support.helpers import (
    GLORIOUS,
    PUBLIC_CONTRACT,
    REPO,
    filled_package,
    load,
    shipped_profile,
)

TEAM_FILE = REPO / "tests" / "fixtures" / "profiles" / "platform-team.json"
TEAM = Profile.model_validate_json(TEAM_FILE.read_text())
GENERIC = shipped_profile("generic")


def team_contract() -> dict[str, Any]:
    """The public contract rewritten by a team with a Ceph RGW endpoint and no cache stores."""
    contract = load(PUBLIC_CONTRACT)
    contract.update(
        name="platform-ceph-state",
        candidate_class="self-hosted Ceph RGW cluster",
        audience="platform team operators",
        rotation_owner="platform team",
        read_write_scope="scratch buckets only; no access to platform-state during proof",
        credential_source="a state-only identity in the platform vault",
        authority_separation=["the build cache is separate from state"],
    )
    contract["failure_behavior"] = {
        "endpoint_loss": "one RGW daemon lost: the other gateways keep serving",
        "node_or_failure_domain_loss": "one OSD host drained while pools keep quorum",
    }
    return contract


def team_package() -> dict[str, Any]:
    package = filled_package()
    package["maintenance_proof"] = {
        "restart_or_managed_maintenance": "rolling restart of one RGW daemon",
        "node_or_failure_domain": "one OSD host drained",
    }
    package["protected_state_denials"] = [
        "deny platform-state bucket",
        "deny prod/network/terraform.tfstate",
        "deny prod/dns/terraform.tfstate",
    ]
    package["scratch_bucket_policy"] = [
        "allow create/list/read/write/delete for darkmap-ha-state-proof only",
        "deny platform-state and protected stack prefixes",
    ]
    package["authority_separation"] = ["the build cache is separate from state"]
    return package


def test_another_teams_documents_pass_under_its_own_profile() -> None:
    assert check_contract(team_contract(), TEAM) == []
    assert check_package(team_package(), TEAM) == []


def test_under_the_default_profile_they_meet_another_organisations_demands() -> None:
    """What the issue saw before profiles existed: the decision record's lines are demanded."""
    contract_rules = {str(f) for f in check_contract(team_contract(), GLORIOUS)}
    assert any("C05 $.failure_behavior.endpoint_loss" in f for f in contract_rules)
    assert any("does not separate Attic" in f for f in contract_rules)
    assert any("unknown candidate class" in f for f in contract_rules)
    package_rules = {str(f) for f in check_package(team_package(), GLORIOUS)}
    assert any("does not deny the protected key tinyland-infra/" in f for f in package_rules)


def test_the_generic_profile_protects_what_the_package_declares() -> None:
    package = team_package()
    assert check_package(package, GENERIC) == []
    package["protected_state_denials"] = []
    package["scratch_bucket_policy"] = package["scratch_bucket_policy"][:1]
    reasons = [str(f) for f in check_package(package, GENERIC)]
    assert any(r.startswith("P08") for r in reasons), reasons


def test_the_default_profile_keeps_public_format_findings() -> None:
    """Every public-format document is judged as before profiles existed (the findings are
    pinned in the gates' own tests; here: the default is the decision record's profile)."""
    assert check_contract(load(PUBLIC_CONTRACT), GLORIOUS) == []
    assert load_profile("gloriousflywheel", REPO, "test").model == GLORIOUS


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


BASE = json.loads(TEAM_FILE.read_text())


def changed(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        target = doc
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return doc


BAD_PROFILES = [
    ("missing", None, "--profile", "not found"),
    ("bad-json", "{not json", "", "invalid JSON"),
    ("unknown-field", changed(protectd={}), "$.protectd", "unknown field"),
    ("empty-protected", changed(protected={}), "$.protected", "protects nothing"),
    ("prefix-overlap", changed(protected__key_prefixes=["team/"], scratch_prefix="team/proof/"),
     "$.scratch_prefix", "overlaps the protected key prefix team/"),
    ("scratch-bucket-protected", changed(protected__buckets=["platform-state",
                                                             "darkmap-ha-state-proof"]),
     "$.protected.buckets[1]", "is the package's scratch bucket"),
    ("bad-pattern", changed(endpoint_loss="(unclosed"), "$.endpoint_loss",
     "not a regular expression"),
    ("match-everything", changed(endpoint_loss="gateway|"), "$.endpoint_loss",
     "matches the empty text, so it matches every text"),
    ("template-prefix", changed(scratch_prefix=".team/${path.cwd}/"), "$.scratch_prefix",
     "without '%', '\\', '$', '{' or '}'"),
    ("bare-state-key", changed(protected__state_keys=["terraform.tfstate"]),
     "$.protected.state_keys[0]", "would protect the proof's own disposable state too"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "document", "where", "reason"), BAD_PROFILES, ids=[c[0] for c in BAD_PROFILES]
)
def test_a_bad_profile_is_one_line_exit_4_and_nothing_is_sent(
    tmp_path: Path, case: str, document: Any, where: str, reason: str
) -> None:
    """Through the proof itself, with credentials for an endpoint that does not exist: a
    refusal comes before any request (the run would otherwise fail to connect)."""
    profile = tmp_path / "profile.json"
    if document is not None:
        write(tmp_path, "profile.json", document)
    (tmp_path / "p.json").write_text(json.dumps(team_package()))
    (tmp_path / "contract.json").write_text(json.dumps(team_contract()))
    env = {
        "PATH": "/usr/bin:/bin",
        "TOFU_HA_STATE_ACCESS_KEY": "k",
        "TOFU_HA_STATE_SECRET_KEY": "s",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest_hastate", "prove", "--endpoint-package", "p.json",
         "--profile", str(profile), "-q"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, done.stderr
    assert where in errors[0]
    assert reason in errors[0]
    assert "Value error" not in errors[0]
    assert not (tmp_path / "evidence").exists()


def prove(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "TOFU_HA_STATE_ACCESS_KEY": "k",
           "TOFU_HA_STATE_SECRET_KEY": "s"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "pytest_hastate", "prove", "--endpoint-package", "p.json", "-q",
         *args],
        cwd=folder, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("named", "option", "reason"),
    [
        (str(TEAM_FILE), "generic", "a package is judged by its own profile"),
        ("", None, "$.profile: must name a profile"),
        ("   ", "generic", "$.profile: must name a profile"),
    ],
)
def test_the_packages_own_profile_is_not_replaced_silently(
    tmp_path: Path, named: str, option: str | None, reason: str
) -> None:
    """--profile (or HASTATE_PROFILE) naming another profile than the package's would change
    what is protected without a word: refused in one line, exit 4, nothing written."""
    package = team_package()
    package["profile"] = named
    (tmp_path / "p.json").write_text(json.dumps(package))
    (tmp_path / "contract.json").write_text(json.dumps(team_contract()))
    done = prove(tmp_path, *(("--profile", option) if option else ()), "-m", "static")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, done.stderr
    assert reason in errors[0]
    assert not (tmp_path / "evidence").exists()


def test_the_same_profile_named_twice_is_fine(tmp_path: Path) -> None:
    package = team_package()
    package["profile"] = str(TEAM_FILE)
    (tmp_path / "p.json").write_text(json.dumps(package))
    (tmp_path / "contract.json").write_text(json.dumps(team_contract()))
    done = prove(tmp_path, "--profile", str(TEAM_FILE), "-m", "static")
    assert "profile platform-team" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 10, done.stdout + done.stderr  # static only: INTERIM_ONLY


def test_a_text_naming_a_rejected_class_is_rejected_whatever_the_order() -> None:
    """The team profile lists its Ceph class before the single-node one: a contract for a
    single-node Ceph is still a single-node store."""
    contract = team_contract()
    contract["candidate_class"] = "single-node Ceph RGW (microceph on one host)"
    reasons = [str(f) for f in check_contract(contract, TEAM)]
    assert any(r.startswith("C10 $.candidate_class") and "rejected" in r for r in reasons), reasons
    assert check_contract(team_contract(), TEAM) == []


@pytest.mark.parametrize(
    ("bucket", "host"),
    [("ops.tfstate", "ops.tfstate.rgw.example"), ("ops-tfstate", "ops-tfstate.rgw.example"),
     ("ops.tfstate", "s3.ops.tfstate.example")],
)  # fmt: skip
def test_an_endpoint_host_naming_a_protected_bucket_is_refused(bucket: str, host: str) -> None:
    """Virtual-hosted addressing routes ``<bucket>.<host>`` to the bucket; a bucket name may
    hold dots."""
    profile = TEAM.model_copy(update={"protected": TEAM.protected.model_copy(
        update={"buckets": [bucket]})})  # fmt: skip
    package = team_package()
    package["endpoint_url"] = f"https://{host}:443"
    package["protected_state_denials"] = [f"deny {bucket} bucket"]
    package["scratch_bucket_policy"] = [package["scratch_bucket_policy"][0], f"deny {bucket}"]
    reasons = [str(f) for f in check_package(package, profile)]
    assert any(r.startswith("P15 $.endpoint_url") and repr(bucket) in r for r in reasons), reasons


def test_a_profile_protecting_the_scratch_bucket_is_refused_by_the_gate_and_the_lab(
    tmp_path: Path,
) -> None:
    from pytest_hastate.errors import InputError
    from pytest_hastate.lab.engine import SCRATCH_BUCKET
    from pytest_hastate.lab.policy import lab_policy

    package = team_package()
    profile = write(tmp_path, "profile.json",
                    changed(protected__buckets=[package["scratch_bucket"]]))  # fmt: skip
    (tmp_path / "p.json").write_text(json.dumps(package))
    done = subprocess.run(
        [sys.executable, "-m", "pytest_hastate", "gate", "package", "p.json",
         "--profile", str(profile)],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 4, done.stdout + done.stderr
    assert "$.protected.buckets[0]: is the package's scratch bucket" in done.stderr
    assert "P06" not in done.stdout
    lab_profile = write(tmp_path, "lab-profile.json", changed(protected__buckets=[SCRATCH_BUCKET]))
    loaded = load_profile(str(lab_profile), tmp_path, "--profile")
    lab_folder = tmp_path / "lab"
    lab_folder.mkdir()
    with pytest.raises(InputError, match="is the package's scratch bucket 'hastate-lab-scratch'"):
        lab_policy(loaded, lab_folder)
    assert list(lab_folder.iterdir()) == []


def test_a_checkpoint_made_under_another_profile_is_refused(tmp_path: Path) -> None:
    from pytest_hastate.errors import InputError
    from pytest_hastate.io.checkpoints import check_profile_digest
    from pytest_hastate.io.profiles import load_profile as load
    from pytest_hastate.models import Checkpoint, PackageIdentity, ProfileIdentity

    checkpoint = Checkpoint(
        run_id="r", created_at="now", package=PackageIdentity(name="p", sha256="d", basename="p"),
        profile=ProfileIdentity(name="gloriousflywheel", sha256="0" * 64), contract_sha256=None,
        endpoints=[], scratch_bucket="b", scratch_prefix="x/", bucket_created_by_this_product=False,
    )  # fmt: skip
    with pytest.raises(InputError, match=r"\$\.profile\.sha256: the chain was judged by profile"):
        check_profile_digest(checkpoint, load(str(TEAM_FILE), tmp_path, "t"), tmp_path / "cp.json")


def test_every_shipped_profile_is_valid() -> None:
    for path in sorted((REPO / "contracts" / "profiles").glob("*.json")):
        check_profile(Profile.model_validate_json(path.read_text()), str(path))
