"""Shared test helpers: the public-format documents, filled variants of them, the lab's
package in a test folder, running the proof suite, and the verdict assertions."""

from __future__ import annotations

import copy
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_hastate.errors import TofuMissing
from pytest_hastate.lab import LabCluster
from pytest_hastate.lab.artifacts import CONTRACT_FILE
from pytest_hastate.models.profile import Profile
from pytest_hastate.tofu.runner import find_binary
from tests.support.engines import FaultyGatewayProxy, TlsMotoServer


def _tofu_binary() -> str | None:
    try:
        return str(find_binary("tofu"))
    except TofuMissing:
        return None


TOFU_BINARY = _tofu_binary()
"""The OpenTofu CLI, else Terraform, found as the product finds it (``find_binary``): the one
binary the tests that run a real CLI use."""
needs_tofu = pytest.mark.skipif(
    TOFU_BINARY is None, reason="no OpenTofu or Terraform binary on this machine"
)
"""The one skip condition for a test that runs a real OpenTofu or Terraform CLI."""

REPO = Path(__file__).resolve().parents[2]
# Real files in the public format operators already have, committed with the tests (a clone
# has nothing beside it). The shipped selected contract must stay byte-identical to its copy here.
PUBLIC_FORMAT = REPO / "tests" / "fixtures" / "public-format"
PUBLIC_CONTRACT = PUBLIC_FORMAT / "ha-opentofu-state-managed-s3-candidate.json"
PUBLIC_TEMPLATE = PUBLIC_FORMAT / "ha-opentofu-state-endpoint-package.template.json"
PUBLIC_STATUS = PUBLIC_FORMAT / "ha-opentofu-state-live-candidate-status.json"
SELECTED_CONTRACT = REPO / "contracts" / "ha-opentofu-state-managed-s3-candidate.json"
PROFILES = REPO / "contracts" / "profiles"


def shipped_profile(name: str) -> Profile:
    """A profile shipped with the product (gloriousflywheel, generic), as the gates take it."""
    return Profile.model_validate_json((PROFILES / f"{name}.json").read_text("utf-8"))


GLORIOUS = shipped_profile("gloriousflywheel")
"""The default profile: the first users' decision record."""
TEMPLATE = REPO / "contracts" / "ha-opentofu-state-endpoint-package.template.json"


def junit_properties(path: Path) -> dict[str, str]:
    """The testsuite properties of a junit XML file pytest wrote."""
    root = ET.parse(path).getroot()  # noqa: S314 (our own junit file)
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    return {p.get("name", ""): p.get("value", "") for p in suite.iter("property")}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


FILLED_VALUES: dict[str, Any] = {
    "endpoint_url": "https://state-proof.example.com",
    "network_audience": "tailnet operators of the repo-managed proof runner",
    "credential_source": "dedicated state-only secret authority; no Attic, Bazel, BCR, RBE, or CAS credentials",
    "rotation_owner": "infrastructure operators",
    "restore_owner": "infrastructure operators",
    "scratch_bucket_policy": [
        "allow create/list/read/write/delete for darkmap-ha-state-proof only",
        "deny tofu-state and protected stack prefixes",
    ],
    "bucket_recovery": {
        "versioning": "enabled on every state bucket",
        "retention_or_backup": "daily retained backup independent from Attic and Bazel cache storage",
        "restore_test": "scratch and disposable OpenTofu restore test from object versions",
    },
    "maintenance_proof": {
        "restart_or_managed_maintenance": "rolling restart of one gateway preserves head/list/read/write",
        "node_or_failure_domain": "one node drained while the multi-node quorum keeps serving",
    },
    "observability": [
        "failed auth alerts",
        "failed write alerts",
        "replication lag metric",
        "delete behavior audit log",
    ],
}


def filled_package() -> dict[str, Any]:
    """The public-format template with every sentinel filled in: passes the package gate."""
    package = load(PUBLIC_TEMPLATE)
    package.update(copy.deepcopy(FILLED_VALUES))
    package["candidate_contract"] = "contract.json"
    return package


# --- running the proof suite against real engines -------------------------------------------

LIVE_TESTS = 12  # steps 1, 2a, 2b: 2 static + 1 boundary + 7 scratch + 2 bucket index
TOFU_TESTS = 8  # step 3
OBSERVED_TESTS = 4  # step 3b: one per signal (one test function, parametrized)
SHOWN_BY_SEAWEEDFS = 3  # of them, what the SeaweedFS lab's metrics show (not replication lag)
MAINTENANCE_TESTS = 7  # steps 4-6: 1 checkpoint + 4 verify + 1 lost endpoint seen + 1 cleanup
WATCH_TESTS = 3  # step 5, the watched window's checker (optional criteria)
ALL_PROOF_TESTS = LIVE_TESTS + TOFU_TESTS + OBSERVED_TESTS + MAINTENANCE_TESTS + WATCH_TESTS


def lab_package(lab: LabCluster, folder: Path, **changes: Any) -> Path:
    """The lab's package (with its contract and CA) copied into ``folder``, optionally changed."""
    package = json.loads(lab.package_path.read_text())
    package.update(changes)
    for key, value in list(package.items()):
        if value is None:
            del package[key]
    shutil.copy(lab.directory / CONTRACT_FILE, folder / CONTRACT_FILE)
    shutil.copy(lab.ca, folder / "ca.pem")
    if (lab.directory / "profile.json").is_file():  # a lab started with a profile file
        shutil.copy(lab.directory / "profile.json", folder / "profile.json")
    path = folder / "endpoint-package.json"
    path.write_text(json.dumps(package, indent=2))
    return path


