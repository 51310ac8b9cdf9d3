"""The installed product from an empty folder: ``hastate --version``, ``hastate init``,
``hastate prove``, the shipped documents, and a missing extra said in one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_hastate
from pytest_hastate.cli import main
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.resources import contracts_dir, proof_suite_dir, schema_dir
from tests.support.helpers import REPO


def hastate(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_hastate", *args], cwd=folder, capture_output=True,
        text=True, check=False, timeout=120,
    )  # fmt: skip


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"hastate (pytest-hastate) {pytest_hastate.__version__}\n"


def test_the_shipped_documents_are_the_checkouts(tmp_path: Path) -> None:
    """The package's documents are found through the package, wherever it is installed (here,
    the checkout is the package's source)."""
    assert contracts_dir() == REPO / "contracts"
    assert proof_suite_dir() == REPO / "proofs"
    assert sorted(p.name for p in schema_dir().glob("*.json")) == [
        "candidate-contract.schema.json", "endpoint-package.schema.json", "profile.schema.json",
        "verdict.schema.json",
    ]  # fmt: skip


def test_init_writes_a_starter_and_lists_what_to_fill(tmp_path: Path) -> None:
    done = hastate(
        tmp_path, "init", "--dir", "mine", "--endpoint", "https://s3-a.corp.test",
        "--endpoint", "https://s3-b.corp.test", "--scratch-bucket", "team-ha-proof",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    package = json.loads((tmp_path / "mine" / "endpoint-package.json").read_text())
    assert package["endpoint_url"] == "https://s3-a.corp.test"
    assert package["ha_endpoints"] == ["https://s3-a.corp.test", "https://s3-b.corp.test"]
    assert package["scratch_bucket"] == "team-ha-proof"
    assert package["candidate_contract"] == "candidate-contract.json"
    assert all(c.startswith("hastate prove ") for c in package["proof_commands"])
    assert "scratch_prefix" not in package  # the profile's
    todo = [line for line in done.stdout.splitlines() if "still to fill" in line]
    assert len(todo) == 2, done.stdout  # one line per document
    assert "$.network_audience" in todo[0]
    assert "$.endpoint_url" not in todo[0]  # given, so not to fill
    assert "$.rotation_owner" in todo[1]
    # Nothing of another organisation is carried over silently: it is a sentinel to fill.
    written = (tmp_path / "mine" / "endpoint-package.json").read_text()
    written += (tmp_path / "mine" / "candidate-contract.json").read_text()
    for theirs in ("darkmap", "Tinyland", "spokes/", "TIN-1016"):
        assert theirs not in written
    # Both gates refuse the sentinels left, by C02 / P02, and pass the documents as templates.
    for gate, document, rules in (("contract", "candidate-contract.json", {"C02"}),
                                  ("package", "endpoint-package.json", {"P02", "P14"})):  # fmt: skip
        refused = hastate(tmp_path, "gate", gate, f"mine/{document}")
        assert refused.returncode == ExitCode.STOP
        assert {line.split()[1] for line in refused.stdout.splitlines()[:-1]} == rules
        as_template = hastate(tmp_path, "gate", gate, f"mine/{document}", "--allow-template")
        assert as_template.returncode == ExitCode.OK, as_template.stdout


@pytest.mark.parametrize("profile", ["generic", "tests/fixtures/profiles/platform-team.json"])
def test_init_under_another_profile_carries_none_of_the_defaults_words(
    tmp_path: Path, profile: str
) -> None:
    reference = profile if profile == "generic" else str(REPO / profile)
    done = hastate(tmp_path, "init", "--dir", "mine", "--profile", reference)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "mine" / "endpoint-package.json").read_text()
    written += (tmp_path / "mine" / "candidate-contract.json").read_text()
    for theirs in ("tofu-state", "gloriousflywheel", "Attic", "Bazel"):
        assert not re.search(rf"(?<![\w-]){theirs}(?![\w-])", written), theirs
    package = json.loads((tmp_path / "mine" / "endpoint-package.json").read_text())
    if profile == "generic":
        assert not any("protected stack prefixes" in line
                       for line in package["scratch_bucket_policy"])  # fmt: skip


