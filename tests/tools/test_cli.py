"""The ``hastate`` command: gates, schemas, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_hastate.tools import schemas
from pytest_hastate.tools.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED, main
from tests.support.helpers import PUBLIC_CONTRACT, PUBLIC_TEMPLATE, REPO


def test_contract_gate_passes_on_the_selected_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "contract", str(PUBLIC_CONTRACT)]) == EXIT_OK
    assert "passed the contract gate" in capsys.readouterr().out


def test_contract_option_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "contract", "--contract", str(PUBLIC_CONTRACT)]) == EXIT_OK


def test_rejected_example_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    example = REPO / "contracts" / "examples" / "rejected-sting-local-path.json"
    assert main(["gate", "contract", str(example)]) == EXIT_REFUSED
    out = capsys.readouterr().out
    assert "C10 $.candidate_class: Sting local-path storage is rejected as final" in out
    assert "REFUSED:" in out


def test_package_gate_template(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["gate", "package", str(PUBLIC_TEMPLATE)]) == EXIT_REFUSED
    assert (
        main(["gate", "package", "--package", str(PUBLIC_TEMPLATE), "--allow-template"]) == EXIT_OK
    )


def test_bad_input_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["gate", "package", str(bad)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "expected a JSON object, got an array" in err


def test_schema_check_detects_drift(tmp_path: Path) -> None:
    schemas.write(tmp_path)
    assert main(["schema", "--check", "--dir", str(tmp_path)]) == EXIT_OK
    doc = json.loads((tmp_path / "endpoint-package.schema.json").read_text())
    doc["properties"].pop("scratch_prefix")
    (tmp_path / "endpoint-package.schema.json").write_text(json.dumps(doc))
    assert main(["schema", "--check", "--dir", str(tmp_path)]) == EXIT_REFUSED


def test_shipped_schemas_match_the_models() -> None:
    assert schemas.drift(REPO / "contracts" / "schema") == []


def test_shipped_schema_documents_the_optional_additions() -> None:
    doc = json.loads((REPO / "contracts" / "schema" / "endpoint-package.schema.json").read_text())
    for field in ("ha_endpoints", "scratch_prefix", "ca_bundle", "backend_options", "ha_semantics"):
        assert field in doc["properties"]
        assert field not in doc["required"]
        assert doc["properties"][field].get("description") or field == "ha_semantics"
    assert doc["additionalProperties"] is False


def test_console_script_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_hastate", "gate", "contract", str(PUBLIC_CONTRACT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