def run_proofs(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    package: Path,
    *args: str,
) -> tuple[pytest.RunResult, dict[str, Any]]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = pytester.runpytest(
        "proofs/", "--endpoint-package", str(package), "-p", "no:cacheprovider", *args
    )
    verdict = json.loads((pytester.path / "evidence" / "verdict.json").read_text())
    return result, verdict


def moto_environment(server: TlsMotoServer) -> dict[str, str]:
    """Proof credentials for moto's server (it does not check them, but they must be set)."""
    return {
        "TOFU_HA_STATE_ENDPOINT": server.endpoint,
        "TOFU_HA_STATE_REGION": "us-east-1",
        "TOFU_HA_STATE_ACCESS_KEY": "moto-proof-key",
        "TOFU_HA_STATE_SECRET_KEY": "moto-proof-secret",
    }


def faulty_proxy(lab: LabCluster, gateway: int = 0, **behaviour: Any) -> FaultyGatewayProxy:
    """A misbehaving gateway in front of one of the lab's gateways (see ``FaultyGatewayProxy``)."""
    from pytest_hastate.lab.artifacts import environment

    env = environment(lab)
    return FaultyGatewayProxy(
        lab.endpoints[gateway], ca=lab.ca, cert=lab.directory / "s3-cert.pem", key=lab.directory / "s3-key.pem",
        access_key=env["TOFU_HA_STATE_ACCESS_KEY"], secret_key=env["TOFU_HA_STATE_SECRET_KEY"], region="us-east-1",
        **behaviour,
    )  # fmt: skip


def moto_package(lab: LabCluster, folder: Path, server: TlsMotoServer, ca: Path) -> Path:
    """The lab's package pointed at moto's TLS server, with moto's CA next to it."""
    package = lab_package(lab, folder, endpoint_url=server.endpoint, name="moto-server")
    shutil.copy(ca, folder / "ca.pem")
    return package


def assert_stop(
    result: pytest.RunResult, verdict: dict[str, Any], criterion: str, *phrases: str
) -> str:
    """The run ended STOP (exit 1) because ``criterion`` failed, and that criterion's reason says
    every one of ``phrases``. Returns the reason."""
    assert result.ret == 1, verdict["reasons"]
    assert verdict["verdict"] == "STOP"
    assert verdict["criteria"][criterion] == "failed"
    reasons = [r for r in verdict["reasons"] if r.startswith(f"{criterion} failed")]
    assert reasons, verdict["reasons"]
    for phrase in phrases:
        assert phrase in reasons[0], (phrase, reasons[0])
    return str(reasons[0])


def check_evidence_pages(bundle: Path) -> None:
    """The bundle's report as a reader meets it: the Markdown through a Markdown parser, the
    HTML in a real browser (headless Chromium, when installed), every junit file through an
    independent junit parser: its verdict property is its phase's verdict, and every failed
    criterion shows as a failing test case."""
    import subprocess

    from junitparser import JUnitXml
    from markdown_it import MarkdownIt

    from pytest_hastate.tools.report import render

    markdown = render(bundle, "markdown")
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    assert any(t.type == "table_open" for t in tokens)
    # The evidence column: every criterion row links the line of the evidence that shows it.
    criterion_rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert criterion_rows
    for row in criterion_rows:
        cid = row.split("`")[1]
        found = re.findall(r"\[`([\w.-]+):(\d+)`\]\(([\w.-]+)\)", row)
        assert found, row
        for name, number, target in found:
            assert target == name, row
            text = (bundle / name).read_text("utf-8").splitlines()[int(number) - 1]
            if name in ("checkpoint.json", "verdict.json"):
                assert text.strip().startswith(f'"{cid}":'), (row, text)
            elif name.startswith("tofu-timings-"):
                assert '"command":' in text, (row, text)
            else:
                assert '"kind":' in text or '"t0":' in text, (row, text)
    assert tokens[0].type == "heading_open"
    # What produced each phase: the phases that ran OpenTofu name its binary and version.
    rows = {line.split("|")[1].strip(): line for line in markdown.splitlines()
            if line.startswith("| ") and "(attempt " in line.split("|")[1]}  # fmt: skip
    for timings in bundle.glob("tofu-timings-*.json"):
        phase = timings.stem.removeprefix("tofu-timings-")
        ran = [row for name, row in rows.items() if name.startswith(f"{phase} (attempt")]
        assert ran, (phase, sorted(rows))
        assert any(" at `" in row for row in ran), ran
    for junit in sorted(bundle.glob("junit-*.xml")):
        phase = junit.stem.removeprefix("junit-")
        verdict = json.loads((bundle / f"verdict-{phase}.json").read_text())
        suite = next(iter(JUnitXml.fromfile(str(junit))))
        properties = {p.name: p.value for p in suite.properties()}  # type: ignore[no-untyped-call]
        assert properties["hastate_verdict"] == verdict["verdict"], junit
        failing = [case for case in suite if not case.is_passed and not case.is_skipped]
        phases = json.loads((bundle / "checkpoint.json").read_text())["phases"]
        own = [p for p in phases if p["phase"] == phase][-1]["criteria"]  # this run's, not carried
        failed = [cid for cid, result in own.items() if result["outcome"] == "failed"]
        if failed:  # a failed criterion is a failing test case GitLab and GitHub display
            assert failing, (junit, failed)
    html = bundle / "report.html"
    html.write_text(render(bundle, "html"), "utf-8")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:  # everything above held; the page itself is not checked, so not passed
        pytest.skip(
            "no Chromium: the report page's browser check did not run (.ci/run installs it)"
        )
    shot = bundle / "report-screenshot.png"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--screenshot={shot}", "--window-size=1200,1600", html.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    assert "Uncaught" not in done.stderr


class ShortBytes(bytes):
    """Bytes that report a length of 1, whatever they hold (a body that lies about its size)."""

    def __len__(self) -> int:
        return 1