def test_init_refuses_what_cannot_be_an_endpoint(tmp_path: Path) -> None:
    done = hastate(tmp_path, "init", "--endpoint", "http://plain.example.com")
    assert done.returncode == ExitCode.BAD_INPUT
    assert done.stderr.splitlines() == [
        "hastate: --endpoint http://plain.example.com: must be an https:// URL (TLS "
        "verification is always on)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "endpoint-package.json").write_text("mine\n")
    done = hastate(tmp_path, "init")
    assert done.returncode == ExitCode.BAD_INPUT
    assert done.stderr.splitlines() == [
        "hastate: endpoint-package.json: exists: hastate init never overwrites a file (move it "
        "away or pick another --dir)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["endpoint-package.json"]
    assert (tmp_path / "endpoint-package.json").read_text() == "mine\n"


def test_prove_runs_the_installed_suite_from_any_folder(tmp_path: Path) -> None:
    """The static proof on the shipped contract, from a folder that holds nothing: the
    contract a package names by file name resolves to the shipped one."""
    package = json.loads(
        (contracts_dir() / "ha-opentofu-state-endpoint-package.template.json").read_text()
    )
    package["candidate_contract"] = "docs/contracts/ha-opentofu-state-managed-s3-candidate.json"
    (tmp_path / "p.json").write_text(json.dumps(package))
    done = hastate(
        tmp_path, "prove", "-m", "static", "--endpoint-package", "p.json", "--allow-template",
        "--expect-interim", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    verdict = json.loads((tmp_path / "evidence" / "verdict.json").read_text())
    assert verdict["criteria"]["static.contract"] == "passed"
    assert verdict["criteria"]["static.package"] == "passed"
    assert verdict["verdict"] == "INTERIM_ONLY"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evidence", "p.json"]  # no cache


def test_prove_keeps_the_folders_own_tests_setup_out_of_the_proof(tmp_path: Path) -> None:
    """In CI the folder is the repository holding the package: its conftest.py must not run
    beside the proof credentials, its addopts (options for its own tests) must not break the
    proof; its hastate_* ini settings still count."""
    package = json.loads(
        (contracts_dir() / "ha-opentofu-state-endpoint-package.template.json").read_text()
    )
    package["candidate_contract"] = "docs/contracts/ha-opentofu-state-managed-s3-candidate.json"
    (tmp_path / "p.json").write_text(json.dumps(package))
    (tmp_path / "conftest.py").write_text(
        "import pathlib\npathlib.Path('conftest-ran').write_text('the proof ran it')\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "--cov=src -x"\n'
        'hastate_evidence_dir = "proof-evidence"\n'
    )
    done = hastate(
        tmp_path, "prove", "-m", "static", "--endpoint-package", "p.json", "--allow-template", "-q"
    )
    assert done.returncode == 10, done.stdout + done.stderr
    assert not (tmp_path / "conftest-ran").exists()
    assert (tmp_path / "proof-evidence" / "verdict.json").is_file()


@pytest.mark.parametrize(
    ("argv", "module", "extra", "what"),
    [(["lab", "status"], "trustme", "lab", "lab status"),
     (["demo"], "matplotlib", "lab", "demo"),
     (["inventory"], "kubernetes", "k8s", "reading a Kubernetes cluster")],
    ids=["lab", "demo", "inventory"],
)  # fmt: skip
def test_a_missing_extra_is_one_line_naming_it(
    argv: list[str], module: str, extra: str, what: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == module else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert main(argv) == ExitCode.ENVIRONMENT
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"hastate: {what} needs the '{extra}' extra ({module} is not installed): "
        f"pip install 'pytest-hastate[{extra}]'"
    ]
